// Builds the demo site into dist/ from www/ and the built package in pkg/: what runbase-server
// serves at / (its --www default) and what any static host can publish as it is.
//   node scripts/build-demo.mjs   (scripts/build runs it; alone, it rebuilds after www/ changes)
// - The page's modules and the package's browser entry become one minified module, the .wasm
//   sits beside it, and both are named by a hash of their content: kept for a year by
//   browsers (runbase-server marks such names immutable), while index.html is revalidated.
//   This is what a user's bundler does with the package (Vite rewrites the .wasm's URL alike).
// - The stylesheet, minified, goes into the page (a <style> the CSP allows by its hash): the
//   first paint waits on nothing but the HTML.
// - The .wasm is preloaded from the HTML, so it downloads beside the script, not after it.
// - What only another language needs (the demo's Chinese strings, a package's locale file) is
//   split into chunks of its own, hashed alike and fetched only when that language is chosen:
//   an English visit loads what it did without them.
// - A script inlined at the end of <body> (www/first-paint.js, allowed by its hash) puts the
//   chosen language's strings into index.html's elements before the first paint.
import { build, transform } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { LANGUAGES } from "../www/ui/language.js";

const ROOT = resolve(import.meta.dirname, "..");
const WWW = join(ROOT, "www");
const PKG = join(ROOT, "pkg");
const OUT = join(ROOT, "dist"); // emptied first: no older build's file lingers
const WASM = "runbase_image_bg.wasm";

/** `name.<16 hex of SHA-256>.ext`: the form runbase-server recognises as never changing. */
function hashed(name, bytes) {
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  return name.replace(/(\.[a-z]+)$/, `.${hash}$1`);
}

/** `text` with `from`, which must occur exactly once in www/index.html, replaced by `to`. */
function replaceOnce(text, from, to) {
  const found = text.split(from).length - 1;
  if (found !== 1) throw new Error(`www/index.html: expected ${JSON.stringify(from)} once, found it ${found} times`);
  return text.replace(from, () => to);
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const wasm = readFileSync(join(PKG, WASM));
const wasmFile = hashed(WASM, wasm);
writeFileSync(join(OUT, wasmFile), wasm);

// The page imports ./pkg/index.js as a user's page would; here it is the built entry, with
// the .wasm's URL pointing at the hashed copy. Dynamic imports become chunks of their own.
const bundled = await build({
  entryPoints: [join(WWW, "app.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  splitting: true,
  outdir: OUT,
  entryNames: "[name]",
  chunkNames: "[name]-[hash]",
  metafile: true,
  charset: "utf8", // Chinese as it is, not in \u escapes twice its size
  write: false,
  logLevel: "warning",
  // www/ui/i18n.js reads the package's loadLocale off its namespace, where packages from
  // before it have none: undefined is the answer it handles, not a mistake to warn about.
  logOverride: { "import-is-undefined": "silent" },
  plugins: [{
    name: "built-package",
    setup(b) {
      b.onResolve({ filter: /\/pkg\/index\.js$/ }, () => ({ path: join(PKG, "index.js") }));
      b.onLoad({ filter: /[\\/]pkg[\\/]index\.js$/ }, (args) => {
        const source = readFileSync(args.path, "utf8");
        const count = source.split(`"./${WASM}"`).length - 1;
        if (count === 0) throw new Error(`pkg/index.js: no "./${WASM}" to point at ${wasmFile}`);
        return { contents: source.replaceAll(`"./${WASM}"`, `"./${wasmFile}"`), loader: "js" };
      });
    },
  }],
});
// Each output named by its content's hash, the chunks it imports first (their names are in it).
const outputs = new Map(bundled.outputFiles.map((file) => [basename(file.path), file]));
const meta = Object.fromEntries(Object.entries(bundled.metafile.outputs).map(([path, info]) => [basename(path), info]));
const finalNames = new Map();
function emit(name) {
  if (finalNames.has(name)) return finalNames.get(name);
  let code = outputs.get(name).text;
  for (const { path } of meta[name].imports.filter((i) => !i.external)) {
    const imported = basename(path);
    code = code.replaceAll(`"./${imported}"`, `"./${emit(imported)}"`);
  }
  const file = hashed(name.replace(/-[A-Z0-9]{8}\.js$/, ".js"), code);
  writeFileSync(join(OUT, file), code);
  finalNames.set(name, file);
  return file;
}
const scriptFile = emit("app.js");
const script = readFileSync(join(OUT, scriptFile));
for (const name of outputs.keys()) emit(name);
/** The chunks `name` imports statically, and theirs. */
const staticImports = (name) => meta[name].imports.filter((i) => i.kind === "import-statement" && !i.external)
  .flatMap(({ path }) => [basename(path), ...staticImports(basename(path))]);
// Chunks the entry imports at start (code it shares with a split one) are preloaded with it.
const entryChunks = [...new Set(staticImports("app.js"))].map((name) => finalNames.get(name));
// A language's chunks (its strings, the package's locale: named after it) are preloaded by the
// first-paint script when that language is chosen.
const preload = {};
for (const lang of Object.keys(LANGUAGES).filter((l) => l !== "en")) {
  const own = [...outputs.keys()].filter((name) => meta[name].entryPoint?.includes(lang));
  preload[lang] = [...new Set(own.flatMap((name) => [name, ...staticImports(name)]))]
    .map((name) => finalNames.get(name)).filter((file) => !entryChunks.includes(file));
}

const css = (await transform(readFileSync(join(WWW, "style.css"), "utf8"), { loader: "css", minify: true })).code.trim();
// The CSP allows exactly these bytes: the hash is of the <style>'s whole text.
const cssHash = createHash("sha256").update(css).digest("base64");

let html = readFileSync(join(WWW, "index.html"), "utf8");

// The first-paint script with the strings of index.html's elements in each other language.
const keys = new Set([...html.matchAll(/data-i18n(?:-[a-z-]+)?=(?:"([^"]*)"|'([^']*)')/g)]
  .map(([, bare, json]) => (bare !== undefined ? bare : JSON.parse(json).key)));
const staticStrings = {};
for (const lang of Object.keys(preload)) {
  const { default: catalog } = await import(pathToFileURL(join(WWW, "ui", "strings", `${lang}.js`)).href);
  staticStrings[lang] = Object.fromEntries(Object.entries(catalog).filter(([key]) => keys.has(key) || key.startsWith("sep.")));
}
const firstPaint = (await build({
  entryPoints: [join(WWW, "first-paint.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2022",
  charset: "utf8",
  write: false,
  logLevel: "warning",
  define: { STATIC_STRINGS: JSON.stringify(staticStrings), PRELOAD: JSON.stringify(preload) },
})).outputFiles[0].text.trim();
const firstPaintHash = createHash("sha256").update(firstPaint).digest("base64");

html = replaceOnce(html, `style-src 'self'`, `style-src 'sha256-${cssHash}'`);
html = replaceOnce(html, `script-src 'self'`, `script-src 'self' 'sha256-${firstPaintHash}'`);
html = replaceOnce(html, `<link rel="stylesheet" href="style.css">`,
  `<style>${css}</style>\n` +
  [scriptFile, ...entryChunks].map((file) => `<link rel="modulepreload" href="${file}">\n`).join("") +
  `<link rel="preload" href="${wasmFile}" as="fetch" type="application/wasm" crossorigin>`);
html = replaceOnce(html, `<script type="module" src="app.js"></script>`,
  `<script>${firstPaint}</script>\n<script type="module" src="${scriptFile}"></script>`);
// Comments are for the source's readers; the page does without them.
html = html.replace(/<!--[\s\S]*?-->\n?/g, "");
writeFileSync(join(OUT, "index.html"), html);

const size = (bytes) => `${(bytes.length / 1024).toFixed(1)} KB`;
const chunks = [...finalNames.values()].filter((file) => file !== scriptFile)
  .map((file) => `, ${file} ${size(readFileSync(join(OUT, file)))}`).join("");
console.log(`dist/: index.html ${size(Buffer.from(html))} (style and first-paint script inline), ${scriptFile} ${size(script)}${chunks}, ${wasmFile} ${size(wasm)}`);

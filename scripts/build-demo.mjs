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
import { build, transform } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

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
// the .wasm's URL pointing at the hashed copy.
const bundled = await build({
  entryPoints: [join(WWW, "app.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  write: false,
  logLevel: "warning",
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
const script = bundled.outputFiles[0].contents;
const scriptFile = hashed("app.js", script);
writeFileSync(join(OUT, scriptFile), script);

const css = (await transform(readFileSync(join(WWW, "style.css"), "utf8"), { loader: "css", minify: true })).code.trim();
// The CSP allows exactly these bytes: the hash is of the <style>'s whole text.
const cssHash = createHash("sha256").update(css).digest("base64");

let html = readFileSync(join(WWW, "index.html"), "utf8");
html = replaceOnce(html, `style-src 'self'`, `style-src 'sha256-${cssHash}'`);
html = replaceOnce(html, `<link rel="stylesheet" href="style.css">`,
  `<style>${css}</style>\n` +
  `<link rel="modulepreload" href="${scriptFile}">\n` +
  `<link rel="preload" href="${wasmFile}" as="fetch" type="application/wasm" crossorigin>`);
html = replaceOnce(html, `<script type="module" src="app.js"></script>`,
  `<script type="module" src="${scriptFile}"></script>`);
// Comments are for the source's readers; the page does without them.
html = html.replace(/<!--[\s\S]*?-->\n?/g, "");
writeFileSync(join(OUT, "index.html"), html);

const size = (bytes) => `${(bytes.length / 1024).toFixed(1)} KB`;
console.log(`dist/: index.html ${size(Buffer.from(html))} (style inline), ${scriptFile} ${size(script)}, ${wasmFile} ${size(wasm)}`);

// Bundles the package's entries into pkg/ with esbuild: each of the two modules (the full one
// and the validator alone) for each runtime, from the readable sources in js/. Each entry is
// one file holding everything but the .wasm (its glue too): one file compresses 0.5 KB
// smaller than the entry, its glue and errors.js apart (gzip, measured), and nothing but the
// .wasm is left for a bundler to find.
//   node scripts/bundle.mjs pkg
import { build } from "esbuild";
import { statSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const out = resolve(process.argv[2] ?? "pkg");

// The three modules: which entry source, glue and .wasm each uses, and its files' prefix. The
// server entry (the key-holding route handler) is for servers only: in a browser bundle its
// entry is js/server/browser.js, which refuses to load.
const MODULES = [
  { entry: "index.js", glue: "runbase_image", prefix: "" },
  { entry: "validate.js", glue: "runbase_validate", prefix: "validate." },
  { entry: "server/index.js", glue: "runbase_server", prefix: "server.", browser: "server/browser.js" },
];
// How each runtime gets the .wasm (js/load/), and the file each module's entry becomes.
const RUNTIMES = [
  { loader: "browser", file: (m) => (m.prefix ? `${m.prefix}js` : "index.js") },
  { loader: "node", file: (m) => `${m.prefix}node.js` },
  { loader: "embedded", file: (m) => `${m.prefix}node-webpack.js` },
  { loader: "workerd", file: (m) => `${m.prefix}workerd.js` },
  { loader: "edge", file: (m) => `${m.prefix}edge.js` },
  { loader: "node", file: (m) => (m.prefix ? `${m.prefix.slice(0, -1)}.cjs` : "index.cjs"), format: "cjs" },
];

const resolver = (module, runtime) => ({
  name: "runbase-entry",
  setup(b) {
    b.onResolve({ filter: /^#wasm$/ }, () => ({ path: join(out, `${module.glue}.js`) }));
    b.onResolve({ filter: /^#loader$/ }, () => ({ path: join(ROOT, "js", "load", `${runtime.loader}.js`) }));
    b.onResolve({ filter: /^#share$/ }, () => ({ path: join(ROOT, "js", runtime.loader === "browser" ? "share.js" : "share-none.js") }));
    // A locale's catalog stays a file of its own (js/locales/, copied to pkg/locales/),
    // imported only when loadLocale asks for it.
    b.onResolve({ filter: /^\.\/locales\// }, (args) => ({ path: args.path, external: true }));
    b.onResolve({ filter: /^#wasm-bytes$/ }, () => ({ path: join(out, `${module.glue}_bg.wasm`) }));
    b.onResolve({ filter: /^#wasm-file/ }, (args) => ({
      path: `./${module.glue}_bg.wasm${args.path.slice("#wasm-file".length)}`, external: true,
    }));
  },
});

for (const module of MODULES) {
  for (const runtime of RUNTIMES) {
    const cjs = runtime.format === "cjs";
    const entry = runtime.loader === "browser" ? (module.browser ?? module.entry) : module.entry;
    await build({
      entryPoints: [join(ROOT, "js", entry)],
      outfile: join(out, runtime.file(module)),
      bundle: true,
      minify: true,
      format: runtime.format ?? "esm",
      platform: ["node", "embedded"].includes(runtime.loader) ? "node" : "neutral",
      loader: { ".wasm": "binary" }, // only js/load/embedded.js imports one: its bytes
      target: "es2022",
      // CommonJS entries keep import() too: the catalogs are ES modules, which require cannot load.
      supported: { "dynamic-import": true },
      logLevel: "warning",
      plugins: [resolver(module, runtime)],
      define: {
        WASM_FILE: JSON.stringify(`./${module.glue}_bg.wasm`),
        WASM_BYTES: String(statSync(join(out, `${module.glue}_bg.wasm`)).size),
        ...(cjs ? { "import.meta.url": "__runbase_module_url" } : {}),
      },
      // CommonJS has no import.meta: the same file: URL, from __filename (none when a bundler
      // has made this file part of an ES module: the places tried then say so).
      banner: cjs ? { js: 'const __runbase_module_url=typeof __filename=="string"?require("node:url").pathToFileURL(__filename).href:void 0;' } : undefined,
    });
  }
}

// Each locale's catalog with what reads it (js/locale-catalog.js), one minified file each
// beside the entries (loadLocale imports it by this path).
await build({
  entryPoints: [join(ROOT, "js", "locales", "*.js")],
  outdir: join(out, "locales"),
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  logLevel: "warning",
});

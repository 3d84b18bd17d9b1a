// Prints what each entry of the package costs a browser (its .js and its .wasm: raw, gzip -9,
// brotli), then every shipped file, and writes both to pkg/size.json. An entry is one file
// with everything but the .wasm (scripts/bundle.mjs), so these two files are all it loads.
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join } from "node:path";

const pkg = process.argv[2] ?? "pkg";
const ENTRIES = {
  "runbase-image": ["index.js", "runbase_image_bg.wasm"],
  "runbase-image/validate": ["validate.js", "runbase_validate_bg.wasm"],
};

const measure = (bytes) => ({
  raw: bytes.length,
  gzip: gzipSync(bytes, { level: 9 }).length,
  brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});
const files = readdirSync(pkg).filter((name) => /\.(c?js|wasm)$/.test(name)).sort()
  .map((file) => ({ file, ...measure(readFileSync(join(pkg, file))) }));
const sum = (rows) => rows.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
  { raw: 0, gzip: 0, brotli: 0 });
const entries = Object.entries(ENTRIES).map(([entry, names]) =>
  ({ entry, files: names, ...sum(files.filter((f) => names.includes(f.file))) }));

const pad = (v, n) => String(v).padStart(n);
const row = (name, r) => console.log(`    ${name.padEnd(48)} ${pad(r.raw, 8)} ${pad(r.gzip, 8)} ${pad(r.brotli, 8)}`);
console.log(`    ${"in a browser (its .js + .wasm)".padEnd(48)} ${pad("raw", 8)} ${pad("gzip", 8)} ${pad("brotli", 8)}`);
for (const e of entries) row(e.entry, e);
console.log("    each file");
for (const f of files) row(f.file, f);
writeFileSync(join(pkg, "size.json"), JSON.stringify({ entries, files }, null, 2) + "\n");

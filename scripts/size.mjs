// Prints the shipped package's size (raw, gzip -9, brotli) and writes it to pkg/size.json.
import { readFileSync, writeFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join, relative } from "node:path";

const pkg = process.argv[2] ?? "pkg";
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(js|wasm)$/.test(name)) files.push(path);
  }
})(pkg);

const measure = (bytes) => ({
  raw: bytes.length,
  gzip: gzipSync(bytes, { level: 9 }).length,
  brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});
const rows = files.sort().map((path) => ({ file: relative(pkg, path), ...measure(readFileSync(path)) }));
const total = rows.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
  { raw: 0, gzip: 0, brotli: 0 });
const pad = (v, n) => String(v).padStart(n);
console.log(`    ${"file".padEnd(48)} ${pad("raw", 8)} ${pad("gzip", 8)} ${pad("brotli", 8)}`);
for (const r of [...rows, { file: "total", ...total }]) {
  console.log(`    ${r.file.padEnd(48)} ${pad(r.raw, 8)} ${pad(r.gzip, 8)} ${pad(r.brotli, 8)}`);
}
writeFileSync(join(pkg, "size.json"), JSON.stringify({ files: rows, total }, null, 2) + "\n");

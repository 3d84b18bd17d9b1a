// Called by scripts/build after `wasm-opt --minify-imports-and-exports-and-modules`: the names
// the .wasm imports and exports (wasm-bindgen's end in 16-hex hashes, which no compressor can
// shrink, and stand once in the .wasm and once in the glue) become a letter or two. This
// rewrites the glue and both .d.ts files to the new names, taken by position from the module
// before and after (the pass renames in place), and refuses to leave any old name behind.
// Usage: node scripts/minify-names.mjs BEFORE.wasm PKG_DIR NAME (runbase_image: NAME.js,
// NAME_bg.wasm and their .d.ts files)
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [before, pkg, name = "runbase_image"] = process.argv.slice(2);
const describe = (path) => {
  const module = new WebAssembly.Module(readFileSync(path));
  return { imports: WebAssembly.Module.imports(module), exports: WebAssembly.Module.exports(module) };
};
const old = describe(before);
const now = describe(join(pkg, `${name}_bg.wasm`));
const fail = (why) => {
  console.error(`scripts/minify-names.mjs: ${why}`);
  process.exit(1);
};
if (old.imports.length !== now.imports.length || old.exports.length !== now.exports.length) {
  fail("the module's imports or exports changed in number");
}

/** Replaces `from` by `to` in `text`, exactly `count` times (or at most once when null). */
function replace(text, from, to, count, where) {
  const parts = text.split(from);
  if (count === null ? parts.length > 2 : parts.length !== count + 1) {
    fail(`${JSON.stringify(from)} is in ${where} ${parts.length - 1} times`);
  }
  return parts.join(to);
}

const gluePath = join(pkg, `${name}.js`);
let glue = readFileSync(gluePath, "utf8");
const modules = new Map();
old.imports.forEach((imported, i) => {
  const renamed = now.imports[i];
  modules.set(imported.module, renamed.module);
  // Each import is one key of the glue's import object: `name: function(...)`.
  glue = replace(glue, `\n        ${imported.name}: `, `\n        ${renamed.name}: `, 1, "the glue");
});
for (const [from, to] of modules) glue = replace(glue, `"${from}": `, `"${to}": `, 1, "the glue");
// Exports are read as `wasm.name` only.
const exportNames = new Map(old.exports.map((exported, i) => [exported.name, now.exports[i].name]));
glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (_, name) => {
  if (!exportNames.has(name)) fail(`the glue reads wasm.${name}, which the module does not export`);
  return `wasm.${exportNames.get(name)}`;
});
writeFileSync(gluePath, glue);

// The declarations of the module's exports: the .wasm's own, and InitOutput in the glue's
// (wasm-bindgen leaves a few internal exports undeclared).
for (const [file, prefix] of [[`${name}_bg.wasm.d.ts`, "export const "], [`${name}.d.ts`, "    readonly "]]) {
  let text = readFileSync(join(pkg, file), "utf8");
  for (const [from, to] of exportNames) text = replace(text, `\n${prefix}${from}: `, `\n${prefix}${to}: `, null, file);
  if (!text.includes(`\n${prefix}${exportNames.get("memory")}: `)) fail(`${file} does not declare the memory export`);
  writeFileSync(join(pkg, file), text);
}

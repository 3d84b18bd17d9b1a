// Node, Deno and Bun (and the CommonJS entries): the .wasm is read from disk and instantiated
// at import, so nothing needs init(). Server bundlers move the file and rewrite the ways to
// find it, each its own way (measured with Next.js 16, Turbopack and webpack): each place is
// tried in turn, and the error names them all. The import never throws: Next.js imports this
// while rendering pages that may never call the library.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RunbaseError } from "../errors.js";

const FILE = WASM_FILE.slice(2);

export function wasmAtImport() {
  const tried = [];
  const attempt = (how, read) => {
    try {
      return read();
    } catch (e) {
      tried.push(`${how}: ${e.code ?? e.message}`);
    }
  };
  const bytes =
    // Next to this file, as published; or where a bundler emitted it, which rewrites this
    // literal URL (Turbopack's route handlers). Read through its text: a URL made by a
    // bundler's runtime is no instance of this realm's URL.
    attempt("next to the module", () => readFileSync(fileURLToPath(new URL(WASM_FILE, import.meta.url).href))) ??
    // Turbopack's pages: import.meta.url is the package's place, found at run time.
    attempt("next to import.meta.url", () => readFileSync(join(dirname(fileURLToPath(import.meta.url)), FILE))) ??
    // The app's own node_modules, from its working directory (the module system is asked
    // at run time, where no bundler rewrites the request).
    attempt("from the working directory", () => readFileSync(process.getBuiltinModule("node:module")
      .createRequire(join(process.cwd(), "/")).resolve(`runbase-image/${FILE}`)));
  if (bytes) return bytes;
  throw new RunbaseError(
    `Could not find ${FILE} (${tried.join("; ")}). Pass its bytes to init before any other call: ` +
      `await init(readFileSync("node_modules/runbase-image/${FILE}"))`,
    { kind: "validation", code: "wasm_not_found" },
  );
}

export const wasmSource = async () => wasmAtImport();

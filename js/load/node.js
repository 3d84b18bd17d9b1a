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

/** The file at `path` if it is this build's .wasm: the app's node_modules may hold another
 *  version of the package, whose exports would not match this glue. */
function readOurs(path) {
  const bytes = readFileSync(path);
  if (bytes.length !== WASM_BYTES) throw { code: `${path} is another build (${bytes.length} bytes, not ${WASM_BYTES})` };
  return bytes;
}

function atImport() {
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
    attempt("next to the module", () => readOurs(fileURLToPath(new URL(WASM_FILE, import.meta.url).href))) ??
    // Turbopack's pages: import.meta.url is the package's place, found at run time.
    attempt("next to import.meta.url", () => readOurs(join(dirname(fileURLToPath(import.meta.url)), FILE))) ??
    // The app's own node_modules, from its working directory, asked of the module system at
    // run time where no bundler rewrites the request (Node 20.16+: getBuiltinModule).
    attempt("from the working directory", () => {
      const modules = process.getBuiltinModule?.("node:module");
      if (!modules) throw { code: "needs Node 20.16 or later" };
      return readOurs(modules.createRequire(join(process.cwd(), "/")).resolve(`runbase-image/${FILE}`));
    });
  if (bytes) return bytes;
  throw new RunbaseError(
    `Could not find ${FILE} (${tried.join("; ")}). Pass its bytes to init before any other call: ` +
      `await init(readFileSync("node_modules/runbase-image/${FILE}"))`,
    { kind: "load", code: "wasm_not_found" },
  );
}

export default { atImport };

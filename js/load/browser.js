// Browsers and bundlers (and Deno's or any runtime's default): the .wasm is fetched from next
// to this file when init() is first called. The URL is written as `new URL("<literal>",
// import.meta.url)` (WASM_FILE is replaced by scripts/bundle.mjs), the form Vite, webpack,
// Parcel and Next.js recognise: they emit the file and rewrite the URL.
import { RunbaseError } from "../errors.js";

export const wasmAtImport = undefined;

export async function wasmSource() {
  const url = new URL(WASM_FILE, import.meta.url);
  let response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw notFound(url, "the request failed", cause);
  }
  // A dev server's page-not-found fallback answers 200 with HTML.
  if (!response.ok) throw notFound(url, `HTTP ${response.status}`);
  if (/html/.test(response.headers.get("content-type"))) throw notFound(url, "an HTML page came back");
  return response;
}

function notFound(url, what, cause) {
  return new RunbaseError(
    `Could not load ${WASM_FILE.slice(2)} from ${url} (${what}): the bundler did not put it next to the code that asks for it. ` +
      "Rollup needs a plugin that copies files named by new URL(…, import.meta.url), such as @web/rollup-plugin-import-meta-assets; " +
      `elsewhere serve the file and pass its URL to init before any other call (await init("/assets/${WASM_FILE.slice(2)}")), or its bytes or a compiled WebAssembly.Module`,
    { kind: "validation", code: "wasm_not_found", cause },
  );
}

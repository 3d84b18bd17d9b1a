// Browsers and bundlers (and any runtime without a condition of its own): the .wasm is
// fetched from next to this file when init() is first called. The URL is written as
// `new URL("<literal>", import.meta.url)` (WASM_FILE is replaced by scripts/bundle.mjs), the
// form Vite, webpack, Parcel and Next.js recognise: they emit the file and rewrite the URL.
import { RunbaseError } from "../errors.js";

async function atInit() {
  let url = WASM_FILE;
  let response;
  try {
    url = new URL(WASM_FILE, import.meta.url); // throws where the module's own URL is opaque (blob:)
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
    `Could not load ${WASM_FILE.slice(2)} from ${url} (${what}): the bundler did not copy it next to the code. ` +
      "With Rollup add the plugin @web/rollup-plugin-import-meta-assets; " +
      `elsewhere serve the file and pass its URL (or bytes, or a WebAssembly.Module) to init first: await init("/assets/${WASM_FILE.slice(2)}")`,
    { kind: "load", code: "wasm_not_found", cause },
  );
}

export default { atInit };

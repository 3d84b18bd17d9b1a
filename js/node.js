// The package's entry in Node (package.json's "node" condition): everything of index.js, and
// init() that reads the .wasm from disk. The browser entry never sees node:fs.
import { readFile } from "node:fs/promises";
import initShared from "./index.js";

export * from "./index.js";

let started;

/**
 * Loads the WebAssembly module once; later calls return the same promise. Without a source
 * it reads runbase_image_bg.wasm next to this file; or pass bytes or a compiled module.
 */
export default function init(source) {
  if (started === undefined) {
    const loaded = source === undefined
      ? readFile(new URL("./runbase_image_bg.wasm", import.meta.url))
      : source;
    started = initShared(loaded);
    started.catch(() => { started = undefined; });
  }
  return started;
}

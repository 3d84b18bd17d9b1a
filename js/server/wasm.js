// The server module (the core's gateway rules, compiled to wasm), ready at import: every
// runtime this entry is for can have it at once (bytes read from disk, or a compiled module).
// The other files of the entry import it from here, so it is initialised before any of them runs.
import { initSync } from "#wasm";
import loader from "#loader";

initSync({ module: loader.atImport() });

export * from "#wasm";

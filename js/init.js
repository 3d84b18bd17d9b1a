// Loading the WebAssembly module: init() and initSync(), the load at import where the runtime
// can have the .wasm at once, and the guard of the synchronous functions. "#wasm" is the
// generated glue of the module the entry uses (the full one, or the validator alone) and
// "#loader" says how this runtime gets the .wasm (js/load/); scripts/bundle.mjs sets both.
import initWasm, { initSync as initWasmSync, __configure } from "#wasm";
// A loader has one of two: atImport (where the .wasm can be had at once: the module is ready
// when this file has loaded) or atInit (a browser's fetch, made by init()).
import loader from "#loader";
import { RunbaseError } from "./errors.js";
import { learnFacts } from "./fast-path.js";

/** One issue of validateInput's answer, made in one call from the core's parts (wasm setting
 *  each member itself costs several times as much). */
function makeIssue(path, code, message, severity, suggestion, allowed) {
  const issue = { path, code, message, severity };
  if (suggestion !== undefined) issue.suggestion = suggestion;
  if (allowed !== undefined) issue.allowed = allowed;
  return issue;
}

let initialized = false;
/** The latest load started; each waits for the one before it, so two never overlap. */
let loading;
/** Why the .wasm could not be had at import (Node, when no place held it; kind "load"):
 *  init() says it. */
let importFailure;

/** Whether images can be decoded and re-encoded here: a browser or worker with a canvas, not Node. */
export const canFit = () => typeof createImageBitmap == "function" &&
  (typeof OffscreenCanvas == "function" || typeof document == "object");

/** A load that failed, as a RunbaseError of kind "load": a loader's own (it says where it
 *  looked) as it is; any other (a fetch of the URL given to init, bytes or a module that are
 *  not this build's .wasm) with what went wrong as its cause. */
const loadFailure = (cause) => cause instanceof RunbaseError ? cause : new RunbaseError(
  `Could not load ${WASM_FILE.slice(2)} (${cause}): give init this package's own .wasm, its URL, bytes or a WebAssembly.Module`,
  { kind: "load", code: "wasm_not_found", cause },
);

/** Node (not a browser): its fetch says why a connection failed, and it has no CORS. */
const inNode = () => typeof process == "object" && typeof process.versions?.node == "string";

function finish() {
  // The validator learns here whether an oversize file is fitted (warning) or refused (error),
  // the client how to word network errors.
  __configure(RunbaseError, makeIssue, canFit(), inNode());
  learnFacts();
  initialized = true;
}

/** Whether the module is loaded: the synchronous functions can be called. */
export const isInitialized = () => initialized;

function load(source) {
  const previous = loading;
  const attempt = (async () => {
    await previous?.catch(() => {});
    if (initialized) return;
    if (source === undefined && importFailure) throw importFailure;
    const module = await (source === undefined ? loader.atInit() : source);
    if (initialized) return;
    await initWasm({ module_or_path: module });
    finish();
  })().catch((failure) => { throw loadFailure(failure); });
  loading = attempt;
  attempt.catch(() => { if (loading === attempt) loading = undefined; });
  return attempt;
}

/** This load's outcome, or that of a load started while it ran (the .wasm's place passed
 *  after a default attempt began): a failure stands only if nothing loaded the module. */
function settled(attempt) {
  return attempt.catch((error) => {
    if (initialized) return;
    if (loading && loading !== attempt) return settled(loading);
    throw error;
  });
}

/**
 * Loads the WebAssembly module once. Where the runtime allows (Node, Deno, Bun, Workers,
 * edge) it is loaded at import and this resolves at once. In a browser it fetches the .wasm
 * next to this file; or pass a URL, Response, bytes or a compiled module (or a promise of
 * one). Without a source it joins a load in progress; with one it loads from there.
 */
export default function init(source) {
  if (initialized) return Promise.resolve();
  return settled(source === undefined && loading ? loading : load(source));
}
export { init };

/** Synchronous initialisation from bytes or a compiled WebAssembly.Module (workers, tests). */
export function initSync(module) {
  if (!initialized) {
    try {
      initWasmSync({ module });
    } catch (failure) {
      throw loadFailure(failure);
    }
    finish();
  }
}

/** Throws unless the module is loaded: the synchronous functions call it first. */
export function assertInitialized() {
  if (!initialized) {
    throw importFailure ?? new RunbaseError(
      "runbase-image is not initialised yet: call `await init()` once before the synchronous functions (validateInput, getModelFacts, promptLength, estimateCost); the others load it themselves",
      { kind: "validation", code: "not_initialized", retryable: false },
    );
  }
}

// Where the runtime can have the .wasm at once (a file read, a module import), no init() is
// needed, even for the synchronous functions; a failure is said by the first call.
if (loader.atImport) {
  try {
    initSync(loader.atImport());
  } catch (failure) {
    importFailure = failure; // said by init() and by any call made before it
  }
}

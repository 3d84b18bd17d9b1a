// The package's entry: initialisation for every environment, a guard that turns "used before
// init()" into a clear error, and the RunbaseError class every error of the library is made of.
import initWasm, {
  initSync as initWasmSync,
  validateInput as wasmValidateInput,
  getModelFacts as wasmGetModelFacts,
  promptLength as wasmPromptLength,
  RunbaseClient as WasmRunbaseClient,
  __setErrorClass,
} from "./runbase_image.js";

/** Every error this library throws or rejects with. `kind` is stable; see the README. */
export class RunbaseError extends Error {
  constructor(message, fields = {}) {
    super(message);
    this.name = "RunbaseError";
    this.kind = fields.kind;
    this.status = fields.status;
    this.code = fields.code;
    this.retryable = fields.retryable ?? false;
    this.retryAfterMs = fields.retryAfterMs;
    this.runId = fields.runId;
    this.issues = fields.issues;
  }
}

let initialized = false;
let pending;

function finish() {
  __setErrorClass(RunbaseError);
  initialized = true;
}

const isNode = typeof process === "object" && typeof process.versions?.node === "string";

/**
 * Loads the WebAssembly module once; later calls return the same promise.
 * Browsers and bundlers: `await init()` fetches the .wasm next to this file.
 * Node: `await init()` reads it from disk. Or pass a URL, Response, bytes or a compiled module.
 */
export default function init(source) {
  pending ??= (async () => {
    let moduleOrPath = source;
    if (moduleOrPath === undefined && isNode) {
      const fs = "node:fs/promises";
      const { readFile } = await import(/* @vite-ignore */ fs);
      moduleOrPath = await readFile(new URL("./runbase_image_bg.wasm", import.meta.url));
    }
    await initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
    finish();
  })();
  pending.catch(() => { pending = undefined; });
  return pending;
}

/** Synchronous initialisation from bytes or a compiled WebAssembly.Module (workers, tests). */
export function initSync(module) {
  if (!initialized) {
    initWasmSync({ module });
    finish();
  }
}

function ready() {
  if (!initialized) {
    throw new RunbaseError(
      "runbase-image is not initialised yet: call `await init()` (the default export) once before using it",
      { kind: "validation", code: "not_initialized", retryable: false },
    );
  }
}

/** Checks a run's input offline; never throws for bad input. */
export function validateInput(input, options) {
  ready();
  return wasmValidateInput(input, options);
}

/** The model's rules for building a form. */
export function getModelFacts(model) {
  ready();
  return wasmGetModelFacts(model);
}

/** A prompt's length as the validator counts it (UTF-16 code units). */
export function promptLength(text) {
  ready();
  return wasmPromptLength(String(text));
}

/**
 * What a run with this input will cost, in micro-dollars (50000 is $0.05): the price of its
 * resolution in the model facts (the default resolution when none is given).
 */
export function estimateCost(input) {
  ready();
  const facts = wasmGetModelFacts();
  const resolution = input?.resolution === undefined ? facts.defaultResolution : input.resolution;
  return typeof resolution === "string" && Object.hasOwn(facts.pricesUsd, resolution)
    ? facts.pricesUsd[resolution]
    : undefined;
}

/** A client for the Runbase API (directly with apiKey, or through a proxy with baseUrl). */
export class RunbaseClient {
  #inner;
  constructor(options) {
    ready();
    this.#inner = new WasmRunbaseClient(options);
  }
  createRun(input, options) { return this.#inner.createRun(input, options); }
  getRun(runId, options) { return this.#inner.getRun(runId, options); }
  waitForRun(runId, options) { return this.#inner.waitForRun(runId, options); }
  generate(input, options) { return this.#inner.generate(input, options); }
}

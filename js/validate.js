// runbase-image/validate: the validator alone (the client compiled out of the .wasm), and the
// public functions of both entries: the full entry (index.js) is this file and the client, so
// their rules and answers are the same code. Each function here is a thin wrapper: the module
// loaded (init.js), the usual case answered in JS (fast-path.js), anything else by the core.
import {
  validateInput as wasmValidateInput,
  getModelFacts as wasmGetModelFacts,
  promptLength as wasmPromptLength,
} from "#wasm";
import { assertInitialized } from "./init.js";
import { quickValidate, facts } from "./fast-path.js";
import { isBlob } from "./blob.js";
import { inLocale } from "./locale.js";

export { default, init, initSync } from "./init.js";
export { loadLocale } from "./locale.js";
export { fitReferenceImage } from "./fit-reference-image.js";
export { RunbaseError } from "./errors.js";

/**
 * Checks a run's input offline; never throws for bad input. Files cost O(1): never read. The
 * messages are in `options.locale` once loadLocale has loaded it, else in English.
 */
export function validateInput(input, options) {
  assertInitialized();
  let locale, model;
  try {
    ({ locale, model } = options ?? {});
  } catch {
    // unreadable options: English, and the core names the model option as it can
  }
  let result;
  try {
    // Any other option (a model) is the core's to read; an empty options object too, which
    // is how tests/e2e/fastpath.test.mjs asks the core itself.
    const quickly = options === undefined || (locale !== undefined && model === undefined);
    result = quickly ? quickValidate(input) : undefined;
  } catch {
    // a throwing getter or a revoked Proxy: the core reports what it can read
  }
  result ??= fromCore(input, options);
  inLocale(result.issues, locale);
  inLocale(result.warnings, locale);
  return result;
}

/** The core's answer, the caller's files put back in its normalized value. */
function fromCore(input, options) {
  const result = wasmValidateInput(input, options);
  // The core reads a File / Blob as its type and size; the caller's object goes back where
  // the normalized value holds `null` for it.
  result.value?.image_urls?.forEach((url, i) => {
    if (url === null) result.value.image_urls[i] = fileAt(input, i);
  });
  return result;
}

/** `input.image_urls[i]` if it is a Blob (read again: a hostile getter may answer otherwise). */
function fileAt(input, i) {
  try {
    const file = input.image_urls[i];
    return isBlob(file) ? file : null;
  } catch {
    return null;
  }
}

/** The model's rules for building a form. */
export function getModelFacts(model) {
  assertInitialized();
  return wasmGetModelFacts(model);
}

/** A prompt's length as the validator counts it (UTF-16 code units). */
export function promptLength(text) {
  assertInitialized();
  return wasmPromptLength(String(text));
}

/**
 * What a run with this input will cost, in micro-dollars (50000 is $0.05): the price of its
 * resolution in the model facts (the default resolution when none is given).
 */
export function estimateCost(input) {
  assertInitialized();
  // The facts read once at init (a form asks on every keystroke; getModelFacts parses anew).
  const resolution = input?.resolution === undefined ? facts.resolution : input.resolution;
  return typeof resolution === "string" && Object.hasOwn(facts.prices, resolution)
    ? facts.prices[resolution]
    : undefined;
}

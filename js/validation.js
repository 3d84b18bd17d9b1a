// Everything of the package but the client: initialisation, the validator's JS path and
// fitReferenceImage. Bundled by scripts/bundle.mjs into each entry of the package: "#wasm" is
// the generated glue of the module the entry uses (the full one, or the validator alone) and
// "#loader" says how this runtime gets the .wasm (js/load/). Both entries share this file, so
// their rules and answers are the same code.
import initWasm, {
  initSync as initWasmSync,
  validateInput as wasmValidateInput,
  referenceIsClean as wasmReferenceIsClean,
  fieldIssues as wasmFieldIssues,
  getModelFacts as wasmGetModelFacts,
  promptLength as wasmPromptLength,
  __configure,
} from "#wasm";
// A loader has one of two: atImport (where the .wasm can be had at once: the module is ready
// when this file has loaded) or atInit (a browser's fetch, made by init()).
import loader from "#loader";
import { RunbaseError } from "./errors.js";

export { RunbaseError };

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
/** Why the .wasm could not be had at import (Node, when no place held it): init() says it. */
let importFailure;

/** Whether images can be decoded and re-encoded here: a browser or worker with a canvas, not Node. */
const canFit = () => typeof createImageBitmap == "function" &&
  (typeof OffscreenCanvas == "function" || typeof document == "object");

/** Node (not a browser): its fetch says why a connection failed, and it has no CORS. */
const inNode = () => typeof process == "object" && typeof process.versions?.node == "string";

function finish() {
  // The validator learns here whether an oversize file is fitted (warning) or refused (error),
  // the client how to word network errors.
  __configure(RunbaseError, makeIssue, canFit(), inNode());
  prepareQuick();
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
  })();
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
    initWasmSync({ module });
    finish();
  }
}

function ready() {
  if (!initialized) {
    throw importFailure ?? new RunbaseError(
      "runbase-image is not initialised yet: call `await init()` once before the synchronous functions (validateInput, getModelFacts, promptLength, estimateCost); the others load it themselves",
      { kind: "validation", code: "not_initialized", retryable: false },
    );
  }
}

// ---------- the usual case, without crossing into wasm ----------
// A form validates on every keystroke, and every call into wasm costs microseconds of boundary
// crossings, so the usual case is answered here, in a few hundred nanoseconds, never by rules
// of its own: only from what the core itself says. A field is either clean by the limits and
// choices of getModelFacts(), or has the issues the core gave for that very value on its own
// (fieldIssues), kept per value; each reference has the core's verdict (referenceIsClean),
// kept per string and per file, so that validating the same references again is a lookup,
// not a pass over a 4 MB data URL. Anything else (a reference with an issue, the rule linking
// resolution to aspect ratio, an unknown field, a value that is not a string) goes to the
// core, which answers with every issue. tests/e2e/fastpath.test.mjs compares the two answers
// on thousands of generated inputs.
let quick; // what this path needs of the facts, read once
// Reference strings the core found clean, bounded in count and in characters kept alive (a
// refused one is never kept: the core reads it again anyway).
const cleanStrings = new Set();
let cleanChars = 0;
const KEEP_STRINGS = 64;
const KEEP_CHARS = 24 * 1024 * 1024; // four 4 MB data URLs are 22.4 M characters
// Each field's issues as the core gave them for one string value, by field and value: a field
// the keystroke did not change (an unsupported ratio, say) costs a lookup. Values longer than
// KEEP_VERDICT_CHARS (a prompt over the limit, say) are asked about every time, never kept, so
// at most 64 × 1024 characters per field stay alive.
const fieldVerdicts = { prompt: new Map(), aspect_ratio: new Map(), resolution: new Map() };
const KEEP_VERDICT_CHARS = 1024;
// Files by what the core reads of them, type and size (read again at every call: a getter or
// a redefined property may change them), mapped to the core's verdict.
const fileVerdicts = new Map();
// Surely not blank to the core: a character outside JS's \s and U+0085, which together hold
// every character Rust calls whitespace.
const NOT_BLANK = /[^\s\u0085]/;
const wellFormed = (s) => (s.isWellFormed ? s.isWellFormed() : !/\p{Cs}/u.test(s));

function referenceClean(entry) {
  if (typeof entry === "string") {
    if (!wellFormed(entry)) return false; // the core sees it mended: let it answer
    if (cleanStrings.has(entry)) return true;
    if (!wasmReferenceIsClean(entry)) return false;
    if (cleanStrings.size >= KEEP_STRINGS || cleanChars + entry.length > KEEP_CHARS) {
      cleanStrings.clear();
      cleanChars = 0;
    }
    cleanStrings.add(entry);
    cleanChars += entry.length;
    return true;
  }
  if (!isBlob(entry)) return false;
  const { type, size } = entry;
  const key = `${typeof size}:${size}:${typeof type}:${type}`;
  let clean = fileVerdicts.get(key);
  if (clean === undefined) {
    if (fileVerdicts.size >= KEEP_STRINGS) fileVerdicts.clear();
    fileVerdicts.set(key, (clean = wasmReferenceIsClean(entry)));
  }
  return clean;
}

/** The core's issues for one field's string value (errors and warnings, in its order). */
function fieldVerdict(field, value) {
  const kept = fieldVerdicts[field];
  let issues = kept.get(value);
  if (issues === undefined) {
    issues = wasmFieldIssues(field, value);
    if (value.length <= KEEP_VERDICT_CHARS) {
      if (kept.size >= KEEP_STRINGS) kept.clear();
      kept.set(value, issues);
    }
  }
  return issues;
}

/** A kept issue as the caller's own object (its list too): changing it changes no later answer. */
const copyIssue = (issue) => (issue.allowed ? { ...issue, allowed: issue.allowed.slice() } : { ...issue });

/** The core's answer, or undefined when only the core can tell. It reads
 *  the input as the core does: own enumerable keys, then each one; a list by its length and
 *  indexes. */
function quickValidate(input) {
  if (input === null || typeof input !== "object" || Array.isArray(input)
    || Object.getPrototypeOf(input) !== Object.prototype) return;
  const keys = Object.keys(input);
  // A field given as undefined is left out, as JSON.stringify (and the core) does; null is not.
  const read = (key, fallback) => {
    const value = keys.includes(key) ? input[key] : undefined;
    return value === undefined ? fallback : value;
  };
  const prompt = read("prompt");
  const aspect_ratio = read("aspect_ratio", quick.aspectRatio);
  const resolution = read("resolution", quick.resolution);
  const list = read("image_urls");
  if (!keys.every((key) => quick.fields.includes(key))) return;
  // Each field: clean by the facts, or the core's own issues for its value.
  const found = [];
  if (typeof prompt !== "string" || !wellFormed(prompt)) return;
  if (prompt.length < quick.min || prompt.length > quick.max || !NOT_BLANK.test(prompt)) {
    found.push(...fieldVerdict("prompt", prompt));
  }
  for (const [field, given, allowed] of [["aspect_ratio", aspect_ratio, quick.ratios], ["resolution", resolution, quick.resolutions]]) {
    if (typeof given !== "string" || !wellFormed(given)) return;
    if (!allowed.includes(given)) found.push(...fieldVerdict(field, given));
  }
  // The rule linking the two belongs to the whole input: the core answers it.
  if (quick.ratios.includes(aspect_ratio) && quick.resolutions.includes(resolution)
    && !quick.byRatio[aspect_ratio].includes(resolution)) return;
  const value = { prompt, aspect_ratio, resolution };
  if (list !== undefined) {
    if (!Array.isArray(list)) return;
    const length = list.length;
    if (!(length <= quick.maxUrls)) return;
    const urls = [];
    for (let i = 0; i < length; i++) urls.push(list[i]);
    if (new Set(urls).size !== urls.length || !urls.every(referenceClean)) return;
    if (urls.length) value.image_urls = urls;
  }
  // As the core lists them: errors, then warnings, each in field order.
  const issues = found.filter((issue) => issue.severity === "error").map(copyIssue);
  const warnings = found.filter((issue) => issue.severity !== "error").map(copyIssue);
  return issues.length ? { ok: false, issues, warnings } : { ok: true, value, issues, warnings };
}

function prepareQuick() {
  const facts = wasmGetModelFacts();
  quick = {
    fields: facts.inputFields, min: facts.promptMinLength, max: facts.promptMaxLength,
    aspectRatio: facts.defaultAspectRatio, resolution: facts.defaultResolution,
    ratios: facts.aspectRatios, resolutions: facts.resolutions,
    byRatio: facts.resolutionsByAspectRatio, maxUrls: facts.maxImageUrls, prices: facts.pricesUsd,
  };
}

/** Checks a run's input offline; never throws for bad input. Files cost O(1): never read. */
export function validateInput(input, options) {
  ready();
  let quickly;
  try {
    quickly = options === undefined ? quickValidate(input) : undefined;
  } catch {
    // a throwing getter or a revoked Proxy: the core reports what it can read
  }
  if (quickly) return quickly;
  const result = wasmValidateInput(input, options);
  // The core reads a File / Blob as its type and size; the caller's object goes back where
  // the normalized value holds `null` for it.
  result.value?.image_urls?.forEach((url, i) => {
    if (url === null) result.value.image_urls[i] = fileAt(input, i);
  });
  return result;
}

export const isBlob = (value) => {
  try {
    return value instanceof Blob;
  } catch {
    return false; // no Blob here, or a revoked Proxy
  }
};

/** `input.image_urls[i]` if it is a Blob (read again: a hostile getter may answer otherwise). */
function fileAt(input, i) {
  try {
    const file = input.image_urls[i];
    return isBlob(file) ? file : null;
  } catch {
    return null;
  }
}

export const invalid = (message, code, issues, cause) => new RunbaseError(message, { kind: "validation", code, issues, cause });
const aborted = (signal) => new RunbaseError("Aborted by the caller", { kind: "aborted", cause: signal.reason });

/**
 * Makes an image file fit the model's size limit (or `maxBytes`): the same Blob back when it
 * already fits; otherwise re-encoded at its own size as WebP (JPEG where the browser cannot
 * encode WebP) at quality 0.92, then 0.85, then scaled down just enough. Needs
 * createImageBitmap and a canvas (browsers, workers); elsewhere only files that already fit
 * pass. Rejects with a RunbaseError of kind "validation" (or "aborted").
 */
export async function fitReferenceImage(blob, { maxBytes, signal } = {}) {
  if (!initialized) await init(); // asynchronous: it loads the module itself, as the client does
  if (!isBlob(blob)) throw invalid("fitReferenceImage takes a File or Blob", "invalid_argument");
  // The core's rules for a file (image/* type, not empty, fittable here when too large).
  const issue = wasmValidateInput({ prompt: "-", image_urls: [blob] }).issues[0];
  if (issue) throw invalid(issue.message, issue.code, [issue]);
  const max = maxBytes ?? wasmGetModelFacts().maxImageBytes;
  if (!(max > 0)) throw invalid("maxBytes must be a number of bytes above 0", "invalid_options");
  const { size, type } = blob;
  const info = { blob, bytes: size, type, originalBytes: size, changed: false, scale: 1 };
  const tooLarge = () => invalid(`This image could not be made ${max} bytes or less here: resize or compress it first`, "image_url_too_large");
  if (!canFit()) {
    if (size <= max) return info;
    throw tooLarge(); // only with a maxBytes under the model's limit: the core refused the rest
  }
  if (signal?.aborted) throw aborted(signal);
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch (cause) {
    throw invalid(`This ${type} file could not be decoded (damaged, or a format this browser cannot read): attach a PNG, JPEG or WebP image`, "image_not_decodable", undefined, cause);
  }
  try {
    const { width, height } = bitmap;
    Object.assign(info, { width, height, originalWidth: width, originalHeight: height });
    if (size <= max) return info;
    let out = "image/webp";
    const encode = async (scale, quality) => {
      if (signal?.aborted) throw aborted(signal);
      const w = Math.max(1, Math.round(width * scale));
      const h = Math.max(1, Math.round(height * scale));
      const canvas = typeof OffscreenCanvas == "function"
        ? new OffscreenCanvas(w, h)
        : Object.assign(document.createElement("canvas"), { width: w, height: h });
      const context = canvas.getContext("2d");
      if (out == "image/jpeg") { // no transparency in JPEG: on white rather than black
        context.fillStyle = "#fff";
        context.fillRect(0, 0, w, h);
      }
      context.drawImage(bitmap, 0, 0, w, h);
      const result = await (canvas.convertToBlob
        ? canvas.convertToBlob({ type: out, quality })
        : new Promise((resolve) => canvas.toBlob(resolve, out, quality)));
      if (result?.type != out && out != "image/jpeg") { // no WebP encoder (older Safari)
        out = "image/jpeg";
        return encode(scale, quality);
      }
      if (!result) throw invalid("The browser could not encode the image", "image_not_decodable");
      Object.assign(info, { blob: result, bytes: result.size, type: result.type, width: w, height: h, quality, scale, changed: true });
      return result.size <= max;
    };
    if (await encode(1, 0.92) || await encode(1, 0.85)) return info;
    // Bytes follow the pixel count: scale both sides by about √(max / bytes), then step down.
    for (let scale = Math.sqrt(max / info.bytes), i = 0; i < 12; i++, scale *= 0.9) {
      if (await encode(scale, 0.85)) return info;
    }
    throw tooLarge();
  } finally {
    bitmap.close();
  }
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
  // The facts read once at init (a form asks on every keystroke; getModelFacts parses anew).
  const resolution = input?.resolution === undefined ? quick.resolution : input.resolution;
  return typeof resolution === "string" && Object.hasOwn(quick.prices, resolution)
    ? quick.prices[resolution]
    : undefined;
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

// validateInput's usual case, answered without crossing into wasm, and the caches it answers
// from. A form validates on every keystroke, and every call into wasm costs microseconds of
// boundary crossings, so the usual case is answered here, in a few hundred nanoseconds, never
// by rules of its own: only from what the core itself says. A field is either clean by the
// limits and choices of getModelFacts(), or has the issues the core gave for that very value
// on its own (fieldIssues), kept per value; each reference has the core's verdict (clean when
// referenceIssues finds none), kept per string and per file, so that validating the same
// references again is a lookup, not a pass over a 4 MB data URL. Anything else (a reference
// with an issue, the rule linking resolution to aspect ratio, an unknown field, a value that
// is not a string) goes to the core, which answers with every issue.
// tests/e2e/fastpath.test.mjs compares the two answers on thousands of generated inputs.
import {
  referenceIssues as wasmReferenceIssues,
  fieldIssues as wasmFieldIssues,
  getModelFacts as wasmGetModelFacts,
} from "#wasm";
import { isBlob } from "./blob.js";

/** What this path (and estimateCost) needs of the model facts, read once at init. */
export let facts;
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

const referenceIsClean = (entry) => !wasmReferenceIssues(entry).length;

function referenceClean(entry) {
  if (typeof entry === "string") {
    if (!wellFormed(entry)) return false; // the core sees it mended: let it answer
    if (cleanStrings.has(entry)) return true;
    if (!referenceIsClean(entry)) return false;
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
    fileVerdicts.set(key, (clean = referenceIsClean(entry)));
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
export function quickValidate(input) {
  if (input === null || typeof input !== "object" || Array.isArray(input)
    || Object.getPrototypeOf(input) !== Object.prototype) return;
  const keys = Object.keys(input);
  // A field given as undefined is left out, as JSON.stringify (and the core) does; null is not.
  const read = (key, fallback) => {
    const value = keys.includes(key) ? input[key] : undefined;
    return value === undefined ? fallback : value;
  };
  const prompt = read("prompt");
  const aspect_ratio = read("aspect_ratio", facts.aspectRatio);
  const resolution = read("resolution", facts.resolution);
  const list = read("image_urls");
  if (!keys.every((key) => facts.fields.includes(key))) return;
  // Each field: clean by the facts, or the core's own issues for its value.
  const found = [];
  if (typeof prompt !== "string" || !wellFormed(prompt)) return;
  if (prompt.length < facts.min || prompt.length > facts.max || !NOT_BLANK.test(prompt)) {
    found.push(...fieldVerdict("prompt", prompt));
  }
  for (const [field, given, allowed] of [["aspect_ratio", aspect_ratio, facts.ratios], ["resolution", resolution, facts.resolutions]]) {
    if (typeof given !== "string" || !wellFormed(given)) return;
    if (!allowed.includes(given)) found.push(...fieldVerdict(field, given));
  }
  // The rule linking the two belongs to the whole input: the core answers it.
  if (facts.ratios.includes(aspect_ratio) && facts.resolutions.includes(resolution)
    && !facts.byRatio[aspect_ratio].includes(resolution)) return;
  const value = { prompt, aspect_ratio, resolution };
  if (list !== undefined) {
    if (!Array.isArray(list)) return;
    const length = list.length;
    if (!(length <= facts.maxUrls)) return;
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

/** Reads the model facts this path needs, once the module is loaded. */
export function learnFacts() {
  const all = wasmGetModelFacts();
  facts = {
    fields: all.inputFields, min: all.promptMinLength, max: all.promptMaxLength,
    aspectRatio: all.defaultAspectRatio, resolution: all.defaultResolution,
    ratios: all.aspectRatios, resolutions: all.resolutions,
    byRatio: all.resolutionsByAspectRatio, maxUrls: all.maxImageUrls, prices: all.pricesUsd,
  };
}

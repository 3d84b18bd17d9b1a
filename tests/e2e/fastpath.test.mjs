// validateInput answers clean inputs in JS (js/index.js, "the usual case") and everything else
// in the core (wasm). The two must never disagree: thousands of generated inputs, each
// validated both ways, in Node (and the package test runs the browser build in Chromium).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import init, { validateInput } from "../../pkg/node.js";
import { validateInput as coreValidateInput } from "../../pkg/runbase_image.js";

before(() => init());

/** A small deterministic generator (no Math.random: a failure must replay). */
function generator(seed) {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return (list) => list[Math.floor(next() * list.length)];
}

const png = new Blob([new Uint8Array([137, 80, 78, 71])], { type: "image/png" });
const big = new Blob([new Uint8Array(4 * 1024 * 1024 + 1)], { type: "image/png" });
const dataUrl = (bytes) => `data:image/png;base64,${"A".repeat(Math.ceil(bytes / 3) * 4)}`;
const MISSING = Symbol("missing");
const PROMPTS = ["A lamp", "A lamp", "A lamp", "A lamp", "", " ", "\t\n", "\u0085", "\u00a0", "\u3000", "\ufeff", "\u200b", "x", "猫",
  "x".repeat(4000), "x".repeat(4001), "😀".repeat(2000), "😀".repeat(2001), "a\ud800b", "\udfff", 5, null, MISSING];
const RATIOS = ["1:1", "16:9", "9:16", "21:9", "4:5", "1:1", "16:9", "3:2", "16x9", "", "1:1 ", null, 3, MISSING, MISSING];
const RESOLUTIONS = ["1K", "2K", "4K", "1K", "2K", "8K", "4k", "", null, MISSING, MISSING];
const URLS = ["https://images.example/a.png", "https://images.example/b.png", "http://images.example/a.png",
  "ftp://images.example/a.png", "not a url", "https://", "https://images.example/\ud800.png", "data:image/png;base64,iVBORw0KGgo=",
  "data:text/plain;base64,AAAA", "data:image/png;base64,@@@", dataUrl(100_000), png, png, big,
  new Blob(["text"], { type: "text/plain" }), new Blob([], { type: "image/png" }), 5, null, undefined];
const LISTS = [MISSING, MISSING, MISSING, "https://images.example/a.png", [], null, "many", "many", "sparse"];
const EXTRAS = [{}, {}, {}, {}, {}, {}, { foo: 1 }, { foo: undefined }, { model: "openai/gpt-image-2" }, { Prompt: "x" }];

function input(pick) {
  const out = { ...pick(EXTRAS) };
  for (const [key, list] of [["prompt", PROMPTS], ["aspect_ratio", RATIOS], ["resolution", RESOLUTIONS]]) {
    const value = pick(list);
    if (value !== MISSING) out[key] = value;
  }
  const list = pick(LISTS);
  if (list === "many") out.image_urls = Array.from({ length: pick([1, 2, 3, 4, 4, 5]) }, () => pick(URLS));
  else if (list === "sparse") out.image_urls = [, "https://images.example/a.png"]; // eslint-disable-line no-sparse-arrays
  else if (list !== MISSING) out.image_urls = list;
  return out;
}

/** The core answers `null` for a file in the normalized value; the package gives it back. */
const withFilesAsNull = (result) => ({
  ...result,
  ...(result.value && { value: { ...result.value, ...(result.value.image_urls && { image_urls: result.value.image_urls.map((u) => (u instanceof Blob ? null : u)) }) } }),
});

test("the JS answer for clean inputs equals the core's, on 20,000 generated inputs", () => {
  // (Over-limit data URLs, slow to build and read, are in the test below.)
  const pick = generator(20261125);
  let clean = 0;
  for (let i = 0; i < 20_000; i++) {
    const given = input(pick);
    const ours = validateInput(given);
    const core = coreValidateInput(given);
    assert.deepEqual(withFilesAsNull(ours), core, `input #${i}: ${JSON.stringify(given, (k, v) => (v instanceof Blob ? `Blob(${v.type}, ${v.size})` : v))}`);
    if (core.ok && core.warnings.length === 0) clean += 1;
  }
  assert.ok(clean > 1000, `enough clean inputs to exercise the quick path: ${clean}`);
});

test("four 4 MB data URLs: the kept verdicts stay right for the same strings and for new ones", () => {
  const urls = [1, 2, 3, 4].map((n) => `data:image/png;base64,${String(n).repeat(4).padEnd(5_592_404, "A")}`);
  const given = { prompt: "Blend these", image_urls: urls };
  for (let i = 0; i < 3; i++) {
    const result = validateInput(given);
    assert.equal(result.ok, true, JSON.stringify(result.issues));
    assert.deepEqual(result.value.image_urls, urls);
  }
  const over = urls.map((u) => `${u}AAAA`); // 3 bytes over 4 MiB each
  assert.deepEqual(validateInput({ prompt: "Blend these", image_urls: over }).issues.map((i) => i.code), Array(4).fill("image_url_too_large"));
  assert.equal(validateInput({ prompt: "Blend these", image_urls: [urls[0], urls[0]] }).warnings[0]?.code, "image_url_duplicate");
});

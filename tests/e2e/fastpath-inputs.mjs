// Inputs for comparing validateInput's JS answer with the core's (fastpath.test.mjs), in Node
// and in the browser (the page loads this file as a module). Deterministic: a failure replays.

/** Reads of each input's `prompt` getter: 1 when the JS path answered, 2 when the core did. */
export const promptReads = new WeakMap();

function generator(seed) {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return (list) => list[Math.floor(next() * list.length)];
}

const MISSING = Symbol("missing");

export function generatedInputs(seed, count, { bigFile = false } = {}) {
  const pick = generator(seed);
  const png = new Blob([new Uint8Array([137, 80, 78, 71])], { type: "image/png" });
  const big = new Blob([new Uint8Array(4 * 1024 * 1024 + 1)], { type: "image/png" });
  const dataUrl = (bytes) => `data:image/png;base64,${"A".repeat(Math.ceil(bytes / 3) * 4)}`;
  const PROMPTS = ["A lamp", "A lamp", "A lamp", "A lamp", "", " ", "\t\n", "\u0085", "\u00a0", "\u3000", "\ufeff", "\u200b", "x", "猫",
    "x".repeat(4000), "x".repeat(4001), "😀".repeat(2000), "😀".repeat(2001), "a\ud800b", "\udfff", 5, null, MISSING];
  const RATIOS = ["1:1", "16:9", "9:16", "21:9", "4:5", "1:1", "16:9", "3:2", "16x9", "", "1:1 ", null, 3, undefined, MISSING, MISSING];
  const RESOLUTIONS = ["1K", "2K", "4K", "1K", "2K", "8K", "4k", "", null, undefined, MISSING, MISSING];
  // Many distinct clean URLs: the JS path's cache of strings fills up and is cleared.
  const URLS = [...Array.from({ length: 90 }, (_, i) => `https://images.example/${i}.png`), "http://images.example/a.png",
    "ftp://images.example/a.png", "not a url", "https://", "https://images.example/\ud800.png", "data:image/png;base64,iVBORw0KGgo=",
    "data:text/plain;base64,AAAA", "data:image/png;base64,@@@", dataUrl(100_000), png, png,
    new Blob(["text"], { type: "text/plain" }), new Blob([], { type: "image/png" }), 5, null, undefined,
    ...(bigFile ? [big, big] : [])];
  const LISTS = [MISSING, MISSING, MISSING, "https://images.example/a.png", [], null, "many", "many", "many", "sparse", "subclass"];
  const EXTRAS = [{}, {}, {}, {}, {}, {}, { foo: 1 }, { foo: undefined }, { model: "openai/gpt-image-2" }, { Prompt: "x" }];
  const SHAPES = ["plain", "plain", "plain", "getter", "getter", "hidden prompt", "null prototype", "array", "class", "frozen"];
  class Input {}
  const inputs = [];
  for (let n = 0; n < count; n++) {
    const out = { ...pick(EXTRAS) };
    for (const [key, list] of [["prompt", PROMPTS], ["aspect_ratio", RATIOS], ["resolution", RESOLUTIONS]]) {
      const value = pick(list);
      if (value !== MISSING) out[key] = value;
    }
    const list = pick(LISTS);
    if (list === "many") out.image_urls = Array.from({ length: pick([1, 2, 3, 4, 4, 5]) }, () => pick(URLS));
    else if (list === "sparse") out.image_urls = [, "https://images.example/a.png"]; // eslint-disable-line no-sparse-arrays
    else if (list === "subclass") {
      class Odd extends Array { *[Symbol.iterator]() { yield "https://images.example/0.png"; } }
      out.image_urls = Odd.from(["ftp://images.example/y.png"]);
    } else if (list !== MISSING) out.image_urls = list;
    const shape = pick(SHAPES);
    if (shape === "getter" && "prompt" in out) {
      const value = out.prompt;
      delete out.prompt;
      Object.defineProperty(out, "prompt", {
        enumerable: true, configurable: true,
        get() { promptReads.set(out, (promptReads.get(out) ?? 0) + 1); return value; },
      });
    } else if (shape === "hidden prompt" && "prompt" in out) {
      Object.defineProperty(out, "prompt", { enumerable: false, value: out.prompt });
    } else if (shape === "null prototype") {
      inputs.push(Object.assign(Object.create(null), out));
      continue;
    } else if (shape === "array") {
      inputs.push(Object.setPrototypeOf(Object.assign([], out), Object.prototype));
      continue;
    } else if (shape === "class") {
      inputs.push(Object.assign(new Input(), out));
      continue;
    } else if (shape === "frozen") Object.freeze(out);
    inputs.push(out);
  }
  return inputs;
}

/** Compares the two answers; returns a description of the first difference, or null. The
 *  package gives the caller's Blob back where the core's value holds null. */
export function difference(input, ours, core) {
  const show = (v) => JSON.stringify(v, (k, x) => (x instanceof Blob ? `Blob(${x.type}, ${x.size})` : x));
  const urls = ours.value?.image_urls;
  if (urls) {
    for (const [i, url] of urls.entries()) {
      if (url instanceof Blob && url !== input.image_urls[i]) return `image_urls[${i}] is not the caller's Blob`;
    }
  }
  // Where the core's value holds a file, the entry puts the caller's Blob back: compared as one.
  const asCore = (answer) => (answer.value?.image_urls
    ? { ...answer, value: { ...answer.value, image_urls: answer.value.image_urls.map((u) => (u instanceof Blob ? null : u)) } }
    : answer);
  const a = show(asCore(ours));
  const b = show(asCore(core));
  return a === b ? null : `for ${show(input)}:\n  package: ${a}\n  core:    ${b}`;
}

// validateInput answers clean inputs in JS (js/fast-path.js, "the usual case") and everything else
// in the core (wasm). The two must never disagree: thousands of generated inputs (and odd
// objects written out below), each validated both ways, in Node and in Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import init, { validateInput, getModelFacts, RunbaseClient } from "../../pkg/node.js";
import * as validateOnly from "../../pkg/validate.node.js";
import { generatedInputs, difference, promptReads } from "./fastpath-inputs.mjs";
import { ROOT, startSimulator, launchChromium, openPackagePage } from "./harness.mjs";

// The core's own answer: any options argument sends validateInput past its JS path.
const coreValidateInput = (input) => validateInput(input, {});

let server, browser;
before(async () => { await init(); });
after(async () => { await browser?.close(); server?.stop(); });

test("Node: the JS answer equals the core's on 20,000 generated inputs, and the JS path does answer, with problems too", () => {
  let clean = 0, quick = 0, quickProblems = 0;
  for (const input of generatedInputs(20261125, 20_000)) {
    const reads = () => promptReads.get(input) ?? 0;
    const before = reads();
    const ours = validateInput(input);
    const oursReads = reads() - before;
    const core = coreValidateInput(input);
    const problem = difference(input, ours, core);
    assert.equal(problem, null, problem);
    if (core.ok && core.warnings.length === 0) clean += 1;
    // The JS path reads the prompt once and answers; when it cannot, the core reads it again.
    if (oursReads === 1 && ours.ok) quick += 1;
    // ... and for inputs with problems, from the core's kept issues of each field's value.
    if (oursReads === 1 && !ours.ok) quickProblems += 1;
  }
  assert.ok(clean > 1000, `clean inputs: ${clean}`);
  assert.ok(quick > 100, `clean inputs with a counting getter answered by the JS path: ${quick}`);
  assert.ok(quickProblems > 100, `inputs with problems and a counting getter answered by the JS path: ${quickProblems}`);
});

test("Node: runbase-image/validate (the module without the client) answers as the full package, the core's answer and the JS path's, on 20,000 generated inputs", () => {
  let compared = 0;
  for (const input of generatedInputs(20261206, 20_000)) {
    for (const options of [undefined, {}]) {
      const full = validateInput(input, options);
      const alone = validateOnly.validateInput(input, options);
      // The same caller's Blobs back, and every member alike (undefined and null told apart).
      assert.deepStrictEqual(alone, full);
      compared += 1;
    }
  }
  assert.equal(compared, 40_000);
  assert.deepEqual(validateOnly.getModelFacts(), getModelFacts());
  assert.equal(validateOnly.estimateCost({ resolution: "2K" }), 70000);
  assert.equal(validateOnly.promptLength("🦀"), 2);
  assert.equal("RunbaseClient" in validateOnly, false);
});

test("Node: validateInput's issues (built by the entry's makeIssue) equal the client's (serde-wasm-bindgen), member for member and in order", async () => {
  // Nothing listens there: an invalid input is refused before any request is made.
  const client = new RunbaseClient({ baseUrl: "http://127.0.0.1:9/v1" });
  let compared = 0;
  for (const input of generatedInputs(20261205, 3_000)) {
    const ours = validateInput(input);
    if (ours.ok) continue;
    const error = await client.createRun(input).then(() => assert.fail("created"), (e) => e);
    assert.equal(error.code, "invalid_input", error.message);
    assert.equal(ours.issues.length, error.issues.length);
    ours.issues.forEach((issue, i) => {
      assert.deepEqual(Object.keys(issue), Object.keys(error.issues[i]));
      assert.deepStrictEqual(issue, error.issues[i]);
    });
    // Lists come out as the caller's own copies: changing one never changes the next answer.
    ours.issues.find((issue) => issue.allowed)?.allowed.push("changed");
    assert.deepStrictEqual(validateInput(input).issues, error.issues);
    compared += 1;
  }
  assert.ok(compared > 500, `invalid inputs compared: ${compared}`);
});

test("Node: odd objects get the core's answer and never a throw", () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const list = Proxy.revocable([], {});
  list.revoke();
  const cases = [
    { get prompt() { throw new Error("getter"); } },
    revoked.proxy,
    { prompt: "A lamp", image_urls: list.proxy },
    new Proxy({ prompt: "A lamp" }, { ownKeys() { throw new Error("keys"); } }),
    new Proxy(Object.assign([], { prompt: "A lamp" }), { getPrototypeOf: () => Object.prototype }),
    Object.defineProperty({}, "prompt", { value: "A lamp" }),
    { prompt: "A lamp", aspect_ratio: null },
  ];
  for (const input of cases) {
    let ours;
    assert.doesNotThrow(() => { ours = validateInput(input); });
    assert.equal(difference({}, ours, coreValidateInput(input)), null);
  }
  for (const [key, enumerable] of [["resolution", true], ["prompt", false]]) {
    Object.defineProperty(Object.prototype, key, { value: key === "prompt" ? "A lamp" : "2K", enumerable, configurable: true, writable: true });
    try {
      const input = key === "prompt" ? {} : { prompt: "A lamp" };
      assert.equal(difference(input, validateInput(input), coreValidateInput(input)), null, `Object.prototype.${key}`);
    } finally {
      delete Object.prototype[key];
    }
  }
});

test("Node: a file's verdict follows its type and size, even when they change after a first check", () => {
  const file = new Blob([new Uint8Array(10)], { type: "image/png" });
  assert.equal(validateInput({ prompt: "A lamp", image_urls: [file] }).ok, true);
  Object.defineProperty(file, "size", { value: 5 * 1024 * 1024 });
  const input = { prompt: "A lamp", image_urls: [file] };
  assert.equal(difference(input, validateInput(input), coreValidateInput(input)), null);
  assert.equal(validateInput(input).ok, false, "Node cannot fit a 5 MB file: refused");
});

test("Node: four 4 MB data URLs: the kept verdicts stay right for the same strings and for new ones", () => {
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

test("Chromium: the JS answer equals the core's on 5,000 generated inputs, oversize files (fitted here) included, and runbase-image/validate's equals both", async () => {
  server = await startSimulator();
  browser = await launchChromium();
  const page = await openPackagePage(browser, server);
  const source = readFileSync(join(ROOT, "tests", "e2e", "fastpath-inputs.mjs"), "utf8");
  const outcome = await page.evaluate(async (source) => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const { generatedInputs, difference } = await import(url);
    // runbase-image/validate's browser entry answers too: as the full one, member for member.
    const alone = await import("/pkg/validate.js");
    await alone.default();
    const show = (v) => JSON.stringify(v, (k, x) => (x === undefined ? "(undefined)" : x instanceof Blob ? `Blob(${x.size})` : x));
    let clean = 0, fitted = 0;
    for (const input of generatedInputs(7, 5000, { bigFile: true })) {
      const ours = window.lib.validateInput(input);
      const theirs = window.lib.validateInput(input, {}); // options: the core answers
      const problem = difference(input, ours, theirs)
        ?? (show(alone.validateInput(input)) === show(ours) ? null : `validate.js: ${show(alone.validateInput(input))} against ${show(ours)}`);
      if (problem) return { problem };
      if (theirs.ok && !theirs.warnings.length) clean += 1;
      if (theirs.warnings.some((w) => w.code === "image_file_will_be_fitted")) fitted += 1;
    }
    return { clean, fitted };
  }, source);
  assert.equal(outcome.problem, undefined, outcome.problem);
  assert.ok(outcome.clean > 200 && outcome.fitted > 20, JSON.stringify(outcome));
});

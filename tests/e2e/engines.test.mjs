// The package in the three browser engines people use: Chromium, Firefox (Gecko) and WebKit
// (Safari's engine, every browser on an iPhone), each driven over WebDriver with Debian's
// build (harness.mjs: launchEngine). A page with no bundler imports the built package and
// validates, generates at 4K through the simulator, makes no request for an invalid input,
// aborts a wait and resumes it, fits a PNG over the model's limit, and shares a key's budget
// with a second tab (Web Locks). Where the engines differ, the test says what each does:
// WebKit cannot encode WebP, so it fits to JPEG.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator, launchEngine, ENGINES } from "./harness.mjs";

let server;
before(async () => {
  // A blank page of the server's origin (Firefox shows a JSON answer in a viewer of its own,
  // where a page's script cannot run), with the package at /pkg/ as always.
  const www = mkdtempSync(join(tmpdir(), "runbase-engines-"));
  writeFileSync(join(www, "index.html"), '<!doctype html><html lang="en"><meta charset="utf-8"><title>engines</title>');
  // Refused requests count toward a key's window: tabs that fought over a key would show it.
  server = await startSimulator({ runMs: 1500, extra: ["--www", www, "--sim-strict-window"] });
});
after(() => server?.stop());

const stats = async () => (await (await fetch(`${server.url}/__sim/stats`)).json()).keys;

/** Runs `body(lib, arg)` in the page; a rejection comes back as `{ error }`. */
async function inPage(driver, body, arg) {
  const answer = await driver.executeAsyncScript(`
    const done = arguments[arguments.length - 1];
    (${body})(window.lib, arguments[0]).then((value) => done({ value }),
      (e) => done({ error: { kind: e?.kind, code: e?.code, message: String(e?.message ?? e), runId: e?.runId } }));`, arg);
  return answer.error ? { error: answer.error } : answer.value;
}

/** What fitting differs in: the format each engine's canvas can encode. */
const FITTED_TYPE = { chromium: "image/webp", firefox: "image/webp", webkit: "image/jpeg" };

for (const engine of ENGINES) {
  test(`${engine}: a page with no bundler validates, generates at 4K, aborts and resumes, shares a key with a second tab, fits a PNG over the limit`, async (t) => {
    const driver = await launchEngine(engine);
    t.after(() => driver.quit());
    await driver.get(`${server.url}/`);
    const loaded = await inPage(driver, async () => {
      window.lib = await import("/pkg/index.js");
      await window.lib.default();
      return window.isSecureContext;
    });
    assert.equal(loaded, true, "127.0.0.1 is a secure context");
    const key = `sk-sim-engine-${engine}`;
    const options = { apiKey: key, baseUrl: `${server.url}/sim/v1` };

    await t.test("validation", async () => {
      const checked = await inPage(driver, async (lib) => [
        lib.validateInput({ prompt: "A lamp", aspect_ratio: "16:9", resolution: "4K" }).ok,
        lib.validateInput({ prompt: "A lamp", resolution: "4K" }).issues.map((i) => i.code),
        lib.validateInput({ prompt: "", aspect_ratio: "2:1", extra: 1 }).issues.map((i) => i.code),
      ]);
      assert.deepEqual(checked, [true, ["resolution_not_allowed_for_aspect_ratio"], ["prompt_empty", "aspect_ratio_unsupported", "unknown_field"]]);
    });

    await t.test("an invalid input makes no request", async () => {
      const refused = await inPage(driver, async (lib, options) =>
        new lib.RunbaseClient(options).generate({ prompt: "A lamp", resolution: "4K" }), options);
      assert.equal(refused.error.kind, "validation");
      assert.equal(refused.error.code, "invalid_input");
      assert.equal((await stats())[key], undefined, "the simulator saw no request of this key");
    });

    await t.test("a 4K run, its image shown", async () => {
      const made = await inPage(driver, async (lib, options) => {
        const { urls, run } = await new lib.RunbaseClient(options).generate({ prompt: "A lamp", aspect_ratio: "16:9", resolution: "4K" });
        const image = new Image();
        await new Promise((resolve, reject) => { image.onload = resolve; image.onerror = reject; image.src = urls[0]; });
        return { status: run.status, urls: urls.length, ratio: image.naturalWidth / image.naturalHeight };
      }, options);
      assert.equal(made.status, "succeeded");
      assert.equal(made.urls, 1);
      assert.ok(Math.abs(made.ratio - 16 / 9) < 0.01, `the image is 16:9: ${made.ratio}`);
    });

    await t.test("abort mid-wait keeps the run id; the wait resumes", async () => {
      const resumed = await inPage(driver, async (lib, options) => {
        const client = new lib.RunbaseClient(options);
        const run = await client.createRun({ prompt: "A lamp" });
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 300);
        try {
          await client.waitForRun(run.id, { signal: controller.signal });
          return "not aborted";
        } catch (e) {
          const done = await client.waitForRun(e.runId);
          return { kind: e.kind, sameRun: e.runId === run.id, resumed: done.status };
        }
      }, options);
      assert.deepEqual(resumed, { kind: "aborted", sameRun: true, resumed: "succeeded" });
    });

    await t.test("two tabs share the key's budget: 12 runs, no 429", async () => {
      const shared = { ...options, apiKey: `${key}-tabs` };
      const start = async (lib, options) => {
        const client = new lib.RunbaseClient(options);
        window.runs = Promise.all(Array.from({ length: 6 }, (_, i) =>
          client.generate({ prompt: `Run ${i}` }).then((r) => r.run.status, (e) => `${e.kind}: ${e.message}`)));
        return true;
      };
      const first = await driver.getWindowHandle();
      await inPage(driver, start, shared);
      await driver.switchTo().newWindow("tab");
      await driver.get(`${server.url}/`);
      await inPage(driver, async () => { window.lib = await import("/pkg/index.js"); await window.lib.default(); });
      await inPage(driver, start, shared);
      const second = await inPage(driver, async () => window.runs);
      await driver.close();
      await driver.switchTo().window(first);
      const firstRuns = await inPage(driver, async () => window.runs);
      assert.deepEqual([...firstRuns, ...second], Array(12).fill("succeeded"));
      const seen = (await stats())[shared.apiKey];
      assert.equal(seen.rate_limited, 0, JSON.stringify(seen));
      assert.ok(seen.max_in_10s <= 20, JSON.stringify(seen));
    });

    await t.test(`a PNG over the model's limit is fitted (to ${FITTED_TYPE[engine]} here)`, async () => {
      const fitted = await inPage(driver, async (lib) => {
        // Random pixels do not compress: 2400 × 2400 of them is a PNG of about 23 MB.
        const canvas = Object.assign(document.createElement("canvas"), { width: 2400, height: 2400 });
        const context = canvas.getContext("2d");
        const pixels = context.createImageData(2400, 2400);
        for (let i = 0; i < pixels.data.length; i += 65536) crypto.getRandomValues(pixels.data.subarray(i, i + 65536));
        for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
        context.putImageData(pixels, 0, 0);
        const png = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
        const { maxImageBytes } = lib.getModelFacts();
        const result = await lib.fitReferenceImage(png, { maxBytes: maxImageBytes });
        return { before: png.size, max: maxImageBytes, type: result.type, bytes: result.bytes, changed: result.changed, width: result.width };
      });
      assert.ok(fitted.before > fitted.max, JSON.stringify(fitted));
      assert.equal(fitted.changed, true);
      assert.ok(fitted.bytes <= fitted.max, JSON.stringify(fitted));
      assert.equal(fitted.type, FITTED_TYPE[engine]);
    });
  });
}

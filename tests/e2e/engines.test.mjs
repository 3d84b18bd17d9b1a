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
import { randomFillSync } from "node:crypto";
import zlib from "node:zlib";
import { By } from "selenium-webdriver";
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

/** Puts `noisePng(side)` in the page: a PNG Blob of random pixels, which do not compress
 *  (side² × 4 bytes and a little more). */
const INSTALL_NOISE_PNG = `window.noisePng = (side) => new Promise((resolve) => {
  const canvas = Object.assign(document.createElement("canvas"), { width: side, height: side });
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(side, side);
  for (let i = 0; i < pixels.data.length; i += 65536) crypto.getRandomValues(pixels.data.subarray(i, i + 65536));
  for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
  context.putImageData(pixels, 0, 0);
  canvas.toBlob(resolve, "image/png");
});`;

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
    await driver.executeScript(INSTALL_NOISE_PNG);
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
        const png = await window.noisePng(2400); // about 23 MB
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

// ---------- the demo's main journeys ----------

/** Why the element is not on screen (missing, hidden, outside the viewport, covered), or null. */
const offScreen = (driver, selector) => driver.executeScript(`
  const node = document.querySelector(arguments[0]);
  if (!node) return "missing";
  const r = node.getBoundingClientRect();
  if (!r.width || !r.height) return "hidden";
  if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return "outside the viewport at " + Math.round(r.top);
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return node === hit || node.contains(hit) ? null : "covered by " + hit?.tagName;`, selector);

/** Waits for `selector` to exist (and, with `text`, to hold it). */
async function waitFor(driver, selector, text, ms = 30_000) {
  await driver.wait(async () => driver.executeScript(
    "const n = document.querySelector(arguments[0]); return !!n && (!arguments[1] || n.textContent.includes(arguments[1]));",
    selector, text ?? ""), ms, `${selector}${text ? ` with “${text}”` : ""}`);
}

/** A PNG of random pixels (incompressible), `side` × `side`, as bytes. */
function noisePng(side) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  const rows = Buffer.alloc((side * 3 + 1) * side);
  randomFillSync(rows);
  for (let y = 0; y < side; y++) rows[y * (side * 3 + 1)] = 0; // filter: none
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header),
    chunk("IDAT", zlib.deflateSync(rows, { level: 1 })), chunk("IEND", Buffer.alloc(0))]);
}

let demo, bigPng;
before(async () => {
  demo = await startSimulator({ runMs: 1500 });
  bigPng = join(mkdtempSync(join(tmpdir(), "runbase-engines-png-")), "large.png");
  writeFileSync(bigPng, noisePng(2200)); // about 14.5 MB
});
after(() => demo?.stop());

for (const engine of ENGINES) {
  test(`${engine}: the demo stands still while it starts, generates with the image in view, shows an error in view, keeps its history over a reload, fits large files dropped and picked`, async (t) => {
    const driver = await launchEngine(engine);
    t.after(() => driver.quit());
    await driver.manage().window().setRect({ width: 1280, height: 900 });
    await driver.get(`${demo.url}/`);
    // Layout shift: Chromium measures it (demo.test.mjs, the Layout Instability API); Firefox
    // and WebKit lack that API, so here the main controls must stand where they stood at load
    // once the page has asked its backend and read its history.
    // (The history list may grow downwards: only where it starts counts.)
    const positions = () => driver.executeScript(`return ["h1", "#prompt", "#generate", "#runs"].map((s) => {
      const r = document.querySelector(s).getBoundingClientRect();
      return s + " " + Math.round(r.left) + "," + Math.round(r.top) + (s === "#runs" ? "" : " " + Math.round(r.width) + "×" + Math.round(r.height));
    })`);
    const atLoad = await positions();
    await waitFor(driver, "#backend.simulated");
    await driver.sleep(500);
    assert.deepEqual(await positions(), atLoad, "nothing moved while the page started");

    await t.test("generate: the progress, then the image and its cost, on screen", async () => {
      await driver.findElement(By.css("#prompt")).sendKeys(`A lamp in ${engine}`);
      await driver.findElement(By.css("#generate")).click();
      await waitFor(driver, "#gallery img");
      await driver.wait(() => driver.executeScript("return document.querySelector('#gallery img').complete"), 10_000);
      await waitFor(driver, "#gallery figcaption .cost", "$0.05");
      assert.equal(await offScreen(driver, "#gallery img"), null);
      assert.equal(await offScreen(driver, "#gallery figcaption .cost"), null);
      assert.match(await driver.findElement(By.css("#runs li")).getText(), /succeeded/);
    });

    await t.test("an error after Generate is on screen", async () => {
      await demo.faults([{ on: "create", kind: "insufficient_balance" }]);
      await driver.executeScript("window.scrollTo(0, 0)");
      await driver.findElement(By.css("#generate")).click();
      await waitFor(driver, "#problem-title", "balance is too low");
      assert.equal(await offScreen(driver, "#problem-title"), null);
    });

    await t.test("the history lasts over a reload, with the kept image", async () => {
      const id = (await driver.findElement(By.css("#gallery .mono")).getText()).trim();
      await waitFor(driver, "#runs li img.run-thumb");
      await driver.navigate().refresh();
      const atLoad = await positions();
      await waitFor(driver, "#backend.simulated");
      await waitFor(driver, "#runs li", id);
      await waitFor(driver, "#runs li img.run-thumb", "", 10_000);
      assert.deepEqual(await positions(), atLoad, "nothing moved while the page started with a history");
    });

    await t.test("a file over 4 MB dropped on the page, and one picked, are fitted under the limit and sent", async () => {
      // Dropped: a PNG of random pixels made in the page, in a drop's DataTransfer.
      await driver.executeScript(INSTALL_NOISE_PNG);
      const taken = await driver.executeAsyncScript(`const done = arguments[arguments.length - 1];
        window.noisePng(2000).then((png) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([png], "dropped.png", { type: "image/png" }));
          const target = document.querySelector("#prompt");
          const over = new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true });
          target.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
          target.dispatchEvent(over);
          const drop = new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
          target.dispatchEvent(drop);
          done(over.defaultPrevented && drop.defaultPrevented);
        });`);
      assert.equal(taken, true, "the page takes the drop instead of opening the file");
      // Picked: a 14 MB PNG from disk through the file input.
      await driver.findElement(By.css("#ref-file")).sendKeys(bigPng);
      const text = (selector) => driver.executeScript("return document.querySelector(arguments[0]).textContent.trim()", selector);
      for (const name of ["dropped.png", "large.png"]) {
        await driver.wait(() => driver.executeScript(`return [...document.querySelectorAll("#refs li")]
          .some((li) => li.textContent.includes(arguments[0]) && /reduced from/.test(li.textContent))`, name), 60_000, `${name} fitted`);
      }
      const details = await driver.executeScript(`return [...document.querySelectorAll("#refs li .ref-detail")].map((d) => d.textContent.trim())`);
      for (const detail of details) assert.match(detail, /^\d\.\d MB, \d+×\d+, reduced from 1\d\.\d MB( at \d+×\d+)?$/, detail);
      assert.match(await text("#ref-status"), /\.png was 1\d\.\d MB: reduced to \d\.\d MB to fit the 4\.0 MB limit/);
      const runsBefore = await driver.executeScript("return document.querySelectorAll('#runs li').length");
      const prompt = driver.findElement(By.css("#prompt"));
      await prompt.clear();
      await prompt.sendKeys("A lamp like this one");
      await driver.findElement(By.css("#generate")).click();
      await driver.wait(() => driver.executeScript(
        "return document.querySelectorAll('#runs li').length > arguments[0] && /^succeeded/.test(document.querySelector('#runs li').textContent.trim())",
        runsBefore), 30_000, "the run with the fitted file succeeds");
    });
  });
}

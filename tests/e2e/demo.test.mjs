// The demo page end to end in real headless Chromium against runbase-server's simulator.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { startSimulator, launchChromium, screenshotPath, ROOT } from "./harness.mjs";
import { lighthouseRuns } from "../../bench/lighthouse.mjs";
import { getModelFacts } from "../../pkg/node.js";

let server, browser;
before(async () => {
  server = await startSimulator({ runMs: 1500 });
  browser = await launchChromium();
});
after(async () => { await browser?.close(); server?.stop(); });

const LAPTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

async function openDemo({ width = 1280, height = 900, colorScheme = "light", context, at = server } = {}) {
  context ??= await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(`${at.url}/`);
  await page.locator("#backend.simulated").waitFor();
  await page.locator('input[name="aspect_ratio"]').first().waitFor({ state: "attached" });
  return { page, errors, context };
}

const issuesOf = (page, field) => page.locator(`#${field}-issues`).textContent();

/** Where the element is, if it is not entirely inside the viewport and on top (visible to a
 *  person looking at the screen, not only in the DOM); null when it is. */
async function outsideViewport(locator) {
  return locator.evaluate((node) => {
    const r = node.getBoundingClientRect();
    const where = `${node.id || node.className} at ${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)} in ${innerWidth}×${innerHeight}`;
    if (!r.width || !r.height || !node.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return `hidden: ${where}`;
    if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return `outside the viewport: ${where}`;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return node === hit || node.contains(hit) ? null : `covered by ${hit?.tagName}.${hit?.className}: ${where}`;
  });
}

async function assertOnScreen(locator, text) {
  await locator.filter({ hasText: text }).waitFor();
  assert.equal(await outsideViewport(locator), null, `${text} is on screen`);
}

/** The estimate next to Generate, for each resolution the current ratio allows. */
async function estimatesByResolution(page) {
  const seen = {};
  for (const resolution of ["1K", "2K", "4K"]) {
    const input = page.locator(`input[name="resolution"][value="${resolution}"]`);
    if (await input.isDisabled()) continue;
    await page.locator(`#resolutions label:has(input[value="${resolution}"])`).click();
    seen[resolution] = (await page.locator("#estimate strong").textContent()).trim();
  }
  return seen;
}

/** Generate, then the statuses pending and processing on screen, then the charged cost on the
 *  result and in the run list. */
async function generateAndWatch(page, shots) {
  await page.click("#generate");
  await assertOnScreen(page.locator("#progress-status"), "pending");
  await assertOnScreen(page.locator("#progress-status"), "processing");
  if (shots) await page.screenshot({ path: screenshotPath(shots.progress) });
  await page.locator("#gallery img").waitFor();
  await page.waitForFunction(() => document.querySelector("#gallery img")?.complete);
  await assertOnScreen(page.locator("#gallery figcaption .cost"), "$0.05");
  assert.equal(await outsideViewport(page.locator("#gallery img")), null, "the image is on screen");
  assert.equal(await page.locator("#gallery figcaption .cost").textContent(), "$0.05 · simulated");
  const listed = page.locator("#runs li").first();
  assert.match(await listed.textContent(), /succeeded run_\w+ \$0\.05 /);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "gallery", "the focus moved to the result");
  if (shots) await page.screenshot({ path: screenshotPath(shots.result) });
}


/** A PNG of random noise made in the page, at least `minBytes` long, as a File (`window[name]`). */
async function makeNoisePng(page, name, { width, height, minBytes = 0 }) {
  return page.evaluate(async ({ name, width, height, minBytes }) => {
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(width, height);
    for (let i = 0; i < pixels.data.length; i += 65536) crypto.getRandomValues(pixels.data.subarray(i, i + 65536));
    for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
    context.putImageData(pixels, 0, 0);
    const blob = await canvas.convertToBlob({ type: "image/png" });
    if (blob.size < minBytes) throw new Error(`noise PNG is only ${blob.size} bytes`);
    window[name] = new File([blob], `${name}.png`, { type: "image/png" });
    return blob.size;
  }, { name, width, height, minBytes });
}

/** Drops the files `window[names]` on the page as a person dragging them from the desktop does;
 *  true when the page took the drop (a page that does not would navigate to the file). */
function dropFiles(page, names) {
  return page.evaluate((names) => {
    const transfer = new DataTransfer();
    for (const name of names) transfer.items.add(window[name]);
    const target = document.querySelector("#prompt");
    target.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    const over = new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true });
    target.dispatchEvent(over);
    const drop = new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
    target.dispatchEvent(drop);
    return over.defaultPrevented && drop.defaultPrevented;
  }, names);
}

test("a fresh page shows no error; the prompt's problems appear once typed; fixing everything enables Generate", async () => {
  const { page, errors, context } = await openDemo();
  assert.equal(await page.locator("#generate").isDisabled(), true);
  assert.equal(await issuesOf(page, "prompt"), "", "no error before the user has typed");
  assert.equal(await page.locator("#verdict").textContent(), "Write a prompt to begin.");
  assert.equal(await page.locator("#problem").isVisible(), false);
  assert.equal(await page.locator("#show-problems").isVisible(), false, "nothing listed to show");
  await page.fill("#prompt", "x");
  await page.fill("#prompt", "");
  assert.match(await issuesOf(page, "prompt"), /prompt is empty/);

  await page.fill("#prompt", "x".repeat(4001));
  assert.equal(await page.locator("#count").textContent(), "4001 / 4000");
  assert.match(await issuesOf(page, "prompt"), /4001 characters long; the limit is 4000/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.locator("#show-problems").click();
  assert.equal(await outsideViewport(page.locator("#prompt-issues li").first()), null, "“Show them” brings the problem into view");
  await page.fill("#prompt", "Matte ceramic vase on a walnut table");
  assert.equal(await issuesOf(page, "prompt"), "");

  await page.locator('label.ratio:has(input[value="16:9"])').click();
  assert.deepEqual(await page.locator("#resolutions .res-size").allTextContents(), ["1024×576", "2048×1152", "3840×2160"]);
  await page.locator('label.ratio:has(input[value="2:3"])').click();
  assert.deepEqual(await page.locator("#resolutions .res-size").allTextContents(), ["682×1024", "1365×2048", ""], "no size for 4K, which 2:3 does not allow");
  await page.locator('label.ratio:has(input[value="16:9"])').click();
  await page.locator('#resolutions label:has(input[value="4K"])').click();
  await page.locator('label.ratio:has(input[value="1:1"])').click();
  assert.match(await issuesOf(page, "resolution"), /Resolution 4K is only available with aspect ratios "16:9", "9:16" or "21:9"/);
  assert.equal(await page.locator("#generate").isDisabled(), true);
  await page.locator('#resolutions label:has(input[value="2K"])').click();
  const fourK = page.locator('#resolutions label:has(input[value="4K"])');
  assert.equal(await page.locator('input[name="resolution"][value="4K"]').isDisabled(), true, "4K is not offered with 1:1");
  assert.equal(await fourK.getAttribute("title"), "4K needs aspect ratio 16:9, 9:16 or 21:9.", "the reason on hover");
  assert.match(await page.getByRole("radio", { name: /4K/ }).evaluate((n) => n.labels[0].textContent), /unavailable: 4K needs aspect ratio/,
    "the reason is in the accessible name");
  assert.match(await page.locator("#resolution-note").textContent(), /4K needs aspect ratio 16:9, 9:16 or 21:9/);

  await page.fill("#ref-url", "not a url");
  await page.press("#ref-url", "Enter");
  assert.match(await page.locator("#ref-url-issue").textContent(), /"not a url" is not a valid URL/);
  assert.equal(await page.inputValue("#ref-url"), "not a url", "the text is kept to be fixed");
  assert.equal(await page.locator("#refs li").count(), 0);
  for (let i = 1; i <= 4; i++) {
    await page.fill("#ref-url", `https://images.example/ref-${i}.png`);
    await page.press("#ref-url", "Enter");
  }
  assert.equal(await page.locator("#ref-url-issue").textContent(), "");
  assert.equal(await page.locator("#refs li").count(), 4);
  assert.equal(await page.locator("#ref-url").isDisabled(), true, "no fifth reference can be added");
  assert.equal(await page.locator("#ref-count").textContent(), "4 of 4: remove one to add another.");
  await page.getByRole("button", { name: "Remove reference 4" }).click();
  assert.equal(await page.locator("#ref-url").isDisabled(), false);
  assert.equal(await page.locator("#refs .thumb-none").first().textContent(), "No preview here: Runbase fetches it itself",
    "a URL this browser cannot preview is explained, not shown as an error");
  assert.equal(await page.locator("#generate").isDisabled(), false, "fixing everything enables Generate");
  await page.fill("#prompt", "   ");
  assert.equal(await page.locator("#generate").isDisabled(), true, "a prompt of spaces is not worth a paid run");
  assert.equal(await page.locator("#verdict").textContent(), "Write something in the prompt: it holds only spaces.");
  await page.fill("#prompt", "Matte ceramic vase on a walnut table");
  await page.screenshot({ path: screenshotPath("demo-form-desktop.png"), fullPage: true });
  assert.deepEqual(errors.filter((e) => !/ref-\d\.png|ERR_NAME_NOT_RESOLVED|Failed to load resource/.test(e)), []);
  await context.close();
});

for (const [name, size] of [["laptop", LAPTOP], ["phone", PHONE]]) {
  for (const colorScheme of ["light", "dark"]) {
    test(`${name} ${colorScheme}: Generate is on screen, then the progress, then the result, then the focus is on it`, async (t) => {
      // A server (and so a key budget) of its own: the broker polls for progress only with
      // budget to spare (docs/SERVER.md, the broker), and the runs of the tests before this
      // one may have used it, so that "processing" would rightly never be shown.
      const own = await startSimulator({ runMs: 1500 });
      t.after(() => own.stop());
      const { page, errors, context } = await openDemo({ ...size, colorScheme, at: own });
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(background, colorScheme === "dark" ? "rgb(15, 19, 24)" : "rgb(243, 245, 248)", "the page follows prefers-color-scheme");
      await page.screenshot({ path: screenshotPath(`demo-${name}-${colorScheme}-fresh.png`) });
      await page.locator('[data-preset="2"]').click();
      assert.equal(await outsideViewport(page.locator("#generate")), null, "Generate is on screen without scrolling (sticky)");
      assert.equal(await page.locator("#estimate").textContent(), "$0.05 per image · simulated, not charged");
      await generateAndWatch(page, { progress: `demo-${name}-${colorScheme}-progress.png`, result: `demo-${name}-${colorScheme}-result.png` });
      const img = page.locator("#gallery img");
      assert.deepEqual(await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]), [1024, 576], "16:9 at 1K");
      assert.equal(await page.locator("#progress").isVisible(), false);
      if (name === "phone") {
        const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        assert.ok(widths[0] <= widths[1], `no horizontal scrolling on a phone: ${widths}`);
      }
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: screenshotPath(`demo-${name}-${colorScheme}-full.png`), fullPage: true });
      assert.deepEqual(errors, []);
      await context.close();
    });
  }
}

/** The layout shifts (not caused by input) while `navigate` loads the page and it starts. */
async function shiftsWhile(page, navigate) {
  await page.addInitScript(() => {
    window.shifts = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (!entry.hadRecentInput) window.shifts.push({ value: entry.value, nodes: entry.sources.map((s) => s.node?.id || s.node?.className || s.node?.nodeName) });
      }
    }).observe({ type: "layout-shift", buffered: true });
  });
  await navigate();
  await page.locator("#backend.simulated").waitFor();
  await page.locator("#estimate strong").waitFor();
  // What is filled in after start-up (the badge, the price, the verdict, the history) is
  // there; a moment more for anything late.
  await page.waitForTimeout(500);
  const shifts = await page.evaluate(() => window.shifts);
  return { total: shifts.reduce((sum, shift) => sum + shift.value, 0), shifts };
}

test("the page does not move while it starts: layout shift under 0.01 at every width, light and dark, new or with a history; index.html's pickers are the model's", async () => {
  const html = await (await fetch(`${server.url}/`)).text();
  const values = (name) => [...html.matchAll(new RegExp(`name="${name}" value="([^"]+)"`, "g"))].map((m) => m[1]);
  const facts = getModelFacts();
  assert.deepEqual(values("aspect_ratio"), facts.aspectRatios, "index.html's ratios are getModelFacts()'s");
  assert.deepEqual(values("resolution"), facts.resolutions, "index.html's resolutions are getModelFacts()'s");
  for (const colorScheme of ["light", "dark"]) {
    for (const width of [360, 390, 768, 1024, 1280, 1440, 1920]) {
      const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme });
      const page = await context.newPage();
      const { total, shifts } = await shiftsWhile(page, () => page.goto(`${server.url}/`));
      assert.ok(total < 0.01, `${width} px, ${colorScheme}: layout shift ${total.toFixed(4)}: ${JSON.stringify(shifts)}`);
      await context.close();
    }
  }
  // Coming back: a run in the history, the page reloaded where it was left (on a phone,
  // scrolled down to the result, where the Generate bar sits above it).
  for (const width of [360, 390, 1280]) {
    const { page, context } = await openDemo({ width, height: 900 });
    await page.fill("#prompt", "A lamp");
    await page.keyboard.press("Control+Enter");
    await page.locator("#runs .status-succeeded").waitFor();
    await page.waitForTimeout(500); // the image's bytes kept with the run
    const { total, shifts } = await shiftsWhile(page, () => page.reload());
    assert.ok(total < 0.01, `${width} px, reloaded with a history: layout shift ${total.toFixed(4)}: ${JSON.stringify(shifts)}`);
    await context.close();
  }
});

test("the page loads as built: its style inside, one hashed script and the hashed .wasm fetched once, both kept a year", async () => {
  const fresh = await browser.newContext({ viewport: LAPTOP });
  const load = await fresh.newPage();
  const responses = [];
  const errors = [];
  load.on("response", (response) => responses.push(response));
  load.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await load.goto(`${server.url}/`);
  await load.locator("#backend.simulated").waitFor();
  await load.locator("#estimate strong").waitFor();
  const paths = responses.map((r) => new URL(r.url()).pathname);
  const script = paths.filter((p) => /^\/app\.[0-9a-f]{16}\.js$/.test(p));
  const wasm = paths.filter((p) => /^\/runbase_image_bg\.[0-9a-f]{16}\.wasm$/.test(p));
  assert.equal(script.length, 1, `one script: ${paths}`);
  assert.equal(wasm.length, 1, `the .wasm fetched once, its preload used: ${paths}`);
  assert.deepEqual(paths.sort(), ["/", "/__runbase/backend", script[0], wasm[0]].sort(), "nothing else: no stylesheet, no module one by one");
  // Fetched by the page's preload (the glue's fetch took its answer), not by the glue alone.
  const wasmLoads = await load.evaluate((path) => performance.getEntriesByType("resource")
    .filter((entry) => new URL(entry.name).pathname === path).map((entry) => entry.initiatorType), wasm[0]);
  assert.deepEqual(wasmLoads, ["link"]);
  for (const response of responses.filter((r) => /\.[0-9a-f]{16}\./.test(r.url()))) {
    const headers = await response.allHeaders();
    assert.equal(headers["cache-control"], "public, max-age=31536000, immutable", response.url());
    assert.equal(headers["content-encoding"], "br", response.url());
  }
  const page0 = responses.find((r) => new URL(r.url()).pathname === "/");
  assert.equal((await page0.allHeaders())["cache-control"], "no-cache", "the page itself is asked for each time");
  // The style inside the page applies (its hash in the CSP is right): the form is a card.
  assert.notEqual(await load.locator("#form").evaluate((form) => getComputedStyle(form).borderRadius), "0px");
  assert.deepEqual(errors, [], "no CSP refusal, no other error");
  await fresh.close();
});

test("Lighthouse (mobile preset) finds nothing to fix in accessibility, best practices or SEO, and no layout shift on a slow phone, in English and in Chinese", async () => {
  // Performance is the benchmark's (scripts/bench): a score from timings is no test. Layout
  // shift is not a timing: on the simulated slow network a part that arrives late (the
  // Chinese strings, the package's catalog) must not move the page.
  for (const lang of ["en-US", "zh-CN"]) {
    const { built } = await lighthouseRuns({ sites: { built: join(ROOT, "dist") }, presets: ["mobile"], runs: 1, lang });
    const { scores, failed, cls } = built.mobile;
    for (const category of ["accessibility", "best-practices", "seo"]) {
      assert.equal(scores[category], 100, `${lang}: ${failed.filter((f) => f.startsWith(category)).join(", ")}`);
    }
    assert.ok(cls < 0.01, `${lang}: cumulative layout shift ${cls}`);
  }
});

test("an error after Generate is on screen and focused, at both widths, with the previous image dimmed", async () => {
  for (const size of [LAPTOP, PHONE]) {
    const { page, context } = await openDemo(size);
    await page.fill("#prompt", "A lamp");
    await page.keyboard.press("Control+Enter");
    await page.locator("#gallery img").waitFor();
    await server.faults([{ on: "create", kind: "insufficient_balance" }]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.keyboard.press("Control+Enter");
    await assertOnScreen(page.locator("#problem-title"), "The proxy's Runbase balance is too low for this run");
    assert.match(await page.locator("#problem-fix").textContent(), /for whoever runs this proxy to fix/, "not “top up your balance”: the person has none here");
    assert.doesNotMatch(await page.locator("#problem").textContent(), /[{}]/, "no raw JSON");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "problem", "the focus moved to the error");
    assert.equal(await page.locator("#gallery.stale").count(), 1, "the previous image is dimmed, not taken for the outcome");
    await page.screenshot({ path: screenshotPath(`demo-error-${size.width}.png`) });
    await context.close();
  }
});

test("a failed run lists its cost as refunded", async () => {
  const { page, context } = await openDemo();
  await server.faults([{ kind: "run_failed", message: "The model refused this prompt" }]);
  await page.fill("#prompt", "A lamp, refused");
  await page.locator('#resolutions label:has(input[value="2K"])').click();
  await page.click("#generate");
  await page.locator("#problem.error").waitFor({ state: "visible" });
  const detail = await page.locator("#problem-detail").textContent();
  assert.equal(detail.match(/The charge of \$0\.07 was refunded/g)?.length, 1, `the refund said once: ${detail}`);
  assert.match(await page.locator("#runs li").first().textContent(), /^failed run_\w+ \$0\.07 refunded /);
  await context.close();
});

test("Cancel stops waiting without an error, and the run's image shows up in the history when it finishes", async () => {
  const { page, context } = await openDemo();
  await page.fill("#prompt", "A lamp, canceled");
  await page.click("#generate");
  const id = (await page.locator("#progress-run").filter({ hasText: /run_/ }).textContent()).trim();
  await page.click("#cancel");
  await page.locator("#problem.notice").waitFor({ state: "visible" });
  assert.equal(await page.locator("#problem-title").textContent(), "Stopped waiting");
  assert.match(await page.locator("#problem-fix").textContent(), /Runbase cannot cancel a run, so it may still finish/);
  assert.equal(await page.locator("#problem").textContent().then((t) => t.split(id).length - 1), 1, "the run id once");
  assert.equal(await page.locator("#progress").isVisible(), false);
  assert.equal(await page.locator("#gallery img").count(), 0);
  assert.equal(await page.locator("#generate").isDisabled(), false, "ready for another try");
  const row = page.locator("#runs li").filter({ hasText: id });
  assert.match(await row.textContent(), /^stopped waiting /);
  await row.filter({ hasText: /^succeeded / }).waitFor({ timeout: 15_000 });
  await row.locator("img.run-thumb").waitFor();
  await page.locator("#problem-title").filter({ hasText: "The run you stopped waiting for has finished" }).waitFor();
  await page.getByRole("button", { name: "Show the image" }).click();
  await page.locator("#gallery img").waitFor();
  assert.match(await page.locator("#gallery").textContent(), new RegExp(id));
  await context.close();
});

test("history lasts: after a reload a finished run reopens with its kept image, prompt and settings", async () => {
  const { page, context } = await openDemo();
  await page.fill("#prompt", "A lamp worth keeping");
  await page.locator('label.ratio:has(input[value="9:16"])').click();
  await page.locator('#resolutions label:has(input[value="2K"])').click();
  await page.click("#generate");
  await page.locator("#gallery img").waitFor();
  const id = (await page.locator("#gallery .mono").textContent()).trim();
  const row = page.locator("#runs li").filter({ hasText: id });
  await row.locator("img.run-thumb").waitFor(); // the image's bytes are kept
  await page.reload();
  await page.locator("#runs li").filter({ hasText: id }).locator("img.run-thumb").waitFor();
  assert.equal(await page.locator("#gallery img").count(), 0);
  await page.locator("#runs li").filter({ hasText: id }).locator("button").click();
  const img = page.locator("#gallery img");
  await img.waitFor();
  assert.match(await img.getAttribute("src"), /^blob:/, "shown from the kept copy, not the expiring URL");
  assert.deepEqual(await img.evaluate(async (i) => { await i.decode(); return [i.naturalWidth, i.naturalHeight]; }), [1152, 2048]);
  assert.match(await page.locator("#gallery").textContent(), /A lamp worth keeping.*9:16 · 2K/s);
  assert.match(await page.locator("#gallery figcaption .cost").textContent(), /\$0\.07/);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
  assert.equal(download.suggestedFilename(), `gpt-image-2_9x16_2K_a-lamp-worth-keeping_${id}.png`, "a name that says what the image is");
  await page.getByRole("button", { name: "Use these settings" }).click();
  assert.equal(await page.inputValue("#prompt"), "A lamp worth keeping");
  assert.equal(await page.locator('input[name="aspect_ratio"]:checked').getAttribute("value"), "9:16");
  assert.equal(await page.locator('input[name="resolution"]:checked').getAttribute("value"), "2K");
  await context.close();
});

test("the progress bar is an estimate from the last runs at that resolution", async () => {
  const { page, context } = await openDemo();
  await page.fill("#prompt", "A lamp, timed");
  await page.click("#generate");
  assert.match(await page.locator("#progress-estimate").textContent(), /No estimate yet for 1K/);
  assert.equal(await page.locator("#progress-bar").getAttribute("value"), null, "indeterminate without history");
  await page.locator("#gallery img").waitFor();
  await page.click("#generate");
  await page.locator("#progress-estimate").filter({ hasText: /estimate from your last run at 1K/ }).waitFor();
  assert.notEqual(await page.locator("#progress-bar").getAttribute("value"), null, "a bar that fills");
  await page.locator("#progress").waitFor({ state: "hidden", timeout: 15_000 });
  await context.close();
});

test("a run still in progress after a reload is picked up again", async () => {
  // Runs long enough to be unfinished at the reload however busy the machine is.
  const slow = await startSimulator({ runMs: 6000 });
  const { page, context } = await openDemo({ at: slow });
  await page.fill("#prompt", "A lamp that survives a reload");
  await page.click("#generate");
  const id = (await page.locator("#progress-run").filter({ hasText: /run_/ }).textContent()).trim();
  await page.reload();
  await assertOnScreen(page.locator("#progress-status"), "(resumed)");
  assert.equal(await issuesOf(page, "prompt"), "", "no 'prompt is empty' beside a resumed run");
  await page.locator("#gallery img").waitFor({ timeout: 15_000 });
  const runs = await page.locator("#runs").textContent();
  assert.ok(runs.includes(id) && runs.includes("succeeded"), runs);
  await context.close();
  slow.stop();
});

test("connection: the badge says where runs go; a bad base URL blocks Generate with the fix; a wrong one explains the 404", async () => {
  const { page, context } = await openDemo();
  await page.fill("#prompt", "A lamp");
  await page.fill("#proxy-url", "not a url");
  assert.equal(await page.locator("#generate").isDisabled(), true);
  assert.match(await page.locator("#proxy-url-issue").textContent(), /is not a URL.*https:\/\/api\.runbase\.net\/v1/);
  assert.match(await page.locator("#verdict").textContent(), /not a URL/);
  await page.fill("#proxy-url", "/nothing-here/v1");
  await page.click("#generate");
  await assertOnScreen(page.locator("#problem-title"), "Nothing answers at this base URL (/nothing-here/v1)");
  assert.match(await page.locator("#problem-fix").textContent(), /A base URL ends in \/v1/);
  await page.fill("#proxy-url", "/api/v1");

  await page.locator('label:has(input[value="key"])').click();
  assert.match(await page.locator("#backend").textContent(), /^Your key → the simulator/);
  assert.match(await page.locator("#key-hint").textContent(), /sk-sim-demo/);
  await page.fill("#key-url", "https://api.runbase.net/v1");
  assert.equal(await page.locator("#backend").textContent(), "Your key → api.runbase.net: runs are real and paid");
  assert.match(await page.locator("#backend").getAttribute("class"), /paid/);
  assert.doesNotMatch(await page.locator("#key-hint").textContent(), /simulator|sk-sim/);
  assert.doesNotMatch(await page.locator("#estimate").textContent(), /simulated/);
  await page.locator('label:has(input[value="proxy"])').click();
  assert.equal(await page.locator("#backend").textContent(), "Simulator: images are drawn locally, nothing is charged");
  await context.close();
});

test("sign-in: a proxy for signed-in users says so, offers the token field in view, and the run goes through with the token", async () => {
  const secret = "the demo test's secret, thirty-two bytes or more";
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const message = `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub: "dana", exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  const token = `${message}.${createHmac("sha256", secret).update(message).digest("base64url")}`;
  const guarded = await startSimulator({ runMs: 800, env: { RUNBASE_AUTH_HS256_SECRET: secret } });
  try {
    for (const size of [LAPTOP, PHONE]) {
      const { page, context } = await openDemo({ ...size, at: guarded });
      await page.fill("#prompt", "A lamp");
      await page.click("#generate");
      await assertOnScreen(page.locator("#problem-title"), "This proxy serves signed-in users only");
      assert.match(await page.locator("#problem-fix").textContent(), /Paste your access token in “Access token” above/);
      await page.locator("#access-token").scrollIntoViewIfNeeded();
      assert.equal(await outsideViewport(page.locator("#access-token")), null, "the token field is on screen");
      await page.screenshot({ path: screenshotPath(`demo-sign-in-${size.width}.png`) });
      await page.fill("#access-token", token);
      await page.click("#generate");
      await page.locator("#gallery img").waitFor();
      assert.equal(await outsideViewport(page.locator("#gallery img")), null, "the image is on screen");
      // Kept in memory only.
      const kept = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + location.href);
      assert.ok(!kept.includes(token.split(".")[2]), "the token is in no storage and no URL");
      await context.close();
    }
  } finally {
    guarded.stop();
  }
});

test("references: a file dropped or pasted is added; a 6 MB photo is fitted under 4 MB and sent; typing stays fast", async (t) => {
  const { page, errors, context } = await openDemo();
  await makeNoisePng(page, "small", { width: 64, height: 48 });
  assert.equal(await dropFiles(page, ["small"]), true, "the page takes the drop instead of navigating to the file");
  await page.locator("#refs li").filter({ hasText: "small.png" }).waitFor();
  assert.equal(page.url(), `${server.url}/`);
  await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([window.small], "clip.png", { type: "image/png" }));
    document.querySelector("#prompt").dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
  });
  await page.locator("#refs li").filter({ hasText: "clip.png" }).waitFor();
  await page.locator("#refs li").filter({ hasText: "clip.png" }).filter({ hasText: "64×48" }).waitFor();

  const bytes = await makeNoisePng(page, "photo", { width: 1600, height: 1130, minBytes: 6_000_000 });
  assert.equal(await dropFiles(page, ["photo"]), true);
  const fitted = page.locator("#refs li").filter({ hasText: "photo.png" });
  await fitted.waitFor({ timeout: 30_000 });
  const detail = await fitted.locator(".ref-detail").textContent();
  t.diagnostic(`6 MB photo (${bytes} bytes): ${detail}; ${await page.locator("#ref-status").textContent()}`);
  assert.match(detail, /^\d\.\d MB, \d+×\d+, reduced from [56]\.\d MB( at 1600×1130)?$/);
  assert.match(await page.locator("#ref-status").textContent(), /photo\.png was [56]\.\d MB: reduced to \d\.\d MB to fit the 4\.0 MB limit/);

  // Four large references attached: a keystroke (validation, messages, price) stays under a frame.
  await page.getByRole("button", { name: "Remove reference 2" }).click();
  await page.getByRole("button", { name: "Remove reference 1" }).click();
  await makeNoisePng(page, "big2", { width: 1100, height: 1000 });
  await makeNoisePng(page, "big3", { width: 1100, height: 1000 });
  await makeNoisePng(page, "big4", { width: 1100, height: 1000 });
  await dropFiles(page, ["big2", "big3", "big4"]);
  await page.locator("#refs li").nth(3).waitFor();
  await page.fill("#prompt", "A lamp in the style of these");
  await page.locator("#ref-zone").scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshotPath("demo-references-desktop.png") });
  const keystrokes = await page.evaluate(() => {
    const prompt = document.querySelector("#prompt");
    const times = [];
    for (let i = 0; i < 40; i++) {
      const started = performance.now();
      prompt.value += "x";
      prompt.dispatchEvent(new Event("input", { bubbles: true }));
      times.push(performance.now() - started);
    }
    return times.sort((a, b) => a - b);
  });
  const median = keystrokes[20];
  t.diagnostic(`keystroke with four references of ${(await page.locator("#refs .ref-detail").allTextContents()).join(" / ")}: median ${median.toFixed(2)} ms, worst ${keystrokes.at(-1).toFixed(2)} ms`);
  writeFileSync(screenshotPath("keystroke.json"), JSON.stringify({ medianMs: median, worstMs: keystrokes.at(-1), samples: keystrokes }, null, 1));

  // Sent: the simulator validates with the same rules, so an oversize reference would be refused.
  const requests = [];
  page.on("request", (request) => request.method() === "POST" && requests.push(request.postData()));
  await page.click("#generate");
  await page.locator("#gallery img").waitFor({ timeout: 30_000 });
  const body = JSON.parse(requests[0]);
  const sizes = body.input.image_urls.map((url) => Math.floor((url.length - url.indexOf(",") - 1) * 3 / 4));
  t.diagnostic(`sent reference sizes: ${sizes.join(", ")} bytes`);
  assert.equal(sizes.length, 4);
  assert.ok(body.input.image_urls.every((url) => url.startsWith("data:image/")), "files are sent as data URLs");
  assert.ok(sizes.every((n) => n <= 4 * 1024 * 1024), `each ≤ 4 MiB: ${sizes}`);
  assert.match(await page.locator("#gallery").textContent(), /4 references/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("own key: kept in memory unless asked, never in the URL", async () => {
  const { page, context } = await openDemo(PHONE);
  await page.locator('label:has(input[value="key"])').click();
  assert.equal(await page.locator("#generate").isDisabled(), true);
  await page.fill("#api-key", "wrong-key");
  assert.match(await page.locator("#api-key-issue").textContent(), /Runbase keys start with “sk-”/);
  await page.fill("#api-key", "sk-sim-broke");
  await page.fill("#prompt", "A lamp on an empty balance");
  await page.click("#generate");
  await assertOnScreen(page.locator("#problem-title"), "Your balance is too low for this run");
  assert.equal(await page.locator("#problem-fix").textContent(), "Top up your Runbase balance, then try again.");
  await page.fill("#api-key", "sk-sim-demo");
  assert.equal(await page.locator("#api-key-issue").textContent(), "");
  await page.fill("#prompt", "一张陶瓷台灯的电影级产品照片");
  assert.equal(await page.locator("#count").textContent(), "14 / 4000");
  await generateAndWatch(page);
  assert.equal(await page.evaluate(() => JSON.stringify(localStorage).includes("sk-sim-demo")), false);
  assert.ok(!page.url().includes("sk-sim-demo"));
  await page.check("#remember-key");
  await page.click("#generate");
  await page.locator("#progress").waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => localStorage.getItem("runbase-demo-key")), "sk-sim-demo");
  await context.close();
});

test("own key in two tabs at once: three runs going in each, the tabs share the key's budget and draw no 429", async (t) => {
  // A simulator that counts refused requests too: tabs that fought over the key would draw 429s.
  const own = await startSimulator({ runMs: 12_000, extra: ["--sim-strict-window"] });
  t.after(() => own.stop());
  const key = "sk-sim-two-tabs";
  const context = await browser.newContext({ viewport: LAPTOP });
  const tabs = [];
  for (let i = 0; i < 2; i++) {
    const { page } = await openDemo({ context, at: own });
    await page.locator('label:has(input[value="key"])').click();
    await page.fill("#api-key", key);
    tabs.push(page);
  }
  // In each tab: Generate and Cancel twice (those runs are followed on quietly), then a third.
  const idsByTab = await Promise.all(tabs.map(async (page, tab) => {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      await page.fill("#prompt", `A lamp, tab ${tab}, run ${i}`);
      await page.click("#generate");
      ids.push((await page.locator("#progress-run").filter({ hasText: /run_/ }).textContent()).trim());
      if (i < 2) await page.click("#cancel");
    }
    return ids;
  }));
  for (const [tab, ids] of idsByTab.entries()) {
    for (const id of ids) {
      await tabs[tab].locator("#runs li").filter({ hasText: id }).filter({ hasText: /^succeeded / }).waitFor({ timeout: 60_000 });
    }
  }
  const seen = (await (await fetch(`${own.url}/__sim/stats`)).json()).keys[key];
  assert.equal(seen.runs_created, 6);
  assert.equal(seen.rate_limited, 0, JSON.stringify(seen));
  assert.ok(seen.max_in_10s <= 20, JSON.stringify(seen));
  await context.close();
});

test("a hostile server's run ids, URLs and messages stay inert", async () => {
  const { page, context } = await openDemo();
  const id = `<img src=x onerror="window.__pwned=1">run"'`;
  await page.route("**/api/v1/runs", (route) => route.fulfill({
    status: 201, contentType: "application/json", body: JSON.stringify({ id, status: "<b>pending</b>" }),
  }));
  await page.route("**/api/v1/runs/*", (route) => route.fulfill({
    status: 200, contentType: "application/json",
    body: JSON.stringify({ id, status: "succeeded", output: { urls: ["javascript:window.__pwned=2", "data:text/html,<script>window.__pwned=3</script>"] } }),
  }));
  await page.fill("#prompt", "A lamp");
  await page.click("#generate");
  await page.locator("#gallery .problem").first().waitFor();
  assert.equal(await page.locator("#gallery img").count(), 0, "no image from a javascript: or data:text URL");
  assert.equal(await page.locator('a[href^="javascript:"], a[href^="data:text"]').count(), 0);
  assert.ok((await page.locator("#runs").textContent()).includes(id), "the id is shown as text");
  assert.equal(await page.locator("#runs img:not(.run-thumb), #runs b").count(), 0);

  await page.unroute("**/api/v1/runs");
  await page.route("**/api/v1/runs", (route) => route.fulfill({
    status: 402, contentType: "application/json",
    body: JSON.stringify({ error: { code: "insufficient_balance", message: `<img src=x onerror="window.__pwned=4">` } }),
  }));
  await page.click("#generate");
  await page.locator("#problem").waitFor({ state: "visible" });
  assert.match(await page.locator("#problem-detail").textContent(), /<img src=x/);
  assert.equal(await page.locator("#problem img").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await context.close();
});

test("an error text with markup stays inert", async () => {
  const { page, context } = await openDemo();
  const hostile = `<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script>`;
  await server.faults([{ kind: "run_failed", message: hostile }]);
  await page.fill("#prompt", "A lamp");
  await page.click("#generate");
  await page.locator("#problem").waitFor({ state: "visible" });
  assert.ok((await page.locator("#problem-detail").textContent()).includes(hostile));
  assert.equal(await page.locator("#problem img, #problem b, #problem script").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await context.close();
});

test("with storage blocked (cookies off) the page starts, generates, and says the history lasts for the tab", async () => {
  const context = await browser.newContext({ viewport: LAPTOP });
  await context.addInitScript(() => {
    const blocked = () => { throw new DOMException("The operation is insecure.", "SecurityError"); };
    Object.defineProperty(window, "localStorage", { get: blocked });
    Object.defineProperty(window, "indexedDB", { get: blocked });
  });
  const { page, errors } = await openDemo({ context });
  assert.match(await page.locator("#history-note").textContent(), /lasts until the tab is closed/);
  await page.fill("#prompt", "A lamp, remembered nowhere");
  await page.click("#generate");
  await page.locator("#gallery img").waitFor();
  assert.match(await page.locator("#runs li").first().textContent(), /^succeeded run_/);
  assert.deepEqual(errors, []);
  await context.close();
});

// The page's languages (www/ui/i18n.js): the browser's, or the one chosen with the switch.

test("the page speaks the browser's language: zh-CN in Chinese, en-US in English, an error explanation included, on screen", async () => {
  const expected = {
    "en-US": { lang: "en", generate: "Generate", prompt: "Prompt", badge: "Simulator: images are drawn locally, nothing is charged", resolution: "Resolution",
      error: "Nothing answers at this base URL (/nothing-here/v1)", fix: /^A base URL ends in \/v1/ },
    "zh-CN": { lang: "zh-CN", generate: "生成", prompt: "提示词", badge: "模拟器：图片在本地绘制，不产生任何费用", resolution: "分辨率",
      error: "这个 Base URL（/nothing-here/v1）下没有可用的接口", fix: /^Base URL 以 \/v1 结尾/ },
  };
  for (const [locale, want] of Object.entries(expected)) {
    const context = await browser.newContext({ viewport: LAPTOP, locale });
    const { page, errors } = await openDemo({ context });
    assert.equal(await page.evaluate(() => document.documentElement.lang), want.lang, locale);
    await assertOnScreen(page.locator("#generate"), want.generate);
    await assertOnScreen(page.locator('label[for="prompt"]'), want.prompt);
    await assertOnScreen(page.locator("#backend"), want.badge);
    await assertOnScreen(page.locator("#resolutions").locator("xpath=..").locator("legend"), want.resolution);
    await page.fill("#prompt", "A lamp");
    await page.fill("#proxy-url", "/nothing-here/v1");
    await page.click("#generate");
    await assertOnScreen(page.locator("#problem-title"), want.error);
    assert.match(await page.locator("#problem-fix").textContent(), want.fix);
    assert.deepEqual(errors.filter((e) => !/status of 405/.test(e)), [], locale);
    await context.close();
  }
});

test("the switch changes the language without a reload or moving the controls, and is remembered; the first paint is in that language", async () => {
  const context = await browser.newContext({ viewport: PHONE, locale: "en-US" });
  // What the page holds at its first frame (before its first paint), on every load.
  await context.addInitScript(() => requestAnimationFrame(() => {
    window.firstFrame = { lang: document.documentElement.lang, generate: document.querySelector("#generate")?.textContent };
  }));
  const { page, errors } = await openDemo({ context });
  assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
  const boxes = () => page.evaluate(() => ["#language", "#generate", "#prompt"].map((id) => {
    const r = document.querySelector(id).getBoundingClientRect();
    return `${id} ${Math.round(r.left)},${Math.round(r.top)}`;
  }));
  const before = await boxes();
  await page.evaluate(() => { window.stillHere = true; });
  await page.locator('#language button[lang="zh-CN"]').click();
  await page.locator("#generate").filter({ hasText: "生成" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
  assert.equal(await page.evaluate(() => window.stillHere), true, "no reload");
  assert.equal(await page.locator("#verdict").textContent(), "先写一段提示词吧。");
  assert.equal(await page.locator('#language button[lang="zh-CN"]').getAttribute("aria-pressed"), "true");
  assert.deepEqual((await boxes()).slice(0, 2), before.slice(0, 2), "the switch and Generate stay where they were");
  await page.screenshot({ path: screenshotPath("demo-zh-switched-390.png") });

  await page.reload();
  await page.locator("#backend.simulated").waitFor();
  assert.deepEqual(await page.evaluate(() => window.firstFrame), { lang: "zh-CN", generate: "生成" }, "remembered, and Chinese from the first paint");
  await assertOnScreen(page.locator("#backend"), "模拟器：图片在本地绘制，不产生任何费用");
  await page.locator('#language button[lang="en"]').click();
  await page.locator("#generate").filter({ hasText: "Generate" }).waitFor();
  await page.reload();
  await page.locator("#backend.simulated").waitFor();
  assert.deepEqual(await page.evaluate(() => window.firstFrame), { lang: "en", generate: "Generate" });
  assert.deepEqual(errors, []);
  await context.close();
});

test("no layout shift while it starts in either language at 360, 768, 1280 and 1920 px, the choice remembered or the browser's", async () => {
  for (const locale of ["en-US", "zh-CN"]) {
    for (const width of [360, 768, 1280, 1920]) {
      for (const colorScheme of ["light", "dark"]) {
        const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme, locale });
        const page = await context.newPage();
        const { total, shifts } = await shiftsWhile(page, () => page.goto(`${server.url}/`));
        assert.equal(await page.evaluate(() => document.documentElement.lang), locale === "zh-CN" ? "zh-CN" : "en");
        assert.ok(total < 0.01, `${locale} ${width} px ${colorScheme}: layout shift ${total.toFixed(4)}: ${JSON.stringify(shifts)}`);
        const widths = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
        assert.ok(widths[0] <= widths[1], `${locale} ${width} px: no horizontal scrolling: ${widths}`);
        await context.close();
      }
    }
  }
  // Chinese chosen at the switch in an English browser: its first paint is Chinese too.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-US" });
  await context.addInitScript(() => { if (!localStorage.getItem("runbase-demo-language")) localStorage.setItem("runbase-demo-language", "zh-CN"); });
  const page = await context.newPage();
  const { total, shifts } = await shiftsWhile(page, () => page.goto(`${server.url}/`));
  assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
  assert.ok(total < 0.01, `chosen Chinese: layout shift ${total.toFixed(4)}: ${JSON.stringify(shifts)}`);
  await context.close();
});

for (const [name, size] of [["laptop", LAPTOP], ["phone", PHONE]]) {
  test(`${name} in Chinese, light and dark: the page, its problems and an error fit the screen (screenshots)`, async () => {
    for (const colorScheme of ["light", "dark"]) {
      const context = await browser.newContext({ viewport: size, colorScheme, locale: "zh-CN" });
      const { page, errors } = await openDemo({ context });
      await page.screenshot({ path: screenshotPath(`demo-zh-${name}-${colorScheme}-fresh.png`) });
      assert.equal(await outsideViewport(page.locator("#generate")), null, "Generate is on screen");
      await page.fill("#prompt", "x".repeat(4001));
      await page.locator('label.ratio:has(input[value="2:3"])').click();
      await page.fill("#ref-url", "not a url");
      await page.press("#ref-url", "Enter");
      assert.match(await page.locator("#verdict").textContent(), /^还有 1 个问题需要修改才能生成。$/);
      assert.equal(await page.locator("#resolution-note").textContent(), "4K 仅支持 16:9、9:16 或 21:9。");
      assert.equal(await page.locator('#resolutions label:has(input[value="4K"])').getAttribute("title"), "4K 仅支持 16:9、9:16 或 21:9。");
      await page.screenshot({ path: screenshotPath(`demo-zh-${name}-${colorScheme}-problems.png`), fullPage: true });
      const widths = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
      assert.ok(widths[0] <= widths[1], `no horizontal scrolling: ${widths}`);
      await page.fill("#prompt", "一张陶瓷台灯的电影级产品照片");
      await page.fill("#ref-url", "");
      await page.click("#generate");
      await page.locator("#gallery img").waitFor();
      await assertOnScreen(page.locator("#gallery figcaption .cost"), "$0.05 · 模拟");
      assert.match(await page.locator("#runs li").first().textContent(), /^已完成 run_\w+ \$0\.05 /);
      await page.screenshot({ path: screenshotPath(`demo-zh-${name}-${colorScheme}-result.png`) });
      assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
      await context.close();
    }
  });
}

test("validation messages in Chinese once the package has loadLocale", async (t) => {
  const lib = await import("../../pkg/index.js").catch(() => ({}));
  if (typeof lib.loadLocale !== "function") return t.skip("package has no loadLocale yet");
  const context = await browser.newContext({ viewport: LAPTOP, locale: "zh-CN" });
  const { page, errors } = await openDemo({ context });
  await page.fill("#prompt", "x");
  await page.fill("#prompt", "");
  await page.locator("#prompt-issues li").waitFor();
  const issue = page.locator("#prompt-issues li").first();
  assert.equal(await issue.locator(".where").textContent(), "prompt", "paths unchanged");
  assert.match(await issue.textContent(), /\p{Script=Han}/u, "the message is Chinese");
  assert.equal(await outsideViewport(issue), null, "on screen");
  await page.fill("#ref-url", "not a url");
  await page.press("#ref-url", "Enter");
  assert.match(await page.locator("#ref-url-issue").textContent(), /\p{Script=Han}/u);
  await page.locator('#language button[lang="en"]').click();
  await page.locator("#generate").filter({ hasText: "Generate" }).waitFor();
  assert.doesNotMatch(await issue.textContent(), /\p{Script=Han}/u, "English again after the switch");
  assert.deepEqual(errors, []);
  await context.close();
});

// The demo page end to end in real headless Chromium against runbase-server's simulator.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSimulator, launchChromium, screenshotPath } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await startSimulator({ runMs: 1500 });
  browser = await launchChromium();
});
after(async () => { await browser?.close(); server?.stop(); });

async function openDemo({ width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(`${server.url}/`);
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
  assert.equal(await page.locator("#gallery figcaption .cost").textContent(), "$0.05 · simulated");
  const listed = page.locator("#runs li").first();
  assert.match(await listed.textContent(), /succeeded run_\w+ \$0\.05 /);
  if (shots) await page.screenshot({ path: screenshotPath(shots.result) });
}

test("invalid input shows the right messages, and fixing it enables Generate", async () => {
  const { page, errors, context } = await openDemo();
  assert.equal(await page.locator("#generate").isDisabled(), true);
  assert.match(await issuesOf(page, "prompt"), /prompt is empty/);

  await page.fill("#prompt", "x".repeat(4001));
  assert.equal(await page.locator("#count").textContent(), "4001 / 4000");
  assert.match(await issuesOf(page, "prompt"), /4001 characters long; the limit is 4000/);
  await page.fill("#prompt", "Matte ceramic vase on a walnut table");
  assert.equal(await issuesOf(page, "prompt"), "");

  await page.locator('label.ratio:has(input[value="16:9"])').click();
  await page.locator('#resolutions label:has(input[value="4K"])').click();
  await page.locator('label.ratio:has(input[value="1:1"])').click();
  assert.match(await issuesOf(page, "resolution"), /Resolution 4K is only available with aspect ratios "16:9", "9:16" or "21:9"/);
  assert.equal(await page.locator("#generate").isDisabled(), true);
  await page.locator('#resolutions label:has(input[value="2K"])').click();
  assert.equal(await page.locator('input[name="resolution"][value="4K"]').isDisabled(), true, "4K is not offered with 1:1");
  assert.match(await page.locator("#resolution-note").textContent(), /4K needs aspect ratio 16:9, 9:16, 21:9/);

  for (let i = 1; i <= 5; i++) {
    await page.fill("#ref-url", `https://images.example/ref-${i}.png`);
    await page.press("#ref-url", "Enter");
  }
  assert.match(await issuesOf(page, "image_urls"), /5 reference images were given; at most 4 are allowed/);
  assert.equal(await page.locator("#generate").isDisabled(), true);
  await page.getByRole("button", { name: "Remove reference 5" }).click();
  assert.equal(await issuesOf(page, "image_urls"), "");
  assert.equal(await page.locator("#generate").isDisabled(), false, "fixing everything enables Generate");
  await page.screenshot({ path: screenshotPath("demo-form-desktop.png"), fullPage: true });
  assert.deepEqual(errors.filter((e) => !/ref-\d\.png|ERR_NAME_NOT_RESOLVED|Failed to load resource/.test(e)), []);
  await context.close();
});

test("a run completes and its image loads at the right shape; price before, pending/processing during, cost after", async () => {
  const { page, errors, context } = await openDemo();
  await page.locator('[data-preset="2"]').click();
  assert.match(await page.inputValue("#prompt"), /YouTube homepage/);
  assert.equal(await page.locator("#estimate").textContent(), "$0.05 per image · simulated, not charged");
  await page.locator("#generate").scrollIntoViewIfNeeded();
  assert.equal(await outsideViewport(page.locator("#estimate")), null, "the price is on screen next to Generate");
  await page.screenshot({ path: screenshotPath("demo-generate-desktop.png") });
  assert.deepEqual(await estimatesByResolution(page), { "1K": "$0.05 per image", "2K": "$0.07 per image", "4K": "$0.12 per image" },
    "the estimate follows the resolution");
  await page.locator('#resolutions label:has(input[value="1K"])').click();
  assert.match(await page.locator("#estimate").textContent(), /^\$0\.05 per image/);
  await generateAndWatch(page, { progress: "demo-progress-desktop.png", result: "demo-result-desktop-viewport.png" });
  const img = page.locator("#gallery img");
  const size = await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]);
  assert.deepEqual(size, [1024, 576], "16:9 at 1K");
  assert.equal(await page.locator("#progress").isVisible(), false);
  await page.evaluate(() => window.scrollTo(0, 0)); // the result panel is sticky: a full-page shot from the top
  await page.screenshot({ path: screenshotPath("demo-result-desktop.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test("a failed run lists its cost as refunded", async () => {
  const { page, context } = await openDemo();
  await server.faults([{ kind: "run_failed", message: "The model refused this prompt" }]);
  await page.fill("#prompt", "A lamp, refused");
  await page.locator('#resolutions label:has(input[value="2K"])').click();
  await page.click("#generate");
  await page.locator("#error").waitFor({ state: "visible" });
  assert.match(await page.locator("#error-detail").textContent(), /The charge of \$0\.07 was refunded/);
  assert.match(await page.locator("#runs li").first().textContent(), /^failed run_\w+ \$0\.07 refunded /);
  await context.close();
});

test("Cancel stops a run in progress", async () => {
  const { page, context } = await openDemo();
  await page.fill("#prompt", "A lamp, canceled");
  await page.click("#generate");
  await page.locator("#progress-run").filter({ hasText: /run_/ }).waitFor();
  await page.click("#cancel");
  await page.locator("#error").waitFor({ state: "visible" });
  assert.equal(await page.locator("#error-title").textContent(), "Canceled");
  assert.match(await page.locator("#error-detail").textContent(), /run_/);
  assert.equal(await page.locator("#progress").isVisible(), false);
  assert.equal(await page.locator("#gallery img").count(), 0);
  assert.equal(await page.locator("#generate").isDisabled(), false, "ready for another try");
  await context.close();
});

test("a simulated insufficient_balance explains the fix", async () => {
  const { page, context } = await openDemo();
  await server.faults([{ on: "create", kind: "insufficient_balance" }]);
  await page.fill("#prompt", "A lamp");
  await page.click("#generate");
  await page.locator("#error").waitFor({ state: "visible" });
  assert.equal(await page.locator("#error-title").textContent(), "Your balance is too low for this run");
  assert.equal(await page.locator("#error-fix").textContent(), "Top up your Runbase balance, then try again.");
  assert.doesNotMatch(await page.locator("#error").textContent(), /[{}]/, "no raw JSON");
  await context.close();
});

test("an error text with markup stays inert", async () => {
  const { page, context } = await openDemo();
  const hostile = `<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script>`;
  await server.faults([{ kind: "run_failed", message: hostile }]);
  await page.fill("#prompt", "A lamp");
  await page.click("#generate");
  await page.locator("#error").waitFor({ state: "visible" });
  assert.ok((await page.locator("#error-detail").textContent()).includes(hostile));
  assert.equal(await page.locator("#error img, #error b, #error script").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await context.close();
});

test("a run still in progress after a reload is picked up again", async () => {
  const { page, context } = await openDemo();
  await page.fill("#prompt", "A lamp that survives a reload");
  await page.click("#generate");
  const id = (await page.locator("#progress-run").filter({ hasText: /run_/ }).textContent()).trim();
  await page.reload();
  await page.locator("#gallery img").waitFor({ timeout: 15_000 });
  const runs = await page.locator("#runs").textContent();
  assert.ok(runs.includes(id) && runs.includes("succeeded"), runs);
  await context.close();
});

test("own key: kept in memory unless asked, never in the URL; phone layout", async () => {
  const { page, context } = await openDemo({ width: 390, height: 844 });
  await page.locator('label:has(input[value="key"])').click();
  assert.equal(await page.locator("#generate").isDisabled(), true);
  await page.fill("#api-key", "sk-sim-demo");
  await page.fill("#prompt", "一张陶瓷台灯的电影级产品照片");
  assert.equal(await page.locator("#count").textContent(), "14 / 4000");
  await page.locator("#generate").scrollIntoViewIfNeeded();
  assert.equal(await outsideViewport(page.locator("#estimate")), null, "the price is on screen next to Generate");
  assert.match(await page.locator("#estimate").textContent(), /^\$0\.05 per image/);
  await page.screenshot({ path: screenshotPath("demo-generate-phone.png") });
  await generateAndWatch(page, { progress: "demo-progress-phone.png", result: "demo-result-phone.png" });
  assert.equal(await page.evaluate(() => JSON.stringify(localStorage).includes("sk-sim-demo")), false);
  assert.ok(!page.url().includes("sk-sim-demo"));
  await page.screenshot({ path: screenshotPath("demo-phone.png"), fullPage: true });
  await page.check("#remember-key");
  await page.click("#generate");
  await page.locator("#progress").waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => localStorage.getItem("runbase-demo-key")), "sk-sim-demo");
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(widths[0] <= widths[1], `no horizontal scrolling on a phone: ${widths}`);
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
  await page.locator("#gallery .error").first().waitFor();
  assert.equal(await page.locator("#gallery img").count(), 0, "no image from a javascript: or data:text URL");
  assert.equal(await page.locator('a[href^="javascript:"], a[href^="data:text"]').count(), 0);
  assert.ok((await page.locator("#runs").textContent()).includes(id), "the id is shown as text");
  assert.equal(await page.locator("#runs img, #runs b").count(), 0);

  await page.unroute("**/api/v1/runs");
  await page.route("**/api/v1/runs", (route) => route.fulfill({
    status: 402, contentType: "application/json",
    body: JSON.stringify({ error: { code: "insufficient_balance", message: `<img src=x onerror="window.__pwned=4">` } }),
  }));
  await page.click("#generate");
  await page.locator("#error").waitFor({ state: "visible" });
  assert.match(await page.locator("#error-detail").textContent(), /<img src=x/);
  assert.equal(await page.locator("#error img").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await context.close();
});

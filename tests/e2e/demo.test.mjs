// The demo page in real headless Chromium: typing shows the wasm module's verdicts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSimulator, launchChromium, screenshotPath } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await startSimulator();
  browser = await launchChromium();
});
after(async () => { await browser?.close(); server?.stop(); });

async function openDemo(width = 1200) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(`${server.url}/`);
  await page.locator("#verdict.bad, #verdict.ok").waitFor();
  return { page, errors };
}

test("an empty prompt is reported, typing one makes the input ready", async () => {
  const { page, errors } = await openDemo();
  assert.equal(await page.locator("#verdict").textContent(), "1 problem");
  assert.match(await page.locator("#issues").textContent(), /prompt_empty/);
  await page.fill("#prompt", "Matte ceramic vase on a walnut table");
  assert.equal(await page.locator("#verdict").textContent(), "ready to send");
  const sent = JSON.parse(await page.locator("#normalized").textContent());
  assert.deepEqual(sent, { prompt: "Matte ceramic vase on a walnut table", aspect_ratio: "1:1", resolution: "1K" });
  assert.deepEqual(errors, []);
});

test("4K is disabled for 1:1 and offered for 16:9; raw JSON shows every problem", async () => {
  const { page } = await openDemo();
  assert.equal(await page.locator('#resolution option[value="4K"]').isDisabled(), true);
  await page.selectOption("#aspect_ratio", "16:9");
  assert.equal(await page.locator('#resolution option[value="4K"]').isDisabled(), false);
  await page.locator("details summary").click();
  await page.fill("#raw", JSON.stringify({ prompt: "x".repeat(4001), resolution: "4k", aspectRatio: "1:1",
    image_urls: ["ftp://a/b.png", "<img src=x onerror=alert(1)>"] }));
  const issues = await page.locator("#issues li").allTextContents();
  const text = issues.join("\n");
  for (const code of ["prompt_too_long", "resolution_unsupported", "unknown_field", "image_url_unsupported_scheme", "image_url_invalid"]) {
    assert.match(text, new RegExp(code));
  }
  assert.match(text, /Did you mean "4K"\?/);
  assert.equal(await page.locator("#issues img").count(), 0, "markup in input stays text");
  await page.screenshot({ path: screenshotPath("demo-validation-desktop.png"), fullPage: true });
});

test("a CJK prompt is counted as the validator counts it", async () => {
  const { page } = await openDemo(390);
  await page.fill("#prompt", "一张陶瓷台灯的电影级产品照片😀");
  assert.equal(await page.locator("#count").textContent(), "16 / 4000");
  await page.screenshot({ path: screenshotPath("demo-validation-phone.png"), fullPage: true });
});

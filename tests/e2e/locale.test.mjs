// The validator's messages in Chinese (zh-CN) as well as English: every issue of a table that
// raises each of the validator's messages, in Node (both entries, and the client's refusal) and
// in Chromium (the locale's file fetched by the browser entry). Codes, paths, severities,
// suggestions and allowed values stay as they are; every message turns Chinese; a locale not
// loaded, unknown or not a string leaves them English and never throws.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import init, { validateInput, loadLocale, RunbaseClient } from "../../pkg/node.js";
import * as validateOnly from "../../pkg/validate.node.js";
import { startSimulator, launchChromium, openPackagePage } from "./harness.mjs";

const png = (bytes, type = "image/png") => new Blob([new Uint8Array(bytes)], { type });
const dataUrl = (bytes) => `data:image/png;base64,${"A".repeat(Math.ceil(bytes / 3) * 4)}`;
const url = (n) => `https://images.example/${n}.png`;

// Inputs that between them raise every message of src/core/messages.rs that an issue says.
const INPUTS = [
  42,
  null,
  [1, 2],
  { promt: "A lamp" },
  { prompt: 42, seed: 1 },
  { prompt: true },
  { prompt: "" },
  { prompt: "x".repeat(32001) },
  { prompt: "   " },
  { prompt: "A lamp", aspect_ratio: 16 },
  { prompt: "A lamp", aspect_ratio: "16x9" },
  { prompt: "A lamp", resolution: "8K" },
  { prompt: "A lamp", resolution: "4K" },
  { prompt: "A lamp", resolution: "4K", aspect_ratio: "1:1" },
  { prompt: "A lamp", image_urls: "https://images.example/a.png" },
  { prompt: "A lamp", image_urls: [1, 2, 3, 4, 5].map(url) },
  { prompt: "A lamp", image_urls: [42, null, ["x"]] },
  { prompt: "A lamp", image_urls: [url(1), url(1), "http://images.example/a.png"] },
  { prompt: "A lamp", image_urls: ["not a url", "https://a b.example/x.png", " https://a.example/x.png", "https://a.example\u0007/x"] },
  { prompt: "A lamp", image_urls: ["https:images.example", "1https://x", "https://[::1/x.png", "https://[zz]/x.png"] },
  { prompt: "A lamp", image_urls: ["https://[::1]x/a.png", "https://:80/x.png", "https://a^b.example/x.png", "https://a.example:99999/x.png"] },
  { prompt: "A lamp", image_urls: ["data:image/png;base64", "data:image/png;base64,", "data:image/png;base64,@@@@", "data:image/png;base64,AAAAA"] },
  { prompt: "A lamp", image_urls: ["ftp://images.example/a.png", "data:text/plain,hello", "data:,hello", dataUrl(5 * 1024 * 1024)] },
  { prompt: "A lamp", image_urls: [png(10, "text/plain"), png(10, ""), png(0), png(5 * 1024 * 1024)] },
  { prompt: "A lamp", image_urls: [png(10), png(10)].map((b, i, all) => all[0]) },
  Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`field_${i}`, i])),
  // Values that hold the English's own words: read off whole, as quoted.
  { prompt: "A lamp", "a: b accepts only": 1, aspect_ratio: "is not supported; use one of" },
];
const CJK = /[\u3000-\u9fff\uff00-\uffef]/;
// Words of the English texts: none may be left in a Chinese message (the values given aside).
const ENGLISH = /\b(the|must|given|was|were|only|allowed|use|uses|should|image|file|is|are|not|it|its|has|holds|contains|Did you mean)\b/;

const issuesOf = (result) => [...result.issues, ...result.warnings];
const shape = ({ message, ...rest }) => rest;

/** Every issue of every input, in English and in zh-CN, checked pair by pair; the messages seen. */
function compare(validate) {
  const seen = new Set();
  for (const input of INPUTS) {
    const english = issuesOf(validate(input));
    const chinese = issuesOf(validate(input, { locale: "zh-CN" }));
    assert.deepEqual(chinese.map(shape), english.map(shape), JSON.stringify(input)?.slice(0, 80));
    english.forEach((issue, i) => {
      const said = chinese[i].message;
      assert.notEqual(said, issue.message, `${issue.code}: ${said}`);
      assert.match(said, CJK, said);
      // What the English says of its own is gone; values (field names, URLs) may stay.
      const own = issue.message.replace(/"[^"]*"|\S*[\/:_.\[\]]\S*|\d+/g, "");
      assert.doesNotMatch(said.replace(/"[^"]*"|\S*[\/:_.\[\]]\S*/g, ""), ENGLISH, `${issue.code}: ${said} (from: ${own})`);
      assert.doesNotMatch(said, /\{[a-z_]+\}/, said);
      seen.add(issue.code);
    });
  }
  return seen;
}

test("Node: before loadLocale, an unknown locale and a locale that is not a string: English, never a throw", async () => {
  await init();
  const input = { prompt: "A lamp", aspect_ratio: "16x9" };
  const english = validateInput(input).issues[0].message;
  assert.match(english, /^aspect_ratio "16x9" is not supported/);
  assert.equal(validateInput(input, { locale: "zh-CN" }).issues[0].message, english, "not loaded yet");
  assert.equal(await loadLocale("xx-YY"), false);
  assert.equal(await loadLocale("__proto__"), false);
  assert.equal(await loadLocale(undefined), false);
  for (const locale of ["xx-YY", 42, null, {}, "__proto__", "toString"]) {
    assert.equal(validateInput(input, { locale }).issues[0].message, english, String(locale));
  }
  const hostile = { get locale() { throw new Error("no"); } };
  assert.equal(validateInput(input, hostile).issues[0].message, english);
});

test("Node: with zh-CN loaded, every message of every issue is Chinese, and nothing else changes (both entries)", async () => {
  assert.equal(await loadLocale("zh-CN"), true);
  assert.equal(await validateOnly.loadLocale("zh-CN"), true);
  await validateOnly.default();
  const seen = compare(validateInput);
  compare(validateOnly.validateInput);
  // Every code an input can have, said in Chinese at least once.
  for (const code of ["input_not_object", "unknown_field", "prompt_missing", "prompt_not_string", "prompt_empty",
    "prompt_too_long", "prompt_blank", "aspect_ratio_not_string", "aspect_ratio_unsupported", "resolution_unsupported",
    "resolution_not_allowed_for_aspect_ratio", "image_urls_not_array", "image_urls_too_many", "image_url_not_string",
    "image_url_invalid", "image_url_unsupported_scheme", "image_url_not_image", "image_url_too_large",
    "image_url_duplicate", "image_url_insecure", "too_many_issues"]) {
    assert.ok(seen.has(code), code);
  }
  // The rules as Runbase's model page states them, and a did-you-mean with its value.
  const ratio = validateInput({ prompt: "A lamp", resolution: "4K" }, { locale: "zh-CN" }).issues[0].message;
  assert.match(ratio, /^分辨率 4K 仅支持宽高比 "16:9"、"9:16" 或 "21:9"，不支持默认宽高比 1:1/);
  const typo = validateInput({ prompt: "A lamp", aspect_ratio: "16x9" }, { locale: "zh-CN" }).issues[0];
  assert.match(typo.message, /你是不是想用 "16:9"？$/);
  assert.equal(typo.suggestion, "16:9");
  const model = validateInput({ prompt: "A lamp" }, { model: "x/y", locale: "zh-CN" }).issues[0];
  assert.equal(model.code, "model_not_supported");
  assert.match(model.message, /^本库不支持模型 "x\/y"/);
  const crafted = validateInput({ prompt: "A lamp", "a: b accepts only": 1 }, { locale: "zh-CN" }).issues[0].message;
  assert.match(crafted, /^未知字段 "a: b accepts only"：openai\/gpt-image-2 只接受 prompt、aspect_ratio、resolution、image_urls。$/);
  // The same call in English afterwards: English again (the kept answers are not Chinese).
  assert.match(validateInput({ prompt: "A lamp", aspect_ratio: "16x9" }).issues[0].message, /^aspect_ratio/);
});

test("Node: a client with locale zh-CN refuses an invalid input with its issues in Chinese, before any request", async () => {
  const client = new RunbaseClient({ baseUrl: "http://127.0.0.1:9/v1", locale: "zh-CN" });
  const refusal = await client.createRun({ prompt: "", resolution: "4K" }).catch((e) => e);
  assert.equal(refusal.kind, "validation");
  assert.deepEqual(refusal.issues.map((i) => i.code), ["prompt_empty", "resolution_not_allowed_for_aspect_ratio"]);
  assert.equal(refusal.issues[0].message, "提示词为空：请描述要生成的图片");
  const english = new RunbaseClient({ baseUrl: "http://127.0.0.1:9/v1" });
  const same = await english.generate({ prompt: "" }).catch((e) => e);
  assert.equal(same.issues[0].message, "The prompt is empty: describe the image to generate");
});

let server, browser;
after(async () => { await browser?.close(); server?.stop(); });

test("Chromium: the browser entry fetches zh-CN's file only when asked, and says every issue in Chinese", async () => {
  server = await startSimulator();
  browser = await launchChromium();
  const page = await openPackagePage(browser, server);
  const fetched = [];
  page.on("request", (request) => fetched.push(new URL(request.url()).pathname));
  const outcome = await page.evaluate(async () => {
    const input = { prompt: "", aspect_ratio: "16x9", image_urls: ["ftp://a.example/x.png"] };
    const before = window.lib.validateInput(input, { locale: "zh-CN" }).issues.map((i) => i.message);
    const loaded = await window.lib.loadLocale("zh-CN");
    const after = window.lib.validateInput(input, { locale: "zh-CN" }).issues.map((i) => i.message);
    return { before, loaded, after };
  });
  assert.equal(outcome.loaded, true);
  assert.match(outcome.before[0], /^The prompt is empty/);
  assert.deepEqual(outcome.after, [
    "提示词为空：请描述要生成的图片",
    "不支持 aspect_ratio \"16x9\"；请使用 \"1:1\"、\"2:3\"、\"3:2\"、\"3:4\"、\"4:3\"、\"4:5\"、\"5:4\"、\"9:16\"、\"16:9\" 或 \"21:9\" 之一。你是不是想用 \"16:9\"？",
    "\"ftp://a.example/x.png\" 使用的协议是 \"ftp:\"；参考图必须是 https、http、data URL",
  ]);
  assert.deepEqual(fetched.filter((path) => path.includes("/locales/")), ["/pkg/locales/zh-CN.js"]);
});

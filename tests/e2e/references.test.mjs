// Reference images from files (File / Blob in image_urls), in real headless Chromium with the
// built package: fitReferenceImage on a 6 MB image, generate with a Blob among URLs against the
// simulator (the request carries a data: URL within the limit), validateInput with four large
// files (O(1): the bytes are never read), and the errors for files that are not images.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSimulator, launchChromium, openPackagePage } from "./harness.mjs";

const MAX = 4 * 1024 * 1024;
let server, browser, page;
const pageErrors = [];
/** Bodies of the POST …/runs requests the page sent. */
const creates = [];

before(async () => {
  server = await startSimulator({ runMs: 600 });
  browser = await launchChromium();
  page = await openPackagePage(browser, server);
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().endsWith("/runs")) creates.push(request.postData());
  });
  // A ~6 MB PNG of random noise (noise does not compress), kept in the page as window.big.
  const made = await page.evaluate(async () => {
    const [width, height] = [1600, 1300];
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(width, height);
    const chunk = new Uint8Array(65536);
    for (let i = 0; i < pixels.data.length; i += chunk.length) {
      crypto.getRandomValues(chunk);
      pixels.data.set(chunk.subarray(0, Math.min(chunk.length, pixels.data.length - i)), i);
    }
    for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
    context.putImageData(pixels, 0, 0);
    window.big = await canvas.convertToBlob({ type: "image/png" });
    const small = new OffscreenCanvas(64, 48);
    small.getContext("2d").fillRect(0, 0, 10, 10);
    window.small = await small.convertToBlob({ type: "image/png" });
    return { bytes: window.big.size, type: window.big.type, small: window.small.size };
  });
  assert.ok(made.bytes > MAX, `the test image is over 4 MiB: ${made.bytes}`);
  console.log(`test image: ${made.bytes} bytes, ${made.type}, 1600×1300`);
});
after(async () => { await browser?.close(); server?.stop(); });

/** Runs `body(lib, arg)` in the page; a RunbaseError comes back as a plain object. */
async function inPage(body, arg) {
  return page.evaluate(async ([source, arg]) => {
    const fn = eval(`(${source})`);
    try {
      return await fn(window.lib, arg);
    } catch (e) {
      return { error: true, isRunbaseError: e instanceof window.lib.RunbaseError, kind: e.kind, code: e.code,
        message: String(e?.message ?? e), issues: e.issues };
    }
  }, [body.toString(), arg]);
}

test("fitReferenceImage brings a 6 MB PNG within 4 MiB, and the result decodes at its reported size", async () => {
  const fit = await inPage(async (lib) => {
    const started = performance.now();
    const fitted = await lib.fitReferenceImage(window.big);
    const ms = performance.now() - started;
    const decoded = await createImageBitmap(fitted.blob);
    window.fitted = fitted.blob;
    const { blob, ...info } = fitted;
    return { ...info, ms, sameBlob: blob === window.big, blobSize: blob.size, blobType: blob.type,
      decoded: [decoded.width, decoded.height], maxBytes: lib.getModelFacts().maxImageBytes, bigSize: window.big.size };
  });
  console.log(`fitted: ${fit.originalBytes} B ${fit.originalWidth}×${fit.originalHeight} → ${fit.bytes} B ${fit.width}×${fit.height} ${fit.type}, quality ${fit.quality}, scale ${fit.scale.toFixed(3)}, ${fit.ms.toFixed(0)} ms`);
  assert.equal(fit.maxBytes, MAX);
  assert.equal(fit.changed, true);
  assert.equal(fit.sameBlob, false);
  assert.ok(fit.bytes <= MAX, `${fit.bytes} ≤ ${MAX}`);
  assert.equal(fit.bytes, fit.blobSize);
  assert.equal(fit.type, fit.blobType);
  assert.match(fit.type, /^image\/(webp|jpeg)$/);
  assert.equal(fit.originalBytes, fit.bigSize);
  assert.deepEqual([fit.originalWidth, fit.originalHeight], [1600, 1300]);
  assert.deepEqual(fit.decoded, [fit.width, fit.height], "the result decodes at the reported size");
  assert.ok([0.92, 0.85].includes(fit.quality));
  assert.ok(fit.scale > 0 && fit.scale <= 1);
  assert.equal(fit.width, Math.max(1, Math.round(1600 * fit.scale)));
  // Scaled only as much as needed: one more step up (÷0.9) would not have been much larger.
  assert.ok(fit.width * fit.height > 0.3 * 1600 * 1300, `kept most of the pixels: ${fit.width}×${fit.height}`);
});

test("an image that already fits comes back unchanged, with its size; a custom maxBytes is honoured", async () => {
  const result = await inPage(async (lib) => {
    const same = await lib.fitReferenceImage(window.small);
    const tighter = await lib.fitReferenceImage(window.big, { maxBytes: 1_000_000 });
    const controller = new AbortController();
    controller.abort();
    const aborted = await lib.fitReferenceImage(window.big, { signal: controller.signal }).catch((e) => ({ kind: e.kind }));
    return { same: { ...same, blob: same.blob === window.small }, tighter: { ...tighter, blob: undefined }, aborted };
  });
  const t = result.tighter;
  console.log(`fitted to 1 MB: ${t.originalBytes} B ${t.originalWidth}×${t.originalHeight} → ${t.bytes} B ${t.width}×${t.height} ${t.type}, quality ${t.quality}, scale ${t.scale.toFixed(3)}`);
  assert.deepEqual(result.same, { blob: true, bytes: result.same.originalBytes, type: "image/png", originalBytes: result.same.bytes,
    changed: false, scale: 1, width: 64, height: 48, originalWidth: 64, originalHeight: 48 });
  assert.ok(t.changed && t.bytes <= 1_000_000, JSON.stringify(t));
  assert.ok(t.scale < 1 && t.quality === 0.85, "scaled down after the two qualities at full size");
  assert.ok(t.bytes > 0.5 * 1_000_000, `scaled only as much as needed: ${t.bytes} bytes`);
  assert.deepEqual(result.aborted, { kind: "aborted" });
});

test("generate with a 6 MB Blob among URLs: fitted, sent as a data: URL within 4 MiB, the run succeeds", async () => {
  creates.length = 0;
  const result = await inPage(async (lib) => {
    const reported = [];
    const result = await new lib.RunbaseClient({ baseUrl: "/api/v1" }).generate(
      { prompt: "A lamp like this one", image_urls: [window.big, "https://example.com/x.png"] },
      { onReferenceFitted: (info, index) => reported.push({ index, bytes: info.bytes, changed: info.changed, type: info.type }) },
    );
    return { status: result.run.status, urls: result.urls.length, reported };
  });
  assert.equal(result.status, "succeeded", JSON.stringify(result));
  assert.equal(result.urls, 1);
  assert.equal(result.reported.length, 1);
  assert.equal(result.reported[0].index, 0);
  assert.equal(result.reported[0].changed, true);
  assert.equal(creates.length, 1, "one create request");
  const sent = JSON.parse(creates[0]).input.image_urls;
  assert.equal(sent.length, 2);
  assert.equal(sent[1], "https://example.com/x.png");
  const [, type, payload] = sent[0].match(/^data:(image\/[a-z]+);base64,(.*)$/);
  const decoded = Buffer.from(payload, "base64");
  assert.equal(type, result.reported[0].type);
  assert.equal(decoded.length, result.reported[0].bytes);
  assert.ok(decoded.length <= MAX, `the data: URL decodes to ${decoded.length} bytes`);
  console.log(`sent: data:${type} of ${decoded.length} bytes (${sent[0].length} characters)`);
  assert.deepEqual(pageErrors, []);
});

test("a small Blob is sent as it is, with its own media type", async () => {
  creates.length = 0;
  const result = await inPage(async (lib) => {
    const reported = [];
    const run = await new lib.RunbaseClient({ baseUrl: "/api/v1" }).createRun(
      { prompt: "x", image_urls: [window.small] },
      { onReferenceFitted: (info, index) => reported.push([index, info.changed, info.blob === window.small]) },
    );
    const bytes = new Uint8Array(await window.small.arrayBuffer());
    return { status: run.status, reported, base64: btoa(String.fromCharCode(...bytes)) };
  });
  assert.equal(result.status, "pending");
  assert.deepEqual(result.reported, [[0, false, true]]);
  assert.deepEqual(JSON.parse(creates[0]).input.image_urls, [`data:image/png;base64,${result.base64}`]);
});

test("validateInput with four 6 MB Blobs: ok with a warning each, the Blobs back, O(1) per file (never read)", async () => {
  const result = await inPage(async (lib) => {
    const files = [0, 1, 2, 3].map((i) => new File([window.big], `photo${i}.png`, { type: "image/png" }));
    const input = { prompt: "A lamp", image_urls: files };
    // Any read of a file's bytes during validation would show here.
    let reads = 0;
    const saved = {};
    for (const name of ["arrayBuffer", "text", "stream", "slice", "bytes"]) {
      saved[name] = Blob.prototype[name];
      Blob.prototype[name] = function (...args) { reads++; return saved[name].apply(this, args); };
    }
    // performance.now() is coarse here (100 µs): time batches of 100 calls.
    const times = [];
    let result;
    try {
      for (let batch = 0; batch < 15; batch++) {
        const started = performance.now();
        for (let i = 0; i < 100; i++) result = lib.validateInput(input);
        times.push((performance.now() - started) / 100);
      }
    } finally {
      Object.assign(Blob.prototype, saved);
    }
    times.sort((a, b) => a - b);
    const duplicate = lib.validateInput({ prompt: "x", image_urls: [window.small, "https://a.example/y.png", window.small] });
    return {
      ok: result.ok, reads, median: times[times.length >> 1], worst: times[times.length - 1],
      warnings: result.warnings.map((w) => [w.path, w.code]), message: result.warnings[0].message,
      same: result.value.image_urls.every((f, i) => f === files[i]), size: files[0].size,
      duplicate: duplicate.warnings.map((w) => [w.path, w.code]), duplicateOk: duplicate.ok,
    };
  });
  console.log(`validateInput, 4 files of ${result.size} bytes: median ${(result.median * 1000).toFixed(1)} µs per call, slowest batch ${(result.worst * 1000).toFixed(1)} µs per call`);
  assert.equal(result.ok, true);
  assert.equal(result.reads, 0, "the files' bytes were never read");
  assert.ok(result.median < 5, `median ${result.median} ms`);
  assert.deepEqual(result.warnings, [0, 1, 2, 3].map((i) => [`image_urls[${i}]`, "image_file_will_be_fitted"]));
  assert.match(result.message, /image\/png file is [\d.]+ MB \(\d+ bytes\), over the 4 MB limit \(4194304 bytes\): it will be re-encoded/);
  assert.equal(result.same, true, "the normalized value holds the caller's own File objects");
  assert.equal(result.duplicateOk, true);
  assert.deepEqual(result.duplicate, [["image_urls[2]", "image_url_duplicate"]]);
});

test("files that are not images: a clear issue, no request; undecodable images: a clear error", async () => {
  creates.length = 0;
  const result = await inPage(async (lib) => {
    const text = new Blob(["hello"], { type: "text/plain" });
    const untyped = new Blob([new Uint8Array(100)]);
    const validation = lib.validateInput({ prompt: "x", image_urls: [text, untyped] });
    const describe = (e) => ({ isRunbaseError: e instanceof lib.RunbaseError, kind: e.kind, code: e.code, message: e.message,
      issues: e.issues?.map((i) => [i.path, i.code]) });
    const client = new lib.RunbaseClient({ baseUrl: "/api/v1" });
    const created = await client.createRun({ prompt: "x", image_urls: [text] }).catch(describe);
    const fitText = await lib.fitReferenceImage(text).catch(describe);
    const garbage = new Blob([new Uint8Array(5 * 1024 * 1024).fill(7)], { type: "image/png" });
    const fitGarbage = await lib.fitReferenceImage(garbage).catch(describe);
    const fitSmallGarbage = await lib.fitReferenceImage(new Blob(["not a png"], { type: "image/png" })).catch(describe);
    const generated = await client.generate({ prompt: "x", image_urls: [garbage] }).catch(describe);
    const notABlob = await lib.fitReferenceImage("https://a.example/x.png").catch(describe);
    const badCallback = await client.createRun({ prompt: "x", image_urls: [window.small] }, { onReferenceFitted: 1 }).catch(describe);
    return { issues: validation.issues.map((i) => [i.path, i.code, i.message]), created, fitText, fitGarbage, fitSmallGarbage, generated, notABlob, badCallback };
  });
  assert.deepEqual(result.issues.map(([path, code]) => [path, code]),
    [["image_urls[0]", "image_url_not_image"], ["image_urls[1]", "image_url_not_image"]]);
  assert.match(result.issues[0][2], /"text\/plain", not an image/);
  assert.match(result.issues[1][2], /no media type/);
  assert.equal(result.created.kind, "validation");
  assert.equal(result.created.code, "invalid_input");
  assert.deepEqual(result.created.issues, [["image_urls[0]", "image_url_not_image"]]);
  assert.deepEqual([result.fitText.kind, result.fitText.code], ["validation", "image_url_not_image"]);
  for (const fit of [result.fitGarbage, result.fitSmallGarbage, result.generated]) {
    assert.equal(fit.isRunbaseError, true);
    assert.deepEqual([fit.kind, fit.code], ["validation", "image_not_decodable"]);
    assert.match(fit.message, /could not be decoded.*PNG, JPEG or WebP/);
  }
  assert.deepEqual([result.notABlob.kind, result.notABlob.code], ["validation", "invalid_argument"]);
  assert.deepEqual([result.badCallback.kind, result.badCallback.code], ["validation", "invalid_options"]);
  assert.equal(creates.length, 0, "no request was sent");
  assert.deepEqual(pageErrors, []);
});

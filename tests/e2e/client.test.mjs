// The client in real headless Chromium, imported from the built package as a page would,
// against runbase-server's simulator: key mode (/sim/v1) and proxy mode (/api/v1), every
// documented error, the fault scripts, abort, time-outs, many runs at once, a Web Worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSimulator, launchChromium, openPackagePage } from "./harness.mjs";

let server, browser, page;
before(async () => {
  server = await startSimulator({ runMs: 1200 });
  browser = await launchChromium();
  page = await openPackagePage(browser, server);
});
after(async () => { await browser?.close(); server?.stop(); });

/** Runs `body(lib, arg)` in the page; errors come back as plain objects. */
async function inPage(body, arg) {
  return page.evaluate(async ([source, arg]) => {
    const fn = eval(`(${source})`);
    const describe = (e) => e instanceof window.lib.RunbaseError
      ? { error: true, isRunbaseError: true, isError: e instanceof Error, name: e.name, kind: e.kind, status: e.status,
          code: e.code, message: e.message, retryable: e.retryable, retryAfterMs: e.retryAfterMs, runId: e.runId,
          issues: e.issues }
      : { error: true, isRunbaseError: false, message: String(e?.message ?? e) };
    try {
      return await fn(window.lib, arg, describe);
    } catch (e) {
      return describe(e);
    }
  }, [body.toString(), arg]);
}

const keyClient = (key, extra = {}) => ({ apiKey: key, baseUrl: `${server.url}/sim/v1`, ...extra });
const proxyClient = (extra = {}) => ({ baseUrl: "/api/v1", ...extra });
const stats = async () => (await (await fetch(`${server.url}/__sim/stats`)).json()).keys;
const resetFaults = () => fetch(`${server.url}/__sim/faults`, { method: "DELETE" });

async function generate(options, input = { prompt: "A lamp", aspect_ratio: "16:9" }, call = {}) {
  return inPage(async (lib, [options, input, call]) => {
    const client = new lib.RunbaseClient(options);
    const statuses = [];
    const started = performance.now();
    const result = await client.generate(input, { ...call, onUpdate: (run) => statuses.push(run.status) });
    return { urls: result.urls, status: result.run.status, statuses, ms: performance.now() - started };
  }, [options, input, call]);
}

for (const [mode, options] of [["key mode", () => keyClient("sk-sim-happy")], ["proxy mode", () => proxyClient()]]) {
  test(`${mode}: generate follows the run to an image of the right shape`, async () => {
    const result = await generate(options());
    assert.equal(result.status, "succeeded", JSON.stringify(result));
    assert.deepEqual(result.statuses, ["pending", "processing", "succeeded"]);
    assert.equal(result.urls.length, 1);
    const size = await inPage(async (lib, url) => {
      const img = new Image();
      img.src = url;
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    }, result.urls[0]);
    assert.deepEqual(size, [1024, 576]);
  });
}

test("invalid input makes no request and rejects with every issue", async () => {
  const error = await inPage(async (lib, options) => {
    const client = new lib.RunbaseClient(options);
    await client.createRun({ prompt: "", resolution: "4K", image_urls: "x" });
  }, keyClient("sk-sim-invalid"));
  assert.equal(error.kind, "validation");
  assert.equal(error.code, "invalid_input");
  assert.deepEqual(error.issues.map((i) => i.code), ["prompt_empty", "resolution_not_allowed_for_aspect_ratio", "image_urls_not_array"]);
  assert.ok(error.isRunbaseError && error.isError && error.name === "RunbaseError");
  assert.equal((await stats())["sk-sim-invalid"], undefined, "no request reached the API");
});

test("each documented error code arrives as a typed error, never retried", async () => {
  const cases = [
    [keyClient("sk-sim-broke"), 402, "insufficient_balance"],
    [keyClient("sk-sim-spent"), 403, "api_key_spend_limit_exceeded"],
    [keyClient("sk-sim-ip"), 403, "ip_not_allowed"],
    [keyClient("sk-sim-quota"), 429, "USAGE_EXCEEDED"],
    [keyClient("not_a_valid_key"), 401, "invalid_api_key"],
    [{ baseUrl: `${server.url}/sim/v1` }, 401, "missing_api_key"],
  ];
  for (const [options, status, code] of cases) {
    const error = await inPage(async (lib, options) => {
      await new lib.RunbaseClient(options).createRun({ prompt: "A lamp" });
    }, options);
    assert.equal(error.kind, "api", code);
    assert.equal(error.status, status, code);
    assert.equal(error.code, code);
    assert.equal(error.retryable, false, code);
    assert.equal(error.runId, undefined, code);
  }
  assert.equal((await stats())["sk-sim-quota"].requests, 1, "USAGE_EXCEEDED is not retried");
  const missing = await inPage(async (lib, options) => {
    await new lib.RunbaseClient(options).getRun("run_does_not_exist");
  }, keyClient("sk-sim-lookup"));
  assert.equal(missing.status, 404);
  assert.equal(missing.code, "run_not_found");
});

test("429 with Retry-After is honoured, without it backs off, then the run succeeds", async () => {
  await server.faults([{ on: "create", kind: "rate_limited", retry_after: 2 }]);
  const honoured = await generate(keyClient("sk-sim-429a"));
  assert.equal(honoured.status, "succeeded");
  assert.ok(honoured.ms >= 2000 + 1200, `waited ${honoured.ms} ms`);
  await server.faults([{ on: "poll", kind: "rate_limited", count: 2 }]);
  const backedOff = await generate(keyClient("sk-sim-429b"));
  assert.equal(backedOff.status, "succeeded");
});

test("5xx, HTML 502 pages, dropped connections and slow answers on polls are retried", async () => {
  await server.faults([
    { on: "poll", kind: "server_error", count: 2 },
    { on: "poll", kind: "html_502" },
    { on: "poll", kind: "drop" },
    { on: "poll", kind: "malformed_json" },
    { on: "poll", kind: "slow", delay_ms: 1500 },
  ]);
  // Six failures in a row for one poll: one more retry than the default allows.
  const result = await generate(proxyClient({ requestTimeoutMs: 700, maxRetries: 6 }));
  assert.equal(result.status, "succeeded", JSON.stringify(result));
});

test("a failing create is never retried and says so, with a short excerpt of an HTML page", async () => {
  await server.faults([{ on: "create", kind: "html_502" }]);
  const error = await inPage(async (lib, options) => {
    await new lib.RunbaseClient(options).createRun({ prompt: "A lamp" });
  }, keyClient("sk-sim-create502"));
  assert.equal(error.kind, "api");
  assert.equal(error.status, 502);
  assert.equal(error.retryable, false);
  assert.match(error.message, /not JSON \(text\/html\): "502 Bad Gateway/);
  assert.ok(error.message.length < 400);
  assert.doesNotMatch(error.message, /<h1>/);
  assert.equal((await stats())["sk-sim-create502"].requests, 1);

  await server.faults([{ on: "create", kind: "malformed_json" }]);
  const decode = await inPage(async (lib, options) => {
    await new lib.RunbaseClient(options).createRun({ prompt: "A lamp" });
  }, keyClient("sk-sim-createbad"));
  assert.equal(decode.kind, "decode");
  assert.match(decode.message, /not a JSON object/);
});

test("run outcomes: failed, unknown status, no output, never finishing", async () => {
  await server.faults([{ kind: "run_failed", message: "Content policy: <b>refused</b>" }]);
  const failed = await inPage(async (lib, options) => {
    await new lib.RunbaseClient(options).generate({ prompt: "A lamp" });
  }, proxyClient());
  assert.equal(failed.kind, "run_failed");
  assert.match(failed.runId, /^run_/);
  assert.match(failed.message, /Content policy: <b>refused<\/b>/);

  await server.faults([{ kind: "run_unknown_status" }]);
  const odd = await generate(proxyClient());
  assert.equal(odd.status, "succeeded");
  assert.deepEqual(odd.statuses, ["warming_up", "succeeded"]);

  await server.faults([{ kind: "run_no_output" }]);
  const empty = await inPage(async (lib, options) => {
    await new lib.RunbaseClient(options).generate({ prompt: "A lamp" });
  }, proxyClient());
  assert.equal(empty.kind, "decode");
  assert.match(empty.runId, /^run_/);

  await server.faults([{ kind: "run_never_finishes" }]);
  const stuck = await inPage(async (lib, options) => {
    const started = performance.now();
    try {
      await new lib.RunbaseClient(options).generate({ prompt: "A lamp" }, { timeoutMs: 2500 });
    } catch (e) {
      return { kind: e.kind, runId: e.runId, ms: performance.now() - started, message: e.message };
    }
  }, proxyClient());
  assert.equal(stuck.kind, "timeout");
  assert.match(stuck.runId, /^run_/);
  assert.ok(stuck.ms >= 2400 && stuck.ms < 6000, `${stuck.ms}`);
  assert.match(stuck.message, /waitForRun/);
});

test("usage exhausted while polling keeps the run id and is not retried", async () => {
  await server.faults([{ on: "poll", kind: "usage_exceeded" }]);
  const error = await inPage(async (lib, options) => {
    await new lib.RunbaseClient(options).generate({ prompt: "A lamp" });
  }, proxyClient());
  assert.equal(error.code, "USAGE_EXCEEDED");
  assert.match(error.runId, /^run_/);
});

test("abort stops a request in flight and a pending wait, and keeps the run id", async () => {
  await server.faults([{ on: "create", kind: "slow", delay_ms: 4000 }]);
  const inFlight = await inPage(async (lib, options) => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 300);
    try {
      await new lib.RunbaseClient(options).createRun({ prompt: "A lamp" }, { signal: controller.signal });
    } catch (e) {
      return { kind: e.kind, runId: e.runId, ms: performance.now() - started };
    }
  }, proxyClient());
  assert.equal(inFlight.kind, "aborted");
  assert.equal(inFlight.runId, undefined);
  assert.ok(inFlight.ms < 2000, `${inFlight.ms}`);
  await resetFaults();

  const midWait = await inPage(async (lib, options) => {
    const controller = new AbortController();
    const client = new lib.RunbaseClient(options);
    const run = await client.createRun({ prompt: "A lamp" });
    setTimeout(() => controller.abort(), 300);
    try {
      await client.waitForRun(run.id, { signal: controller.signal });
    } catch (e) {
      const resumed = await client.waitForRun(e.runId);
      return { kind: e.kind, sameRun: e.runId === run.id, resumed: resumed.status };
    }
  }, proxyClient());
  assert.deepEqual(midWait, { kind: "aborted", sameRun: true, resumed: "succeeded" });
});

test("ten runs at once on one client: no 429, never more than 20 requests in 10 s", async () => {
  const result = await inPage(async (lib, options) => {
    const client = new lib.RunbaseClient(options);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      client.generate({ prompt: `Run ${i}` })));
    return results.map((r) => r.run.status);
  }, keyClient("sk-sim-many"));
  assert.deepEqual(result, Array(10).fill("succeeded"));
  const seen = (await stats())["sk-sim-many"];
  assert.equal(seen.rate_limited, 0);
  assert.ok(seen.max_in_10s <= 20, JSON.stringify(seen));
});

test("a fetch without any answer explains that a proxy may be needed", async () => {
  const error = await inPage(async (lib) => {
    await new lib.RunbaseClient({ apiKey: "sk-sim-x", baseUrl: "http://127.0.0.1:9/v1", maxRetries: 0 }).getRun("run_1");
  });
  assert.equal(error.kind, "network");
  assert.match(error.message, /proxy/);
  assert.equal(error.retryable, true);
});

test("bad options and calls before init are clear errors", async () => {
  const typo = await inPage(async (lib) => { new lib.RunbaseClient({ apikey: "x" }); });
  assert.equal(typo.code, "invalid_options");
  assert.match(typo.message, /Did you mean "apiKey"\?/);
  const neither = await inPage(async (lib) => { new lib.RunbaseClient({}); });
  assert.match(neither.message, /apiKey.*baseUrl/);
  const badSignal = await inPage(async (lib) => {
    await new lib.RunbaseClient({ baseUrl: "/api/v1" }).getRun("run_1", { signal: "nope" });
  });
  assert.match(badSignal.message, /AbortSignal/);
  const fresh = await browser.newPage();
  await fresh.goto(`${server.url}/__runbase/backend`);
  const early = await fresh.evaluate(async () => {
    const lib = await import("/pkg/index.js");
    try { lib.validateInput({}); } catch (e) { return { code: e.code, isRunbaseError: e instanceof lib.RunbaseError }; }
  });
  assert.deepEqual(early, { code: "not_initialized", isRunbaseError: true });
  await fresh.close();
});

test("works in a module Web Worker with the global fetch", async () => {
  const result = await inPage(async (lib, origin) => {
    const source = `
      import init, { validateInput, RunbaseClient } from "${origin}/pkg/index.js";
      await init();
      const checked = validateInput({ prompt: "A lamp", resolution: "4K" });
      const { urls } = await new RunbaseClient({ baseUrl: "${origin}/api/v1" }).generate({ prompt: "From a worker" });
      postMessage({ codes: checked.issues.map((i) => i.code), urls });
    `;
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const worker = new Worker(url, { type: "module" });
    return new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
    });
  }, server.url);
  assert.deepEqual(result.codes, ["resolution_not_allowed_for_aspect_ratio"]);
  assert.equal(result.urls.length, 1);
});

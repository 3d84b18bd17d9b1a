// The client in real headless Chromium, imported from the built package as a page would,
// against runbase-server's simulator: key mode (/sim/v1) and proxy mode (/api/v1), every
// documented error, the fault scripts, abort, time-outs, many runs at once, a Web Worker;
// the run object as documented (model, costUsd by resolution, createdAt, completedAt,
// output.urls) and estimateCost; a key whose window another client filled; aborts with any
// reason (never a panic); members the API adds, passed through unchanged.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { startSimulator, launchChromium, openPackagePage } from "./harness.mjs";

let server, browser, page;
/** A second simulator that only ever sees the page's key-mode requests: the first one's proxy
 *  polls its runs itself (a run broker), in the background too, and would take a poll fault
 *  meant for the client. */
let direct;
/** Uncaught errors of the page: a panic in wasm would show here (RuntimeError: unreachable). */
const pageErrors = [];
before(async () => {
  server = await startSimulator({ runMs: 1200 });
  direct = await startSimulator({ runMs: 1200 });
  browser = await launchChromium();
  page = await openPackagePage(browser, server);
  page.on("pageerror", (e) => pageErrors.push(e.message));
});
after(async () => { await browser?.close(); server?.stop(); direct?.stop(); });

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
/** Key mode against the second simulator, for tests that script poll faults. */
const directClient = (key, extra = {}) => ({ apiKey: key, baseUrl: `${direct.url}/sim/v1`, ...extra });
const directStats = async () => (await (await fetch(`${direct.url}/__sim/stats`)).json()).keys;

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
  await direct.faults([{ on: "poll", kind: "rate_limited", count: 2 }]);
  const backedOff = await generate(directClient("sk-sim-429b"));
  assert.equal(backedOff.status, "succeeded");
});

test("5xx, HTML 502 pages, dropped connections and slow answers on polls are retried", async () => {
  await direct.faults([
    { on: "poll", kind: "server_error", count: 2 },
    { on: "poll", kind: "html_502" },
    { on: "poll", kind: "drop" },
    { on: "poll", kind: "malformed_json" },
    { on: "poll", kind: "slow", delay_ms: 1500 },
  ]);
  // Six failures in a row for one poll: one more retry than the default allows. Key mode: the
  // proxy polls upstream itself (a run broker), so a poll fault would never reach the client.
  const result = await generate(directClient("sk-sim-pollfaults", { requestTimeoutMs: 700, maxRetries: 6 }));
  assert.equal(result.status, "succeeded", JSON.stringify(result));
  const seen = (await directStats())["sk-sim-pollfaults"];
  // The create, the five answered faults (a dropped connection is not counted) and the good poll.
  assert.ok(seen.requests >= 1 + 5 + 1, `the client met the poll faults itself: ${JSON.stringify(seen)}`);
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
  await direct.faults([{ on: "poll", kind: "usage_exceeded" }]);
  // Key mode: behind the proxy (a run broker) the client does not poll upstream itself.
  const error = await inPage(async (lib, options) => {
    await new lib.RunbaseClient(options).generate({ prompt: "A lamp" });
  }, directClient("sk-sim-usage-poll"));
  assert.equal(error?.code, "USAGE_EXCEEDED", String(JSON.stringify(error)));
  assert.match(error.runId, /^run_/);
  assert.equal((await directStats())["sk-sim-usage-poll"].requests, 2, "one create, one poll: not retried");
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

test("two clients of one key in one page share its budget: 12 runs, no 429, never more than 20 requests in 10 s", async () => {
  const result = await inPage(async (lib, options) => {
    // Made in two places of an app, as a page that makes a client per card does.
    const clients = [new lib.RunbaseClient(options), new lib.RunbaseClient({ ...options })];
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      clients[i % 2].generate({ prompt: `Run ${i}` })));
    return results.map((r) => r.run.status);
  }, keyClient("sk-sim-two-clients"));
  assert.deepEqual(result, Array(12).fill("succeeded"));
  const seen = (await stats())["sk-sim-two-clients"];
  assert.equal(seen.rate_limited, 0, JSON.stringify(seen));
  assert.ok(seen.max_in_10s <= 20, JSON.stringify(seen));
});

test("a fetch without any answer explains that a proxy may be needed", async () => {
  const error = await inPage(async (lib) => {
    await new lib.RunbaseClient({ apiKey: "sk-sim-x", baseUrl: "http://127.0.0.1:9/v1", maxRetries: 0 }).getRun("run_1");
  });
  assert.equal(error.kind, "network");
  assert.match(error.message, /proxy/);
  assert.match(error.message, /^The request to http:\/\/127\.0\.0\.1:9\/v1\/runs\/run_1 failed without an answer \(.+\)\..*CORS/);
  assert.equal(error.retryable, true);
  // The browser's words stay as they were; fetch's TypeError is the cause.
  const cause = await inPage(async (lib) => {
    try {
      await new lib.RunbaseClient({ apiKey: "sk-sim-x", baseUrl: "http://127.0.0.1:9/v1", maxRetries: 0 }).createRun({ prompt: "A lamp" });
    } catch (e) {
      return { isTypeError: e.cause instanceof TypeError, message: e.message };
    }
  });
  assert.equal(cause.isTypeError, true);
  assert.match(cause.message, /A run may or may not have been created/, "a browser cannot tell a refused connection");
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

// ---------- the run object as documented: typed members, costs ----------

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const MODEL = "openai/gpt-image-2";

for (const [mode, options] of [["key mode", () => keyClient("sk-sim-typed")], ["proxy mode", () => proxyClient()]]) {
  test(`${mode}: createRun, getRun, onCreate, onUpdate and generate carry model, costUsd, times and output`, async () => {
    const seen = await inPage(async (lib, options) => {
      const client = new lib.RunbaseClient(options);
      const created4k = await client.createRun({ prompt: "A wide lamp", aspect_ratio: "21:9", resolution: "4K" });
      const read4k = await client.getRun(created4k.id);
      const done4k = await client.waitForRun(created4k.id);
      const created2k = await client.createRun({ prompt: "A lamp", resolution: "2K" });
      const creates = [], updates = [];
      const generated = await client.generate({ prompt: "A lamp" }, {
        onCreate: (run) => creates.push(run), onUpdate: (run) => updates.push(run),
      });
      return { created4k, read4k, done4k, created2k, creates, updates, generated };
    }, options());
    assert.equal(seen.error, undefined, JSON.stringify(seen));
    const noNulls = (run, what) => assert.ok(Object.values(run).every((v) => v !== null), `${what} has no null members: ${JSON.stringify(run)}`);

    // 4K: created, read once, then followed to the end.
    const { created4k, read4k, done4k } = seen;
    assert.match(created4k.id, /^run_/);
    assert.deepEqual(Object.keys(created4k).sort(), ["costUsd", "createdAt", "id", "model", "status"], JSON.stringify(created4k));
    assert.equal(created4k.model, MODEL);
    assert.equal(created4k.status, "pending");
    assert.equal(created4k.costUsd, 120000, "4K costs $0.12");
    assert.match(created4k.createdAt, ISO_MS);
    assert.equal(read4k.id, created4k.id);
    assert.equal(read4k.model, MODEL);
    assert.equal(read4k.costUsd, 120000);
    assert.equal(read4k.createdAt, created4k.createdAt);
    assert.ok(["pending", "processing"].includes(read4k.status), read4k.status);
    assert.equal(read4k.completedAt, undefined, "not finished yet");
    assert.equal(read4k.output, undefined);
    assert.equal(done4k.status, "succeeded");
    assert.equal(done4k.costUsd, 120000);
    assert.equal(done4k.createdAt, created4k.createdAt);
    assert.match(done4k.completedAt, ISO_MS);
    assert.ok(Date.parse(done4k.completedAt) - Date.parse(done4k.createdAt) >= 1100, `${done4k.createdAt} → ${done4k.completedAt}`);
    assert.equal(done4k.output.urls.length, 1);
    assert.match(done4k.output.urls[0], /^http:\/\/127\.0\.0\.1:\d+\/.+\.png$/);
    assert.equal(done4k.error, undefined);
    for (const [run, what] of [[created4k, "created"], [read4k, "read"], [done4k, "done"]]) noNulls(run, what);
    assert.equal(seen.created2k.costUsd, 70000, "2K costs $0.07");

    // 1K through generate: its result, onCreate and every onUpdate.
    const { creates, updates, generated } = seen;
    assert.equal(generated.costUsd, 50000, "generate resolves the charged cost: 1K is $0.05");
    assert.equal(generated.run.costUsd, 50000);
    assert.equal(generated.run.model, MODEL);
    assert.equal(generated.run.status, "succeeded");
    assert.match(generated.run.createdAt, ISO_MS);
    assert.match(generated.run.completedAt, ISO_MS);
    assert.deepEqual(generated.run.output, { urls: generated.urls });
    assert.equal(creates.length, 1);
    assert.deepEqual(creates[0], { id: generated.run.id, model: MODEL, status: "pending", costUsd: 50000, createdAt: generated.run.createdAt });
    if (mode === "key mode") {
      assert.deepEqual(updates.map((u) => u.status), ["pending", "processing", "succeeded"]);
    } else {
      // Behind the broker, "processing" is seen only when the key has budget to spare for a
      // progress poll (here it is busy with this test's other runs): never a made-up status.
      assert.match(updates.map((u) => u.status).join(","), /^pending,(processing,)?succeeded$/);
    }
    for (const update of updates) {
      assert.equal(update.id, generated.run.id);
      assert.equal(update.model, MODEL);
      assert.equal(update.costUsd, 50000);
      assert.equal(update.createdAt, generated.run.createdAt);
      noNulls(update, `update ${update.status}`);
    }
    for (const update of updates.slice(0, -1)) assert.equal(update.completedAt, undefined);
    assert.deepEqual(updates.at(-1), generated.run, "the last update is the finished run");
  });
}

test("estimateCost by resolution, and getModelFacts().pricesUsd", async () => {
  const seen = await inPage(async (lib) => ({
    prices: lib.getModelFacts().pricesUsd,
    unknownModel: lib.getModelFacts("openai/dall-e-3") === undefined,
    costs: [
      {}, { prompt: "A lamp" }, { resolution: "1K" }, { resolution: "2K" }, { prompt: "A lamp", aspect_ratio: "16:9", resolution: "4K" },
      { resolution: "8K" }, { resolution: "4k" }, { resolution: 4 }, { resolution: null },
    ].map((input) => { const cost = lib.estimateCost(input); return cost === undefined ? "undefined" : cost; }),
    // Whatever a caller passes, an answer or undefined, never a throw that breaks the module.
    odd: [undefined, null, "4K", 42, [], { resolution: { toString() { return "4K"; } } }].map((input) => {
      try { const cost = lib.estimateCost(input); return cost === undefined ? "undefined" : cost; } catch (e) { return `threw ${e?.name}: ${e?.message}`; }
    }),
    alive: lib.validateInput({ prompt: "A lamp" }).ok,
  }));
  assert.deepEqual(seen.prices, { "1K": 50000, "2K": 70000, "4K": 120000 });
  assert.equal(seen.unknownModel, true);
  assert.deepEqual(seen.costs, [50000, 50000, 50000, 70000, 120000, "undefined", "undefined", "undefined", "undefined"]);
  for (const answer of seen.odd) assert.ok(answer === "undefined" || typeof answer === "number" || /^threw RunbaseError/.test(answer), `estimateCost on an odd value: ${answer}`);
  assert.equal(seen.alive, true);
  assert.deepEqual(pageErrors, []);
});

// ---------- a key whose window someone else has filled ----------

test("a key whose 20-per-10 s window another client filled: generate backs off 1, 2, 4, 8 s and succeeds", async () => {
  const key = "sk-sim-shared-window";
  const headers = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
  // The other client: one run created and read 19 times, all at once (plain fetch, same key).
  const fillStarted = Date.now();
  const other = await (await fetch(`${server.url}/sim/v1/runs`, {
    method: "POST", headers, body: JSON.stringify({ model: MODEL, input: { prompt: "Another client" } }),
  })).json();
  const reads = await Promise.all(Array.from({ length: 19 }, () => fetch(`${server.url}/sim/v1/runs/${other.id}`, { headers })));
  const fillEnded = Date.now();
  assert.deepEqual(reads.map((r) => r.status), Array(19).fill(200), "the 20 requests of the other client fit the window");
  assert.equal((await stats())[key].requests, 20);

  // The client's own requests, as the browser sent them and as they were answered.
  const sent = [];
  const onRequest = (request) => {
    if (request.url().includes("/sim/v1/runs")) sent.push({ request, at: Date.now(), method: request.method() });
  };
  const onResponse = (response) => {
    const entry = sent.find((s) => s.request === response.request());
    if (entry) entry.status = response.status();
  };
  page.on("request", onRequest);
  page.on("response", onResponse);
  let result;
  try {
    result = await inPage(async (lib, options) => {
      const started = performance.now();
      const { urls, run, costUsd } = await new lib.RunbaseClient(options).generate({ prompt: "After the window filled" });
      return { urls, status: run.status, costUsd, ms: performance.now() - started };
    }, keyClient(key));
  } finally {
    page.off("request", onRequest);
    page.off("response", onResponse);
  }
  assert.equal(result.status, "succeeded", JSON.stringify(result));
  assert.equal(result.urls.length, 1);
  assert.equal(result.costUsd, 50000);

  const limited = sent.filter((s) => s.status === 429);
  // The window frees 10 s after the fill: the attempts at 0, 1, 3 and 7 s (plus jitter, at
  // most 8.75 s) are refused, the one 8 s later goes through.
  assert.equal(limited.length, 4, `429s: ${sent.map((s) => `${s.method} ${s.at - fillStarted} ms → ${s.status}`).join(", ")}`);
  assert.ok(limited.every((s) => s.method === "POST"), "only the create was refused");
  const gaps = sent.slice(0, 5).map((s, i, all) => (i ? s.at - all[i - 1].at : null)).slice(1);
  [1000, 2000, 4000, 8000].forEach((base, i) => {
    assert.ok(gaps[i] >= base * 0.95 - 50 && gaps[i] <= base * 1.25 + 400, `back-off ${i + 1}: ${gaps[i]} ms, expected ${base}–${base * 1.25} ms (gaps ${gaps})`);
  });
  assert.equal(sent[4].status, 201, "the fifth attempt creates the run");
  assert.ok(sent[4].at - fillStarted >= 10_000, "not before the other client's window is over");

  // The simulator saw the same: the 429s, and no more than 20 requests it accepted in any 10 s.
  const seen = (await stats())[key];
  assert.equal(seen.rate_limited, limited.length, JSON.stringify(seen));
  assert.equal(seen.requests, 20 + sent.length, JSON.stringify(seen));
  assert.ok(seen.max_in_10s <= 20 + seen.rate_limited, `only refused requests exceed 20 in a window: ${JSON.stringify(seen)}`);
  const timeline = [
    ...Array(20).fill({ at: fillEnded, status: 200 }),
    ...sent.map((s) => ({ at: s.at, status: s.status })),
  ].sort((a, b) => a.at - b.at);
  for (const first of timeline.filter((e) => e.at >= fillEnded)) {
    const inWindow = timeline.filter((e) => e.at >= first.at && e.at < first.at + 10_000);
    assert.ok(inWindow.filter((e) => e.status !== 429).length <= 20, `accepted requests in the 10 s from ${first.at - fillStarted} ms`);
    assert.ok(sent.filter((s) => s.at >= first.at && s.at < first.at + 10_000).length <= 20, "the client's own requests in any 10 s");
  }
});

// ---------- aborts and time-outs never panic ----------

/** Starts `call(client, signal)` in the page, aborts with `reason` after `after` ms (or
 *  hands an already-aborted signal when `after` is "before"); how it ended, as plain data,
 *  and whether the same client then still creates and reads a run. Key mode, straight to the
 *  second simulator, so that a poll fault meets the client's own poll. */
async function stopped(options, { call, reason, after, fault, timeoutMs }) {
  await fetch(`${direct.url}/__sim/faults`, { method: "DELETE" });
  if (fault) await direct.faults([fault]);
  return inPage(async (lib, [options, call, reason, after, timeoutMs]) => {
    const client = new lib.RunbaseClient(options);
    const reasons = {
      none: undefined, string: "some string", number: 42, null: null, object: { why: "user left" },
      // Reading this reason throws: the client must never look at it.
      revoked: (() => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; })(),
    };
    const controller = new AbortController();
    if (after === "before") controller.abort(reasons[reason]);
    else if (after !== undefined) setTimeout(() => controller.abort(reasons[reason]), after);
    const signal = after === "timeout-signal" ? AbortSignal.timeout(300) : controller.signal;
    const callOptions = { signal, ...(timeoutMs ? { timeoutMs } : {}) };
    let runId;
    const started = performance.now();
    const outcome = await (async () => { try {
      const work = {
        createRun: () => client.createRun({ prompt: "A lamp" }, callOptions).then((run) => { runId = run.id; }),
        getRun: async () => { runId = (await client.createRun({ prompt: "A lamp" })).id; await client.getRun(runId, callOptions); },
        waitForRun: async () => { runId = (await client.createRun({ prompt: "A lamp" })).id; await client.waitForRun(runId, callOptions); },
        generate: () => client.generate({ prompt: "A lamp" }, { ...callOptions, onCreate: (run) => { runId = run.id; } }),
      }[call];
      await work();
      return { outcome: "resolved", ms: performance.now() - started };
    } catch (e) {
      return {
        outcome: "rejected", isRunbaseError: e instanceof lib.RunbaseError, kind: e?.kind, message: String(e?.message),
        runId: e?.runId, createdRunId: runId, retryable: e?.retryable, ms: performance.now() - started,
      };
    } })();
    try {
      const again = await client.createRun({ prompt: "Still working" });
      outcome.sameClient = (await client.getRun(again.id)).id === again.id ? "works" : "wrong run";
    } catch (e) {
      outcome.sameClient = `${e?.name}: ${e?.message}`;
    }
    return outcome;
  }, [options, call, reason, after, timeoutMs]);
}

/** Plays each case; the problems found, one line per case that went wrong. */
async function stopCases(cases) {
  const failures = [];
  for (const [index, [what, call, reason, after, fault, kind, runExists, timeoutMs]] of cases.entries()) {
    const result = await stopped(directClient(`sk-sim-stop-${call}-${index}`), { call, reason, after, fault, timeoutMs });
    const problems = [];
    if (result.sameClient !== "works") problems.push(`the same client afterwards: ${result.sameClient}`);
    if (result.outcome !== "rejected") problems.push(`resolved after ${Math.round(result.ms)} ms`);
    else {
      if (!result.isRunbaseError) problems.push(`not a RunbaseError: ${result.message}`);
      if (result.kind !== kind) problems.push(`kind ${result.kind}, expected ${kind} (${result.message})`);
      if (result.ms > 2800) problems.push(`took ${Math.round(result.ms)} ms`);
      if (runExists && result.runId !== result.createdRunId) problems.push(`runId ${result.runId}, expected ${result.createdRunId}`);
      if (!runExists && result.runId !== undefined) problems.push(`runId ${result.runId} though no run exists`);
    }
    if (problems.length) failures.push(`${what}: ${problems.join("; ")}`);
  }
  await fetch(`${direct.url}/__sim/faults`, { method: "DELETE" });
  return failures;
}

test("aborts with any reason, already-aborted signals and time-outs end as RunbaseErrors, and the module keeps working", async () => {
  const slowCreate = { on: "create", kind: "slow", delay_ms: 3000 };
  const slowPoll = { on: "poll", kind: "slow", delay_ms: 3000 };
  const cases = [
    // [what, call, reason, abort after (ms), fault, expected kind, run exists?, call timeoutMs]
    ['abort("some string") mid-request (slow create)', "createRun", "string", 300, slowCreate, "aborted", false],
    ['abort("some string") mid-request (slow create) in generate', "generate", "string", 300, slowCreate, "aborted", false],
    ['abort("some string") mid-wait', "waitForRun", "string", 300, null, "aborted", true],
    ['abort("some string") mid-wait in generate', "generate", "string", 300, null, "aborted", true],
    // generate's first poll goes out about 1 s after the create (the sooner first poll).
    ['abort("some string") mid-request (slow poll) in generate', "generate", "string", 1500, slowPoll, "aborted", true],
    ["abort(42) mid-request (slow create)", "createRun", "number", 300, slowCreate, "aborted", false],
    ["abort(42) mid-wait in generate", "generate", "number", 300, null, "aborted", true],
    ["abort(null) mid-wait", "waitForRun", "null", 300, null, "aborted", true],
    ["abort({ why }) mid-request (slow create)", "createRun", "object", 300, slowCreate, "aborted", false],
    ["abort(revoked Proxy) mid-wait in generate", "generate", "revoked", 300, null, "aborted", true],
    ["abort() mid-request (slow create)", "createRun", "none", 300, slowCreate, "aborted", false],
    ['already aborted with "some string": createRun', "createRun", "string", "before", null, "aborted", false],
    ["already aborted with 42: generate", "generate", "number", "before", null, "aborted", false],
    ["already aborted, no reason: waitForRun", "waitForRun", "none", "before", null, "aborted", true],
    ["AbortSignal.timeout(300) mid-request (slow create)", "createRun", "none", "timeout-signal", slowCreate, "aborted", false],
    ["timeoutMs 500 mid-request (slow create)", "generate", "none", undefined, slowCreate, "timeout", false, 500],
    ["timeoutMs 800 mid-wait in generate", "generate", "none", undefined, null, "timeout", true, 800],
  ];
  const failures = await stopCases(cases);
  // The same client and the same module afterwards.
  const after = await inPage(async (lib, options) => {
    const client = new lib.RunbaseClient(options);
    const controller = new AbortController();
    setTimeout(() => controller.abort("some string"), 200);
    try { await client.generate({ prompt: "Aborted first" }, { signal: controller.signal }); } catch { /* expected */ }
    const valid = lib.validateInput({ prompt: "A lamp", aspect_ratio: "16:9", resolution: "4K" });
    const { urls, run } = await client.generate({ prompt: "After every abort" });
    return { valid: valid.ok, urls: urls.length, status: run.status };
  }, directClient("sk-sim-stop-after"));
  assert.deepEqual(failures, []);
  assert.deepEqual(after, { valid: true, urls: 1, status: "succeeded" });
  assert.deepEqual(pageErrors, [], "no uncaught error in the page (a panic would be one)");
});

test("getRun stopped mid-request rejects with the run id it was asked about (docs/API.md: runId on every error once a run exists)", async () => {
  const slowPoll = { on: "poll", kind: "slow", delay_ms: 3000 };
  const failures = await stopCases([
    ["abort(42) mid-request (slow poll) in getRun", "getRun", "number", 300, slowPoll, "aborted", true],
    ["timeoutMs 500 mid-request (slow poll) in getRun", "getRun", "none", undefined, slowPoll, "timeout", true, 500],
  ]);
  assert.deepEqual(failures, []);
  assert.deepEqual(pageErrors, []);
});

// ---------- members the API may add later ----------

/** A fake API at /fake/v1 (Playwright answers, nothing reaches the server): the create
 *  answers `bodies[0]`, each poll the next body (the last one repeats). */
async function withFakeApi(bodies, work) {
  const base = `${server.url}/fake/v1`;
  let polls = 0;
  await page.route(`${base}/runs`, (route) => route.fulfill({ status: 201, contentType: "application/json", body: JSON.stringify(bodies[0]) }));
  await page.route(`${base}/runs/*`, (route) => route.fulfill({
    status: 200, contentType: "application/json", body: JSON.stringify(bodies[Math.min(1 + polls++, bodies.length - 1)]),
  }));
  try {
    return await work(base);
  } finally {
    await page.unroute(`${base}/runs`);
    await page.unroute(`${base}/runs/*`);
  }
}

/** createRun, generate (with onCreate and onUpdate) and getRun against the fake API. */
const everyWayToARun = (base) => inPage(async (lib, base) => {
  const client = new lib.RunbaseClient({ apiKey: "sk-fake", baseUrl: base, pollIntervalMs: 200 });
  const created = await client.createRun({ prompt: "A lamp" });
  const creates = [], updates = [];
  let generated, failure;
  try {
    generated = await client.generate({ prompt: "A lamp" }, { onCreate: (run) => creates.push(run), onUpdate: (run) => updates.push(run) });
  } catch (e) {
    failure = { kind: e.kind, runId: e.runId, message: e.message };
  }
  const read = await client.getRun("run_extra");
  return { created, creates, updates, generated, failure, read };
}, base);

const EXTRAS = {
  seed: 1234567,
  priority: 0,
  nsfw: false,
  tags: ["studio", { nested: ["deep", 1.5] }],
  metrics: { predictTime: 4.2, queue: { position: 3, eta: "soon" } },
  "webhook.url": "https://hooks.example/x",
  "ключ ü 🎨": "unicode name",
  cleared: null,
};
const CREATED_AT = "2026-06-01T12:00:00.000Z";
const COMPLETED_AT = "2026-06-01T12:00:04.200Z";

test("members a run object adds at its top level reach the caller unchanged", async () => {
  const urls = [`${server.url}/generated/extra.png`];
  const bodies = [
    { id: "run_extra", model: MODEL, status: "pending", costUsd: 50000, createdAt: CREATED_AT, ...EXTRAS },
    { id: "run_extra", model: MODEL, status: "processing", costUsd: 50000, createdAt: CREATED_AT, ...EXTRAS, progress: 0.5 },
    { id: "run_extra", model: MODEL, status: "succeeded", costUsd: 50000, createdAt: CREATED_AT, completedAt: COMPLETED_AT, output: { urls }, ...EXTRAS },
  ];
  const seen = await withFakeApi(bodies, everyWayToARun);
  assert.equal(seen.error, undefined, JSON.stringify(seen));
  assert.equal(seen.failure, undefined, JSON.stringify(seen.failure));
  assert.deepEqual(seen.created, bodies[0], "createRun");
  assert.deepEqual(seen.creates, [bodies[0]], "onCreate");
  assert.deepEqual(seen.updates, bodies, "onUpdate, once per status");
  assert.deepEqual(seen.generated.run, bodies[2], "generate's run");
  assert.deepEqual(seen.generated.urls, urls);
  assert.equal(seen.generated.costUsd, 50000);
  assert.deepEqual(seen.read, bodies[2], "getRun");
});

test("members the API adds inside output and error reach the caller unchanged", async () => {
  const output = { urls: [`${server.url}/generated/extra.png`], seed: 42, format: "png", sizes: [{ w: 1024, h: 1024 }] };
  const succeeded = [
    { id: "run_extra", model: MODEL, status: "pending", costUsd: 50000, createdAt: CREATED_AT },
    { id: "run_extra", model: MODEL, status: "succeeded", costUsd: 50000, createdAt: CREATED_AT, completedAt: COMPLETED_AT, output },
  ];
  const ok = await withFakeApi(succeeded, everyWayToARun);
  const error = { message: "The model refused this prompt", code: "content_policy", details: { category: "violence", score: 0.93 } };
  const failed = [
    { id: "run_extra", model: MODEL, status: "pending", costUsd: 50000, createdAt: CREATED_AT },
    { id: "run_extra", model: MODEL, status: "failed", costUsd: 50000, createdAt: CREATED_AT, completedAt: COMPLETED_AT, error },
  ];
  const bad = await withFakeApi(failed, everyWayToARun);
  assert.equal(ok.error, undefined, JSON.stringify(ok));
  assert.equal(bad.error, undefined, JSON.stringify(bad));
  assert.equal(bad.failure.kind, "run_failed");
  assert.match(bad.failure.message, /The model refused this prompt/);
  const differences = [
    ["output of generate's run", ok.generated?.run.output, output],
    ["output of the last onUpdate", ok.updates.at(-1)?.output, output],
    ["output of getRun", ok.read.output, output],
    ["error of the last onUpdate", bad.updates.at(-1)?.error, error],
    ["error of getRun", bad.read.error, error],
  ].filter(([, got, expected]) => !isDeepStrictEqual(got, expected))
    .map(([what, got, expected]) => `${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  assert.deepEqual(differences, []);
});

test("a key that does not start with sk- gets a console warning, an sk- key none", async () => {
  const warnings = [];
  const onConsole = (m) => m.type() === "warning" && warnings.push(m.text());
  page.on("console", onConsole);
  try {
    await inPage(async (lib, base) => {
      new lib.RunbaseClient({ apiKey: "sk-sim-fine", baseUrl: base });
      new lib.RunbaseClient({ baseUrl: base });
    }, `${server.url}/sim/v1`);
    await page.waitForTimeout(100);
    assert.deepEqual(warnings, []);
    const refused = await inPage(async (lib, base) => {
      await new lib.RunbaseClient({ apiKey: "rb_live_1234", baseUrl: base }).createRun({ prompt: "A lamp" });
    }, `${server.url}/sim/v1`);
    await page.waitForTimeout(100);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0], /sk-/);
    assert.doesNotMatch(warnings[0], /rb_live_1234/, "the warning does not repeat the key");
    assert.equal(refused.code, "invalid_api_key", "a warning, not a refusal: the API decides");
  } finally {
    page.off("console", onConsole);
  }
});

test("no ordering trap: a client made before init() works, its first call loading the module; synchronous calls before it say so", async () => {
  const fresh = await browser.newPage();
  try {
    await fresh.goto(`${server.url}/__runbase/backend`);
    const outcome = await fresh.evaluate(async () => {
      const lib = await import("/pkg/index.js");
      const early = (() => {
        try { lib.validateInput({ prompt: "x" }); return "no throw"; } catch (e) { return { code: e.code, message: e.message, isRunbaseError: e instanceof lib.RunbaseError }; }
      })();
      // Both made at "module level", before any init(): one good, one with a bad option.
      const client = new lib.RunbaseClient({ baseUrl: "/api/v1" });
      const misspelt = new lib.RunbaseClient({ baseUrl: "/api/v1", pollIntervalMS: 10 });
      const [made, again] = await Promise.all([
        client.generate({ prompt: "Made before init", aspect_ratio: "16:9" }),
        client.getRun("run_unknown").catch((e) => e.code),
      ]);
      const refused = await misspelt.getRun("run_x").catch((e) => ({ kind: e.kind, code: e.code, message: e.message }));
      return { early, urls: made.urls.length, status: made.run.status, again, refused, validates: lib.validateInput({ prompt: "x" }).ok };
    });
    assert.deepEqual(outcome.early.isRunbaseError, true);
    assert.equal(outcome.early.code, "not_initialized");
    assert.match(outcome.early.message, /call `await init\(\)` once before the synchronous functions \(validateInput, getModelFacts, promptLength, estimateCost\); the others load it themselves$/);
    assert.deepEqual([outcome.urls, outcome.status, outcome.again], [1, "succeeded", "run_not_found"]);
    assert.deepEqual([outcome.refused.kind, outcome.refused.code], ["validation", "invalid_options"]);
    assert.match(outcome.refused.message, /Did you mean "pollIntervalMs"/);
    assert.equal(outcome.validates, true, "the client's calls initialised the module for everyone");
  } finally {
    await fresh.close();
  }
});

test("init: a default load that fails gives way to one given the .wasm's place while it ran; the call waiting on it goes on", async () => {
  const fresh = await browser.newPage();
  try {
    await fresh.goto(`${server.url}/__runbase/backend`);
    const outcome = await fresh.evaluate(async () => {
      // The entry from a blob: URL, as a bundler that moved it might leave it: nothing beside it.
      const source = await (await fetch("/pkg/index.js")).text();
      const moved = () => import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
      const alone = await moved();
      const defaultOnly = await alone.default().then(() => "resolved", (e) => ({ kind: e.kind, code: e.code, message: e.message }));
      // A place given that answers 404: not fetchable as the module, the same kind.
      const wrongPlace = await alone.default(new URL("/pkg/nothing_bg.wasm", location.href))
        .then(() => "resolved", (e) => ({ isRunbaseError: e instanceof alone.RunbaseError, kind: e.kind, code: e.code, message: e.message, cause: e.cause instanceof Error }));
      const lib = await moved();
      // A client's first call starts the default load; the app then says where the .wasm is.
      const viaClient = new lib.RunbaseClient({ baseUrl: "/api/v1" }).getRun("run_unknown").then(() => "resolved", (e) => e.code);
      await lib.default(new URL("/pkg/runbase_image_bg.wasm", location.href));
      return { defaultOnly, wrongPlace, viaClient: await viaClient, validates: lib.validateInput({ prompt: "x" }).ok };
    });
    assert.deepEqual([outcome.defaultOnly.kind, outcome.defaultOnly.code], ["load", "wasm_not_found"]);
    const { message, ...wrongPlace } = outcome.wrongPlace;
    assert.deepEqual(wrongPlace, { isRunbaseError: true, kind: "load", code: "wasm_not_found", cause: true });
    assert.match(message, /^Could not load runbase_image_bg\.wasm \(Error: failed to fetch Wasm: 404 .*\/pkg\/nothing_bg\.wasm'\): give init this package's own \.wasm/);
    assert.match(outcome.defaultOnly.message, /^Could not load runbase_image_bg\.wasm from \.\/runbase_image_bg\.wasm \(the request failed\): .*await init\("\/assets\/runbase_image_bg\.wasm"\)$/);
    assert.equal(outcome.viaClient, "run_not_found", "the client's call waited for the load given a place, not the failed default");
    assert.equal(outcome.validates, true);
  } finally {
    await fresh.close();
  }
});

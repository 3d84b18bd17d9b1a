// runbase-image/server, the key-holding proxy as a route handler, run for real: the built
// package's handler in node:http servers on 127.0.0.1, the package's own RunbaseClient as
// the browser's, and runbase-server's simulator as the upstream (one key's 20 requests per
// 10 s, counted by the simulator itself at /__sim/stats). Every rule of the proxy, an
// instance per request (serverless), ten users on one process, two instances on a real
// redis-server behind a round-robin balancer, and one instance beside runbase-server on one
// Redis.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "redis";
import Redis from "ioredis";
import { ROOT, startServer, startSimulator } from "./harness.mjs";
import { RunbaseClient } from "../../pkg/node.js";

const SERVER_ENTRY = pathToFileURL(join(ROOT, "pkg", "server.node.js")).href;
const FOUR_K = { prompt: "A ceramic lamp", aspect_ratio: "16:9", resolution: "4K" };
let simulator, instances = 0;
const warn = console.warn;

/** A fresh copy of the entry, as a new serverless instance has: its own wasm, memory and store. */
async function freshEntry() {
  return import(`${SERVER_ENTRY}?instance=${++instances}`);
}

/** A handler made by a fresh instance of the entry, served by node:http on a free port. */
async function serve(options, { entry } = {}) {
  const { createRunbaseProxy } = entry ?? (await freshEntry());
  const proxy = createRunbaseProxy({ upstream: `${simulator.url}/sim/v1`, ...options });
  return listen((req, res) => proxy.node(req, res), proxy);
}

async function listen(handler, proxy) {
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, base: `${origin}/api/runbase`, proxy, close: () => new Promise((r) => server.close(r)) };
}

async function stats(key) {
  const all = await (await fetch(`${simulator.url}/__sim/stats`)).json();
  return all.keys[key] ?? { requests: 0, rate_limited: 0, max_in_10s: 0, runs_created: 0 };
}

const post = (url, body, headers = {}) =>
  fetch(`${url}/runs`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

const errorOf = async (answer) => (await answer.json()).error;

before(async () => {
  simulator = await startSimulator({ runMs: 1500 });
  // The handler says once that it has no sign-in; the tests make many.
  console.warn = (...args) => (String(args[0]).includes("no authenticate option") ? undefined : warn(...args));
});
after(() => {
  simulator?.stop();
  console.warn = warn;
});

test("the entry never reaches a page: a browser bundle of it throws at import, saying it holds the key", async () => {
  const { build } = await import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "runbase-server-browser-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(join(ROOT, "pkg"), join(dir, "node_modules", "runbase-image"));
  const bundled = await build({
    stdin: { contents: 'import { createRunbaseProxy } from "runbase-image/server"; export default createRunbaseProxy;', resolveDir: dir },
    bundle: true, write: false, format: "esm", platform: "browser", logLevel: "silent",
  });
  const code = bundled.outputFiles[0].text;
  assert.doesNotMatch(code, /wasm/, "no part of the server module in the bundle");
  await assert.rejects(import(`data:text/javascript,${encodeURIComponent(code)}`), /runbase-image\/server holds your Runbase API key and runs only on a server/);
});

test("bad options throw at creation naming the option; a key still missing is a 500 that says so", async () => {
  const { createRunbaseProxy } = await freshEntry();
  assert.throws(() => createRunbaseProxy({ apikey: "sk-1" }), /option "apikey" is not an option \(did you mean "apiKey"\?\)/);
  assert.throws(() => createRunbaseProxy({}), /option "apiKey" is required/);
  assert.throws(() => createRunbaseProxy({ apiKey: 42 }), /option "apiKey" must be a string or a function/);
  assert.throws(() => createRunbaseProxy({ apiKey: "k", upstream: "ftp://x" }), /option "upstream" must be the API's http\(s\) base URL/);
  assert.throws(() => createRunbaseProxy({ apiKey: "k", allowedOrigins: ["https://a.example/"] }), /option "allowedOrigins" has "https:\/\/a.example\/", which is not an origin/);
  assert.throws(() => createRunbaseProxy({ apiKey: "k", clientLimit: 0 }), /option "clientLimit" must be a positive whole number/);
  assert.throws(() => createRunbaseProxy({ apiKey: "k", spendPerDayUsd: "5" }), /option "spendPerDayUsd" must be a positive number/);
  assert.throws(() => createRunbaseProxy({ apiKey: "k", redis: {} }), /option "redis" must be a connected node-redis/);
  assert.throws(() => createRunbaseProxy({ apiKey: "k", authenticate: "yes" }), /option "authenticate" must be a function/);
  // As `next build` loads a route module without the secret: made, and each request says why.
  const proxy = createRunbaseProxy({ apiKey: process.env.RUNBASE_SURELY_UNSET_KEY });
  const answer = await proxy.POST(new Request("http://app.test/api/runbase/runs", { method: "POST", body: JSON.stringify({ model: "openai/gpt-image-2", input: FOUR_K }) }));
  assert.equal(answer.status, 500);
  assert.equal((await errorOf(answer)).code, "api_key_missing");
});

test("the package's client generates through the handler; ids are the proxy's, the key's requests counted", async () => {
  const key = "sk-sim-server-basic";
  const app = await serve({ apiKey: key });
  try {
    const client = new RunbaseClient({ baseUrl: app.base });
    const made = await client.generate(FOUR_K);
    assert.equal(made.urls.length, 1);
    assert.equal(made.costUsd, 120000);
    assert.match(made.run.id, /^run_[0-9a-f]+\.[\w-]{22}$/, "the upstream id and its MAC");
    const again = await client.getRun(made.run.id);
    assert.equal(again.status, "succeeded");
    const answer = await fetch(`${app.base}/runs/${made.run.id}`);
    assert.equal(answer.headers.get("x-runbase-long-poll"), "25");
    assert.equal(answer.headers.get("cache-control"), "no-store");
    const upstream = await stats(key);
    assert.equal(upstream.runs_created, 1);
    // A run already finished is answered from the proxy's state: reads after the end cost nothing.
    assert.ok(upstream.requests <= 4, `${upstream.requests} upstream requests for one run`);
  } finally {
    await app.close();
  }
});

test("safe by default: validated before any request, the model locked, two routes, foreign pages refused, bodies limited", async () => {
  const key = "sk-sim-server-rules";
  const app = await serve({ apiKey: key });
  try {
    const invalid = await post(app.base, { model: "openai/gpt-image-2", input: { prompt: "A lamp", resolution: "4K" } });
    assert.equal(invalid.status, 400);
    const error = await errorOf(invalid);
    assert.equal(error.code, "invalid_input");
    assert.deepEqual(error.issues.map((i) => [i.path, i.code]), [["resolution", "resolution_not_allowed_for_aspect_ratio"]]);
    const model = await post(app.base, { model: "openai/gpt-image-1", input: FOUR_K });
    assert.deepEqual([model.status, (await errorOf(model)).code], [400, "model_not_allowed"]);
    const junk = await post(app.base, "{not json");
    assert.deepEqual([junk.status, (await errorOf(junk)).code], [400, "invalid_json"]);
    assert.equal((await stats(key)).requests, 0, "nothing went upstream");

    for (const [method, path, status, code] of [["GET", "/other", 404, "not_found"], ["GET", "/runs", 404, "not_found"],
      ["POST", "/runs/abc", 404, "not_found"], ["PUT", "/runs", 405, "method_not_allowed"], ["DELETE", "/runs/x", 405, "method_not_allowed"]]) {
      const answer = await fetch(`${app.base}${path}`, { method });
      assert.deepEqual([answer.status, (await errorOf(answer)).code], [status, code], `${method} ${path}`);
    }
    const invented = await fetch(`${app.base}/runs/run_0000000000.AAAAAAAAAAAAAAAAAAAAAA`);
    assert.deepEqual([invented.status, (await errorOf(invented)).code], [404, "run_not_found"]);

    const foreign = await post(app.base, { model: "openai/gpt-image-2", input: FOUR_K }, { origin: "https://evil.example" });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get("access-control-allow-origin"), null);
    assert.match((await errorOf(foreign)).message, /refuses requests from pages at https:\/\/evil\.example.*add https:\/\/evil\.example to createRunbaseProxy's allowedOrigins/);
    const preflight = await fetch(`${app.base}/runs`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);
    const own = await post(app.base, { model: "openai/gpt-image-2", input: { prompt: "x", resolution: "9K" } }, { origin: app.origin });
    assert.equal(own.status, 400, "the app's own page is let in");
    // Where the framework's request.url names another host than the page's (`next start`
    // says localhost), the Host the browser used is the app's own name.
    const { createRunbaseProxy } = await freshEntry();
    const proxy = createRunbaseProxy({ apiKey: key, upstream: `${simulator.url}/sim/v1` });
    const behind = await proxy.POST(new Request("http://localhost:3000/api/runbase/runs", {
      method: "POST", headers: { host: "app.example", origin: "https://app.example" }, body: "{}",
    }));
    assert.deepEqual([behind.status, behind.headers.get("access-control-allow-origin")], [400, "https://app.example"]);
    const rebound = await proxy.POST(new Request("http://localhost:3000/api/runbase/runs", {
      method: "POST", headers: { host: "app.example", origin: "https://evil.example" }, body: "{}",
    }));
    assert.equal(rebound.status, 403);

    const huge = await fetch(`${app.base}/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(23 * 1024 * 1024) });
    assert.deepEqual([huge.status, (await errorOf(huge)).code], [413, "payload_too_large"]);
    assert.equal((await stats(key)).requests, 0, "nothing went upstream");
  } finally {
    await app.close();
  }
  const allowing = await serve({ apiKey: key, allowedOrigins: ["https://app.example"] });
  try {
    const preflight = await fetch(`${allowing.base}/runs`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(preflight.headers.get("access-control-allow-headers"), /authorization/);
    const own = await post(allowing.base, {}, { origin: allowing.origin });
    assert.equal(own.status, 403, "with allowedOrigins, only those");
  } finally {
    await allowing.close();
  }
});

test("one set of rules: runbase-server's proxy and the handler answer each bad request alike, status, code and message", async () => {
  const key = "sk-sim-server-same";
  const rust = await startServer(join(ROOT, "target", "debug", "runbase-server"),
    ["--listen", "127.0.0.1:0", "--upstream", `${simulator.url}/sim/v1`, "--client-limit", "1000"], {
      env: { RUNBASE_API_KEY: key },
      ready: (out) => out.match(/listening on (http:\/\/[^\s/]+)/)?.[1],
    });
  const app = await serve({ apiKey: key, clientLimit: 1000 });
  const model = "openai/gpt-image-2";
  const requests = [
    ["POST", "/runs", "{not json"],
    ["POST", "/runs", "[]"],
    ["POST", "/runs", JSON.stringify({ input: FOUR_K })],
    ["POST", "/runs", JSON.stringify({ model })],
    ["POST", "/runs", JSON.stringify({ model: "openai/gpt-image-1", input: FOUR_K })],
    ["POST", "/runs", JSON.stringify({ model, input: { prompt: "A lamp", resolution: "4K" } })],
    ["POST", "/runs", JSON.stringify({ model, input: { prompt: "", aspect_ratio: "16x9", resolution: "8K", image_urls: ["ftp://x"], seed: 1 } })],
    ["POST", "/runs", JSON.stringify({ model, input: { prompt: "x\ud800".repeat(20_000), aspectRatio: "16:9" } })],
    ["POST", "/runs", "x".repeat(23 * 1024 * 1024)],
    ["GET", "/other", null],
    ["POST", "/runs/abc", "{}"],
    ["PUT", "/runs", "{}"],
    ["DELETE", "/runs/abc", null],
  ];
  try {
    for (const [method, path, body] of requests) {
      const [ours, theirs] = await Promise.all([`${app.base}${path}`, `${rust.url}/api/v1${path}`].map(async (url) => {
        const answer = await fetch(url, { method, body, headers: body ? { "content-type": "application/json" } : {} });
        const { error } = await answer.json();
        return { status: answer.status, code: error.code, message: error.message, issues: error.issues };
      }));
      assert.deepEqual(ours, theirs, `${method} ${path} ${String(body).slice(0, 80)}`);
    }
    assert.equal((await stats(key)).requests, 0, "none of them went upstream");
  } finally {
    rust.stop();
    await app.close();
  }
});

test("each caller has its window: the create past clientLimit is refused with Retry-After, before anything else", async () => {
  const key = "sk-sim-server-window";
  const app = await serve({ apiKey: key, clientLimit: 2, authenticate: (r) => r.headers.get("x-user") });
  try {
    const tries = [];
    for (const user of ["ada", "ada", "ada", "bob"]) {
      tries.push(await post(app.base, { model: "openai/gpt-image-2", input: { prompt: "x", resolution: "9K" } }, { "x-user": user }));
    }
    assert.deepEqual(tries.map((t) => t.status), [400, 400, 429, 400], "the third of Ada's in 10 s; Bob has his own");
    const refused = await errorOf(tries[2]);
    assert.equal(refused.code, "RATE_LIMITED");
    assert.equal(refused.message, "Too many requests from this user to the proxy: wait and retry");
    assert.ok(Number(tries[2].headers.get("retry-after")) >= 1);
    assert.equal((await stats(key)).requests, 0);
  } finally {
    await app.close();
  }
});

test("the key is in no answer, header or log, even when the upstream quotes it", async () => {
  const key = "sk-live-very-secret-key";
  const logged = [];
  const fake = await listen((req, res) => {
    const echoed = req.headers.authorization;
    if (req.method === "POST") {
      res.writeHead(401, { "content-type": "application/json", "x-echo": echoed });
      res.end(JSON.stringify({ error: { message: `invalid key ${echoed}`, code: "invalid_api_key" } }));
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "run_1", status: "processing", model: "openai/gpt-image-2", input: {}, note: echoed }));
    }
  });
  const { createRunbaseProxy } = await freshEntry();
  const proxy = createRunbaseProxy({ apiKey: key, upstream: fake.origin });
  const [log, error] = [console.log, console.error];
  console.log = console.error = (...args) => logged.push(args.join(" "));
  try {
    const answer = await proxy.POST(new Request("http://app.test/api/runbase/runs", { method: "POST", body: JSON.stringify({ model: "openai/gpt-image-2", input: FOUR_K }) }));
    const text = await answer.text();
    assert.equal(answer.status, 401);
    assert.doesNotMatch(text + JSON.stringify([...answer.headers]), /very-secret/);
    assert.match(text, /\[redacted\]/);
  } finally {
    Object.assign(console, { log, error });
    await fake.close();
  }
  assert.doesNotMatch(logged.join("\n"), /very-secret/);
});

test("sign-in: no user is a 401 with its challenge; a run is its creator's on every instance, nobody else's", async () => {
  const key = "sk-sim-server-auth";
  const authenticate = (request) => request.headers.get("x-user");
  const first = await serve({ apiKey: key, authenticate });
  const second = await serve({ apiKey: key, authenticate });
  try {
    const anonymous = await post(first.base, { model: "openai/gpt-image-2", input: FOUR_K });
    assert.equal(anonymous.status, 401);
    assert.equal((await errorOf(anonymous)).code, "auth_required");
    assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="runbase"');
    const ada = new RunbaseClient({ baseUrl: first.base, headers: { "x-user": "ada" } });
    const run = await ada.createRun(FOUR_K);
    // Another instance, which never saw the run, knows it is Ada's: and follows it for her.
    const adaElsewhere = new RunbaseClient({ baseUrl: second.base, headers: { "x-user": "ada" } });
    const done = await adaElsewhere.waitForRun(run.id);
    assert.equal(done.status, "succeeded");
    for (const base of [first.base, second.base]) {
      const bob = await fetch(`${base}/runs/${run.id}`, { headers: { "x-user": "bob" } });
      assert.deepEqual([bob.status, (await errorOf(bob)).code], [404, "run_not_found"]);
    }
  } finally {
    await first.close();
    await second.close();
  }
});

test("serverless: every request on a fresh instance (no memory, no store), and no run is lost", async () => {
  const key = "sk-sim-server-serverless";
  const handlers = [];
  const app = await listen(async (req, res) => {
    const { createRunbaseProxy } = await freshEntry();
    const proxy = createRunbaseProxy({ apiKey: key, upstream: `${simulator.url}/sim/v1` });
    handlers.push(proxy);
    await proxy.node(req, res);
  });
  try {
    const client = new RunbaseClient({ baseUrl: app.base });
    const made = await Promise.all([client.generate(FOUR_K), client.generate({ prompt: "A chair" })]);
    assert.deepEqual(made.map((m) => m.run.status), ["succeeded", "succeeded"]);
    assert.ok(handlers.length >= 4, `${handlers.length} instances`);
    assert.equal((await stats(key)).runs_created, 2);
  } finally {
    await app.close();
  }
});

test("spend limits: a run past a cap is refused before anything goes upstream", async () => {
  const key = "sk-sim-server-spend";
  const app = await serve({ apiKey: key, spendPerClientDayUsd: 0.2 });
  try {
    const client = new RunbaseClient({ baseUrl: app.base });
    await client.generate(FOUR_K); // $0.12 of $0.20
    const over = await post(app.base, { model: "openai/gpt-image-2", input: FOUR_K });
    assert.equal(over.status, 429);
    const error = await errorOf(over);
    assert.equal(error.code, "spend_limit_reached");
    assert.match(error.message, /this client's spending today \(UTC\) \(\$0\.20\)/);
    assert.ok(Number(over.headers.get("retry-after")) > 0);
    assert.equal((await stats(key)).runs_created, 1);
  } finally {
    await app.close();
  }
});

/** `users` users, each with its own client (and user id), making `runs` runs at once through
 *  `bases` (user i through bases[i % bases.length]). */
async function crowd(bases, users, runs, input = FOUR_K) {
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: users }, (_, user) => {
    const client = new RunbaseClient({ baseUrl: bases[user % bases.length], headers: { "x-user": `user-${user}` } });
    return Promise.all(Array.from({ length: runs }, () => client.generate(input)));
  }));
  return { runs: results.flat(), seconds: (Date.now() - started) / 1000 };
}

function assertShared(t, load, upstream, expected) {
  t.diagnostic(`${expected} runs in ${load.seconds.toFixed(1)} s: ${upstream.requests} upstream requests, at most ${upstream.max_in_10s} in 10 s, ${upstream.rate_limited} × 429`);
  assert.equal(load.runs.length, expected);
  assert.ok(load.runs.every((made) => made.run.status === "succeeded" && made.urls.length === 1));
  assert.equal(upstream.runs_created, expected, "no run created twice, none lost");
  assert.equal(upstream.rate_limited, 0, "no upstream 429");
  assert.ok(upstream.max_in_10s <= 20, `${upstream.max_in_10s} upstream requests in one 10 s window`);
}

test("10 users × 2 runs through one process share the key: 0 upstream 429s, at most 20 requests in any 10 s", async (t) => {
  const key = "sk-sim-server-crowd";
  const app = await serve({ apiKey: key, authenticate: (r) => r.headers.get("x-user") });
  try {
    const load = await crowd([app.base], 10, 2);
    assertShared(t, load, await stats(key), 20);
  } finally {
    await app.close();
  }
});

// ---------- with Redis ----------

async function startRedis() {
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), "runbase-redis-"));
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const probe = createClient({ url });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.quit();
      return { url, port, stop: () => child.kill("SIGTERM") };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("redis-server did not start");
}

/** Forwards each request to the next of `targets` in turn, as a load balancer does. */
async function roundRobin(targets) {
  let next = 0;
  return listen((req, res) => {
    const target = new URL(targets[next++ % targets.length]);
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
}

test("Redis: two instances (node-redis and ioredis) behind a round-robin balancer share the key, its runs and its users", async (t) => {
  const key = "sk-sim-server-redis";
  const redis = await startRedis();
  const nodeRedis = createClient({ url: redis.url });
  await nodeRedis.connect();
  const ioredis = new Redis(redis.url);
  const authenticate = (r) => r.headers.get("x-user");
  const one = await serve({ apiKey: key, authenticate, redis: nodeRedis });
  const two = await serve({ apiKey: key, authenticate, redis: ioredis });
  const balancer = await roundRobin([one.origin, two.origin]);
  try {
    const load = await crowd([balancer.base], 10, 2);
    assertShared(t, load, await stats(key), 20);
    // The state is where runbase-server keeps it: under the core's prefix, with its names.
    const names = await nodeRedis.keys("runbase:*");
    assert.ok(names.some((n) => /^runbase:[0-9a-f]{16}:run:run_/.test(n)), names.join(" "));
    assert.ok(names.some((n) => /^runbase:[0-9a-f]{16}:owner:run_/.test(n)));
    assert.ok(names.some((n) => /:slots$/.test(n)));
  } finally {
    await balancer.close();
    await one.close();
    await two.close();
    await nodeRedis.quit();
    ioredis.disconnect();
    redis.stop();
  }
});

test("Redis: a Node instance and a runbase-server on one Redis share one key's budget", async (t) => {
  const key = "sk-sim-server-mixed";
  const redis = await startRedis();
  const nodeRedis = createClient({ url: redis.url });
  await nodeRedis.connect();
  const rust = await startServer(join(ROOT, "target", "debug", "runbase-server"),
    ["--listen", "127.0.0.1:0", "--upstream", `${simulator.url}/sim/v1`, "--redis", redis.url, "--client-limit", "1000"], {
      env: { RUNBASE_API_KEY: key },
      ready: (out) => out.match(/listening on (http:\/\/[^\s/]+)/)?.[1],
    });
  const node = await serve({ apiKey: key, redis: nodeRedis, clientLimit: 1000, authenticate: (r) => r.headers.get("x-user") });
  try {
    const load = await crowd([node.base, `${rust.url}/api/v1`], 10, 2);
    assertShared(t, load, await stats(key), 20);
  } finally {
    rust.stop();
    await node.close();
    await nodeRedis.quit();
    redis.stop();
  }
});

// Load bench of the proxy as run broker, Node 18+ with plain fetch, no browser.
//
//   cargo build -p runbase-server && node bench/load.mjs            # full, ~6 min, writes docs/LOAD.md
//   node bench/load.mjs --smoke                                      # tiny (< 30 s), writes nothing
//
// Every scenario starts two fresh `target/debug/runbase-server` processes side by side: one
// with the broker (the default) and one with `--pass-through` (every browser request forwarded,
// as before the broker). Each has the built-in simulator as its upstream, reached over HTTP
// exactly like the real API (one key, the documented 20 requests / 10 s, no Retry-After), so
// upstream requests and 429s are counted by the simulator itself (/__sim/stats).
//
// Users behave like the wasm client: the broker advertises X-Runbase-Long-Poll, so they create
// and then long-poll `?wait=25&seen=<status>`; against --pass-through they poll on the client's
// own schedule (1 s, 1.5 s, then every 2 s). Both honour Retry-After on a 429 (else 1, 2, 4 … s)
// and give up a request after 5 retries, as the client does. A run is *lost* when it was created
// upstream and its user never learned that it finished; *refused* when it was never created.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { writeFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import os from "node:os";
import net from "node:net";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const binary = join(root, "target/debug/runbase-server");
const smoke = process.argv.includes("--smoke");
const KEY = "sk-sim-proxy";
const MAX_RETRIES = 5;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(extra, key = "") {
  return new Promise((resolve, reject) => {
    const child = spawn(
      binary,
      ["--listen", "127.0.0.1:0", "--test-faults", "--client-limit", "100000", ...extra],
      { cwd: root, env: { ...process.env, RUNBASE_API_KEY: key }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${out}`)), 20000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/[^/\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ base: m[1], child });
      }
    });
    child.stderr.on("data", () => {});
    child.on("error", reject);
  });
}

// A redis-server of the bench's own on a free port (scripts/setup installs it).
async function startRedis() {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => (socket.end(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
    if (up) return { url: `redis://127.0.0.1:${port}`, child };
    await sleep(25);
  }
  throw new Error("redis-server did not start");
}

const body = JSON.stringify({ model: "openai/gpt-image-2", input: { prompt: "A matte ceramic vase" } });

async function request(url, init) {
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, json };
  } catch (e) {
    return { status: 0, headers: new Headers(), json: null, error: String(e) };
  }
}

function backoff(res, attempt) {
  const after = Number(res.headers.get("retry-after"));
  return (Number.isFinite(after) && after > 0 ? after : 2 ** attempt) * 1000;
}

// One user generating one image; returns what happened. With several bases (proxy instances
// behind a load balancer) each request goes to the next one in turn.
async function generate(bases, longPoll) {
  let turn = 0;
  const next = () => bases[turn++ % bases.length];
  const started = Date.now();
  const record = { started, created: false, known: null, completedAt: null, requests: 0, refused: false };
  let run = null;
  for (let attempt = 0; ; attempt++) {
    const res = await request(`${next()}/api/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    record.requests++;
    if (res.status === 201) {
      run = res.json;
      break;
    }
    if ((res.status === 429 || res.status >= 500 || res.status === 0) && attempt < MAX_RETRIES) {
      await sleep(backoff(res, attempt));
      continue;
    }
    record.refused = true;
    return record;
  }
  record.created = true;
  const path = `/api/v1/runs/${run.id}`;
  let failures = 0;
  let polls = 0;
  while (!["succeeded", "failed"].includes(run.status)) {
    if (!longPoll) {
      const elapsed = Date.now() - started;
      await sleep(elapsed < 1000 ? 1000 : elapsed < 2500 ? 1500 : 2000);
    }
    const url = `${next()}${path}`;
    const res = await request(longPoll ? `${url}?wait=25&seen=${encodeURIComponent(run.status)}` : url);
    record.requests++;
    polls++;
    if (res.status === 200) {
      run = res.json;
      failures = 0;
      continue;
    }
    if (++failures > MAX_RETRIES || polls > 400) return record; // the client gives up: lost
    await sleep(backoff(res, failures - 1));
  }
  record.known = Date.now();
  record.completedAt = Date.parse(run.completedAt);
  return record;
}

function pct(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
}

const TWO = "2 brokers + Redis";
// The package's route handler (runbase-image/server, built into pkg/ by scripts/build), in
// this process: one instance alone, and two on one Redis.
const NODE = "Node handler";
const NODE_TWO = "2 Node handlers + Redis";
const serverEntry = new URL("../pkg/server.node.js", import.meta.url).href;
let instances = 0;

/** A fresh instance of the handler (its own wasm and memory) in a node:http server. */
async function nodeHandler(upstream, redisUrl) {
  const { createRunbaseProxy } = await import(`${serverEntry}?instance=${++instances}`);
  let redis;
  if (redisUrl) {
    const { createClient } = await import("redis");
    redis = createClient({ url: redisUrl });
    await redis.connect();
  }
  const warn = console.warn;
  console.warn = () => {}; // "no authenticate option": the bench's users are anonymous on purpose
  const proxy = createRunbaseProxy({ apiKey: KEY, upstream, redis, clientLimit: 100000 });
  console.warn = warn;
  const server = createServer((req, res) => proxy.node(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    close: async () => {
      server.close();
      await redis?.quit();
    },
  };
}

// Runs `arrivals` (ms offsets from now) against one server (or, for TWO, two proxies of one
// key on one Redis, users spread over both) and summarises.
async function scenario(mode, runMs, arrivals) {
  // Runs of varied length: each takes the run time ± 50 % (2–6 s for 4 s).
  const simArgs = ["--sim-run-ms", String(runMs), "--sim-run-spread", String(SPREAD)];
  const server = await start([...simArgs, ...(mode === "pass-through" ? ["--pass-through"] : [])]);
  const stop = [server.child];
  const handlers = [];
  try {
    let bases = [server.base];
    if (mode === NODE || mode === NODE_TWO) {
      let redis;
      if (mode === NODE_TWO) {
        redis = await startRedis();
        stop.push(redis.child);
      }
      const count = mode === NODE_TWO ? 2 : 1;
      for (let i = 0; i < count; i++) handlers.push(await nodeHandler(`${server.base}/sim/v1`, redis?.url));
      bases = handlers.map((h) => h.base);
    }
    if (mode === TWO) {
      const redis = await startRedis();
      stop.push(redis.child);
      const proxyArgs = ["--upstream", `${server.base}/sim/v1`, "--redis", redis.url];
      const proxies = await Promise.all([start(proxyArgs, KEY), start(proxyArgs, KEY)]);
      stop.push(...proxies.map((p) => p.child));
      bases = proxies.map((p) => p.base);
    }
    const t0 = Date.now();
    const records = await Promise.all(
      arrivals.map(async (at, user) => {
        await sleep(at);
        // Each user starts on the next instance, then takes turns.
        return generate(user % 2 ? [...bases].reverse() : bases, mode !== "pass-through");
      }),
    );
    const end = Date.now();
    const sim = await (await fetch(`${server.base}/__sim/stats`)).json();
    const proxy = handlers.length ? {} : await (await fetch(`${bases[0]}/__runbase/stats`)).json();
    const key = sim.keys[KEY] ?? { requests: 0, rate_limited: 0, max_in_10s: 0 };
    const created = records.filter((r) => r.created);
    const known = records.filter((r) => r.known !== null);
    const lags = known.map((r) => Math.max(0, r.known - r.completedAt));
    const lastKnown = known.length ? Math.max(...known.map((r) => r.known)) : end;
    return {
      mode,
      runs: records.length,
      created: created.length,
      lost: created.length - known.length,
      refused: records.filter((r) => r.refused).length,
      upstream: key.requests,
      upstream429: key.rate_limited,
      maxIn10s: key.max_in_10s,
      perRun: created.length ? key.requests / created.length : 0,
      browserRequests: records.reduce((n, r) => n + r.requests, 0),
      lagP50: pct(lags, 0.5),
      lagP95: pct(lags, 0.95),
      throughput: known.length / Math.max(0.001, (lastKnown - t0) / 1000),
      seconds: (end - t0) / 1000,
      pollsPerRun: proxy.runs?.pollsPerFinishedRun ?? null,
    };
  } finally {
    for (const handler of handlers) await handler.close();
    for (const child of stop) child.kill("SIGTERM");
  }
}

const jitter = (n, spread) => Array.from({ length: n }, () => Math.random() * spread);
const steady = (rate, seconds) =>
  Array.from({ length: Math.round(rate * seconds) }, (_, i) => (i / rate) * 1000 + Math.random() * 200);

const runMs = smoke ? 1500 : 4000;
const SPREAD = 50;
const plans = smoke
  ? [
      { name: "1 user", arrivals: jitter(1, 0) },
      { name: "3 users", arrivals: jitter(3, 1000) },
      { name: "0.5 run/s × 6 s", arrivals: steady(0.5, 6), rate: 0.5 },
    ]
  : [
      ...[1, 5, 10, 20, 50].map((n) => ({ name: `${n} user${n > 1 ? "s" : ""}`, arrivals: jitter(n, 1000) })),
      ...[0.5, 0.8, 1.0, 1.2].map((rate) => ({ name: `${rate} run/s × 30 s`, arrivals: steady(rate, 30), rate })),
    ];

if (!existsSync(binary)) {
  console.error(`build first: cargo build -p runbase-server (${binary} is missing)`);
  process.exit(2);
}

const rows = [];
for (const plan of plans) {
  // Two groups one after the other, each side by side: the route handlers run in this very
  // process, and five set-ups at once on a small machine would slow the users' own timing.
  const results = [];
  for (const group of [["broker", TWO, "pass-through"], [NODE, NODE_TWO]]) {
    results.push(...(await Promise.all(group.map((mode) => scenario(mode, runMs, plan.arrivals)))));
  }
  for (const r of results) {
    rows.push({ plan, ...r });
    console.log(
      `${plan.name.padEnd(18)} ${r.mode.padEnd(23)} runs ${r.runs} created ${r.created} lost ${r.lost} refused ${r.refused} ` +
        `upstream ${r.upstream} (429s ${r.upstream429}, max/10s ${r.maxIn10s}, ${r.perRun.toFixed(2)}/run) ` +
        `lag p50 ${r.lagP50} p95 ${r.lagP95} ms, ${r.throughput.toFixed(2)} run/s in ${r.seconds.toFixed(1)} s`,
    );
  }
}

// Every set-up that shares the key's window: the broker's and the route handler's.
const broker = rows.filter((r) => r.mode !== "pass-through");
const fmt = (v, d = 0) => (v === null || v === undefined ? "–" : (v / (d ? 1 : 1000)).toFixed(d ? d : 2));
const checks = [
  ["0 upstream 429s at every load (broker, Node handler)", broker.every((r) => r.upstream429 === 0)],
  ["0 lost runs at every load (broker, Node handler)", broker.every((r) => r.lost === 0)],
  ["≤ 20 upstream requests in any 10 s (broker, Node handler)", broker.every((r) => r.maxIn10s <= 20)],
];
const sustained = broker.filter((r) => r.plan.rate >= 1.0 && !r.mode.includes("Node"));
if (sustained.length)
  checks.push([
    `≥ 0.8 run/s sustained (broker, arrivals ≥ 1 run/s: ${sustained.map((r) => r.throughput.toFixed(2)).join(", ")})`,
    sustained.every((r) => r.throughput >= 0.8),
  ]);
const half = broker.find((r) => r.plan.rate === 0.5 && r.mode === "broker");
if (half) checks.push([`lag p50 ≤ 2 s at 0.5 run/s (broker: ${fmt(half.lagP50)} s)`, half.lagP50 !== null && half.lagP50 <= 2000]);

console.log("\n" + checks.map(([what, ok]) => `${ok ? "met   " : "MISSED"} ${what}`).join("\n"));

if (!smoke) {
  const cpu = os.cpus();
  const lines = [
    "# Load: the proxy as run broker, and the route handler",
    "",
    `Measured by \`node bench/load.mjs\` on ${new Date().toISOString().slice(0, 10)}: ${cpu.length} × ${cpu[0]?.model ?? "cpu"}, node ${process.version}.`,
    `One key, the built-in simulator as upstream over HTTP (20 requests / 10 s, no Retry-After; refused requests not counted), runs of ${runMs / 1000} s ± ${SPREAD} % (${(runMs * (1 - SPREAD / 100)) / 1000}–${(runMs * (1 + SPREAD / 100)) / 1000} s).`,
    `Every scenario ran five set-ups, each with its own simulator, in two groups one after the other (each group side by side): one broker; ${TWO} (two proxy instances of the one key on one redis-server, each user's requests taking turns between them as behind a load balancer); the package's route handler (\`runbase-image/server\` in a node:http server): ${NODE} alone and ${NODE_TWO} (two instances on one redis-server, users taking turns between them), in the second group; and \`--pass-through\`. The targets on 429s, lost runs and requests in 10 s hold for the four that share the key's window; those on throughput and lag are the broker's.`,
    "Users: N users starting within 1 s, one run each; or arrivals at a steady rate for 30 s. Lag: the run's `completedAt` to the moment its user knew (end to end).",
    "Throughput: runs known finished ÷ time from the first arrival to the last run known. Most in 10 s counts every request the simulator received, refused ones included (the simulator itself does not count refused requests against the key, so pass-through fares better here than against an API that does).",
    "",
    "## Targets (broker)",
    ...checks.map(([what, ok]) => `- ${what}: **${ok ? "met" : "missed"}**`),
    "",
    "| load | mode | runs | lost | refused | upstream requests | upstream 429s | most in 10 s | upstream / run | lag p50 (s) | lag p95 (s) | throughput (run/s) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.plan.name} | ${r.mode} | ${r.runs} | ${r.lost} | ${r.refused} | ${r.upstream} | ${r.upstream429} | ${r.maxIn10s} | ${r.perRun.toFixed(2)} | ${fmt(r.lagP50)} | ${fmt(r.lagP95)} | ${r.throughput.toFixed(2)} |`,
    ),
    "",
  ];
  writeFileSync(join(root, "docs/LOAD.md"), lines.join("\n"));
  console.log("wrote docs/LOAD.md");
}
process.exit(checks.every(([, ok]) => ok) ? 0 : 1);

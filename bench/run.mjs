// scripts/bench: runbase-image against the alternatives, measured side by side in one run.
// `--smoke` runs every part with tiny counts (the test command uses it) and writes nothing
// into docs/; `--sharing [RUNS]` prints the one-key rows alone.
import { writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import os from "node:os";
import * as esbuild from "esbuild";
import { startSimulator, launchChromium, openPackagePage } from "../tests/e2e/harness.mjs";
// Node: the package's "node" entry, which reads the .wasm from disk.
import init, { validateInput, RunbaseClient } from "../pkg/node.js";
import { validate as zod } from "./validators/zod.mjs";
import { validate as valibot } from "./validators/valibot.mjs";
import { validate as handwritten } from "./validators/handwritten.mjs";
import { benchInputs } from "./inputs.mjs";
import { timeAll } from "./measure.mjs";
import { CATEGORIES, lighthouseRuns } from "./lighthouse.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const DIST = join(HERE, "dist");
const smoke = process.argv.includes("--smoke");
const log = (...args) => console.error("bench:", ...args);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n) => (n / 1024).toFixed(1);
const BUILT = "the demo as built (dist/)";
const LIGHTHOUSE_RUNS = 3;

function compressed(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

async function bundle(entry, outfile, extra = {}) {
  await esbuild.build({
    entryPoints: [join(HERE, entry)], outfile: join(DIST, outfile), bundle: true, minify: true,
    format: "esm", platform: "browser", target: "es2022", logLevel: "error", ...extra,
  });
  return readFileSync(join(DIST, outfile));
}

// ---------- size ----------
async function size() {
  const rows = {};
  const oursJs = await bundle("alternatives/ours.mjs", "ours.js", { loader: { ".wasm": "file" } });
  const wasm = readFileSync(join(ROOT, "pkg", "runbase_image_bg.wasm"));
  const js = compressed(oursJs);
  const w = compressed(wasm);
  rows["runbase-image (JS + wasm; validates and runs)"] = { raw: js.raw + w.raw, gzip: js.gzip + w.gzip, brotli: js.brotli + w.brotli, js, wasm: w };
  // runbase-image/validate: the module without the client, for validating in the browser only.
  const validateJs = compressed(await bundle("alternatives/ours-validate.mjs", "ours-validate.js", { loader: { ".wasm": "file" } }));
  const validateWasm = compressed(readFileSync(join(ROOT, "pkg", "runbase_validate_bg.wasm")));
  rows["runbase-image/validate (JS + wasm; validates)"] = {
    raw: validateJs.raw + validateWasm.raw, gzip: validateJs.gzip + validateWasm.gzip,
    brotli: validateJs.brotli + validateWasm.brotli, js: validateJs, wasm: validateWasm,
  };
  for (const [name, entry] of [
    ["replicate (client, run)", "alternatives/replicate.mjs"],
    ["@fal-ai/client (subscribe via proxy)", "alternatives/fal.mjs"],
    ["openai (images.generate)", "alternatives/openai.mjs"],
    ["zod v4 (the same rules)", "validators/zod.mjs"],
    ["zod/mini (the same rules)", "validators/zod-mini.mjs"],
    ["valibot (the same rules)", "validators/valibot.mjs"],
  ]) {
    rows[name] = compressed(await bundle(entry, entry.replace(/\W+/g, "_") + ".js"));
  }
  return rows;
}

// ---------- validation speed ----------
async function speedNode() {
  await init();
  const options = smoke ? { batches: 3, minBatchMs: 2 } : { batches: 15, minBatchMs: 40 };
  return timeAll({ "runbase-image": validateInput, zod, valibot, handwritten }, benchInputs(), options);
}

async function speedBrowser(browser, server) {
  const page = await browser.newPage();
  await page.goto(`${server.url}/bench.html`);
  const options = smoke ? { batches: 3, minBatchMs: 2 } : { batches: 15, minBatchMs: 40 };
  const result = await page.evaluate((o) => window.runBench(o), options);
  await page.close();
  return result;
}

// ---------- start-up ----------
async function startup(browser, server) {
  const runs = smoke ? 2 : 15;
  const result = {};
  for (const [name, path] of [["runbase-image", "/startup-ours.html"], ["zod v4", "/startup-zod.html"]]) {
    const times = [];
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${server.url}${path}`);
      await page.waitForFunction(() => window.firstResultAt !== undefined);
      times.push(await page.evaluate(() => window.firstResultAt));
      await context.close();
    }
    result[name] = median(times);
  }
  return result;
}

// ---------- polling ----------
async function fixedPoller(baseUrl, key, intervalMs) {
  const headers = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
  let requests = 1;
  const created = await (await fetch(`${baseUrl}/runs`, { method: "POST", headers,
    body: JSON.stringify({ model: "openai/gpt-image-2", input: { prompt: "poller" } }) })).json();
  const createdAt = performance.now();
  let limited = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, intervalMs));
    requests++;
    const answer = await fetch(`${baseUrl}/runs/${created.id}`, { headers });
    if (answer.status === 429) { limited++; continue; }
    const run = await answer.json();
    if (run.status === "succeeded") return { requests, knownAt: performance.now(), createdAt, limited };
  }
}

async function ours(client, prompt) {
  let createdAt;
  await client.generate({ prompt }, { onCreate: () => { createdAt = performance.now(); } });
  return { knownAt: performance.now(), createdAt };
}

async function stats(server) {
  return (await (await fetch(`${server.url}/__sim/stats`)).json()).keys;
}

async function pollingFor(runMs, runsEach) {
  const server = await startSimulator({ runMs, extra: ["--client-limit", "1000"] });
  const baseUrl = `${server.url}/sim/v1`;
  try {
    const jobs = [];
    for (let i = 0; i < runsEach; i++) {
      const key = `sk-sim-ours-${i}`;
      jobs.push(ours(new RunbaseClient({ apiKey: key, baseUrl }), `ours ${i}`).then((r) => ({ who: "runbase-image", key, ...r })));
      jobs.push(fixedPoller(baseUrl, `sk-sim-p500-${i}`, 500).then((r) => ({ who: "fixed 500 ms", key: `sk-sim-p500-${i}`, ...r })));
      jobs.push(fixedPoller(baseUrl, `sk-sim-p2000-${i}`, 2000).then((r) => ({ who: "fixed 2 s", key: `sk-sim-p2000-${i}`, ...r })));
    }
    const done = await Promise.all(jobs);
    const seen = await stats(server);
    const out = {};
    for (const who of ["runbase-image", "fixed 500 ms", "fixed 2 s"]) {
      const mine = done.filter((d) => d.who === who);
      out[who] = {
        requestsPerRun: median(mine.map((d) => seen[d.key].requests)),
        medianDelayMs: Math.round(median(mine.map((d) => d.knownAt - d.createdAt - runMs))),
      };
    }
    return out;
  } finally {
    server.stop();
  }
}

async function concurrency(runMs, runs) {
  const server = await startSimulator({ runMs, extra: ["--client-limit", "1000"] });
  const baseUrl = `${server.url}/sim/v1`;
  try {
    const client = new RunbaseClient({ apiKey: "sk-sim-ten-ours", baseUrl });
    const naive = Array.from({ length: runs }, () => fixedPoller(baseUrl, "sk-sim-ten-naive", 500));
    await Promise.all([...Array.from({ length: runs }, (_, i) => client.generate({ prompt: `run ${i}` })), ...naive]);
    const seen = await stats(server);
    return {
      "runbase-image (one client)": { rateLimited: seen["sk-sim-ten-ours"].rate_limited, maxIn10s: seen["sk-sim-ten-ours"].max_in_10s, requests: seen["sk-sim-ten-ours"].requests },
      "fixed 500 ms (one key)": { rateLimited: seen["sk-sim-ten-naive"].rate_limited, maxIn10s: seen["sk-sim-ten-naive"].max_in_10s, requests: seen["sk-sim-ten-naive"].requests },
    };
  } finally {
    server.stop();
  }
}

// ---------- one key in several clients and tabs ----------
// 12 runs on one key against a simulator that counts refused requests too (the strictest
// reading of the API's limit), in real Chromium: one client; two clients in one page; three
// tabs of one site (pages of one browser profile). "Shared" is the package as it ships; "each
// alone" is the same build with every client given its own budget, as before budgets were
// shared: their rate windows differ by a millisecond (10 000, 10 001, 10 002 ms), which the
// package counts as different budgets.
const SHARING_LAYOUTS = { "one client": [1], "two clients in one page": [2], "three tabs of one site": [1, 1, 1] };

async function sharingRow(browser, server, key, clientsPerTab, runs, shared) {
  const context = await browser.newContext();
  try {
    const tabs = await Promise.all(clientsPerTab.map(() => openPackagePage(context, server)));
    const total = clientsPerTab.reduce((a, b) => a + b, 0);
    let client = 0;
    const started = performance.now();
    const finished = await Promise.all(tabs.map((tab, t) => tab.evaluate(async ([options, windows, runs]) => {
      const clients = windows.map((windowMs) => new window.lib.RunbaseClient({ ...options, rateLimit: { requests: 20, windowMs } }));
      const done = await Promise.all(Array.from({ length: runs }, (_, i) =>
        clients[i % clients.length].generate({ prompt: `Run ${i}` }).then(() => 1, () => 0)));
      return done.reduce((a, b) => a + b, 0);
    }, [{ apiKey: key, baseUrl: `${server.url}/sim/v1` },
      Array.from({ length: clientsPerTab[t] }, () => 10_000 + (shared ? 0 : client++)),
      runs * clientsPerTab[t] / total])));
    const wallMs = performance.now() - started;
    const seen = await stats(server);
    return { finished: finished.reduce((a, b) => a + b, 0), wallMs: Math.round(wallMs), requests: seen[key].requests, rateLimited: seen[key].rate_limited };
  } finally {
    await context.close();
  }
}

async function sharing(runs, runMs) {
  const server = await startSimulator({ runMs, extra: ["--sim-strict-window", "--client-limit", "1000"] });
  const browser = await launchChromium();
  try {
    const out = {};
    for (const shared of [false, true]) {
      for (const [layout, clientsPerTab] of Object.entries(SHARING_LAYOUTS)) {
        const key = `sk-sim-${shared ? "shared" : "alone"}-${layout.replaceAll(" ", "-")}`;
        out[`${layout}, ${shared ? "shared" : "each alone"}`] = await sharingRow(browser, server, key, clientsPerTab, runs, shared);
      }
    }
    return out;
  } finally {
    await browser.close();
    server.stop();
  }
}

// ---------- report ----------
function versions() {
  const v = (name) => JSON.parse(readFileSync(join(HERE, "node_modules", name, "package.json"), "utf8")).version;
  let chromium = "";
  try { chromium = execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim(); } catch { /* absent */ }
  return {
    "runbase-image": JSON.parse(readFileSync(join(ROOT, "pkg", "package.json"), "utf8")).version,
    replicate: v("replicate"), "@fal-ai/client": v("@fal-ai/client"), openai: v("openai"), zod: v("zod"),
    valibot: v("valibot"), esbuild: v("esbuild"), node: process.version, chromium,
    lighthouse: JSON.parse(readFileSync(join(ROOT, "node_modules", "lighthouse", "package.json"), "utf8")).version,
  };
}

function report(r) {
  const ourSize = r.size["runbase-image (JS + wasm; validates and runs)"];
  const sizeRows = Object.entries(r.size).map(([name, s]) =>
    `| ${name} | ${kb(s.raw)} | ${kb(s.gzip)} | ${kb(s.brotli)} | ${(ourSize.gzip / s.gzip).toFixed(2)} |`);
  const speedTable = (data) => Object.entries(data).map(([input, byName]) => {
    const o = byName["runbase-image"];
    return `| ${input} | ${Math.round(o)} | ${["zod", "valibot", "handwritten"].map((n) => `${Math.round(byName[n])} (${(o / byName[n]).toFixed(2)})`).join(" | ")} |`;
  });
  const pollRows = Object.entries(r.polling).flatMap(([runMs, byWho]) => Object.entries(byWho).map(([who, p]) =>
    `| ${Number(runMs) / 1000} s | ${who} | ${p.requestsPerRun} | ${p.medianDelayMs} | ${(byWho["runbase-image"].requestsPerRun / p.requestsPerRun).toFixed(2)} |`));
  const concRows = Object.entries(r.concurrency).map(([who, c]) => `| ${who} | ${c.requests} | ${c.rateLimited} | ${c.maxIn10s} |`);
  const valid = r.speedNode["valid full input"];
  const validB = r.speedBrowser["valid full input"];
  const poll10 = r.polling[Object.keys(r.polling)[0]];
  const errorsN = r.speedNode["three errors"];
  const errorsB = r.speedBrowser["three errors"];
  const freshN = r.speedNode["three errors, new values every call"];
  const freshB = r.speedBrowser["three errors, new values every call"];
  const fresh = (d) => (d ? `; with values never seen before ${(d["runbase-image"] / d.zod).toFixed(2)}×` : "");
  const dataB = r.speedBrowser["4 data URLs of 4 MB"]["runbase-image"];
  const startupRatio = r.startup["runbase-image"] / r.startup["zod v4"];
  const metOrMissed = (ok) => (ok ? "met" : "missed");
  const targets = [
    `- Package ≤ 40 KB gzip in total: **${metOrMissed(ourSize.gzip <= 40960)}** (${kb(ourSize.gzip)} KB; wasm ${kb(ourSize.wasm.gzip)} KB + JS ${kb(ourSize.js.gzip)} KB).`,
    `- A valid input no slower than zod: Node **${metOrMissed(valid["runbase-image"] <= valid.zod)}** (${(valid["runbase-image"] / valid.zod).toFixed(2)}× zod's time), Chromium **${metOrMissed(validB["runbase-image"] <= validB.zod)}** (${(validB["runbase-image"] / validB.zod).toFixed(2)}×).`,
    `- Three errors no slower than 2× zod: Node **${metOrMissed(errorsN["runbase-image"] <= 2 * errorsN.zod)}** (${(errorsN["runbase-image"] / errorsN.zod).toFixed(2)}×${fresh(freshN)}), Chromium **${metOrMissed(errorsB["runbase-image"] <= 2 * errorsB.zod)}** (${(errorsB["runbase-image"] / errorsB.zod).toFixed(2)}×${fresh(freshB)}).`,
    `- Four 4 MB data URLs validated in ≤ 1 ms in Chromium: **${metOrMissed(dataB <= 1e6)}** (${(dataB / 1000).toFixed(1)} µs).`,
    `- Start-up to the first validation ≤ 1.2× the zod bundle's: **${metOrMissed(startupRatio <= 1.2)}** (${startupRatio.toFixed(2)}×).`,
    ...Object.entries(r.polling).map(([runMs, byWho]) => `- Polling, ${Number(runMs) / 1000} s runs: finished run seen after ${byWho["runbase-image"].medianDelayMs} ms (target ≤ 1000: **${byWho["runbase-image"].medianDelayMs <= 1000 ? "met" : "missed"}**) with ${byWho["runbase-image"].requestsPerRun} requests vs ${byWho["fixed 500 ms"].requestsPerRun} for the 500 ms poller (target ≤ a third: **${byWho["runbase-image"].requestsPerRun * 3 <= byWho["fixed 500 ms"].requestsPerRun ? "met" : "missed"}**).`),
    `- Zero 429s with 10 concurrent runs: **${r.concurrency["runbase-image (one client)"].rateLimited === 0 ? "met" : "missed"}**.`,
    ...Object.entries(r.lighthouse[BUILT]).map(([preset, l]) =>
      `- The demo, Lighthouse ${preset}: 100 in all four categories **${metOrMissed(CATEGORIES.every((c) => l.scores[c] === 100))}** (${CATEGORIES.map((c) => l.scores[c]).join(" / ")}; layout shift ${l.cls.toFixed(3)}${l.failed.length ? `; short of 100: ${l.failed.join(", ")}` : ""}).`),
  ];
  if (r.sharing) {
    const one = r.sharing["one client, shared"];
    const ok = (layout) => {
      const row = r.sharing[`${layout}, shared`];
      return { met: row.finished === r.sharingRuns && row.rateLimited === 0 && row.wallMs <= 1.25 * one.wallMs, row };
    };
    targets.push(...["two clients in one page", "three tabs of one site"].map((layout) => {
      const { met, row } = ok(layout);
      return `- One key's budget shared, ${layout}: all ${r.sharingRuns} runs, no 429, ≤ 1.25× one client's time: **${metOrMissed(met)}** (${row.finished} finished, ${row.rateLimited} × 429, ${(row.wallMs / one.wallMs).toFixed(2)}×).`;
    }));
  }
  void poll10;
  const lighthouseRows = Object.entries(r.lighthouse).flatMap(([site, byPreset]) => Object.entries(byPreset).map(([preset, l]) =>
    `| ${site} | ${preset} | ${CATEGORIES.map((c) => l.scores[c]).join(" | ")} | ${l.cls.toFixed(3)} | ${Math.round(l.fcpMs)} ms | ${Math.round(l.lcpMs)} ms | ${Math.round(l.tbtMs)} ms | ${kb(l.bytes)} | ${l.requests} |`));
  return `# Benchmarks

Measured by \`scripts/bench\` (\`node bench/run.mjs\`) on ${r.date}, all in one run on this machine:
${r.machine}. Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.
Ratios are ours ÷ theirs from the same run (below 1 is better for us). Raw data: \`docs/benchmarks.json\`.

## Targets
${targets.join("\n")}

## Size (KB; esbuild --bundle --minify for browsers; gzip -9, brotli q11)
| what | raw | gzip | brotli | ours ÷ theirs (gzip) |
|---|---|---|---|---|
${sizeRows.join("\n")}

## Validation speed, Node ${r.versions.node} (ns per call, median of batches; ratio in brackets)
| input | runbase-image | zod v4 | valibot | hand-written JS |
|---|---|---|---|---|
${speedTable(r.speedNode).join("\n")}

## Validation speed, headless Chromium
| input | runbase-image | zod v4 | valibot | hand-written JS |
|---|---|---|---|---|
${speedTable(r.speedBrowser).join("\n")}

## Polling against the simulator (median of ${r.runsEach} runs each; requests include the create)
| run length | client | requests per run | finished → known (ms) | ours ÷ theirs (requests) |
|---|---|---|---|---|
${pollRows.join("\n")}

10 runs at once (${r.concurrencyRunMs / 1000} s each), one client / one key, against the 20-per-10 s limit:

| client | requests | 429s | most requests in any 10 s |
|---|---|---|---|
${concRows.join("\n")}

${r.sharing ? `## One key in several clients and tabs (${r.sharingRuns} runs of ${r.sharingRunMs / 1000} s, headless Chromium)
Against the simulator with \`--sim-strict-window\` (20 requests per 10 s per key, refused requests counted too, no Retry-After). "Shared" is the package as it ships; "each alone" is the same build with each client given a budget of its own (rate windows a millisecond apart), as every client had before budgets were shared. Tabs are pages of one browser profile.

| clients | budget | finished | wall time | ÷ one client | requests | 429s |
|---|---|---|---|---|---|---|
${Object.entries(r.sharing).map(([name, row]) => {
    const [layout, budget] = name.split(", ");
    return `| ${layout} | ${budget} | ${row.finished} | ${(row.wallMs / 1000).toFixed(1)} s | ${(row.wallMs / r.sharing["one client, shared"].wallMs).toFixed(2)} | ${row.requests} | ${row.rateLimited} |`;
  }).join("\n")}

` : ""}## Start-up in headless Chromium (navigation → first validation result, median of ${r.startupRuns} cold loads)
| runbase-image | zod v4 bundle | ratio |
|---|---|---|
| ${r.startup["runbase-image"].toFixed(1)} ms | ${r.startup["zod v4"].toFixed(1)} ms | ${(r.startup["runbase-image"] / r.startup["zod v4"]).toFixed(2)} |

## The demo's load, Lighthouse ${r.versions.lighthouse} in headless Chromium (median of ${r.lighthouseRuns} runs each)
Both served by \`runbase-server\` on the simulator, compressed; the sources as they were served before the build: the page, its stylesheet, its nine modules and the package's entry apart. \`bench/lighthouse.mjs\` runs Lighthouse's Node API with its \`desktop\` config and with its default (mobile). One run by hand, against \`scripts/demo\`: \`CHROME_PATH=/usr/bin/chromium npx lighthouse http://127.0.0.1:8080/ --preset=desktop --chrome-flags="--headless=new --no-sandbox"\` (without \`--preset\`: mobile).

| page | preset | performance | accessibility | best practices | SEO | layout shift | first paint | largest paint | blocking | KB sent | requests |
|---|---|---|---|---|---|---|---|---|---|---|---|
${lighthouseRows.join("\n")}

${r.notes}
`;
}

async function main() {
  mkdirSync(DIST, { recursive: true });
  log(smoke ? "smoke run (tiny counts)" : "full run");
  log("size");
  const sizeResult = await size();
  await bundle("browser-entry.mjs", "bench.js", { external: ["/pkg/index.js"] });
  await bundle("startup-zod-entry.mjs", "startup-zod.js");
  writeFileSync(join(DIST, "bench.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="/bench.js"></script>`);
  writeFileSync(join(DIST, "startup-zod.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="/startup-zod.js"></script>`);
  writeFileSync(join(DIST, "startup-ours.html"), `<!doctype html><meta charset="utf-8"><script type="module">
import init, { validateInput } from "/pkg/index.js";
await init();
validateInput({ prompt: "A lamp", aspect_ratio: "16:9", resolution: "4K" });
window.firstResultAt = performance.now();
</script>`);
  log("validation speed in Node");
  const speedNodeResult = await speedNode();
  const server = await startSimulator({ extra: ["--www", DIST] });
  const browser = await launchChromium();
  let speedBrowserResult, startupResult;
  try {
    log("validation speed in Chromium");
    speedBrowserResult = await speedBrowser(browser, server);
    log("start-up");
    startupResult = await startup(browser, server);
  } finally {
    await browser.close();
    server.stop();
  }
  log("the demo's load (Lighthouse)");
  const lighthouseResult = await lighthouseRuns({
    sites: smoke ? { [BUILT]: join(ROOT, "dist") } : { [BUILT]: join(ROOT, "dist"), "the sources (www/), unbuilt": join(ROOT, "www") },
    presets: smoke ? ["desktop"] : ["desktop", "mobile"],
    runs: smoke ? 1 : LIGHTHOUSE_RUNS,
  });
  const durations = smoke ? [1000] : [10_000, 30_000, 60_000];
  const runsEach = smoke ? 1 : 3;
  log(`polling: runs of ${durations.join(", ")} ms, ${runsEach} each, all at once`);
  const pollingResults = await Promise.all(durations.map((d) => pollingFor(d, runsEach)));
  const concurrencyRunMs = smoke ? 1000 : 10_000;
  log("10 runs at once");
  const concurrencyResult = await concurrency(concurrencyRunMs, smoke ? 3 : 10);
  const sharingRuns = smoke ? 6 : 12, sharingRunMs = smoke ? 500 : 4000;
  log(`one key in several clients and tabs: ${sharingRuns} runs of ${sharingRunMs} ms`);
  const sharingResult = await sharing(sharingRuns, sharingRunMs);
  const result = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    versions: versions(),
    command: smoke ? "node bench/run.mjs --smoke" : "scripts/bench",
    size: sizeResult, speedNode: speedNodeResult, speedBrowser: speedBrowserResult, startup: startupResult,
    startupRuns: smoke ? 2 : 15, runsEach,
    polling: Object.fromEntries(durations.map((d, i) => [d, pollingResults[i]])),
    concurrency: concurrencyResult, concurrencyRunMs,
    sharing: sharingResult, sharingRuns, sharingRunMs,
    lighthouse: lighthouseResult, lighthouseRuns: smoke ? 1 : LIGHTHOUSE_RUNS,
    notes: readFileSync(join(HERE, "NOTES.md"), "utf8"),
  };
  const markdown = report(result);
  if (smoke) {
    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    writeFileSync(join(ROOT, "test-results", "bench-smoke.md"), markdown);
    writeFileSync(join(ROOT, "test-results", "bench-smoke.json"), JSON.stringify(result, null, 2));
  } else {
    writeFileSync(join(ROOT, "docs", "BENCHMARKS.md"), markdown);
    writeFileSync(join(ROOT, "docs", "benchmarks.json"), JSON.stringify(result, null, 2) + "\n");
  }
  console.log(markdown);
}

if (process.argv.includes("--report")) {
  // Re-renders docs/BENCHMARKS.md from docs/benchmarks.json with the current NOTES.md.
  const result = JSON.parse(readFileSync(join(ROOT, "docs", "benchmarks.json"), "utf8"));
  result.notes = readFileSync(join(HERE, "NOTES.md"), "utf8");
  writeFileSync(join(ROOT, "docs", "BENCHMARKS.md"), report(result));
} else if (process.argv.includes("--sharing")) {
  // The one-key rows alone, printed (nothing written): to try a change to the shared budget.
  const runs = Number(process.argv[process.argv.indexOf("--sharing") + 1]) || 12;
  console.log(JSON.stringify(await sharing(runs, 4000), null, 2));
} else {
  await main();
}

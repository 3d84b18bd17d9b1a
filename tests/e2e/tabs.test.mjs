// One key, one budget across the tabs and workers of a site: real Chromium pages in one browser
// profile (they share its Web Locks and BroadcastChannels, as tabs do), each importing the
// built package, against a simulator that counts refused requests toward the key's window
// too (--sim-strict-window: a client that knocks while the window is full stays locked out).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSimulator, launchChromium, openPackagePage } from "./harness.mjs";

let server, browser, context;
const pageErrors = [];
before(async () => {
  server = await startSimulator({ runMs: 4000, extra: ["--sim-strict-window"] });
  browser = await launchChromium();
  context = await browser.newContext();
  watchErrors(context);
});
after(async () => { await browser?.close(); server?.stop(); });

const stats = async (key) => (await (await fetch(`${server.url}/__sim/stats`)).json()).keys[key];
const baseUrl = () => `${server.url}/sim/v1`;

/** Every page of `of` reports its uncaught errors from its first moment. */
const watchErrors = (of) => of.on("page", (page) => page.on("pageerror", (e) => pageErrors.push(e.message)));
/** A tab of the site with the package loaded as `window.lib`. */
const openTab = (ofContext = context) => openPackagePage(ofContext, server);

/** `runs` generates at once on one client of `key` in `page`: each run's status. */
const generateIn = (page, key, runs) => page.evaluate(async ([options, runs]) => {
  const client = new window.lib.RunbaseClient(options);
  const done = await Promise.all(Array.from({ length: runs }, (_, i) =>
    client.generate({ prompt: `Run ${i}` }).then((r) => r.run.status, (e) => `${e.kind}: ${e.message}`)));
  return done;
}, [{ apiKey: key, baseUrl: baseUrl() }, runs]);

test("three tabs of one site share the key's budget: 12 runs, no 429, never more than 20 requests in 10 s", async () => {
  const key = "sk-sim-three-tabs";
  const tabs = await Promise.all([openTab(), openTab(), openTab()]);
  const statuses = await Promise.all(tabs.map((tab) => generateIn(tab, key, 4)));
  assert.deepEqual(statuses.flat(), Array(12).fill("succeeded"));
  const seen = await stats(key);
  assert.equal(seen.rate_limited, 0, JSON.stringify(seen));
  assert.ok(seen.max_in_10s <= 20, JSON.stringify(seen));
  assert.equal(seen.runs_created, 12);
  // What the tabs tell each other names the key by a hash: the lock names hold no key.
  const names = await tabs[0].evaluate(async () => {
    const { held, pending } = await navigator.locks.query();
    return [...held, ...pending].map((l) => l.name);
  });
  for (const name of names) assert.match(name, /^runbase-image [A-Za-z0-9+/]{43}= \d+$/);
  assert.ok(names.length > 0, "the last window's places are still held");
  assert.ok(!names.some((n) => n.includes(key)));
  await Promise.all(tabs.map((tab) => tab.close()));
  assert.deepEqual(pageErrors, []);
});

test("a tab and a Web Worker of the site share the key's budget: 12 runs, no 429", async () => {
  const key = "sk-sim-tab-and-worker";
  const tab = await openTab();
  const [inTab, inWorker] = await Promise.all([
    generateIn(tab, key, 6),
    tab.evaluate(async ([origin, options]) => {
      const source = `
        import init, { RunbaseClient } from "${origin}/pkg/index.js";
        await init();
        const client = new RunbaseClient(${JSON.stringify(options)});
        const done = await Promise.all(Array.from({ length: 6 }, (_, i) =>
          client.generate({ prompt: "Worker " + i }).then((r) => r.run.status, (e) => e.kind + ": " + e.message)));
        postMessage(done);
      `;
      const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module" });
      return new Promise((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(e.message));
      });
    }, [server.url, { apiKey: key, baseUrl: baseUrl() }]),
  ]);
  assert.deepEqual([...inTab, ...inWorker], Array(12).fill("succeeded"));
  const seen = await stats(key);
  assert.equal(seen.rate_limited, 0, JSON.stringify(seen));
  assert.ok(seen.max_in_10s <= 20, JSON.stringify(seen));
  await tab.close();
});

test("a tab that crashes holding the whole window gives it back: the other tab goes on once those requests have left the window, with no 429", async () => {
  const key = "sk-sim-crashed-tab";
  const [left, staying] = await Promise.all([openTab(), openTab()]);
  // The staying tab has the key's client (and so hears the others) before the other spends.
  await staying.evaluate(async (options) => {
    window.client = new window.lib.RunbaseClient(options);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }, { apiKey: key, baseUrl: baseUrl() });
  // 20 reads at once: every place of the window held by this tab for the next 10.5 s.
  await left.evaluate((options) => {
    const client = new window.lib.RunbaseClient(options);
    for (let i = 0; i < 20; i++) client.getRun(`run_nothing_${i}`).catch(() => {});
  }, { apiKey: key, baseUrl: baseUrl() });
  for (let i = 0; i < 100 && (await stats(key))?.requests !== 20; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await stats(key)).requests, 20);
  // The renderer dies: no unload, no goodbye (the crash command itself never answers).
  const crashed = new Promise((resolve) => left.once("crash", resolve));
  (await context.newCDPSession(left)).send("Page.crash").catch(() => {});
  await crashed;
  const result = await staying.evaluate(async () => {
    const started = performance.now();
    const { run } = await window.client.generate({ prompt: "After the crash" });
    return { status: run.status, ms: performance.now() - started };
  });
  assert.equal(result.status, "succeeded");
  const seen = await stats(key);
  assert.equal(seen.rate_limited, 0, `the places came back only once their requests left the window: ${JSON.stringify(seen)}`);
  assert.ok(seen.max_in_10s <= 20, JSON.stringify(seen));
  await staying.close();
});

test("where the browser has no Web Locks, clients of one page still share the key's budget, alone", async () => {
  const key = "sk-sim-no-locks";
  const bare = await browser.newContext();
  watchErrors(bare);
  await bare.addInitScript(() => Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined }));
  const tab = await openTab(bare);
  const statuses = await tab.evaluate(async (options) => {
    const clients = [new window.lib.RunbaseClient(options), new window.lib.RunbaseClient({ ...options })];
    return Promise.all(Array.from({ length: 12 }, (_, i) =>
      clients[i % 2].generate({ prompt: `Run ${i}` }).then((r) => r.run.status, (e) => `${e.kind}: ${e.message}`)));
  }, { apiKey: key, baseUrl: baseUrl() });
  assert.deepEqual(statuses, Array(12).fill("succeeded"));
  assert.equal((await stats(key)).rate_limited, 0);
  assert.equal(await tab.evaluate(() => navigator.locks), undefined);
  await bare.close();
});

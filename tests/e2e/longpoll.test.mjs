// The client behind runbase-server's run-broker proxy, in headless Chromium: it sees the
// proxy's X-Runbase-Long-Poll header and long-polls (GET ?wait=&seen=) instead of polling,
// learns of the end at once, and costs the key no more than the broker's own polls.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSimulator, launchChromium, openPackagePage } from "./harness.mjs";

let server, browser, page;
before(async () => {
  server = await startSimulator({ runMs: 3000 });
  browser = await launchChromium();
  page = await openPackagePage(browser, server);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

test("behind the broker the client long-polls and knows of the end at once", async () => {
  const gets = [];
  page.on("request", (request) => {
    if (request.method() === "GET" && request.url().includes("/api/v1/runs/")) gets.push(request.url());
  });
  const result = await page.evaluate(async () => {
    const client = new window.lib.RunbaseClient({ baseUrl: "/api/v1" });
    const statuses = [];
    const started = Date.now();
    const { run } = await client.generate({ prompt: "A long-polled lamp" }, {
      onUpdate: (r) => statuses.push([r.status, Date.now() - started]),
    });
    return { run, statuses, took: Date.now() - started };
  });
  assert.equal(result.run.status, "succeeded");
  // Every GET after the create was a long-poll naming the status the client had seen.
  assert.ok(gets.length >= 1, "the client followed the run");
  // (gloo-net appends its own empty query: a trailing "&".)
  for (const url of gets) assert.match(url, /\?wait=25&seen=(pending|processing)&?$/);
  // A 3 s run followed by long-polls: one GET per status change, not one per second.
  assert.ok(gets.length <= 3, `long-polls: ${gets.join(", ")}`);
  assert.deepEqual(result.statuses.map(([s]) => s), ["pending", "processing", "succeeded"]);
  // The broker's stats: the key paid for one create and few polls, none of them refused.
  const stats = await (await fetch(`${server.url}/__runbase/stats`)).json();
  assert.equal(stats.upstream_429s ?? stats.upstream429s ?? 0, 0, JSON.stringify(stats));
});

test("a proxy's wait is capped by the call's own time-out, and abort still ends a long-poll", async () => {
  const outcome = await page.evaluate(async () => {
    const client = new window.lib.RunbaseClient({ baseUrl: "/api/v1" });
    const run = await client.createRun({ prompt: "Abort me while I wait" });
    const controller = new AbortController();
    setTimeout(() => controller.abort("the user left"), 600);
    const started = Date.now();
    try {
      await client.waitForRun(run.id, { signal: controller.signal });
      return { ok: true };
    } catch (error) {
      return { kind: error.kind, runId: error.runId, id: run.id, after: Date.now() - started };
    }
  });
  assert.equal(outcome.kind, "aborted");
  assert.equal(outcome.runId, outcome.id);
  assert.ok(outcome.after < 3000, `the long-poll in flight stopped at once (${outcome.after} ms)`);
});

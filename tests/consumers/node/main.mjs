// A Node 20 script using the installed package with Node's own fetch.
import init, { validateInput, getModelFacts, estimateCost, RunbaseClient, RunbaseError } from "runbase-image";

const baseUrl = process.argv[2];
await init();
const out = {};
out.codes = validateInput({ prompt: "A lamp", aspect_ratio: "16x9" }).issues.map((i) => [i.code, i.suggestion]);
out.prices = getModelFacts().pricesUsd;
out.estimates = [{}, { resolution: "1K" }, { resolution: "2K" }, { resolution: "4K" }, { resolution: "8K" }].map(estimateCost);
const client = new RunbaseClient({ apiKey: "sk-sim-node-consumer", baseUrl });
const statuses = [];
let created;
const result = await client.generate({ prompt: "From Node", aspect_ratio: "21:9", resolution: "4K" }, {
  onCreate: (run) => { created = run; },
  onUpdate: (run) => statuses.push(run.status),
});
out.urls = result.urls;
out.costUsd = result.costUsd;
out.created = created;
out.run = result.run;
out.statuses = statuses;
try {
  await new RunbaseClient({ apiKey: "sk-sim-broke", baseUrl }).createRun({ prompt: "A lamp" });
} catch (e) {
  out.error = { isRunbaseError: e instanceof RunbaseError, kind: e.kind, code: e.code, status: e.status };
}
// An abort whose reason is not an Error (a string) mid-wait: a RunbaseError, and the module
// still works afterwards.
try {
  const controller = new AbortController();
  const run = await client.createRun({ prompt: "Aborted from Node" });
  setTimeout(() => controller.abort("user navigated away"), 200);
  await client.waitForRun(run.id, { signal: controller.signal });
} catch (e) {
  out.aborted = { isRunbaseError: e instanceof RunbaseError, kind: e.kind, hasRunId: typeof e.runId === "string" };
}
out.afterAbort = validateInput({ prompt: "Still alive" }).ok;
console.log(JSON.stringify(out));

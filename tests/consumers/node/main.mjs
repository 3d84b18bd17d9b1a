// A Node 20 script using the installed package with Node's own fetch.
import { createServer } from "node:net";
import init, { validateInput, getModelFacts, estimateCost, fitReferenceImage, RunbaseClient, RunbaseError } from "runbase-image";

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
  out.aborted = { isRunbaseError: e instanceof RunbaseError, kind: e.kind, hasRunId: typeof e.runId === "string", cause: e.cause };
}
// Errors in Node speak of Node: a refused connection says so (no CORS, no "a run may have
// been created": nothing reached a server), with fetch's TypeError as the cause.
const closed = await new Promise((resolve) => {
  const listener = createServer().listen(0, "127.0.0.1", () => {
    const { port } = listener.address();
    listener.close(() => resolve(port));
  });
});
try {
  await new RunbaseClient({ apiKey: "sk-sim-node-consumer", baseUrl: `http://127.0.0.1:${closed}/v1` }).createRun({ prompt: "A lamp" });
} catch (e) {
  out.refused = { kind: e.kind, message: e.message, retryable: e.retryable, causeIsTypeError: e.cause instanceof TypeError, causeCode: e.cause?.cause?.code };
}
// A wrong base URL (the server has nothing there): which URL, and what a base URL looks like.
try {
  await new RunbaseClient({ apiKey: "sk-sim-node-consumer", baseUrl: `${new URL(baseUrl).origin}/v1` }).createRun({ prompt: "A lamp" });
} catch (e) {
  out.wrongBase = { kind: e.kind, status: e.status, message: e.message };
}
out.afterAbort = validateInput({ prompt: "Still alive" }).ok;
// Files in Node: a small PNG Blob is sent as a data: URL as it is; one over 4 MiB cannot be
// re-encoded here (no canvas), so it is refused with a clear issue before any request.
const png = new Blob([Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=", "base64")], { type: "image/png" });
const fitted = [];
const withFile = await client.generate({ prompt: "From a file", image_urls: [png] }, { onReferenceFitted: (info, i) => fitted.push([i, info.changed, info.bytes]) });
out.smallFile = { status: withFile.run.status, fitted, sameBack: (await fitReferenceImage(png)).blob === png };
const big = new Blob([new Uint8Array(5 * 1024 * 1024)], { type: "image/png" });
const fetches = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => { fetches.push(String(args[0]?.url ?? args[0])); return realFetch(...args); };
try {
  await client.createRun({ prompt: "Too big for Node", image_urls: [big] });
} catch (e) {
  out.bigFile = { isRunbaseError: e instanceof RunbaseError, kind: e.kind, code: e.code, issues: e.issues?.map((i) => [i.path, i.code, i.message]) };
} finally {
  globalThis.fetch = realFetch;
}
out.bigFile = { ...out.bigFile, fetches: fetches.length };
out.bigFileValidation = validateInput({ prompt: "x", image_urls: [big] }).issues.map((i) => i.code);
out.bigFileFit = await fitReferenceImage(big).catch((e) => ({ kind: e.kind, code: e.code }));
console.log(JSON.stringify(out));

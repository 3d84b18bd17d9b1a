// A Node 20 script using the installed package with Node's own fetch.
import init, { validateInput, RunbaseClient, RunbaseError } from "runbase-image";

const baseUrl = process.argv[2];
await init();
const out = {};
out.codes = validateInput({ prompt: "A lamp", aspect_ratio: "16x9" }).issues.map((i) => [i.code, i.suggestion]);
const client = new RunbaseClient({ apiKey: "sim_node_consumer", baseUrl });
const statuses = [];
const { urls } = await client.generate({ prompt: "From Node", aspect_ratio: "21:9", resolution: "4K" }, {
  onUpdate: (run) => statuses.push(run.status),
});
out.urls = urls;
out.statuses = statuses;
try {
  await new RunbaseClient({ apiKey: "sim_broke_key", baseUrl }).createRun({ prompt: "A lamp" });
} catch (e) {
  out.error = { isRunbaseError: e instanceof RunbaseError, kind: e.kind, code: e.code, status: e.status };
}
console.log(JSON.stringify(out));

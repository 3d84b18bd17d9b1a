import init, { validateInput, getModelFacts, RunbaseClient, RunbaseError } from "runbase-image";

const out = {};
try {
  await init();
  out.codes = validateInput({ prompt: "A lamp", resolution: "4K" }).issues.map((i) => i.code);
  out.ratios = getModelFacts().aspectRatios.length;
  const { urls } = await new RunbaseClient({ baseUrl: "/api/v1" }).generate({ prompt: "From a Vite app", aspect_ratio: "9:16" });
  out.urls = urls;
  try { await new RunbaseClient({ baseUrl: "/api/v1" }).createRun({ prompt: "" }); }
  catch (e) { out.error = { isRunbaseError: e instanceof RunbaseError, kind: e.kind }; }
  // A base URL where nothing answers (the simulator serves the API at /api/v1).
  try { await new RunbaseClient({ baseUrl: "/api/v2" }).createRun({ prompt: "A lamp" }); }
  catch (e) { out.wrongBase = { status: e.status, message: e.message }; }
} catch (e) {
  out.failure = String(e?.message ?? e);
}
document.body.dataset.result = JSON.stringify(out);

// The demo page. It uses the package exactly as a user's page would. Nothing that comes from
// the server or the user is ever inserted as HTML: text goes through textContent, and image
// URLs are checked before they reach an <img>.
import init, { validateInput, getModelFacts, promptLength, estimateCost, RunbaseClient } from "./pkg/index.js";

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
};

const PRESETS = [
  { prompt: "A detailed scientific infographic of an integrated biohybrid artificial photosynthesis platform for solar-to-fuel conversion, with labeled cross-section diagrams, molecular structures, efficiency charts, and process flow annotations", ratio: "1:1" },
  { prompt: "A photorealistic candid shot of a young man in a light grey Covernat hoodie sitting at station 139 in a premium PC cafe, focused on his laptop screen, soft window light mixing with monitor glow, shallow depth of field", ratio: "3:2" },
  { prompt: "A pixel-perfect recreation of the YouTube homepage UI with a left sidebar showing Home, Shorts, Subscriptions, History, and Explore sections, a top navigation bar with search and profile icon, category filter chips, and an 8-video thumbnail grid with realistic titles, channel names, view counts, and duration stamps", ratio: "16:9" },
  { prompt: "一张陶瓷台灯的电影级产品照片", ratio: "4:5" },
];

/** What a person should do about each error, by API code, then by kind. */
const FIXES = {
  missing_api_key: ["No API key was sent", "Enter your key, or switch to “Through the proxy”."],
  invalid_api_key: ["The API key was refused", "Check the key: it is invalid, disabled or expired."],
  insufficient_balance: ["Your balance is too low for this run", "Top up your Runbase balance, then try again."],
  api_key_spend_limit_exceeded: ["This key reached its spend limit", "Raise the key's limit in your Runbase dashboard, or use another key."],
  ip_not_allowed: ["This key does not accept requests from here", "Add this machine's IP address to the key's allow-list."],
  run_not_found: ["The run was not found", "It may belong to another key, or have expired."],
  RATE_LIMITED: ["Too many requests right now", "Wait a few seconds and try again."],
  USAGE_EXCEEDED: ["This key's quota is used up", "Retrying will not help until the quota resets or you upgrade."],
  invalid_input: ["The API refused the input", "Fix the problems listed under the fields."],
  invalid_json: ["The request was not valid JSON", "This is a bug in the page: please report it."],
  missing_model: ["The request named no model", "This is a bug in the page: please report it."],
  missing_input: ["The request had no input", "This is a bug in the page: please report it."],
  model_not_found: ["The API does not know this model", "Check the model id."],
  model_not_allowed: ["The proxy does not run this model", "Ask the proxy's owner to allow it."],
  origin_not_allowed: ["The proxy refused this page's origin", "Open the demo from the proxy's own address, or add this origin to its --allowed-origins."],
  payload_too_large: ["The request is too large", "Use smaller reference images (at most 4 MB each)."],
  upstream_timeout: ["Runbase did not answer in time", "Try again; if a run was created it is listed below."],
  upstream_unreachable: ["The proxy could not reach Runbase", "Check the proxy's network, then try again."],
};
const KIND_FIXES = {
  network: ["Could not reach the API", "Check your connection. With your own key the API may not accept requests from a web page (CORS): “Through the proxy” avoids this."],
  timeout: ["The run took too long", "It may still finish: it stays in the list below, and a reload picks it up again."],
  aborted: ["Canceled", "The run may still finish on the server: it stays in the list below."],
  run_failed: ["The model could not make this image", "Change the prompt or the reference images and try again."],
  decode: ["The API's answer could not be read", "Try again in a moment."],
  validation: ["The input is not valid", "Fix the problems listed under the fields."],
  api: ["The API refused the request", "See the details below."],
};

const RUNS_KEY = "runbase-demo-runs";
const KEY_KEY = "runbase-demo-key";
const state = { references: [], controller: null, facts: null, backend: null };

/** Only these may become an <img> source: generated images and local previews. */
function safeImageUrl(url) {
  if (typeof url !== "string") return null;
  try {
    const parsed = new URL(url, location.href);
    if (["https:", "http:", "blob:"].includes(parsed.protocol)) return parsed.href;
    if (parsed.protocol === "data:" && /^data:image\/[a-z0-9.+-]+[;,]/i.test(url)) return url;
  } catch { /* not a URL */ }
  return null;
}

/** Micro-dollars (1 USD = 1,000,000, as the API counts) as dollars: 50000 → "$0.05". */
function dollars(micro) {
  return Number.isFinite(micro) && micro >= 0 ? `$${(micro / 1_000_000).toFixed(2)}` : null;
}

/** Whether runs made over this connection go to the built-in simulator (nothing is charged). */
function simulated(conn) {
  if (state.backend?.backend !== "simulator") return false;
  if (conn.mode === "proxy") return true;
  try { return new URL(conn.baseUrl, location.href).origin === location.origin; } catch { return false; }
}

function mode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

function connection() {
  if (mode() === "key") {
    return { mode: "key", baseUrl: $("key-url").value.trim(), apiKey: $("api-key").value.trim() };
  }
  return { mode: "proxy", baseUrl: $("proxy-url").value.trim() || "/api/v1" };
}

function client(conn = connection()) {
  return new RunbaseClient(conn.mode === "key"
    ? { apiKey: conn.apiKey, baseUrl: conn.baseUrl }
    : { baseUrl: conn.baseUrl });
}

// ---------- the form ----------

function formInput() {
  const input = {
    prompt: $("prompt").value,
    aspect_ratio: document.querySelector('input[name="aspect_ratio"]:checked')?.value,
    resolution: document.querySelector('input[name="resolution"]:checked')?.value,
  };
  if (state.references.length) input.image_urls = state.references.map((r) => r.url);
  return input;
}

function buildPickers(facts) {
  const ratios = $("ratios");
  for (const ratio of facts.aspectRatios) {
    const [w, h] = ratio.split(":").map(Number);
    const shape = el("span", { class: "shape", "aria-hidden": "true" });
    shape.style.aspectRatio = `${w} / ${h}`;
    shape.style.width = w >= h ? "28px" : `${Math.round(28 * w / h)}px`;
    const input = el("input", { type: "radio", name: "aspect_ratio", value: ratio, checked: ratio === facts.defaultAspectRatio });
    ratios.append(el("label", { class: "ratio" }, input, shape, el("span", {}, ratio)));
  }
  const resolutions = $("resolutions");
  for (const resolution of facts.resolutions) {
    const input = el("input", { type: "radio", name: "resolution", value: resolution, checked: resolution === facts.defaultResolution });
    resolutions.append(el("label", {}, input, ` ${resolution}`));
  }
}

/** Disables the resolutions the chosen ratio does not allow, and says why. */
function offerResolutions(facts) {
  const ratio = document.querySelector('input[name="aspect_ratio"]:checked')?.value;
  const allowed = facts.resolutionsByAspectRatio[ratio] ?? [];
  const notes = [];
  for (const input of document.querySelectorAll('input[name="resolution"]')) {
    const restricted = facts.aspectRatiosByResolution[input.value];
    input.disabled = !allowed.includes(input.value) && !input.checked;
    input.closest("label").classList.toggle("unavailable", !allowed.includes(input.value));
    if (!allowed.includes(input.value) && restricted) {
      notes.push(`${input.value} needs aspect ratio ${restricted.join(", ")}.`);
    }
  }
  $("resolution-note").textContent = notes.join(" ") || "Every resolution works with this ratio.";
}

function renderIssues(result) {
  const lists = ["prompt", "aspect_ratio", "resolution", "image_urls", "other"];
  const grouped = Object.fromEntries(lists.map((name) => [name, []]));
  for (const issue of [...result.issues, ...result.warnings]) {
    const field = issue.path.split("[")[0];
    (grouped[field] ?? grouped.other).push(issue);
  }
  for (const name of lists) {
    $(`${name}-issues`).replaceChildren(...grouped[name].map((issue) => el("li", { class: issue.severity },
      el("span", { class: "where", textContent: issue.path || "input" }), " ",
      el("span", { textContent: issue.message }))));
  }
  $("prompt").setAttribute("aria-invalid", String(grouped.prompt.some((i) => i.severity === "error")));
}

function check() {
  const facts = state.facts;
  offerResolutions(facts);
  const input = formInput();
  const length = promptLength(input.prompt);
  $("count").textContent = `${length} / ${facts.promptMaxLength}`;
  $("count").classList.toggle("over", length > facts.promptMaxLength);
  const result = validateInput(input);
  renderIssues(result);
  renderEstimate(input);
  const busy = state.controller !== null;
  $("generate").disabled = !result.ok || busy || (connection().mode === "key" && !connection().apiKey);
  $("verdict").textContent = busy ? "A run is in progress."
    : !result.ok ? `${result.issues.length} problem${result.issues.length === 1 ? "" : "s"} to fix before generating.`
    : connection().mode === "key" && !connection().apiKey ? "Enter your API key to generate."
    : result.warnings.length ? "Ready, with warnings." : "Ready.";
  return result;
}

/** The price of one image with the current input, next to Generate. */
function renderEstimate(input) {
  const price = dollars(estimateCost(input));
  const note = price && simulated(connection()) ? " · simulated, not charged" : "";
  $("estimate").replaceChildren(...(price
    ? [el("strong", { textContent: `${price} per image` }), el("span", { class: "note", textContent: note })]
    : []));
}

// ---------- reference images ----------

function addReference(url, label) {
  state.references.push({ url, label });
  renderReferences();
  check();
}

function renderReferences() {
  $("refs").replaceChildren(...state.references.map((ref, index) => {
    const src = safeImageUrl(ref.url);
    const thumb = src ? el("img", { src, alt: `Reference ${index + 1}`, loading: "lazy", referrerPolicy: "no-referrer" })
      : el("span", { class: "thumb-refused", textContent: "not an image URL" });
    // The API fetches references itself; a preview this browser cannot load is only a hint.
    thumb.addEventListener("error", () => thumb.replaceWith(
      el("span", { class: "thumb-refused", textContent: "no preview" })), { once: true });
    const remove = el("button", { type: "button", class: "remove", textContent: "×", "aria-label": `Remove reference ${index + 1}` });
    remove.addEventListener("click", () => {
      state.references.splice(index, 1);
      renderReferences();
      check();
    });
    return el("li", {}, thumb, el("span", { class: "ref-label", textContent: ref.label }), remove);
  }));
}

function readFileAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function addFiles(files) {
  const limit = state.facts.maxImageBytes;
  const notes = [];
  for (const file of files) {
    if (!file.type.startsWith("image/")) { notes.push(`${file.name} is not an image.`); continue; }
    if (file.size > limit) {
      notes.push(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; each reference may be at most ${limit / 1048576} MB.`);
      continue;
    }
    addReference(await readFileAsDataUrl(file), file.name);
  }
  $("ref-status").textContent = notes.join(" ");
}

// ---------- runs ----------

function loadRuns() {
  try { return JSON.parse(localStorage.getItem(RUNS_KEY)) ?? []; } catch { return []; }
}

function saveRun(changes) {
  // A member the answer lacked (costUsd of an older API, say) keeps what was saved before.
  const update = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
  const runs = loadRuns();
  const index = runs.findIndex((r) => r.id === update.id);
  if (index >= 0) runs[index] = { ...runs[index], ...update }; else runs.unshift(update);
  localStorage.setItem(RUNS_KEY, JSON.stringify(runs.slice(0, 20)));
  renderRuns();
}

function renderRuns() {
  const runs = loadRuns();
  if (!runs.length) { $("runs").replaceChildren(el("li", { class: "empty", textContent: "No runs yet." })); return; }
  $("runs").replaceChildren(...runs.map((run) => el("li", {},
    el("span", { class: `status status-${String(run.status).replace(/[^a-z_]/g, "")}`, textContent: run.status }), " ",
    el("span", { class: "mono", textContent: run.id }), " ",
    ...costOf(run), el("span", { class: "run-prompt", textContent: run.prompt }))));
}

/** A run's cost as the API reported it; refunded in full when the run failed. */
function costOf(run) {
  const price = dollars(run.costUsd);
  if (!price) return [];
  const text = run.status === "failed" ? `${price} refunded` : price;
  return [el("span", { class: "cost", textContent: text, title: run.simulated ? "Simulated: nothing was charged" : "What the API charged for this run" }), " "];
}

function showError(error) {
  const [title, fix] = FIXES[error.code] ?? KIND_FIXES[error.kind] ?? ["Something went wrong", "Try again."];
  $("error-title").textContent = title;
  $("error-fix").textContent = error.kind === "run_failed" ? `${fix}` : fix;
  const parts = [error.message];
  if (error.runId) parts.push(`Run ${error.runId}.`);
  $("error-detail").textContent = parts.join(" ");
  $("error").hidden = false;
}

function showImages(urls, ratio, run = {}) {
  const [w, h] = (ratio ?? "1:1").split(":").map(Number);
  const price = dollars(run.costUsd);
  $("gallery").replaceChildren(...urls.map((url, index) => {
    const src = safeImageUrl(url);
    if (!src) return el("p", { class: "error", textContent: "An image URL was refused: it is not http(s)." });
    const img = el("img", { src, alt: `Generated image ${index + 1}`, referrerPolicy: "no-referrer" });
    img.style.aspectRatio = `${w} / ${h}`;
    const open = el("a", { href: src, target: "_blank", rel: "noopener noreferrer", textContent: "Open" });
    const download = el("button", { type: "button", class: "secondary", textContent: "Download" });
    download.addEventListener("click", () => downloadImage(src, `gpt-image-2-${index + 1}.png`));
    const cost = price ? [el("span", run.simulated
      ? { class: "cost", textContent: `${price} · simulated`, title: "What this run would cost; the simulator charges nothing" }
      : { class: "cost", textContent: `Charged ${price}`, title: "What the API charged for this run (costUsd)" })] : [];
    return el("figure", {}, img, el("figcaption", {}, open, download, ...cost));
  }));
  // On a narrow screen the result is below the form: bring it into view.
  $("gallery").firstElementChild?.scrollIntoView({ block: "nearest" });
}

/** Generated URLs expire: save a copy. Cross-origin images are fetched into a blob first. */
async function downloadImage(url, name) {
  try {
    const blob = await (await fetch(url)).blob();
    const href = URL.createObjectURL(blob);
    el("a", { href, download: name }).click();
    setTimeout(() => URL.revokeObjectURL(href), 10_000);
  } catch {
    window.open(url, "_blank", "noopener");
  }
}

function startProgress(label) {
  const started = performance.now();
  $("progress").hidden = false;
  $("error").hidden = true;
  $("progress-status").textContent = label;
  $("progress-run").textContent = "";
  $("progress").scrollIntoView({ block: "nearest" });
  const timer = setInterval(() => {
    $("progress-time").textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  }, 100);
  return () => { clearInterval(timer); $("progress").hidden = true; };
}

async function follow(work, label) {
  state.controller = new AbortController();
  check();
  const stop = startProgress(label);
  try {
    return await work(state.controller.signal);
  } catch (error) {
    showError(error);
    if (error.runId) saveRun({ id: error.runId, status: error.kind === "run_failed" ? "failed" : error.kind === "aborted" ? "canceled here" : "unknown" });
    return null;
  } finally {
    stop();
    state.controller = null;
    check();
  }
}

async function generate() {
  const input = formInput();
  const conn = connection();
  if (conn.mode === "key" && $("remember-key").checked) localStorage.setItem(KEY_KEY, conn.apiKey);
  const result = await follow((signal) => client(conn).generate(input, {
    signal,
    onCreate: (run) => {
      $("progress-run").textContent = run.id;
      saveRun({ id: run.id, status: run.status, prompt: input.prompt.slice(0, 80), mode: conn.mode, baseUrl: conn.baseUrl,
        ratio: input.aspect_ratio, costUsd: run.costUsd, simulated: simulated(conn) });
    },
    onUpdate: (run) => {
      $("progress-status").textContent = run.status;
      saveRun({ id: run.id, status: run.status, costUsd: run.costUsd });
    },
  }), "creating the run");
  if (result) {
    saveRun({ id: result.run.id, status: result.run.status, urls: result.urls, costUsd: result.costUsd });
    showImages(result.urls, input.aspect_ratio, { costUsd: result.costUsd, simulated: simulated(conn) });
  }
}

/** A run still going when the page was closed is followed again after a reload. */
async function resumePending() {
  const pending = loadRuns().find((r) => !["succeeded", "failed", "canceled here"].includes(r.status));
  if (!pending || !pending.baseUrl) return;
  if (pending.mode === "key" && !$("api-key").value) {
    saveRun({ id: pending.id, status: "needs your key to resume" });
    return;
  }
  const conn = { mode: pending.mode, baseUrl: pending.baseUrl, apiKey: $("api-key").value.trim() };
  const run = await follow((signal) => client(conn).waitForRun(pending.id, {
    signal,
    onUpdate: (r) => {
      $("progress-status").textContent = `${r.status} (resumed)`;
      saveRun({ id: r.id, status: r.status, costUsd: r.costUsd });
    },
  }), `resuming ${pending.id}`);
  if (run) {
    const urls = run.output?.urls ?? [];
    saveRun({ id: run.id, status: run.status, urls, costUsd: run.costUsd });
    showImages(urls, pending.ratio, { costUsd: run.costUsd, simulated: pending.simulated });
  }
}

// ---------- start ----------

async function describeBackend() {
  try {
    const answer = await fetch("/__runbase/backend", { headers: { Accept: "application/json" } });
    if (answer.ok) state.backend = await answer.json();
  } catch { /* a static host: no backend info */ }
  const badge = $("backend");
  if (state.backend?.backend === "simulator") {
    badge.textContent = "Simulator: images are drawn locally, nothing is charged";
    badge.className = "badge simulated";
    $("key-url").value = new URL("/sim/v1", location.href).href;
    $("key-hint").textContent = "The simulator accepts keys that start with “sk-” (try sk-sim-demo; sk-sim-broke simulates an empty balance).";
  } else if (state.backend?.backend === "runbase") {
    badge.textContent = "Proxy to the Runbase API: runs are real and paid";
    badge.className = "badge live";
  } else {
    badge.textContent = "No project server found: set the proxy URL, or use your own key";
    badge.className = "badge";
  }
  if (state.backend?.apiBase) $("proxy-url").value = state.backend.apiBase;
}

function wire() {
  for (const input of document.querySelectorAll('input[name="mode"]')) {
    input.addEventListener("change", () => {
      $("key-fields").hidden = mode() !== "key";
      $("proxy-fields").hidden = mode() !== "proxy";
      check();
    });
  }
  $("form").addEventListener("input", (event) => {
    if (event.target.id !== "ref-url" && event.target.id !== "ref-file") check();
  });
  $("remember-key").addEventListener("change", () => {
    if (!$("remember-key").checked) localStorage.removeItem(KEY_KEY);
  });
  document.querySelectorAll("[data-preset]").forEach((button) => button.addEventListener("click", () => {
    const preset = PRESETS[Number(button.dataset.preset)];
    $("prompt").value = preset.prompt;
    const ratio = document.querySelector(`input[name="aspect_ratio"][value="${preset.ratio}"]`);
    if (ratio) ratio.checked = true;
    check();
  }));
  $("add-url").addEventListener("click", () => {
    const url = $("ref-url").value.trim();
    if (!url) return;
    addReference(url, url);
    $("ref-url").value = "";
  });
  $("ref-url").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); $("add-url").click(); }
  });
  $("ref-file").addEventListener("change", async () => {
    await addFiles([...$("ref-file").files]);
    $("ref-file").value = "";
  });
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("generate").disabled) generate();
  });
  $("cancel").addEventListener("click", () => state.controller?.abort());
}

async function main() {
  await init();
  state.facts = getModelFacts();
  buildPickers(state.facts);
  const remembered = localStorage.getItem(KEY_KEY);
  if (remembered) { $("api-key").value = remembered; $("remember-key").checked = true; }
  wire();
  await describeBackend();
  renderRuns();
  check();
  await resumePending();
}

main().catch((error) => {
  $("backend").textContent = `The page could not start: ${error.message}`;
  $("backend").className = "badge error";
});

// The result panel: progress with an estimate, then the images or what went wrong. It stays
// in view (sticky beside the form on a laptop; scrolled to on a phone) and takes the focus.
import { $, el, safeImageUrl, dollars, seconds, slug } from "./dom.js";
import { recentDurations } from "./history.js";
import { localize, msg, list, moment } from "./i18n.js";

/** Brings a node of the result panel into view and gives it the focus, without a jump. */
function reveal(node) {
  node.scrollIntoView({ block: "nearest", behavior: "instant" });
  node.focus({ preventScroll: true });
}

/** The middle of the recent run times at this resolution, or null with none yet. */
function estimateMs(resolution) {
  const times = recentDurations(resolution).sort((a, b) => a - b);
  return times.length ? { ms: times[Math.floor(times.length / 2)], count: times.length } : null;
}

/** Shows the progress box and ticks it until stopped: status, elapsed time, estimated bar.
 *  Texts are those of the catalog (ui/i18n.js), so a change of language redraws them. */
export function startProgress({ label, resolution, startedAt = Date.now() }) {
  const estimate = estimateMs(resolution);
  hideProblem();
  dimGallery(true);
  $("progress").hidden = false;
  localize($("progress-status"), label);
  $("progress-run").textContent = "";
  const bar = $("progress-bar");
  if (estimate) bar.value = 0; else bar.removeAttribute("value"); // indeterminate without history
  const tick = () => {
    const elapsed = Date.now() - startedAt;
    localize($("progress-time"), seconds(elapsed));
    if (!estimate) {
      localize($("progress-estimate"), msg("progress.noEstimate", { resolution }));
      return;
    }
    bar.value = Math.min(elapsed / estimate.ms, 0.97);
    const left = estimate.ms - elapsed;
    const basis = msg("progress.basis", { n: estimate.count, resolution });
    localize($("progress-estimate"), left > 0 ? msg("progress.left", { left: seconds(left), basis, usual: seconds(estimate.ms) })
      : msg("progress.longer", { basis, usual: seconds(estimate.ms) }));
  };
  tick();
  const timer = setInterval(tick, 200);
  reveal($("progress"));
  return {
    status: (text) => localize($("progress-status"), text),
    run: (id) => { $("progress-run").textContent = id; },
    stop: () => { clearInterval(timer); $("progress").hidden = true; },
  };
}

function hideProblem() {
  $("problem").hidden = true;
}

/** An earlier result stays under a new run's progress or error, dimmed so it is not mistaken
 *  for the outcome. */
const dimGallery = (dim) => $("gallery").classList.toggle("stale", dim);

/** An error (red) or a notice (neutral): a title, what to do, and the details (texts of the
 *  catalog, or strings shown as they are). */
export function showProblem({ tone = "error", title, fix, detail = "", actions = [], focus = true }) {
  const box = $("problem");
  box.className = `problem ${tone}`;
  box.setAttribute("role", tone === "error" ? "alert" : "status");
  localize($("problem-title"), title);
  localize($("problem-fix"), fix);
  localize($("problem-detail"), detail);
  $("problem-actions").replaceChildren(...actions);
  box.hidden = false;
  dimGallery(true);
  if (focus) reveal(box);
}

let objectUrls = [];

/** A link-styled button that puts a run's prompt and settings back into the form. */
export function reuseButton(run, onReuse) {
  const button = el("button", { type: "button", class: "link", textContent: msg("result.reuse") });
  button.addEventListener("click", () => onReuse?.(run));
  return button;
}

/** A finished run's images (kept copies first, else the URLs), its cost, times and settings. */
export function showRun(run, { onReuse, focus = true } = {}) {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
  hideProblem();
  const [w, h] = String(run.aspect_ratio ?? "1:1").split(":").map(Number);
  const price = dollars(run.costUsd);
  const sources = run.images?.length
    ? run.images.map((blob) => { const url = URL.createObjectURL(blob); objectUrls.push(url); return url; })
    : (run.urls ?? []).map(safeImageUrl);
  const figures = sources.map((src, index) => {
    if (!src) return el("p", { class: "problem error", textContent: msg("result.badUrl") });
    const img = el("img", { src, alt: msg("result.alt", { i: index + 1, prompt: run.prompt ?? run.id }), referrerPolicy: "no-referrer" });
    if (w && h) img.style.aspectRatio = `${w} / ${h}`;
    const name = `gpt-image-2_${String(run.aspect_ratio ?? "").replace(":", "x")}_${run.resolution ?? ""}_${slug(run.prompt ?? "")}_${run.id}${sources.length > 1 ? `_${index + 1}` : ""}.png`
      .replace(/_+/g, "_");
    const open = el("a", { href: src, target: "_blank", rel: "noopener noreferrer", textContent: msg("result.open") });
    const download = el("button", { type: "button", class: "secondary", textContent: msg("result.download") });
    download.addEventListener("click", () => downloadImage(src, name));
    const cost = price ? [el("span", run.simulated
      ? { class: "cost", textContent: msg("result.simulated", { price }), title: msg("result.simulatedTitle") }
      : { class: "cost", textContent: msg("result.charged", { price }), title: msg("result.chargedTitle") })] : [];
    return el("figure", {}, img, el("figcaption", {}, open, download, ...cost));
  });
  const facts = list([run.aspect_ratio, run.resolution, run.references ? msg("result.references", { n: run.references }) : "",
    run.createdAt ? moment(run.createdAt) : "", run.durationMs ? msg("result.took", { time: seconds(run.durationMs) }) : ""], "dot");
  const reuse = reuseButton(run, onReuse);
  const note = run.images?.length || !run.urls?.length ? [] : [el("p", { class: "hint keep-note", textContent: msg("result.expiring") })];
  const summary = el("div", { class: "run-summary" },
    el("p", { class: "run-summary-prompt", textContent: run.prompt ?? "" }),
    el("p", { class: "hint" }, el("span", { class: "mono", textContent: run.id }), " · ", el("span", { textContent: facts }), " · ", reuse), ...note);
  $("gallery").replaceChildren(...figures, summary);
  $("gallery").dataset.run = run.id;
  dimGallery(false);
  if (focus) reveal($("gallery"));
}

/** Generated URLs expire: save a copy. Cross-origin images are fetched into a blob first. */
async function downloadImage(url, name) {
  try {
    const blob = url.startsWith("blob:") ? null : await (await fetch(url)).blob();
    const href = blob ? URL.createObjectURL(blob) : url;
    el("a", { href, download: name }).click();
    if (blob) setTimeout(() => URL.revokeObjectURL(href), 10_000);
  } catch {
    window.open(url, "_blank", "noopener");
  }
}

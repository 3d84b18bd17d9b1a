// The result panel: progress with an estimate, then the images or what went wrong. It stays
// in view (sticky beside the form on a laptop; scrolled to on a phone) and takes the focus.
import { $, el, safeImageUrl, dollars, seconds, slug, when } from "./dom.js";
import { recentDurations } from "./history.js";

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

/** Shows the progress box and ticks it until stopped: status, elapsed time, estimated bar. */
export function startProgress({ label, resolution, startedAt = Date.now() }) {
  const estimate = estimateMs(resolution);
  hideProblem();
  dimGallery(true);
  $("progress").hidden = false;
  $("progress-status").textContent = label;
  $("progress-run").textContent = "";
  const bar = $("progress-bar");
  if (estimate) bar.value = 0; else bar.removeAttribute("value"); // indeterminate without history
  const tick = () => {
    const elapsed = Date.now() - startedAt;
    $("progress-time").textContent = seconds(elapsed);
    if (!estimate) {
      $("progress-estimate").textContent = `No estimate yet for ${resolution}: runs of this model usually take tens of seconds.`;
      return;
    }
    bar.value = Math.min(elapsed / estimate.ms, 0.97);
    const left = estimate.ms - elapsed;
    const basis = `estimate from your last ${estimate.count === 1 ? "run" : `${estimate.count} runs`} at ${resolution}`;
    $("progress-estimate").textContent = left > 0 ? `About ${seconds(left)} left (${basis}, ${seconds(estimate.ms)})`
      : `Taking longer than usual (${basis}, ${seconds(estimate.ms)})`;
  };
  tick();
  const timer = setInterval(tick, 200);
  reveal($("progress"));
  return {
    status: (text) => { $("progress-status").textContent = text; },
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

/** An error (red) or a notice (neutral): a title, what to do, and the details. */
export function showProblem({ tone = "error", title, fix, detail = "", actions = [], focus = true }) {
  const box = $("problem");
  box.className = `problem ${tone}`;
  box.setAttribute("role", tone === "error" ? "alert" : "status");
  $("problem-title").textContent = title;
  $("problem-fix").textContent = fix;
  $("problem-detail").textContent = detail;
  $("problem-actions").replaceChildren(...actions);
  box.hidden = false;
  dimGallery(true);
  if (focus) reveal(box);
}

let objectUrls = [];

/** A link-styled button that puts a run's prompt and settings back into the form. */
export function reuseButton(run, onReuse) {
  const button = el("button", { type: "button", class: "link", textContent: "Use these settings" });
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
    if (!src) return el("p", { class: "problem error", textContent: "An image URL was refused: it is not http(s)." });
    const img = el("img", { src, alt: `Generated image ${index + 1} for: ${run.prompt ?? run.id}`, referrerPolicy: "no-referrer" });
    if (w && h) img.style.aspectRatio = `${w} / ${h}`;
    const name = `gpt-image-2_${String(run.aspect_ratio ?? "").replace(":", "x")}_${run.resolution ?? ""}_${slug(run.prompt ?? "")}_${run.id}${sources.length > 1 ? `_${index + 1}` : ""}.png`
      .replace(/_+/g, "_");
    const open = el("a", { href: src, target: "_blank", rel: "noopener noreferrer", textContent: "Open" });
    const download = el("button", { type: "button", class: "secondary", textContent: "Download" });
    download.addEventListener("click", () => downloadImage(src, name));
    const cost = price ? [el("span", run.simulated
      ? { class: "cost", textContent: `${price} · simulated`, title: "What this run would cost; the simulator charges nothing" }
      : { class: "cost", textContent: `Charged ${price}`, title: "What the API charged for this run (costUsd)" })] : [];
    return el("figure", {}, img, el("figcaption", {}, open, download, ...cost));
  });
  const facts = [run.aspect_ratio, run.resolution, run.references ? `${run.references} reference${run.references === 1 ? "" : "s"}` : "",
    run.createdAt ? when(run.createdAt) : "", run.durationMs ? `took ${seconds(run.durationMs)}` : ""].filter(Boolean).join(" · ");
  const reuse = reuseButton(run, onReuse);
  const note = run.images?.length || !run.urls?.length ? [] : [el("p", { class: "hint keep-note", textContent: "Generated links are not permanent: download what you want to keep." })];
  const summary = el("div", { class: "run-summary" },
    el("p", { class: "run-summary-prompt", textContent: run.prompt ?? "" }),
    el("p", { class: "hint" }, el("span", { class: "mono", textContent: run.id }), ` · ${facts} · `, reuse), ...note);
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

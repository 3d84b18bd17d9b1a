// The form: pickers built from the model's facts, live validation on every keystroke, the
// price next to Generate and a verdict that says what is missing.
import { validateInput, promptLength, estimateCost } from "../pkg/index.js";
import { $, el, dollars } from "./dom.js";
import { state } from "./state.js";
import { referenceEntries } from "./references.js";
import { connectionProblem, simulated, renderConnection } from "./connection.js";
import { localize, msg, list, validationOptions } from "./i18n.js";

/** The model page's example prompts, as they are there; their names are the catalog's. */
export const PRESETS = [
  { name: "preset.infographic", prompt: "A detailed scientific infographic of an integrated biohybrid artificial photosynthesis platform for solar-to-fuel conversion, with labeled cross-section diagrams, molecular structures, efficiency charts, and process flow annotations", ratio: "1:1" },
  { name: "preset.pcCafe", prompt: "A photorealistic candid shot of a young man in a light grey Covernat hoodie sitting at station 139 in a premium PC cafe, focused on his laptop screen, soft window light mixing with monitor glow, shallow depth of field", ratio: "3:2" },
  { name: "preset.uiMockup", prompt: "A pixel-perfect recreation of the YouTube homepage UI with a left sidebar showing Home, Shorts, Subscriptions, History, and Explore sections, a top navigation bar with search and profile icon, category filter chips, and an 8-video thumbnail grid with realistic titles, channel names, view counts, and duration stamps", ratio: "16:9" },
  { name: "preset.lamp", prompt: "一张陶瓷台灯的电影级产品照片", ratio: "4:5" },
];

const checked = (name) => document.querySelector(`input[name="${name}"]:checked`)?.value;

export function formInput() {
  const input = { prompt: $("prompt").value, aspect_ratio: checked("aspect_ratio"), resolution: checked("resolution") };
  const references = referenceEntries();
  if (references.length) input.image_urls = references;
  return input;
}

/** Puts a run's settings back into the form (reopened from the history). */
export function fillForm({ prompt, aspect_ratio, resolution }) {
  if (typeof prompt === "string") { $("prompt").value = prompt; state.promptTouched = true; }
  for (const [name, value] of [["aspect_ratio", aspect_ratio], ["resolution", resolution]]) {
    const input = document.querySelector(`input[name="${name}"][value="${CSS.escape(String(value))}"]`);
    if (input) input.checked = true;
  }
  check();
}

/** The pixel size of a resolution at a ratio: the long side is facts.longSidePx[resolution]. */
export function pixelSize(resolution, ratio) {
  const long = state.facts.longSidePx?.[resolution];
  const [w, h] = String(ratio).split(":").map(Number);
  if (!long || !w || !h) return null;
  return w >= h ? [long, Math.floor(long * h / w)] : [Math.floor(long * w / h), long];
}

export function buildPickers() {
  const facts = state.facts;
  // index.html holds the same pickers for the first paint; they are made again from the facts.
  $("ratios").replaceChildren();
  $("resolutions").replaceChildren();
  for (const ratio of facts.aspectRatios) {
    const [w, h] = ratio.split(":").map(Number);
    const shape = el("span", { class: "shape", "aria-hidden": "true" });
    shape.style.aspectRatio = `${w} / ${h}`;
    shape.style.width = w >= h ? "28px" : `${Math.round(28 * w / h)}px`;
    const input = el("input", { type: "radio", name: "aspect_ratio", value: ratio, checked: ratio === facts.defaultAspectRatio });
    $("ratios").append(el("label", { class: "ratio" }, input, shape, el("span", {}, ratio)));
  }
  for (const resolution of facts.resolutions) {
    const input = el("input", { type: "radio", name: "resolution", value: resolution, checked: resolution === facts.defaultResolution });
    $("resolutions").append(el("label", {}, input, el("span", { class: "res-name", textContent: resolution }),
      el("span", { class: "res-size" }), el("span", { class: "visually-hidden res-reason" })));
  }
  // Their sizes and availability at once: the pickers must look as index.html drew them.
  offerResolutions();
}

/** Sizes in pixels for the chosen ratio; resolutions the ratio does not allow are disabled,
 *  with the reason on hover, for screen readers and in the note. */
function offerResolutions() {
  const facts = state.facts;
  const ratio = checked("aspect_ratio");
  const allowed = facts.resolutionsByAspectRatio[ratio] ?? [];
  const notes = [];
  for (const input of document.querySelectorAll('input[name="resolution"]')) {
    const label = input.closest("label");
    const available = allowed.includes(input.value);
    const restricted = facts.aspectRatiosByResolution[input.value];
    const reason = available || !restricted ? "" : msg("resolution.needs", { resolution: input.value, ratios: list(restricted, "or") });
    input.disabled = !available && !input.checked;
    label.classList.toggle("unavailable", !available);
    localize(label, reason, "title");
    localize(label.querySelector(".res-reason"), reason ? msg("resolution.unavailable", { reason }) : "");
    const size = available && pixelSize(input.value, ratio);
    label.querySelector(".res-size").textContent = size ? `${size[0]}×${size[1]}` : "";
    if (reason) notes.push(reason);
  }
  localize($("resolution-note"), notes.length ? list(notes, "sentence") : msg("resolution.all"));
}

function renderIssues(result) {
  const lists = ["prompt", "aspect_ratio", "resolution", "image_urls", "other"];
  const grouped = Object.fromEntries(lists.map((name) => [name, []]));
  for (const issue of [...result.issues, ...result.warnings]) {
    const field = issue.path.split("[")[0];
    (grouped[field] ?? grouped.other).push(issue);
  }
  // An empty prompt on a page nobody has typed in yet is not an error to shout about.
  if (!state.promptTouched) grouped.prompt = grouped.prompt.filter((issue) => issue.code !== "prompt_missing" && issue.code !== "prompt_empty");
  for (const name of lists) {
    $(`${name}-issues`).replaceChildren(...grouped[name].map((issue) => el("li", { class: issue.severity },
      el("span", { class: "where", textContent: issue.path || "input" }), " ",
      el("span", { textContent: issue.message }))));
  }
  $("prompt").setAttribute("aria-invalid", String(grouped.prompt.some((i) => i.severity === "error")));
}

/** The price of one image with the current input, next to Generate. */
function renderEstimate(input) {
  const price = dollars(estimateCost(input));
  const note = price && simulated() ? msg("estimate.simulated") : "";
  $("estimate").replaceChildren(...(price
    ? [el("strong", { textContent: msg("estimate.price", { price }) }), el("span", { class: "note", textContent: note })]
    : []));
}

/** Runs on every keystroke: validation, messages, price and whether Generate may be pressed. */
export function check() {
  offerResolutions();
  renderConnection();
  const input = formInput();
  const length = promptLength(input.prompt);
  $("count").textContent = `${length} / ${state.facts.promptMaxLength}`;
  $("count").classList.toggle("over", length > state.facts.promptMaxLength);
  // In the chosen language when the package speaks it (English: no options, the fast path).
  const result = validateInput(input, validationOptions());
  renderIssues(result);
  renderEstimate(input);
  const busy = state.controller !== null;
  // A prompt of only whitespace is valid to the API (a warning), but a paid run that follows no
  // description is never what someone at this page wants.
  const blank = result.warnings.some((issue) => issue.code === "prompt_blank");
  const blocked = connectionProblem() ?? (blank ? msg("verdict.blank") : null);
  $("generate").disabled = !result.ok || busy || blocked !== null;
  const problems = result.issues.length;
  localize($("verdict"), busy ? msg("verdict.busy")
    : !state.promptTouched && !input.prompt ? msg("verdict.begin")
    : problems ? msg("verdict.problems", { n: problems })
    : blocked ?? msg(result.warnings.length ? "verdict.warnings" : "verdict.ready"));
  // Only when there is something listed to bring into view (not the fresh page's empty prompt).
  $("show-problems").hidden = busy || !document.querySelector(".field-issues li");
  return result;
}

export function setupForm(onGenerate) {
  $("form").addEventListener("input", (event) => {
    if (event.target.id === "prompt") state.promptTouched = true;
    if (event.target.id !== "ref-url" && event.target.id !== "ref-file") check();
  });
  // index.html holds the same chips for the first paint.
  for (const chip of $("presets").querySelectorAll(".chip")) chip.remove();
  for (const [index, preset] of PRESETS.entries()) {
    const button = el("button", { type: "button", class: "chip", textContent: msg(preset.name) });
    button.addEventListener("click", () => fillForm({ prompt: preset.prompt, aspect_ratio: preset.ratio }));
    $("presets").append(button);
    button.dataset.preset = String(index);
  }
  // The list of problems may be out of sight (under the sticky bar on a phone): bring the
  // first one into view.
  $("show-problems").addEventListener("click", () => {
    const first = document.querySelector(".field-issues li");
    first?.scrollIntoView({ block: "center" });
    first?.closest(".field, fieldset")?.querySelector("textarea, input:not([disabled])")?.focus({ preventScroll: true });
  });
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("generate").disabled) onGenerate();
  });
  // Ctrl+Enter (⌘+Enter on a Mac) generates from anywhere on the page, the result included.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!$("generate").disabled) onGenerate();
    }
  });
}

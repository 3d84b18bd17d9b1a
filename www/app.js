// Live validation demo: every keystroke is checked by the wasm module.
// Nothing from the user is ever inserted as HTML: text only.
import init, { validateInput, getModelFacts, promptLength } from "../pkg/runbase_image.js";

const $ = (id) => document.getElementById(id);

function option(value, label = value) {
  const el = document.createElement("option");
  el.value = value;
  el.textContent = label;
  return el;
}

function formInput(facts) {
  const input = { prompt: $("prompt").value, aspect_ratio: $("aspect_ratio").value };
  if ($("resolution").value) input.resolution = $("resolution").value;
  const urls = $("image_urls").value.split("\n").filter((line) => line.trim() !== "");
  if (urls.length) input.image_urls = urls;
  return input;
}

function render(result, facts, prompt) {
  const length = typeof prompt === "string" ? promptLength(prompt) : 0;
  $("count").textContent = `${length} / ${facts.promptMaxLength}`;
  $("count").classList.toggle("over", length > facts.promptMaxLength);
  $("verdict").textContent = result.ok
    ? result.warnings.length ? "ready to send, with warnings" : "ready to send"
    : `${result.issues.length} problem${result.issues.length === 1 ? "" : "s"}`;
  $("verdict").className = result.ok ? "ok" : "bad";
  const list = $("issues");
  list.replaceChildren(...[...result.issues, ...result.warnings].map((issue) => {
    const li = document.createElement("li");
    li.className = issue.severity;
    const where = document.createElement("code");
    where.textContent = issue.path || "input";
    const code = document.createElement("span");
    code.className = "code";
    code.textContent = issue.code;
    const text = document.createElement("p");
    text.textContent = issue.message;
    li.append(where, " ", code, text);
    return li;
  }));
  $("normalized").textContent = result.ok ? JSON.stringify(result.value, null, 2) : "—";
}

function offerResolutions(facts) {
  const select = $("resolution");
  const allowed = facts.resolutionsByAspectRatio[$("aspect_ratio").value] ?? [];
  for (const opt of select.options) {
    const restricted = facts.aspectRatiosByResolution[opt.value];
    opt.disabled = !allowed.includes(opt.value);
    opt.textContent = opt.disabled && restricted
      ? `${opt.value} (only ${restricted.join(", ")})`
      : opt.value;
  }
}

async function main() {
  await init();
  const facts = getModelFacts();
  facts.aspectRatios.forEach((r) => $("aspect_ratio").append(option(r)));
  facts.resolutions.forEach((r) => $("resolution").append(option(r)));
  $("aspect_ratio").value = facts.defaultAspectRatio;
  $("resolution").value = facts.defaultResolution;

  const fromForm = () => {
    offerResolutions(facts);
    const input = formInput(facts);
    $("raw").value = JSON.stringify(input, null, 2);
    render(validateInput(input), facts, input.prompt);
  };
  const fromRaw = () => {
    let input;
    try {
      input = JSON.parse($("raw").value);
    } catch (e) {
      $("verdict").textContent = "not JSON";
      $("verdict").className = "bad";
      $("issues").replaceChildren();
      return;
    }
    render(validateInput(input), facts, input?.prompt);
  };
  for (const id of ["prompt", "aspect_ratio", "resolution", "image_urls"]) {
    $(id).addEventListener("input", fromForm);
  }
  $("raw").addEventListener("input", fromRaw);
  fromForm();
}

main().catch((e) => {
  $("verdict").textContent = `could not load the module: ${e.message}`;
  $("verdict").className = "bad";
});

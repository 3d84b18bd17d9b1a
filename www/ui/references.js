// Reference images: URLs, or files picked, dropped anywhere on the page or pasted. A file goes
// to the library as a Blob; one over the API's limit is first fitted by the library
// (fitReferenceImage), and the page says what was done to it.
import { fitReferenceImage, validateInput } from "../pkg/index.js";
import { $, el, safeImageUrl, megabytes } from "./dom.js";
import { state } from "./state.js";

/** { entry: string | Blob, label, detail, preview } in the order they are sent. */
const references = [];
let changed = () => {};

/** What goes into `image_urls`: URL strings and Blobs, as the library takes them. */
export function referenceEntries() {
  return references.map((ref) => ref.entry);
}

const full = () => references.length >= state.facts.maxImageUrls;

function add(ref) {
  references.push(ref);
  render();
  changed();
}

/** At the limit the add controls are disabled and say why. */
function offerAdding() {
  const limit = state.facts.maxImageUrls;
  for (const id of ["ref-url", "add-url", "ref-file"]) $(id).disabled = full();
  $("add-files").classList.toggle("disabled", full());
  $("ref-count").textContent = full() ? `${limit} of ${limit}: remove one to add another.` : references.length ? `${references.length} of ${limit}` : "";
}

function remove(index) {
  const [gone] = references.splice(index, 1);
  if (gone?.preview?.startsWith("blob:")) URL.revokeObjectURL(gone.preview);
  render();
  changed();
}

function render() {
  offerAdding();
  $("refs").replaceChildren(...references.map((ref, index) => {
    const name = `Reference ${index + 1}`;
    const thumb = ref.preview
      ? el("img", { src: ref.preview, alt: `${name}: ${ref.label}`, loading: "lazy", referrerPolicy: "no-referrer" })
      : el("span", { class: "thumb-none", textContent: "not an image URL" });
    const detail = el("span", { class: "ref-detail", textContent: ref.detail ?? "" });
    // Runbase fetches URL references itself: a preview this browser cannot load is only a hint.
    thumb.addEventListener("error", () => thumb.replaceWith(
      el("span", { class: "thumb-none", textContent: "No preview here: Runbase fetches it itself" })), { once: true });
    thumb.addEventListener("load", () => {
      // The pixel size once the preview knows it (a fitted file says it already).
      if (thumb.naturalWidth && !detail.textContent.includes("×")) {
        detail.textContent = [ref.detail, `${thumb.naturalWidth}×${thumb.naturalHeight}`].filter(Boolean).join(", ");
      }
    }, { once: true });
    const removeButton = el("button", { type: "button", class: "remove", textContent: "×", "aria-label": `Remove ${name.toLowerCase()}` });
    removeButton.addEventListener("click", () => remove(index));
    return el("li", {}, el("span", { class: "ref-number", textContent: String(index + 1), "aria-hidden": "true" }), thumb,
      el("span", { class: "ref-label", textContent: ref.label, title: ref.label }), detail, removeButton);
  }));
}

/** Adds a URL the model accepts; otherwise says why under the field and keeps the text. */
function addUrl(url) {
  const [problem] = validateInput({ prompt: "-", image_urls: [url] }).issues;
  if (problem) {
    $("ref-url-issue").textContent = problem.message;
    $("ref-url").setAttribute("aria-invalid", "true");
    return false;
  }
  let label = url;
  try { const parsed = new URL(url); if (parsed.protocol !== "data:") label = `${parsed.host}${parsed.pathname}`; } catch { /* shown as given */ }
  if (url.startsWith("data:")) label = "pasted data URL";
  add({ entry: url, label, preview: safeImageUrl(url) });
  return true;
}

/** Files from the picker, a drop or the clipboard; images over the limit are fitted first. */
export async function addFiles(files) {
  const limit = state.facts.maxImageBytes;
  const notes = [];
  const noRoom = (name) => notes.push(`${name} was not added: ${state.facts.maxImageUrls} references is the most a run takes.`);
  for (const file of files) {
    const name = file.name || "pasted image";
    if (full()) { noRoom(name); continue; }
    if (!file.type.startsWith("image/")) { notes.push(`${name} is not an image (${file.type || "unknown type"}).`); continue; }
    if (file.size <= limit) {
      add({ entry: file, label: name, detail: megabytes(file.size), preview: URL.createObjectURL(file) });
      continue;
    }
    $("ref-status").textContent = `Reducing ${name} (${megabytes(file.size)}) to fit ${megabytes(limit)}…`;
    try {
      const fitted = await fitReferenceImage(file, { maxBytes: limit });
      // Another file or URL may have taken the last place while this one was being fitted.
      if (full()) { noRoom(name); continue; }
      add({
        entry: fitted.blob, label: name, preview: URL.createObjectURL(fitted.blob),
        detail: `${megabytes(fitted.bytes)}, ${fitted.width}×${fitted.height}, reduced from ${megabytes(fitted.originalBytes)}`
          + (fitted.width === fitted.originalWidth ? "" : ` at ${fitted.originalWidth}×${fitted.originalHeight}`),
      });
      notes.push(`${name} was ${megabytes(fitted.originalBytes)}: reduced to ${megabytes(fitted.bytes)} to fit the ${megabytes(limit)} limit.`);
    } catch (error) {
      notes.push(`${name} could not be reduced to ${megabytes(limit)}: ${error.message}`);
    }
  }
  $("ref-status").textContent = notes.join(" ");
}

const imageFiles = (transfer) => [...(transfer?.files ?? [])];

export function setupReferences(onChange) {
  changed = onChange;
  $("add-url").addEventListener("click", () => {
    const url = $("ref-url").value.trim();
    if (url && addUrl(url)) $("ref-url").value = "";
  });
  $("ref-url").addEventListener("input", () => {
    $("ref-url-issue").textContent = "";
    $("ref-url").setAttribute("aria-invalid", "false");
  });
  $("ref-url").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); $("add-url").click(); }
  });
  $("ref-file").addEventListener("change", async () => {
    await addFiles([...$("ref-file").files]);
    $("ref-file").value = "";
  });
  // A file dropped anywhere is a reference, never a navigation away from the page.
  let depth = 0;
  const zone = $("ref-zone");
  document.addEventListener("dragenter", (event) => {
    if (!event.dataTransfer?.types.includes("Files")) return;
    depth++;
    zone.classList.add("dropping");
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("dropping");
  });
  document.addEventListener("dragover", (event) => {
    if (!event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("drop", (event) => {
    depth = 0;
    zone.classList.remove("dropping");
    if (!event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    addFiles(imageFiles(event.dataTransfer));
  });
  // An image pasted anywhere (a screenshot, a copied picture) is a reference; text pastes as text.
  document.addEventListener("paste", (event) => {
    const files = imageFiles(event.clipboardData).filter((file) => file.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    addFiles(files);
  });
}

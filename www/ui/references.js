// Reference images: URLs, or files picked, dropped anywhere on the page or pasted. A file goes
// to the library as a Blob; one over the API's limit is first fitted by the library
// (fitReferenceImage), and the page says what was done to it.
import { fitReferenceImage, validateInput } from "../pkg/index.js";
import { $, el, safeImageUrl, megabytes } from "./dom.js";
import { state } from "./state.js";
import { localize, msg, list, validationOptions, onLanguageChange } from "./i18n.js";

/** { entry: string | Blob, label, detail, preview } in the order they are sent (label and
 *  detail: texts of the catalog or strings). */
const references = [];
let changed = () => {};
/** The URL whose problem is shown under the field, or null. */
let refused = null;

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
  localize($("ref-count"), full() ? msg("refs.full", { limit }) : references.length ? msg("refs.count", { n: references.length, limit }) : "");
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
    const i = index + 1;
    const thumb = ref.preview
      ? el("img", { src: ref.preview, alt: msg("refs.alt", { i, label: ref.label }), loading: "lazy", referrerPolicy: "no-referrer" })
      : el("span", { class: "thumb-none", textContent: msg("refs.notImage") });
    const detail = el("span", { class: "ref-detail", textContent: ref.detail ?? "" });
    // Runbase fetches URL references itself: a preview this browser cannot load is only a hint.
    thumb.addEventListener("error", () => thumb.replaceWith(
      el("span", { class: "thumb-none", textContent: msg("refs.noPreview") })), { once: true });
    thumb.addEventListener("load", () => {
      // The pixel size once the preview knows it (a fitted file says it already).
      if (thumb.naturalWidth && !ref.sized) {
        ref.detail = list([ref.detail, `${thumb.naturalWidth}×${thumb.naturalHeight}`]);
        ref.sized = true;
        localize(detail, ref.detail);
      }
    }, { once: true });
    const removeButton = el("button", { type: "button", class: "remove", textContent: "×", "aria-label": msg("refs.remove", { i }) });
    removeButton.addEventListener("click", () => remove(index));
    return el("li", {}, el("span", { class: "ref-number", textContent: String(index + 1), "aria-hidden": "true" }), thumb,
      el("span", { class: "ref-label", textContent: ref.label, title: ref.label }), detail, removeButton);
  }));
}

/** Says under the field why the model refuses `url`; false when it does not. */
function showRefusal(url) {
  const [problem] = validateInput({ prompt: "-", image_urls: [url] }, validationOptions()).issues;
  refused = problem ? url : null;
  $("ref-url-issue").textContent = problem?.message ?? "";
  $("ref-url").setAttribute("aria-invalid", String(Boolean(problem)));
  return Boolean(problem);
}

/** Adds a URL the model accepts; otherwise says why under the field and keeps the text. */
function addUrl(url) {
  if (showRefusal(url)) return false;
  let label = url;
  try { const parsed = new URL(url); if (parsed.protocol !== "data:") label = `${parsed.host}${parsed.pathname}`; } catch { /* shown as given */ }
  if (url.startsWith("data:")) label = msg("refs.dataUrl");
  add({ entry: url, label, preview: safeImageUrl(url) });
  return true;
}

/** Files from the picker, a drop or the clipboard; images over the limit are fitted first. */
export async function addFiles(files) {
  const limit = state.facts.maxImageBytes;
  const notes = [];
  const noRoom = (name) => notes.push(msg("refs.noRoom", { name, max: state.facts.maxImageUrls }));
  for (const file of files) {
    const name = file.name || msg("refs.pasted");
    if (full()) { noRoom(name); continue; }
    if (!file.type.startsWith("image/")) { notes.push(msg("refs.notAnImage", { name, type: file.type || msg("refs.unknownType") })); continue; }
    if (file.size <= limit) {
      add({ entry: file, label: name, detail: megabytes(file.size), preview: URL.createObjectURL(file) });
      continue;
    }
    localize($("ref-status"), msg("refs.reducing", { name, size: megabytes(file.size), limit: megabytes(limit) }));
    try {
      const fitted = await fitReferenceImage(file, { maxBytes: limit });
      // Another file or URL may have taken the last place while this one was being fitted.
      if (full()) { noRoom(name); continue; }
      add({
        entry: fitted.blob, label: name, preview: URL.createObjectURL(fitted.blob), sized: true,
        detail: msg(fitted.width === fitted.originalWidth ? "refs.fitted" : "refs.fittedScaled", {
          size: megabytes(fitted.bytes), width: fitted.width, height: fitted.height, original: megabytes(fitted.originalBytes),
          originalWidth: fitted.originalWidth, originalHeight: fitted.originalHeight,
        }),
      });
      notes.push(msg("refs.reduced", { name, original: megabytes(fitted.originalBytes), size: megabytes(fitted.bytes), limit: megabytes(limit) }));
    } catch (error) {
      notes.push(msg("refs.notReduced", { name, limit: megabytes(limit), message: error.message }));
    }
  }
  localize($("ref-status"), list(notes, "sentence"));
}

const imageFiles = (transfer) => [...(transfer?.files ?? [])];

export function setupReferences(onChange) {
  changed = onChange;
  // A refused URL's problem is the validator's message: asked again in the new language.
  onLanguageChange(() => { if (refused !== null) showRefusal(refused); });
  $("add-url").addEventListener("click", () => {
    const url = $("ref-url").value.trim();
    if (url && addUrl(url)) $("ref-url").value = "";
  });
  $("ref-url").addEventListener("input", () => {
    refused = null;
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

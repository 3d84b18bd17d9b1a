// The run history, kept in this browser's IndexedDB: every run with its prompt, settings, cost,
// times and (for the newest ones) its images, since generated URLs are not permanent. Images are
// Blobs in memory and stored as their bytes: WebKit refuses to store a Blob in an ephemeral
// session (Safari's private windows, WebDriver), and with it the whole record.
// Bounded: MAX_RUNS runs, images for the newest MAX_WITH_IMAGES of them.
import { $, el, dollars, seconds, stored } from "./dom.js";
import { localize, msg, list, moment, tr, runStatus } from "./i18n.js";

const DB = "runbase-demo";
const STORE = "runs";
const MAX_RUNS = 40;
const MAX_WITH_IMAGES = 12;
const OLD_KEY = "runbase-demo-runs"; // the localStorage list of earlier versions of this page

let db = null;
let runs = []; // newest first; the in-memory copy every render reads
let writes = Promise.resolve(); // one write at a time, in order

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

/** Opens the store and reads it; without IndexedDB (some private modes) history lasts the tab. */
export async function openHistory() {
  try {
    const opening = indexedDB.open(DB, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: "id" });
    db = await request(opening);
    // A connection the browser closes (storage cleared, Safari's lost server) is not used again.
    db.onclose = () => { db = null; lost(); };
    const kept = await request(db.transaction(STORE).objectStore(STORE).getAll());
    for (const run of kept) {
      if (findRun(run.id)) continue;
      if (run.images) run.images = run.images.map((i) => (i instanceof Blob ? i : new Blob([i.bytes], { type: i.type })));
      runs.push(run);
    }
  } catch {
    db = null;
    lost();
  }
  let old = [];
  try { old = JSON.parse(stored.get(OLD_KEY)) ?? []; } catch { /* unreadable: dropped */ }
  for (const run of Array.isArray(old) ? old : []) {
    if (typeof run?.id === "string" && !findRun(run.id)) runs.push({ createdAt: 0, ...run });
  }
  stored.remove(OLD_KEY);
  sort();
  await persist(runs);
}

function lost() {
  localize($("history-note"), msg("history.lost"));
}

function sort() {
  runs.sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
}

/** A run as stored: its images as bytes with their type. */
const storable = async (run) => (run.images
  ? { ...run, images: await Promise.all(run.images.map(async (blob) => ({ type: blob.type, bytes: await blob.arrayBuffer() }))) }
  : run);

function persist(changed, removed = []) {
  if (!db) return writes;
  // One write at a time, in order; a failed one (a closed connection) never stops the next.
  writes = writes.then(async () => {
    try {
      // Read first: a transaction left idle while bytes are read would close.
      const records = await Promise.all(changed.map(storable));
      await new Promise((resolve) => {
        const tx = db.transaction(STORE, "readwrite");
        for (const run of records) tx.objectStore(STORE).put(run);
        for (const id of removed) tx.objectStore(STORE).delete(id);
        tx.oncomplete = tx.onerror = tx.onabort = () => resolve();
      });
    } catch {
      // dropped; the next write goes on
    }
  });
  return writes;
}

export const allRuns = () => runs;
export const findRun = (id) => runs.find((run) => run.id === id);

/** Merges what is known about a run into its record (a field given as undefined is kept).
 *  Only a new run (`create`) makes a record: an update for a run that was cleared or trimmed
 *  away is dropped, never kept as a record without prompt or settings. */
export function saveRun(changes, { create = false } = {}) {
  const update = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
  let run = findRun(update.id);
  if (run) Object.assign(run, update);
  else if (create) { run = { createdAt: Date.now(), ...update }; runs.unshift(run); sort(); }
  else return undefined;
  // Bounds: the oldest runs go; older runs keep their URLs but not their image bytes.
  const gone = runs.splice(MAX_RUNS);
  gone.forEach(forgetThumb);
  const removed = gone.map((r) => r.id);
  const trimmed = runs.filter((r) => r.images).slice(MAX_WITH_IMAGES);
  for (const old of trimmed) { forgetThumb(old); delete old.images; }
  persist([run, ...trimmed], removed);
  renderHistory();
  return run;
}

/** Keeps a copy of a finished run's images; a host that refuses (CORS) leaves the URLs only. */
export async function keepImages(run) {
  const images = [];
  for (const url of run.urls ?? []) {
    try {
      const answer = await fetch(url);
      if (!answer.ok) return;
      images.push(await answer.blob());
    } catch { return; }
  }
  if (!images.length) return;
  saveRun({ id: run.id, images });
  // A copy is kept now: the warning that the links expire no longer applies to this result.
  document.querySelector(`#gallery[data-run="${CSS.escape(run.id)}"] .keep-note`)?.remove();
}

/** How long recent runs at this resolution took, newest first (for the progress estimate). */
export function recentDurations(resolution, count = 5) {
  return runs.filter((r) => r.status === "succeeded" && r.resolution === resolution && r.durationMs > 0)
    .slice(0, count).map((r) => r.durationMs);
}

/** The status a person reads (a text of the catalog): "stopped waiting" for a run they left
 *  that may still finish; and the name of its style. */
function statusOf(run) {
  if (run.detached && !finished(run)) return { text: msg("status.stopped"), style: "stoppedwaiting" };
  return run.status ? { text: runStatus(run.status), style: String(run.status) } : { text: msg("status.unknown"), style: "unknown" };
}

export const finished = (run) => run.status === "succeeded" || run.status === "failed";

let open = () => {};
const thumbUrls = new WeakMap(); // Blob → its object URL, made once

/** Lets go of a run's thumbnail URL, so its image's bytes can be freed. */
function forgetThumb(run) {
  const url = run.images?.[0] && thumbUrls.get(run.images[0]);
  if (url) URL.revokeObjectURL(url);
}

export function setupHistory(onOpen, onClear) {
  open = onOpen;
  $("clear-history").addEventListener("click", () => {
    if (!runs.length || !confirm(tr("history.confirmClear"))) return;
    onClear();
    const ids = runs.map((r) => r.id);
    runs.forEach(forgetThumb);
    runs = [];
    persist([], ids);
    renderHistory();
  });
}

export function renderHistory() {
  $("clear-history").hidden = !runs.length;
  if (!runs.length) { $("runs").replaceChildren(el("li", { class: "empty", textContent: msg("history.empty") })); return; }
  $("runs").replaceChildren(...runs.map((run) => {
    const status = statusOf(run);
    const price = dollars(run.costUsd);
    const cost = price ? (run.status === "failed" ? msg("history.refunded", { price }) : price) : "";
    let thumb = el("span", { class: "run-thumb", "aria-hidden": "true" });
    const image = run.images?.[0];
    if (image) {
      if (!thumbUrls.has(image)) thumbUrls.set(image, URL.createObjectURL(image));
      thumb = el("img", { class: "run-thumb", src: thumbUrls.get(image), alt: "" });
    }
    const button = el("button", { type: "button", class: "run", "aria-label": msg("history.open", { id: run.id, status: status.text, prompt: run.prompt ?? "" }) },
      thumb,
      el("span", { class: "run-main" },
        el("span", { class: "run-line" },
          el("span", { class: `status status-${status.style.replace(/[^a-z_]/g, "")}`, textContent: status.text }), " ",
          el("span", { class: "mono run-id", textContent: run.id }), " ",
          ...(cost ? [el("span", { class: "cost", textContent: cost, title: msg(run.simulated ? "history.simulatedTitle" : "history.chargedTitle") }), " "] : [])),
        el("span", { class: "run-prompt", textContent: run.prompt ?? "" }),
        el("span", { class: "run-meta", textContent: list([run.aspect_ratio, run.resolution, run.createdAt ? moment(run.createdAt) : "", run.durationMs ? seconds(run.durationMs) : ""], "dot") })));
    button.addEventListener("click", () => open(run));
    return el("li", {}, button);
  }));
}

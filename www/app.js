// The demo page's entry. It uses the package exactly as a user's page would; each concern is a
// module of ./ui/: the form and its validation, the references, the connection, the history,
// the result panel, and the page's language.
import init, { getModelFacts } from "./pkg/index.js";
import { $, el, dollars } from "./ui/dom.js";
import { loadStrings, localize, msg, onLanguageChange, preferredLanguage, runStatus, setupLanguageSwitch, useLanguage } from "./ui/i18n.js";
import { state } from "./ui/state.js";
import { buildPickers, check, fillForm, formInput, setupForm } from "./ui/form.js";
import { setupReferences } from "./ui/references.js";
import { askForToken, client, connection, detectBackend, proxyConnection, rememberKeyIfAsked, setupConnection, simulated } from "./ui/connection.js";
import { openHistory, saveRun, keepImages, renderHistory, setupHistory, allRuns, findRun, finished } from "./ui/history.js";
import { startProgress, showProblem, showRun, reuseButton } from "./ui/result.js";
import { explain } from "./ui/errors.js";

/** Runs followed without the progress box (left by Cancel, or found on reload). */
const quiet = new Map();
/** The run the Cancel notice on screen is about. */
let noticeFor = null;

/** Follows one piece of work with the progress box and Cancel; null when it did not succeed. */
async function follow(options, work) {
  noticeFor = null;
  state.controller = new AbortController();
  check();
  const progress = startProgress(options);
  try {
    return await work(state.controller.signal, progress);
  } catch (error) {
    failed(error, options.conn);
    return null;
  } finally {
    progress.stop();
    state.controller = null;
    check();
  }
}

function failed(error, conn = connection()) {
  const run = error.runId ? findRun(error.runId) : null;
  if (error.kind === "aborted" || error.kind === "timeout") {
    // Runbase has no cancel: the run goes on and is charged unless it fails. Keep following it
    // quietly, so its image shows up in the history when it is done.
    const price = dollars(run?.costUsd);
    if (run) { saveRun({ id: run.id, detached: true }); noticeFor = run.id; followQuietly(run); }
    showProblem({
      tone: "notice",
      title: msg(error.kind === "aborted" ? "run.stopped" : "run.tooLong"),
      fix: !run ? msg("run.unknown") : price && !run.simulated ? msg("run.mayFinishCharged", { price }) : msg("run.mayFinish"),
      detail: run ? msg("run.id", { id: run.id }) : "",
    });
    return;
  }
  const shown = explain(error, conn);
  // Signed-in users only: the token field comes up, after the problem that says why.
  if (error.kind === "auth" && conn.mode === "proxy") queueMicrotask(() => askForToken({ focus: false }));
  // Given up while following (the network, an unreadable answer): the run itself may go on.
  // It is marked as left, followed quietly, and can be opened again from the history.
  if (run && !finished(run) && error.kind !== "run_failed") {
    saveRun({ id: run.id, detached: true });
    followQuietly(run);
  }
  if (run) {
    const price = dollars(run.costUsd);
    // Said once: the simulator's message says it already, Runbase's may not.
    if (error.kind === "run_failed" && price && !/refunded/i.test(shown.detail)) shown.detail = [shown.detail, msg("run.refunded", { price })];
    saveRun({ id: run.id, status: error.kind === "run_failed" ? "failed" : run.status, error: { title: shown.title, detail: shown.detail } });
  }
  showProblem(shown);
}

/** Records a run that just succeeded, keeps a copy of its images, and shows it if asked. */
function succeeded(run, startedAt, show) {
  const server = Date.parse(run.completedAt) - Date.parse(run.createdAt);
  const fields = {
    id: run.id, status: run.status, urls: run.output?.urls ?? [], costUsd: run.costUsd, detached: false,
    finishedAt: Date.now(), durationMs: Number.isFinite(server) && server > 0 ? server : startedAt ? Date.now() - startedAt : undefined,
  };
  // A run the history no longer holds (cleared meanwhile) is still shown, not recorded.
  const record = saveRun(fields) ?? fields;
  if (show) showRun(record, { onReuse: fillForm });
  keepImages(record);
}

async function generate() {
  const input = formInput();
  const conn = connection();
  rememberKeyIfAsked(conn);
  const startedAt = Date.now();
  const result = await follow({ label: msg("status.sending"), resolution: input.resolution ?? state.facts.defaultResolution, conn, startedAt },
    (signal, progress) => client(conn).generate(input, {
      signal,
      onCreate: (run) => {
        progress.run(run.id);
        progress.status(runStatus(run.status));
        saveRun({
          id: run.id, status: run.status, prompt: input.prompt, aspect_ratio: input.aspect_ratio, resolution: input.resolution,
          references: input.image_urls?.length ?? 0, mode: conn.mode, baseUrl: conn.baseUrl, costUsd: run.costUsd,
          simulated: simulated(conn), createdAt: startedAt,
        }, { create: true });
      },
      onUpdate: (run) => {
        progress.status(runStatus(run.status));
        saveRun({ id: run.id, status: run.status, costUsd: run.costUsd });
      },
    }));
  if (result) succeeded(result.run, startedAt, true);
}

/** The connection a stored run was made on; null when it needs a key the page does not have. */
function connectionOf(run) {
  if (!run.baseUrl) return null;
  if (run.mode !== "key") return proxyConnection(run.baseUrl);
  const apiKey = $("api-key").value.trim();
  return apiKey ? { mode: "key", baseUrl: run.baseUrl, apiKey } : null;
}

/** Follows a run that is not finished, with the progress box. */
async function resume(run) {
  const conn = connectionOf(run);
  if (!conn) {
    showProblem({ tone: "notice", title: msg("run.needsKey"), fix: msg("run.needsKeyFix"), detail: msg("run.id", { id: run.id }) });
    return;
  }
  saveRun({ id: run.id, detached: false });
  const done = await follow({ label: msg("progress.resumed", { status: runStatus(run.status ?? "pending") }), resolution: run.resolution, conn, startedAt: run.createdAt || Date.now() },
    (signal, progress) => {
      progress.run(run.id);
      return client(conn).waitForRun(run.id, {
        signal,
        onUpdate: (r) => { progress.status(msg("progress.resumed", { status: runStatus(r.status) })); saveRun({ id: r.id, status: r.status, costUsd: r.costUsd }); },
      });
    });
  if (done) succeeded(done, null, true);
}

/** Follows a run without the progress box, so the history fills in when it finishes. */
async function followQuietly(run) {
  const conn = connectionOf(run);
  if (!conn || quiet.has(run.id)) return;
  const controller = new AbortController();
  quiet.set(run.id, controller);
  try {
    const done = await client(conn).waitForRun(run.id, {
      signal: controller.signal,
      onUpdate: (r) => saveRun({ id: r.id, status: r.status, costUsd: r.costUsd }),
    });
    succeeded(done, null, false);
    // The notice left by Cancel now says the run is done, with a way to see it.
    if (noticeFor === run.id && !$("problem").hidden) {
      const open = el("button", { type: "button", class: "secondary", textContent: msg("run.show") });
      open.addEventListener("click", () => openRun(findRun(run.id) ?? { ...run, status: "succeeded", urls: done.output?.urls ?? [] }));
      showProblem({ tone: "notice", title: msg("run.finished"), fix: msg("run.finishedFix"), detail: msg("run.id", { id: run.id }), actions: [open], focus: false });
    }
  } catch (error) {
    if (error.kind === "run_failed") saveRun({ id: run.id, status: "failed", error: { title: explain(error, run).title, detail: error.message } });
  } finally {
    quiet.delete(run.id);
  }
}

/** Stops following quietly (the history was cleared). */
function stopQuiet() {
  for (const controller of quiet.values()) controller.abort();
  quiet.clear();
  noticeFor = null;
}

/** A run chosen in the history: its images, its error, or its progress when not finished. */
function openRun(run) {
  noticeFor = null;
  if (run.status === "succeeded") { showRun(run, { onReuse: fillForm }); return; }
  if (run.status === "failed") {
    showProblem({ title: run.error?.title ?? msg("run.failed"), fix: msg("run.failedFix"), detail: run.error?.detail ?? msg("run.id", { id: run.id }), actions: [reuseButton(run, fillForm)] });
    return;
  }
  if (state.controller) { showProblem({ tone: "notice", title: msg("run.another"), fix: msg("run.anotherFix"), detail: msg("run.id", { id: run.id }) }); return; }
  quiet.get(run.id)?.abort();
  resume(run);
}

async function main() {
  setupLanguageSwitch();
  // Another language's strings load beside the .wasm; the package's messages in it after.
  const lang = preferredLanguage();
  loadStrings(lang);
  await init();
  await useLanguage(lang);
  state.facts = getModelFacts();
  buildPickers();
  // The history first: a run made before it was read would be lost when it arrived.
  await openHistory();
  setupConnection(check);
  setupReferences(check);
  setupForm(generate);
  setupHistory(openRun, stopQuiet);
  $("cancel").addEventListener("click", () => state.controller?.abort());
  renderHistory();
  check();
  // A change of language draws again what is drawn from state (the rest follows by itself).
  onLanguageChange(() => { check(); renderHistory(); });
  await detectBackend();
  check();
  // After a reload: the newest run that was being watched is followed again in view; runs left
  // by Cancel are followed quietly.
  const pending = allRuns().filter((run) => !finished(run) && run.baseUrl);
  const [first] = pending.filter((run) => !run.detached);
  for (const run of pending) if (run !== first) followQuietly(run);
  if (first) await resume(first);
}

main().catch((error) => {
  localize($("backend"), msg("page.failed", { message: error.message }));
  $("backend").className = "badge error";
});

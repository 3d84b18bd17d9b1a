// Shared by the end-to-end tests: a real server on 127.0.0.1 and Debian's headless Chromium
// (Playwright gives each launch a fresh temporary profile).
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ARTIFACTS = join(ROOT, "test-results");

/** Starts a process that prints its URL, resolves once the URL answers. */
export async function startServer(command, args, { env = {}, ready, cwd = ROOT }) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk;
      const found = ready(output);
      if (found) { clearTimeout(timer); resolve(found); }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${output}`)); });
  });
  return { url, child, output: () => output, stop: () => child.kill("SIGTERM") };
}

export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** The project's own server (simulator mode), built by scripts/test before the e2e tests. */
export async function startSimulator({ runMs = 1500, extra = [], env = {} } = {}) {
  const server = await startServer(join(ROOT, "target", "debug", "runbase-server"),
    ["--listen", "127.0.0.1:0", "--sim-run-ms", String(runMs), "--test-faults", ...extra], {
      env,
      ready: (out) => out.match(/listening on (http:\/\/[^\s/]+)/)?.[1],
    });
  server.faults = async (faults) => {
    const answer = await fetch(`${server.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ faults }) });
    if (!answer.ok) throw new Error(`fault control: ${answer.status}`);
  };
  return server;
}

/** A page on the server's origin without the demo's CSP, with the built package imported
 *  and initialised as `window.lib`. */
export async function openPackagePage(browser, server) {
  const page = await browser.newPage();
  await page.goto(`${server.url}/__runbase/backend`);
  await page.evaluate(async () => {
    window.lib = await import("/pkg/index.js");
    await window.lib.default();
  });
  return page;
}

export function screenshotPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

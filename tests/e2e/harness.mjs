// Shared by the end-to-end tests: a real server on 127.0.0.1 and Debian's headless Chromium
// (Playwright gives each launch a fresh temporary profile).
import { spawn, execFileSync } from "node:child_process";
import { createServer, connect } from "node:net";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { Builder, Capabilities } from "selenium-webdriver";
import * as chrome from "selenium-webdriver/chrome.js";
import * as firefox from "selenium-webdriver/firefox.js";

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

/** The engines every browser test of the package runs in, by the names the docs use. */
export const ENGINES = ["chromium", "firefox", "webkit"];

/** A WebDriver session (selenium-webdriver) in one of ENGINES, with Debian's browsers: Chromium
 *  and Firefox ESR headless through chromedriver and geckodriver, WebKitGTK's MiniBrowser
 *  through WebKitWebDriver (it needs an X display: scripts/test runs under Xvfb). `quit()`
 *  ends the session and its driver. */
export async function launchEngine(engine) {
  const driverPath = (name) => execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  let driver;
  if (engine === "chromium") {
    const options = new chrome.Options().setChromeBinaryPath(process.env.CHROMIUM ?? "/usr/bin/chromium")
      .addArguments("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking");
    driver = await new Builder().forBrowser("chrome").setChromeOptions(options)
      .setChromeService(new chrome.ServiceBuilder(process.env.CHROMEDRIVER ?? "/usr/bin/chromedriver")).build();
  } else if (engine === "firefox") {
    const options = new firefox.Options().setBinary("/usr/bin/firefox-esr").addArguments("-headless");
    driver = await new Builder().forBrowser("firefox").setFirefoxOptions(options)
      .setFirefoxService(new firefox.ServiceBuilder(driverPath("geckodriver"))).build();
  } else if (engine === "webkit") {
    const port = await freePort();
    const server = spawn(driverPath("WebKitWebDriver"), [`--port=${port}`], { stdio: "ignore" });
    try {
      await waitForPort(port);
      driver = await new Builder().usingServer(`http://127.0.0.1:${port}`)
        .withCapabilities(new Capabilities().set("browserName", "MiniBrowser")).build();
    } catch (e) {
      server.kill();
      throw e;
    }
    const quit = driver.quit.bind(driver);
    driver.quit = async () => { try { await quit(); } finally { server.kill(); } };
  } else {
    throw new Error(`no engine ${engine}`);
  }
  await driver.manage().setTimeouts({ script: 120_000 });
  return driver;
}

const freePort = () => new Promise((resolve, reject) => {
  const probe = createServer().once("error", reject).listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const open = await new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1", () => { socket.end(); resolve(true); }).once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
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
 *  and initialised as `window.lib`; `browser` may be a browser context (pages of one context
 *  share Web Locks and BroadcastChannels, as tabs do). */
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

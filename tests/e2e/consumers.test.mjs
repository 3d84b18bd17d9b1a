// The quick start where web developers build: the packed package installed as a user
// installs it into the apps of tests/consumers/ (pinned in their lock files, installed by
// scripts/setup), each built with its own tools and run for real: pages in headless
// Chromium, servers in their own runtime. Every app validates a wrong input (no request) and
// makes an image through the simulator. The proxy of runbase-image/server runs where web apps
// are deployed (Next.js on Node and edge, Express, Hono, Deno.serve, Bun.serve, Workers), each
// answering the package's own client, keyless, at /api/runbase. The apps' files are the
// snippets of the README (its quick start) and of docs/USAGE.md (every setting), word for word
// (the first test), so the docs cannot drift from what runs here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT, startServer, startSimulator, launchChromium, screenshotPath } from "./harness.mjs";

const CONSUMERS = join(ROOT, "tests", "consumers");
const QUICKSTART = join(CONSUMERS, "quickstart");
const KEY = "sk-sim-consumer";
let tarball, browser, simulator;

/** `timeout` (ms): a program that has done its work must also exit (nothing of the package's
 *  may keep a process alive). */
function run(command, args, cwd, env = {}, timeout = 0) {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], timeout });
  } catch (e) {
    const why = e.signal === "SIGTERM" && timeout ? `did not exit within ${timeout / 1000} s` : "failed";
    throw new Error(`${command} ${args.join(" ")} ${why}:\n${e.stdout}${e.stderr}`);
  }
}

/** tests/consumers/NAME with its pinned tools (scripts/setup installs them; again here only if
 *  the lock file changed since), the tarball installed, and the quick start's files copied in. */
function app(name, files = ["image.js"]) {
  const dir = join(CONSUMERS, name);
  run(join(ROOT, "scripts", "consumer-install"), [dir], ROOT);
  run("npm", ["install", "--no-save", "--no-audit", "--no-fund", tarball], dir);
  for (const file of files) copyFileSync(join(QUICKSTART, file), join(dir, file));
  return dir;
}

before(async () => {
  const work = mkdtempSync(join(tmpdir(), "runbase-quickstart-"));
  tarball = join(work, JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work, join(ROOT, "pkg")], ROOT))[0].filename);
  simulator = await startSimulator({ runMs: 600 });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  simulator?.stop();
});

/** What every app prints or shows: the wrong input's problem (no request made) and the image. */
async function assertQuickStart(result, where, imageType) {
  assert.deepEqual(Object.keys(result ?? {}), ["wrong", "made"], `${where}: ${JSON.stringify(result)}`);
  assert.equal(result.wrong.problems.length, 1, where);
  assert.match(result.wrong.problems[0], /^Resolution 4K is only available with aspect ratios "16:9", "9:16" or "21:9"/, where);
  assert.equal(result.made.urls.length, 1, where);
  assert.equal(result.made.costUsd, 120000, `${where}: a 4K run costs $0.12`);
  imageType ??= (await fetch(result.made.urls[0])).headers.get("content-type");
  assert.equal(imageType, "image/png", `${where}: the image`);
}

/** A port nothing listens on now (for tools that want one named). */
const freePort = () => new Promise((resolve) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

/** The two inputs of the quick start POSTed to a server's handler, answered as the apps show them. */
async function postedResult(url) {
  const post = async (input) => {
    const answer = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(input) });
    assert.equal(answer.status, 200, `${url}: ${await answer.clone().text()}`);
    return answer.json();
  };
  return {
    wrong: await post({ prompt: "A ceramic lamp", resolution: "4K" }),
    made: await post({ prompt: "A ceramic lamp", aspect_ratio: "16:9", resolution: "4K" }),
  };
}

/** The quick start run by the package's own client in Node (the runtimes app's main.mjs, with
 *  no key) against a proxy handler at `baseUrl`: what a page does through it. */
async function throughHandler(runtimes, baseUrl) {
  const env = { ...process.env, RUNBASE_BASE_URL: baseUrl, NO_COLOR: "1" };
  delete env.RUNBASE_API_KEY;
  try {
    const { stdout } = await promisify(execFile)("node", ["main.mjs"], { cwd: runtimes, env, timeout: 30_000 });
    return JSON.parse(stdout);
  } catch (e) {
    throw new Error(`node main.mjs through ${baseUrl} failed:\n${e.stdout ?? ""}${e.stderr ?? e.message}`);
  }
}

/** A consumer app's server holding the key (upstream: the simulator) on a free port, once it
 *  prints "listening on"; the quick start through its /api/runbase, then the server stopped. */
async function assertThroughServer(name, runtimes, command, args, cwd) {
  const port = await freePort();
  const server = await startServer(command, args, {
    cwd, env: { RUNBASE_API_KEY: KEY, RUNBASE_BASE_URL: `${simulator.url}/sim/v1`, PORT: String(port), NO_COLOR: "1" },
    ready: (out) => /listening on http:\/\/127\.0\.0\.1:\d+/i.test(out) && `http://127.0.0.1:${port}`,
  });
  try {
    await assertQuickStart(await throughHandler(runtimes, `${server.url}/api/runbase`), name);
  } finally {
    server.stop();
  }
}

/** Opens a page and reads its <output> once filled in, or the first error it threw. */
async function pageResult(url, name) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(url);
    const thrown = new Promise((resolve) => page.once("pageerror", resolve));
    await Promise.race([page.waitForFunction(() => document.querySelector("output")?.textContent, null, { timeout: 30_000 }), thrown]);
    await page.screenshot({ path: screenshotPath(`quickstart-${name}.png`) });
    if (errors.length) return { errors };
    const result = JSON.parse(await page.textContent("output"));
    // The image as the page's origin serves it (its server stops after the page).
    const imageType = await page.evaluate((url) => fetch(url).then((r) => r.headers.get("content-type")), result.made?.urls?.[0]);
    return { result, errors, imageType };
  } finally {
    await page.close();
  }
}

/** The built app's directory served by runbase-server, whose /api/v1 is the proxy. */
async function servedPage(www, name) {
  const server = await startSimulator({ runMs: 600, extra: ["--www", www] });
  try {
    return await pageResult(`${server.url}/`, name);
  } finally {
    server.stop();
  }
}

test("the docs' snippets are the apps' files, word for word", () => {
  const read = (path) => readFileSync(join(ROOT, path), "utf8");
  const app = (file) => readFileSync(join(CONSUMERS, file), "utf8");
  const quickstart = ["quickstart/image.js", "quickstart/main.js"];
  const everySetting = [...quickstart, "runtimes/main.mjs", "runtimes/main.cjs",
    "next/app/page.js", "next/app/api/image/route.js", "next/app/client/page.js", "workers/worker.js",
    "bundlers/rollup.fixed.config.mjs",
    // runbase-image/server: the key-holding proxy in the app.
    "next/app/api/runbase/[...path]/route.js", "next/app/proxied/page.js", "server-node/express.mjs", "server-node/hono.mjs",
    "runtimes/serve-deno.mjs", "runtimes/serve-bun.mjs", "workers/proxy-worker.js"];
  // The README's quick start, docs/USAGE.md's every setting, and the package's own README
  // (npm's page), which leads with the same two files as the README.
  for (const [doc, files] of [["README.md", quickstart], ["docs/USAGE.md", everySetting], ["js/README.md", quickstart]]) {
    const text = read(doc);
    for (const file of files) {
      assert.ok(text.includes("```js\n" + app(file) + "```\n"), `${doc} lacks tests/consumers/${file} as a js block, word for word`);
    }
  }
  // And neither the README nor docs/USAGE.md has a js block that is not one of those files.
  for (const doc of ["README.md", "docs/USAGE.md"]) {
    for (const [, block] of read(doc).matchAll(/^```js\n([\s\S]*?)^```\n/gm)) {
      assert.ok(everySetting.some((file) => app(file) === block), `${doc} has a js block that is no file of tests/consumers/:\n${block}`);
    }
  }
});

test("Node ESM, Deno and Bun run main.mjs; Node CommonJS runs main.cjs; none calls init() for itself", async () => {
  const dir = app("runtimes");
  const env = { RUNBASE_API_KEY: KEY, RUNBASE_BASE_URL: `${simulator.url}/sim/v1`, NO_COLOR: "1" };
  const runs = {
    "node main.mjs": ["node", ["main.mjs"]],
    "deno main.mjs": [join(dir, "node_modules", ".bin", "deno"), ["run", "--allow-env", "--allow-net", "--allow-read", "main.mjs"]],
    "bun main.mjs": [join(dir, "node_modules", ".bin", "bun"), ["main.mjs"]],
    "node main.cjs": ["node", ["main.cjs"]],
  };
  for (const [name, [command, args]] of Object.entries(runs)) {
    await assertQuickStart(JSON.parse(run(command, args, dir, env, 60_000)), name);
  }
  // Each runtime took an entry that loads the .wasm at import (its condition: deno, bun, node;
  // require for CommonJS): validateInput answers with no init() at all (the browser entry
  // would throw not_initialized).
  const probe = "import('runbase-image').then((m) => console.log(typeof m.validateInput({ prompt: 'x' }).ok))";
  const deno = join(dir, "node_modules", ".bin", "deno");
  for (const [command, args] of [["node", ["--input-type=module", "-e", probe]], [deno, ["eval", probe]], [join(dir, "node_modules", ".bin", "bun"), ["-e", probe]],
    ["node", ["-e", "console.log(typeof require('runbase-image').validateInput({ prompt: 'x' }).ok)"]]]) {
    assert.equal(run(command, args, dir, env).trim(), "boolean", `${command} ${args[0]}: validateInput before any init()`);
  }
  assert.equal(run("node", ["-e", "console.log(require.resolve('runbase-image'))"], dir).trim().endsWith("index.cjs"), true);
});

test("Rollup with node-resolve alone fails at start naming the one fix; with that plugin it works", async () => {
  const dir = app("bundlers", ["image.js", "main.js"]);
  for (const [config, out] of [["rollup.config.mjs", "dist-rollup"], ["rollup.fixed.config.mjs", "dist-rollup-fixed"]]) {
    rmSync(join(dir, out), { recursive: true, force: true });
    const built = spawnSync("npx", ["rollup", "-c", config, "--dir", out], { cwd: dir, encoding: "utf8" });
    assert.equal(built.status, 0, built.stderr);
    copyFileSync(join(dir, "index.html"), join(dir, out, "index.html"));
  }
  const broken = await servedPage(join(dir, "dist-rollup"), "rollup-without-plugin");
  assert.equal(broken.result, undefined);
  assert.match(broken.errors[0], /^Could not load runbase_image_bg\.wasm from http:\/\/127\.0\.0\.1:\d+\/runbase_image_bg\.wasm \(HTTP 404\): .*@web\/rollup-plugin-import-meta-assets.*await init\("/);
  const fixed = await servedPage(join(dir, "dist-rollup-fixed"), "rollup");
  assert.deepEqual(fixed.errors, []);
  await assertQuickStart(fixed.result, "rollup + importMetaAssets", fixed.imageType);
});

test("webpack 5 (no config) and vite build: the page works as built", async () => {
  const dir = app("bundlers", ["image.js", "main.js"]);
  rmSync(join(dir, "dist-webpack"), { recursive: true, force: true });
  run("npx", ["webpack", "--mode", "production", "--entry", "./main.js", "--output-path", "dist-webpack"], dir);
  writeFileSync(join(dir, "dist-webpack", "index.html"), readFileSync(join(dir, "index.html"), "utf8"));
  const webpack = await servedPage(join(dir, "dist-webpack"), "webpack");
  assert.deepEqual(webpack.errors, []);
  await assertQuickStart(webpack.result, "webpack", webpack.imageType);

  const built = spawnSync("npx", ["vite", "build", "--logLevel", "warn", "--outDir", "dist-vite"], { cwd: dir, encoding: "utf8" });
  assert.equal(built.status, 0, built.stdout + built.stderr);
  assert.equal((built.stdout + built.stderr).trim(), "", "vite build warned");
  const vite = await servedPage(join(dir, "dist-vite"), "vite");
  assert.deepEqual(vite.errors, []);
  await assertQuickStart(vite.result, "vite build", vite.imageType);
});

test("Vite's dev server (its dependency pre-bundling included) serves the quick start", async () => {
  const dir = app("bundlers", ["image.js", "main.js"]);
  rmSync(join(dir, "node_modules", ".vite"), { recursive: true, force: true });
  // Vite itself, not through npx: the process that gets the stop signal is the server.
  const dev = await startServer(join(dir, "node_modules", ".bin", "vite"), ["--host", "127.0.0.1", "--port", "0", "--strictPort"], {
    env: { RUNBASE_PROXY: simulator.url }, cwd: dir,
    ready: (out) => out.replace(/\x1b\[[0-9;]*m/g, "").match(/Local:\s+(http:\/\/127\.0\.0\.1:\d+)/)?.[1],
  });
  try {
    const { result, errors } = await pageResult(`${dev.url}/`, "vite-dev");
    assert.deepEqual(errors, []);
    await assertQuickStart(result, "vite dev");
  } finally {
    dev.stop();
  }
});

for (const bundler of ["Turbopack", "webpack"]) {
  test(`Next.js built with ${bundler}: a server component, a route handler (Node and edge), a client component, and the proxy (Node and edge)`, async () => {
    const runtimes = app("runtimes");
    const dir = app("next");
    // The route handler again on the edge runtime (the "edge-light" condition), as its comment
    // says; and the proxy's route (runbase-image/server) on the edge too, at /api/edge/runbase.
    const proxyRoute = join("app", "api", "runbase", "[...path]", "route.js");
    const edgeProxyRoute = join("app", "api", "edge", "runbase", "[...path]", "route.js");
    mkdirSync(join(dir, edgeProxyRoute, ".."), { recursive: true });
    for (const [from, to] of [[join("app", "api", "image", "route.js"), join("app", "api", "edge", "route.js")], [proxyRoute, edgeProxyRoute]]) {
      writeFileSync(join(dir, to), `${readFileSync(join(dir, from), "utf8")}\nexport const runtime = "edge";\n`);
    }
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    // The client component's proxy is another origin: runbase-server lets the app's page in.
    const proxy = await startSimulator({ runMs: 600, extra: ["--allowed-origins", origin] });
    const env = {
      NEXT_TELEMETRY_DISABLED: "1", RUNBASE_API_KEY: KEY, RUNBASE_BASE_URL: `${proxy.url}/sim/v1`,
      NEXT_PUBLIC_RUNBASE_PROXY: `${proxy.url}/api/v1`,
    };
    let server;
    try {
      rmSync(join(dir, ".next"), { recursive: true, force: true });
      const next = join(dir, "node_modules", ".bin", "next");
      const built = run(next, ["build", ...(bundler === "webpack" ? ["--webpack"] : [])], dir, env);
      // The package's names or its .wasm (the route table's /api/runbase/… is no warning).
      assert.doesNotMatch(built, /runbase[-_]|\.wasm/i, "the build warned about the package");
      server = await startServer(next, ["start", "-p", String(port), "-H", "127.0.0.1"], {
        cwd: dir, env, ready: (out) => /Ready in/.test(out) && origin,
      });
      const page = await pageResult(`${origin}/`, `next-${bundler}-server-component`);
      assert.deepEqual(page.errors, []);
      await assertQuickStart(page.result, "server component");
      await assertQuickStart(await postedResult(`${origin}/api/image`), "route handler");
      await assertQuickStart(await postedResult(`${origin}/api/edge`), "route handler on the edge runtime");
      const client = await pageResult(`${origin}/client`, `next-${bundler}-client-component`);
      assert.deepEqual(client.errors, []);
      await assertQuickStart(client.result, "client component");
      // The proxy's route handler (runbase-image/server), Node and edge runtime, keyless.
      await assertQuickStart(await throughHandler(runtimes, `${origin}/api/runbase`), "the proxy's route handler");
      await assertQuickStart(await throughHandler(runtimes, `${origin}/api/edge/runbase`), "the proxy's route handler on the edge runtime");
      // And the page that calls it from the app's own origin (no allowedOrigins): behind
      // `next start` a route handler's request.url says localhost whatever the Host, so the
      // handler also takes the Host's name as its own.
      const proxied = await pageResult(`${origin}/proxied`, `next-${bundler}-proxied-client-component`);
      assert.deepEqual(proxied.errors, []);
      await assertQuickStart(proxied.result, "client component through the proxy's route handler", proxied.imageType);
    } finally {
      server?.stop();
      proxy.stop();
    }
  });
}

/** `wrangler dev` of the workers app (`entry`: its `main`, or the file named), with the key
 *  and the simulator as the Worker's settings. */
async function wranglerDev(dir, entry = []) {
  const port = await freePort();
  // wrangler's own CLI file: its launcher refuses Node 20, which it runs on with a warning.
  return startServer("node", [join(dir, "node_modules", "wrangler", "wrangler-dist", "cli.js"), "dev", ...entry, "--local",
    "--ip", "127.0.0.1", "--port", String(port),
    "--var", `RUNBASE_API_KEY:${KEY}`, "--var", `RUNBASE_BASE_URL:${simulator.url}/sim/v1`], {
    cwd: dir,
    env: { WRANGLER_SEND_METRICS: "false", CI: "1", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
    ready: (out) => out.match(/Ready on (http:\/\/127\.0\.0\.1:\d+)/)?.[1],
  });
}

test("Cloudflare Workers: wrangler dev runs worker.js in workerd (the .wasm a module import)", async () => {
  const worker = await wranglerDev(app("workers"));
  try {
    await assertQuickStart(await postedResult(`${worker.url}/`), "worker");
  } finally {
    worker.stop();
  }
});

test("runbase-image/server in Express and Hono on Node: the proxy at /api/runbase", async () => {
  const runtimes = app("runtimes");
  const dir = app("server-node", []);
  for (const file of ["express.mjs", "hono.mjs"]) {
    await assertThroughServer(`node ${file}`, runtimes, "node", [file], dir);
  }
});

test("runbase-image/server in Deno.serve and Bun.serve: the proxy at /api/runbase", async () => {
  const dir = app("runtimes");
  const bin = join(dir, "node_modules", ".bin");
  await assertThroughServer("deno serve-deno.mjs", dir, join(bin, "deno"), ["run", "--allow-env", "--allow-net", "--allow-read", "serve-deno.mjs"], dir);
  await assertThroughServer("bun serve-bun.mjs", dir, join(bin, "bun"), ["serve-bun.mjs"], dir);
});

test("runbase-image/server in Cloudflare Workers: wrangler dev runs proxy-worker.js", async () => {
  const runtimes = app("runtimes");
  // The same wrangler config; the entry named on the command line instead of its `main`.
  const worker = await wranglerDev(app("workers", []), ["proxy-worker.js"]);
  try {
    await assertQuickStart(await throughHandler(runtimes, `${worker.url}/api/runbase`), "proxy-worker.js");
  } finally {
    worker.stop();
  }
});

// The quick start where web developers build: the packed package installed as a user
// installs it into the apps of tests/consumers/ (pinned in their lock files, installed by
// scripts/setup), each built with its own tools and run for real: pages in headless
// Chromium, servers in their own runtime. Every app validates a wrong input (no request) and
// makes an image through the simulator. The apps' files are the snippets of the README (its
// quick start) and of docs/USAGE.md (every setting), word for word (the first test), so the
// docs cannot drift from what runs here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startServer, startSimulator, launchChromium, screenshotPath } from "./harness.mjs";

const CONSUMERS = join(ROOT, "tests", "consumers");
const QUICKSTART = join(CONSUMERS, "quickstart");
const KEY = "sk-sim-consumer";
let tarball, browser, simulator;

function run(command, args, cwd, env = {}) {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${e.stdout}${e.stderr}`);
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
    "bundlers/rollup.fixed.config.mjs"];
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
    await assertQuickStart(JSON.parse(run(command, args, dir, env)), name);
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
  test(`Next.js built with ${bundler}: a server component, a route handler (Node and edge) and a client component`, async () => {
    const dir = app("next");
    // The route handler again on the edge runtime (the "edge-light" condition), as its comment says.
    mkdirSync(join(dir, "app", "api", "edge"), { recursive: true });
    writeFileSync(join(dir, "app", "api", "edge", "route.js"),
      `${readFileSync(join(dir, "app", "api", "image", "route.js"), "utf8")}\nexport const runtime = "edge";\n`);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    // The client component's proxy is another origin: runbase-server lets the app's page in.
    const proxy = await startSimulator({ runMs: 600, extra: ["--allowed-origins", origin] });
    const env = {
      NEXT_TELEMETRY_DISABLED: "1", RUNBASE_API_KEY: KEY, RUNBASE_BASE_URL: `${proxy.url}/sim/v1`,
      NEXT_PUBLIC_RUNBASE_PROXY: `${proxy.url}/api/v1`,
    };
    rmSync(join(dir, ".next"), { recursive: true, force: true });
    const next = join(dir, "node_modules", ".bin", "next");
    const built = run(next, ["build", ...(bundler === "webpack" ? ["--webpack"] : [])], dir, env);
    assert.doesNotMatch(built, /runbase|\.wasm/i, "the build warned about the package");
    const server = await startServer(next, ["start", "-p", String(port), "-H", "127.0.0.1"], {
      cwd: dir, env, ready: (out) => /Ready in/.test(out) && origin,
    });
    try {
      const page = await pageResult(`${origin}/`, `next-${bundler}-server-component`);
      assert.deepEqual(page.errors, []);
      await assertQuickStart(page.result, "server component");
      await assertQuickStart(await postedResult(`${origin}/api/image`), "route handler");
      await assertQuickStart(await postedResult(`${origin}/api/edge`), "route handler on the edge runtime");
      const client = await pageResult(`${origin}/client`, `next-${bundler}-client-component`);
      assert.deepEqual(client.errors, []);
      await assertQuickStart(client.result, "client component");
    } finally {
      server.stop();
      proxy.stop();
    }
  });
}

test("Cloudflare Workers: wrangler dev runs worker.js in workerd (the .wasm a module import)", async () => {
  const dir = app("workers");
  const port = await freePort();
  // wrangler's own CLI file: its launcher refuses Node 20, which it runs on with a warning.
  const worker = await startServer("node", [join(dir, "node_modules", "wrangler", "wrangler-dist", "cli.js"), "dev", "--local",
    "--ip", "127.0.0.1", "--port", String(port),
    "--var", `RUNBASE_API_KEY:${KEY}`, "--var", `RUNBASE_BASE_URL:${simulator.url}/sim/v1`], {
    cwd: dir,
    env: { WRANGLER_SEND_METRICS: "false", CI: "1", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
    ready: (out) => out.match(/Ready on (http:\/\/127\.0\.0\.1:\d+)/)?.[1],
  });
  try {
    await assertQuickStart(await postedResult(`${worker.url}/`), "worker");
  } finally {
    worker.stop();
  }
});

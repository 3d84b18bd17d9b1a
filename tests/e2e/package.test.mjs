// The packed package (npm pack) installed the way a user installs it, in four consumers:
// a plain HTML page, a Vite app (vite build), a Node 20 script, and a TypeScript check; and
// the ecosystem's own checks of a package (publint, arethetypeswrong, npm publish --dry-run).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startSimulator, launchChromium, screenshotPath } from "./harness.mjs";

const work = mkdtempSync(join(tmpdir(), "runbase-consumers-"));
let tarball, browser;

function run(command, args, cwd) {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${e.stdout}${e.stderr}`);
  }
}

/** A fresh copy of tests/consumers/NAME with the tarball installed as a dependency. */
function consumer(name) {
  const dir = join(work, name);
  cpSync(join(ROOT, "tests", "consumers", name), dir, {
    recursive: true,
    filter: (src) => !src.includes("node_modules") && !src.endsWith("dist"),
  });
  if (!existsSync(join(dir, "package.json"))) writeFileSync(join(dir, "package.json"), '{ "private": true }\n');
  if (existsSync(join(dir, "package-lock.json"))) run("npm", ["ci", "--no-audit", "--no-fund"], dir);
  run("npm", ["install", "--no-save", "--no-audit", "--no-fund", tarball], dir);
  return dir;
}

before(async () => {
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work, join(ROOT, "pkg")], ROOT));
  tarball = join(work, packed[0].filename);
  const files = packed[0].files.map((f) => f.path);
  for (const needed of ["package.json", "index.js", "node.js", "index.cjs", "workerd.js", "edge.js", "index.d.ts", "index.d.cts",
    "runbase_image_bg.wasm", "validate.js", "validate.node.js", "validate.cjs", "validate.d.ts", "runbase_validate_bg.wasm",
    "server.js", "server.node.js", "server.cjs", "server.workerd.js", "server.edge.js", "server.d.ts", "runbase_server_bg.wasm", "LICENSE", "README.md"]) {
    assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
  }
  // Where it comes from and under which licence, as the tarball itself says.
  const manifest = JSON.parse(execFileSync("tar", ["-xOzf", tarball, "package/package.json"], { encoding: "utf8" }));
  const cargo = readFileSync(join(ROOT, "Cargo.toml"), "utf8");
  assert.equal(manifest.license, cargo.match(/^license = "(.+)"/m)[1]);
  assert.match(manifest.repository?.url ?? "", /^git\+https:\/\/github\.com\/.+\.git$/);
  assert.match(manifest.homepage ?? "", /^https:\/\//);
  assert.match(manifest.bugs?.url ?? "", /\/issues$/);
  const license = execFileSync("tar", ["-xOzf", tarball, "package/LICENSE"], { encoding: "utf8" });
  assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 the runbase-image authors\n/);
  assert.equal(license, readFileSync(join(ROOT, "LICENSE"), "utf8"));
  // Each runtime gets its own entry by its export condition; the browser's holds no Node code.
  for (const [path, prefix] of [[".", ""], ["./validate", "validate."], ["./server", "server."]]) {
    const browser = prefix ? `./${prefix}js` : "./index.js";
    assert.deepEqual(Object.keys(manifest.exports[path]), ["types", "workerd", "edge-light", "deno", "bun", "node", "browser", "default"]);
    assert.deepEqual(manifest.exports[path].node, { webpack: `./${prefix}node-webpack.js`, require: `./${prefix || "index."}cjs`, default: `./${prefix}node.js` });
    assert.equal(manifest.exports[path].workerd, `./${prefix}workerd.js`);
    assert.equal(manifest.exports[path].default, browser);
    assert.doesNotMatch(readFileSync(join(ROOT, "pkg", browser), "utf8"), /node:|process\.(?!versions)/);
  }
  // An entry is one file: it imports nothing but, in Workers and edge runtimes, its .wasm.
  for (const file of files.filter((f) => /\.js$/.test(f))) {
    const imports = [...readFileSync(join(ROOT, "pkg", file), "utf8").matchAll(/\bimport\s*[\w{][^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    const wasm = `./runbase_${file.startsWith("validate") ? "validate" : file.startsWith("server") ? "server" : "image"}_bg.wasm`;
    const allowed = /workerd/.test(file) ? [wasm] : /edge/.test(file) ? [`${wasm}?module`] : /node/.test(file) ? ["node:fs", "node:path", "node:url"] : [];
    assert.deepEqual(imports.filter((i) => !allowed.includes(i)), [], `${file} imports ${imports}`);
  }
  // What a browser loads of each entry (its .js and .wasm, gzip -9, as scripts/build counts):
  // the validator alone within 26 KB, the whole package within 57.5 KB (55.1 before the
  // user's access token for a proxy with sign-in, 56.5 before one budget per key shared by
  // its clients: docs/ARCHITECTURE.md).
  const sizes = Object.fromEntries(JSON.parse(readFileSync(join(ROOT, "pkg", "size.json"), "utf8")).entries.map((e) => [e.entry, e.gzip]));
  assert.ok(sizes["runbase-image/validate"] <= 26_000, `runbase-image/validate: ${sizes["runbase-image/validate"]} B gzip`);
  assert.ok(sizes["runbase-image"] <= 57_500, `runbase-image: ${sizes["runbase-image"]} B gzip`);
  browser = await launchChromium();
});
after(async () => { await browser?.close(); });

async function resultOfPage(www, name) {
  const server = await startSimulator({ runMs: 800, extra: ["--www", www] });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.body.dataset.result, null, { timeout: 30_000 });
    const result = JSON.parse(await page.evaluate(() => document.body.dataset.result));
    const size = await page.evaluate(async (url) => {
      const img = new Image();
      img.src = url;
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    }, result.urls?.[0]);
    await page.screenshot({ path: screenshotPath(`consumer-${name}.png`) });
    return { ...result, size, errors };
  } finally {
    server.stop();
  }
}

test("a plain HTML page with <script type=module> and no bundler", async () => {
  const dir = consumer("plain");
  const result = await resultOfPage(dir, "plain");
  assert.equal(result.failure, undefined);
  assert.deepEqual(result.codes, ["resolution_not_allowed_for_aspect_ratio"]);
  assert.deepEqual(result.size, [768, 1024], "3:4 at 1K");
  assert.deepEqual(result.error, { isRunbaseError: true, kind: "validation" });
  assert.deepEqual(result.errors, []);
});

test("a Vite app built with vite build: no warnings, no extra chunk", async () => {
  const dir = consumer("vite");
  // Everything vite build says at "warn" and above, on either stream, must be nothing.
  const built = spawnSync("npx", ["vite", "build", "--logLevel", "warn"], { cwd: dir, encoding: "utf8" });
  assert.equal(built.status, 0, built.stdout + built.stderr);
  assert.equal((built.stdout + built.stderr).trim(), "", "vite build warned (node:fs externalized?)");
  assert.match(readFileSync(join(dir, "dist", "index.html"), "utf8"), /assets\//);
  // One JS chunk (the app with the package) and the .wasm: nothing split off for Node code.
  const assets = readdirSync(join(dir, "dist", "assets"));
  assert.deepEqual(assets.filter((f) => f.endsWith(".js")).length, 1, assets.join(", "));
  assert.equal(assets.filter((f) => f.endsWith(".wasm")).length, 1, assets.join(", "));
  assert.ok(!assets.join("\n").includes("promises"), assets.join(", "));
  const result = await resultOfPage(join(dir, "dist"), "vite");
  assert.equal(result.failure, undefined);
  assert.deepEqual(result.codes, ["resolution_not_allowed_for_aspect_ratio"]);
  assert.equal(result.ratios, 10);
  assert.deepEqual(result.size, [576, 1024], "9:16 at 1K");
  assert.deepEqual(result.error, { isRunbaseError: true, kind: "validation" });
  // A wrong base URL in a browser: the absolute URL that answered and what a base URL is.
  assert.equal(result.wrongBase.status, 405);
  assert.match(result.wrongBase.message, /^Nothing answers at http:\/\/127\.0\.0\.1:\d+\/api\/v2\/runs \(HTTP 405\): check baseUrl — it is the API's base, such as https:\/\/api\.runbase\.net\/v1, or your proxy's, such as \/api\/v1 served by runbase-server; the client appends \/runs$/);
});

test("a Node 20 script with Node's own fetch", async () => {
  const dir = consumer("node");
  const server = await startSimulator({ runMs: 2500 });
  try {
    const out = JSON.parse(run("node", ["main.mjs", `${server.url}/sim/v1`], dir));
    assert.deepEqual(out.codes, [["aspect_ratio_unsupported", "16:9"]]);
    assert.equal(out.urls.length, 1);
    assert.deepEqual(out.statuses, ["pending", "processing", "succeeded"]);
    assert.deepEqual(out.prices, { "1K": 50000, "2K": 70000, "4K": 120000 });
    assert.deepEqual(out.estimates, [50000, 50000, 70000, 120000, null], "8K has no price (undefined)");
    assert.equal(out.costUsd, 120000, "a 4K run costs $0.12");
    assert.equal(out.created.model, "openai/gpt-image-2");
    assert.equal(out.created.status, "pending");
    assert.equal(out.created.costUsd, 120000);
    assert.match(out.created.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(out.created.completedAt, undefined);
    assert.equal(out.run.status, "succeeded");
    assert.equal(out.run.costUsd, 120000);
    assert.equal(out.run.createdAt, out.created.createdAt);
    assert.ok(Date.parse(out.run.completedAt) >= Date.parse(out.run.createdAt) + 2000, `${out.run.createdAt} → ${out.run.completedAt}`);
    assert.deepEqual(out.run.output.urls, out.urls);
    assert.deepEqual(out.error, { isRunbaseError: true, kind: "api", code: "insufficient_balance", status: 402 });
    assert.deepEqual(out.aborted, { isRunbaseError: true, kind: "aborted", hasRunId: true, cause: "user navigated away" }, "the abort reason is the cause");
    assert.equal(out.refused.kind, "network");
    assert.match(out.refused.message, /^Could not connect to http:\/\/127\.0\.0\.1:\d+\/v1\/runs: ECONNREFUSED \(nothing listens there.*\)\. No request reached the server$/);
    assert.doesNotMatch(out.refused.message, /CORS|browser|may or may not/);
    assert.equal(out.refused.retryable, true, "nothing reached a server: safe to make again");
    assert.deepEqual([out.refused.causeIsTypeError, out.refused.causeCode], [true, "ECONNREFUSED"]);
    assert.equal(out.wrongBase.status, 405);
    assert.match(out.wrongBase.message, /^Nothing answers at http:\/\/127\.0\.0\.1:\d+\/v1\/runs \(HTTP 405\): check baseUrl/);
    assert.equal(out.afterAbort, true, "the module still works after an abort with a string reason");
    assert.deepEqual(out.smallFile, { status: "succeeded", fitted: [[0, false, 68]], sameBack: true }, "a small PNG Blob is sent from Node");
    assert.equal(out.bigFile.isRunbaseError, true);
    assert.deepEqual([out.bigFile.kind, out.bigFile.code], ["validation", "invalid_input"]);
    assert.deepEqual(out.bigFile.issues.map(([path, code]) => [path, code]), [["image_urls[0]", "image_url_too_large"]]);
    assert.match(out.bigFile.issues[0][2], /5 MB \(5242880 bytes\), over the 4 MB limit.*cannot re-encode images.*resize or compress/);
    assert.equal(out.bigFile.fetches, 0, "no request for a file Node cannot fit");
    assert.deepEqual(out.bigFileValidation, ["image_url_too_large"]);
    assert.deepEqual(out.bigFileFit, { kind: "validation", code: "image_url_too_large" });
    const png = await fetch(out.urls[0]);
    assert.equal(png.headers.get("content-type"), "image/png");
  } finally {
    server.stop();
  }
});

// The declarations as shipped, each file whole (the entries' and the glue's they import): any
// change to the types users see shows in review as a change to tests/golden/. The members of
// wasm-bindgen's InitOutput are left out: the module's internal exports, renamed at each build.
test("the shipped declarations are the golden ones (RUNBASE_UPDATE_GOLDEN=1 rewrites them)", () => {
  const golden = join(ROOT, "tests", "golden");
  const stale = [];
  for (const file of ["index.d.ts", "validate.d.ts", "runbase_image.d.ts", "runbase_validate.d.ts"]) {
    const shipped = readFileSync(join(ROOT, "pkg", file), "utf8")
      .replace(/(export interface InitOutput \{\n)[^}]*\}/, "$1  // (the module's exports)\n}");
    const path = join(golden, file);
    if (process.env.RUNBASE_UPDATE_GOLDEN) writeFileSync(path, shipped);
    if (!existsSync(path) || readFileSync(path, "utf8") !== shipped) stale.push(file);
  }
  assert.deepEqual(stale, [], "pkg/ declarations differ from tests/golden/: review, then RUNBASE_UPDATE_GOLDEN=1 node --test --test-name-pattern=golden tests/e2e/package.test.mjs");
});

test("TypeScript in a Node-only project (no DOM lib, skipLibCheck off): 0 errors", () => {
  const dir = consumer("typescript-node");
  const config = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8")).compilerOptions;
  assert.deepEqual([config.lib, config.types, config.skipLibCheck, config.strict], [["es2022"], ["node"], false, true]);
  run("npx", ["tsc", "-p", "."], dir); // throws with tsc's errors
});

test("TypeScript node16 in a CommonJS project: the imports compile to require() (no TS1479), typed by the .d.cts files, and run", () => {
  const dir = consumer("typescript-cjs");
  assert.equal(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).type, undefined, "a CommonJS project");
  run("npx", ["tsc", "-p", "."], dir); // throws with tsc's errors
  const emitted = readFileSync(join(dir, "dist", "main.js"), "utf8");
  assert.match(emitted, /require\("runbase-image"\)/);
  assert.match(emitted, /require\("runbase-image\/validate"\)/);
  assert.deepEqual(JSON.parse(run("node", ["dist/main.js"], dir)), [false, false, "resolution_not_allowed_for_aspect_ratio", "function"]);
});

test("TypeScript: every export type-checks, and the deliberately wrong uses do not", () => {
  const dir = consumer("typescript");
  const source = readFileSync(join(dir, "uses-every-export.ts"), "utf8");
  assert.ok((source.match(/@ts-expect-error/g) ?? []).length >= 14);
  // @ts-expect-error fails the build when its line compiles, so a pass proves both halves.
  run("npx", ["tsc", "-p", "."], dir);
  writeFileSync(join(dir, "uses-every-export.ts"), source.replace(/\/\/ @ts-expect-error.*\n/, ""));
  assert.throws(() => run("npx", ["tsc", "-p", "."], dir), /16:10/, "without the directive the wrong line fails");
});

test("Node: a .wasm found nowhere is said at the first call (kind \"load\"), with each place tried and the fix; bytes that are not the module are refused the same way; init(bytes) then works", () => {
  // The Node entry as a server bundler may leave it: no .wasm beside it, no node_modules.
  const dir = mkdtempSync(join(tmpdir(), "runbase-moved-"));
  copyFileSync(join(ROOT, "pkg", "node.js"), join(dir, "server-bundle.mjs"));
  writeFileSync(join(dir, "main.mjs"), `
    import { readFileSync } from "node:fs";
    import init, { initSync, validateInput, RunbaseError } from "./server-bundle.mjs";
    const out = {};
    try { validateInput({ prompt: "x" }); } catch (e) { out.sync = { code: e.code, kind: e.kind, message: e.message }; }
    out.init = await init().then(() => "resolved", (e) => e.code);
    out.initKind = await init().then(() => "resolved", (e) => e.kind);
    // Bytes that do not compile, given to either: the same kind and code, WebAssembly's error as the cause.
    const garbage = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 9]);
    const refused = (e) => ({ isRunbaseError: e instanceof RunbaseError, kind: e.kind, code: e.code, message: e.message, cause: e.cause?.name });
    try { initSync(garbage); } catch (e) { out.initSync = refused(e); }
    out.initBytes = await init(garbage).then(() => "resolved", refused);
    await init(readFileSync(process.argv[2]));
    out.after = validateInput({ prompt: "x" }).ok;
    console.log(JSON.stringify(out));
  `);
  const out = JSON.parse(run("node", ["main.mjs", join(ROOT, "pkg", "runbase_image_bg.wasm")], dir));
  assert.deepEqual([out.sync.code, out.sync.kind, out.init, out.initKind, out.after], ["wasm_not_found", "load", "wasm_not_found", "load", true]);
  for (const refused of [out.initSync, out.initBytes]) {
    assert.deepEqual([refused.isRunbaseError, refused.kind, refused.code, refused.cause], [true, "load", "wasm_not_found", "CompileError"]);
    assert.match(refused.message, /^Could not load runbase_image_bg\.wasm \(CompileError: .*\): give init this package's own \.wasm, its URL, bytes or a WebAssembly\.Module$/);
  }
  assert.equal(out.sync.message, "Could not find runbase_image_bg.wasm (next to the module: ENOENT; next to import.meta.url: ENOENT; " +
    "from the working directory: MODULE_NOT_FOUND). Pass its bytes to init before any other call: " +
    'await init(readFileSync("node_modules/runbase-image/runbase_image_bg.wasm"))');
});

// What the ecosystem checks before a package is published, run on the tarball with the tools
// pinned in the root package-lock.json.
test("the ecosystem's package checks: publint --strict and arethetypeswrong find nothing, npm publish --dry-run warns of nothing but the missing login", () => {
  const bin = (name) => join(ROOT, "node_modules", ".bin", name);
  assert.match(run(bin("publint"), ["--strict", tarball], work), /All good!/);
  // The JS entries in every resolution mode (node10, node16 from CommonJS and from ES modules,
  // bundler); the .wasm subpaths are files to copy, not modules, so they are not asked about.
  const attw = spawnSync(bin("attw"), [tarball, "--entrypoints", ".", "./validate", "./server"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  assert.equal(attw.status, 0, attw.stdout + attw.stderr);
  assert.match(attw.stdout, /No problems found/);
  for (const mode of ["node10", "node16 (from CJS)", "node16 (from ESM)", "bundler"]) assert.ok(attw.stdout.includes(mode), mode);
  const dryRun = spawnSync("npm", ["publish", "--dry-run", tarball], { cwd: work, encoding: "utf8" });
  assert.equal(dryRun.status, 0, dryRun.stderr);
  const warnings = dryRun.stderr.split("\n").filter((l) => /^npm warn/.test(l) && !/requires you to be logged in/.test(l));
  assert.deepEqual(warnings, []);
  assert.match(dryRun.stderr, /runbase-image@\d+\.\d+\.\d+/);
});

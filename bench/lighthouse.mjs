// The demo's load as Lighthouse (npm) judges it in headless Chromium, desktop and mobile
// presets: the built site (dist/: one hashed, minified script, the CSS in the page, the .wasm
// preloaded) against the same page unbuilt (www/, its modules and the package's from /pkg/ one
// by one), both served by runbase-server on the simulator, compressed and cached alike.
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";
import { computeMedianRun } from "lighthouse/core/lib/median-run.js";
import * as chromeLauncher from "chrome-launcher";
import { startSimulator } from "../tests/e2e/harness.mjs";

export const CATEGORIES = ["performance", "accessibility", "best-practices", "seo"];
// Lighthouse's own presets: the default is a mid-range phone on a slow 4G link (simulated).
const PRESETS = { desktop: desktopConfig, mobile: undefined };

/** What one run says (of several, Lighthouse's median run: by first paint and time to
 *  interactive): scores 0–100 and the metrics. */
function summary(lhr) {
  const audit = (id) => lhr.audits[id]?.numericValue;
  const failed = CATEGORIES.flatMap((category) => lhr.categories[category].auditRefs
    .filter((ref) => ref.weight > 0 && lhr.audits[ref.id].score !== null && lhr.audits[ref.id].score < 1)
    .map((ref) => `${category}: ${ref.id} (${lhr.audits[ref.id].displayValue ?? lhr.audits[ref.id].score})`));
  return {
    scores: Object.fromEntries(CATEGORIES.map((c) => [c, Math.round(lhr.categories[c].score * 100)])),
    cls: audit("cumulative-layout-shift"),
    fcpMs: audit("first-contentful-paint"),
    lcpMs: audit("largest-contentful-paint"),
    tbtMs: audit("total-blocking-time"),
    bytes: audit("total-byte-weight"),
    requests: lhr.audits["network-requests"]?.details?.items?.length,
    failed,
  };
}

/** sites: { name: directory served at / }; each site × preset run `runs` times, in a browser
 *  whose language is `lang` (navigator.languages: the demo follows it; "zh-CN" for Chinese). */
export async function lighthouseRuns({ sites, presets = Object.keys(PRESETS), runs, lang = "en-US" }) {
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      `--lang=${lang}`, `--accept-lang=${lang}`],
  });
  const results = {};
  try {
    for (const [name, dir] of Object.entries(sites)) {
      const server = await startSimulator({ extra: ["--www", dir] });
      try {
        for (const preset of presets) {
          const lhrs = [];
          for (let i = 0; i < runs; i++) {
            const { lhr } = await lighthouse(`${server.url}/`, { port: chrome.port, output: "json", logLevel: "error" }, PRESETS[preset]);
            if (lhr.runtimeError) throw new Error(`lighthouse ${name} ${preset}: ${lhr.runtimeError.message}`);
            lhrs.push(lhr);
          }
          results[name] ??= {};
          results[name][preset] = summary(computeMedianRun(lhrs));
        }
      } finally {
        server.stop();
      }
    }
  } finally {
    chrome.kill();
  }
  return results;
}

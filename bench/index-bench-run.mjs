// Runs the index benchmark page (bench/index-bench.html) in headless Debian Chromium and prints
// its result as one JSON line. Needs pkg/ (./build.sh wasm) and npm dependencies (./build.sh setup).
//
//   node bench/index-bench-run.mjs [--passages N] [--queries M] [--k K] [--seed S] [--no-isolation]
//
// By default every response gets COOP/COEP headers (added in the browser, the server is the
// plain tools/serve.mjs) so the page is cross-origin isolated and performance.now() has ~5 µs
// resolution instead of 100 µs; this changes nothing about how the wasm runs.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../tools/serve.mjs";
import { launchChromium, watchdog } from "../tests/js/browser.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TIMEOUT_MS = 20 * 60 * 1000;

function parseArgs(argv) {
  const opts = { passages: 100000, queries: 1000, k: 10, seed: 1, isolation: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--no-isolation") {
      opts.isolation = false;
      continue;
    }
    const key = arg.replace(/^--/, "");
    if (!(key in opts) || i + 1 >= argv.length || !/^\d+$/.test(argv[i + 1])) {
      throw new Error(`usage: index-bench-run.mjs [--passages N] [--queries M] [--k K] [--seed S] [--no-isolation] (bad: ${arg})`);
    }
    opts[key] = Number(argv[++i]);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const cancelWatchdog = watchdog("index-bench", TIMEOUT_MS);
const server = await startServer(ROOT);
let browser = null;
let result;
try {
  browser = await launchChromium();
  const page = await browser.newPage();
  page.on("console", (msg) => console.error(`  [page] ${msg.text()}`));
  page.on("pageerror", (err) => console.error(`  [page error] ${err.message}`));
  if (opts.isolation) {
    await page.route("**/*", async (route) => {
      const response = await route.fetch();
      await route.fulfill({
        response,
        headers: {
          ...response.headers(),
          "Cross-Origin-Opener-Policy": "same-origin",
          "Cross-Origin-Embedder-Policy": "require-corp",
        },
      });
    });
  }
  const query = new URLSearchParams({
    passages: opts.passages,
    queries: opts.queries,
    k: opts.k,
    seed: opts.seed,
  });
  await page.goto(new URL(`bench/index-bench.html?${query}`, server.url).href);
  const handle = await page.waitForFunction(() => window.__result ?? window.__error, null, {
    timeout: TIMEOUT_MS - 60_000,
    polling: 500,
  });
  result = await handle.jsonValue();
  if (typeof result === "string") {
    throw new Error(`page failed: ${result}`);
  }
  result.browser = browser.version();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await browser?.close();
  await server.close();
  cancelWatchdog();
}
if (result && typeof result === "object") {
  console.log(JSON.stringify(result));
}

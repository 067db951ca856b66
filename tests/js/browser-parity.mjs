// Runs the wasm parity suite in headless Debian chromium: node tests/js/browser-parity.mjs
import { existsSync } from "node:fs";
import path from "node:path";
import { startServer } from "../../tools/serve.mjs";
import { launchChromium, watchdog } from "./browser.mjs";
import { listFiles, ROOT } from "./fs-folder.mjs";
import { DEFAULT_MODEL_DIR, FIXTURE_ROOT, FIXTURES } from "./parity.mjs";

const TIMEOUT_MS = 25 * 60 * 1000;
const cancelWatchdog = watchdog("browser", TIMEOUT_MS);

const dirs = FIXTURES.map((name) => `${FIXTURE_ROOT}/${name}`);
if (existsSync(path.join(ROOT, DEFAULT_MODEL_DIR))) {
  dirs.push(DEFAULT_MODEL_DIR);
}
const fileLists = Object.fromEntries(dirs.map((dir) => [dir, listFiles(dir)]));

const started = Date.now();
const server = await startServer(ROOT);
let browser = null;
let summary;
try {
  browser = await launchChromium();
  console.log(`browser: ${browser.version()}`);
  const page = await browser.newPage();
  page.on("console", (msg) => console.log(`  [page] ${msg.text()}`));
  page.on("pageerror", (err) => console.log(`  [page error] ${err.message}`));
  await page.addInitScript((lists) => {
    window.__fixtureFiles = lists;
  }, fileLists);
  await page.goto(new URL("tests/js/browser-parity.html", server.url).href);
  const handle = await page.waitForFunction(() => window.__result, null, {
    timeout: TIMEOUT_MS - 60_000,
    polling: 500,
  });
  summary = await handle.jsonValue();
} catch (err) {
  console.error(err);
  summary = { passed: 0, failed: 1, failures: [{ name: "harness", message: String(err) }] };
} finally {
  await browser?.close();
  await server.close();
}
cancelWatchdog();

if (summary.failures.length > 0) {
  console.log(`\n${summary.failures.length} failed checks:`);
  for (const { name, message } of summary.failures) {
    console.log(`  ${name}: ${message.slice(0, 300)}`);
  }
}
console.log(`browser parity suite took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`browser: ${summary.passed} passed, ${summary.failed} failed`);
process.exitCode = summary.failed > 0 ? 1 : 0;

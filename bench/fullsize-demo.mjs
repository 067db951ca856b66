// The issue 13 "done when" run, driven by bench/fullsize-browser.mjs --demo: the demo (dist/) in
// headless Chromium loads the doc-v3-gte-sized random q8_0 pack (?model=), starts the workers its
// default plan allows, and indexes its sample corpus; reported: the plan and its reason, the wasm
// memory of the page and each worker, the renderer's peak RSS, the time and the documents indexed;
// then the plan alone when 4 workers are asked for (a 4-core machine's default).
import path from "node:path";
import { launchChromium } from "../tests/js/browser.mjs";
import { startServer } from "../tools/serve.mjs";
import { ROOT } from "./inputs.mjs";
import { rendererPeakBytes } from "./machine.mjs";

const mib = (bytes) => (bytes == null ? null : Math.round(bytes / 2 ** 20));

export async function demoRun({ dir, load, timeoutMs = 45 * 60_000 }) {
  const server = await startServer(path.join(ROOT, "dist"), { mounts: { "/@fullsize/": dir } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (err) => errors.push(err.message));
    const loadStart = load();
    const t0 = Date.now();
    await page.goto(new URL("index.html?model=/@fullsize/gte-base-random-q8_0.gguf", server.url).href);
    await page.waitForFunction(() => window.spladeDemo?.ready || window.spladeDemo?.error, null, { timeout: 10 * 60_000 });
    const readySeconds = (Date.now() - t0) / 1000;
    const modelInfo = await page.textContent("#model-info");
    const ready = await page.evaluate(() => window.spladeDemo.error ?? null);
    if (ready) {
      throw new Error(`the demo did not start: ${ready}`);
    }
    const t1 = Date.now();
    await page.click("aside [data-action=sample]");
    await page.waitForFunction(() => window.spladeDemo.lastRun != null, null, { timeout: timeoutMs, polling: 1000 });
    const indexSeconds = (Date.now() - t1) / 1000;
    const run = await page.evaluate(() => ({
      lastRun: window.spladeDemo.lastRun,
      stats: window.spladeDemo.stats,
      documents: Number(document.getElementById("library-summary").dataset.documents ?? 0),
      notice: document.getElementById("notice").hidden ? null : document.getElementById("notice-text").textContent,
    }));
    const plan = run.lastRun.workerPlan;
    // What a 4-core machine asks for (?workers=4): only the plan, no indexing.
    const four = await browser.newPage();
    await four.goto(new URL("index.html?workers=4&model=/@fullsize/gte-base-random-q8_0.gguf", server.url).href);
    await four.waitForFunction(() => window.spladeDemo?.ready || window.spladeDemo?.error, null, { timeout: 10 * 60_000 });
    const fourWorkers = await four.textContent("#model-info");
    return {
      demo: "sample corpus, doc-v3-gte-sized random q8_0 pack, default worker choice",
      readySeconds,
      indexSeconds,
      documents: run.documents,
      passages: run.lastRun.passages,
      failedDocuments: run.stats.failedDocuments,
      workers: run.lastRun.workers,
      reason: plan.reason,
      wasmMib: { page: mib(plan.memory.mainBytes), workers: plan.memory.workers.map(mib), total: mib(plan.memory.totalBytes) },
      rendererPeakMib: mib(rendererPeakBytes(process.pid)),
      modelInfo,
      fourWorkers,
      notice: run.notice,
      pageErrors: errors,
      loadStart,
      loadEnd: load(),
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

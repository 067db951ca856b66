// Indexing throughput a user sees in the demo: loads the sample corpus through the page with
// ?workers=N and reports documents, passages and docs/s. Needs a built dist/.
// Usage: node tools/measure-indexing.mjs [workers...]   (default: 1 2 4)
// MODEL=models/splade-tiny/ measures another model than the demo's default (the q8_0 pack).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../tests/js/browser.mjs";
import { startServer } from "./serve.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const counts = process.argv.slice(2).map(Number);
const server = await startServer(path.join(ROOT, "dist"));
const browser = await launchChromium();
try {
  for (const workers of counts.length ? counts : [1, 2, 4]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const model = process.env.MODEL ? `&model=${encodeURIComponent(process.env.MODEL)}` : "";
    await page.goto(new URL(`index.html?workers=${workers}${model}`, server.url).href);
    await page.waitForFunction(() => window.spladeDemo?.ready, null, { timeout: 120_000 });
    await page.click("aside [data-action=sample]");
    await page.waitForFunction(() => window.spladeDemo.lastRun, null, { timeout: 600_000, polling: 100 });
    const run = await page.evaluate(() => window.spladeDemo.lastRun);
    console.log(
      JSON.stringify({
        model: process.env.MODEL ?? "default",
        workers: run.workers,
        cores: await page.evaluate(() => navigator.hardwareConcurrency),
        documents: run.documents,
        passages: run.passages,
        seconds: Number(run.seconds.toFixed(2)),
        docsPerSecond: Number((run.documents / run.seconds).toFixed(2)),
        passagesPerSecond: Number((run.passages / run.seconds).toFixed(2)),
      }),
    );
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}

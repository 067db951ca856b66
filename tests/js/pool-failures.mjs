// The worker pool's memory plan and contained failures: node tests/js/pool-failures.mjs
//
// In Node: the worker count a model's measured memory allows (memory.js, with doc-v3-gte-sized
// numbers), and a document that traps on the calling thread reported as failed while the rest is
// indexed. In headless Chromium, with real workers: the first worker measures its instance, and a
// document marked by the test hook traps its worker's wasm (WebAssembly.RuntimeError: unreachable);
// the worker is replaced, the job retried in halves, the marked documents reported as failed with
// the reason, everything else indexed, an earlier version of a failed document kept, and the pool
// still encodes afterwards (no hang: a watchdog fails the run).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, watchdog } from "./browser.mjs";
import { checker } from "./check.mjs";
import { loadFolder } from "./fs-folder.mjs";
import { startServer } from "../../tools/serve.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { DEFAULT_MEMORY_BUDGET, EncoderPool, Search, SparseEncoder, SparseIndex, initWasm } = await import("../../pkg/index.js");
const { memoryBudget, planWorkers } = await import("../../pkg/memory.js");

const t = checker("pool");
const cancelWatchdog = watchdog("pool", 5 * 60_000);
const MIB = 2 ** 20;
const MARK = "TRAP-THIS-DOCUMENT";

// --- The plan, with what a doc-v3-gte-sized q8_0 pack measured: 305 MiB per instance. ---
const gte = { instanceBytes: 305 * MIB, mainBytes: 305 * MIB };
{
  const plan = planWorkers({ requested: 4, ...gte, budget: memoryBudget(null, undefined) });
  t.check("plan: default budget is 1 GiB", plan.budgetBytes === DEFAULT_MEMORY_BUDGET && DEFAULT_MEMORY_BUDGET === 1024 * MIB && plan.budgetSource === "default");
  t.check("plan: doc-v3-gte q8_0 gets 2 of 4 workers, 915 MiB with the page's instance", plan.workers === 2 && plan.totalBytes === 915 * MIB, JSON.stringify(plan));
  t.check("plan: the reason names the sizes and the budget", /2 of 4 workers/.test(plan.reason) && /305 MiB/.test(plan.reason) && /1024 MiB/.test(plan.reason), plan.reason);
  const small = planWorkers({ requested: 4, ...gte, budget: memoryBudget(null, 2) });
  t.check("plan: 2 GB device: a 512 MiB budget, still one worker", small.budgetSource === "deviceMemory" && small.budgetBytes === 512 * MIB && small.workers === 1 && /least/.test(small.reason), JSON.stringify(small));
  const big = planWorkers({ requested: 4, ...gte, budget: memoryBudget(null, 8) });
  t.check("plan: 8 GB device: capped at 1 GiB", big.budgetBytes === 1024 * MIB && big.workers === 2);
  const tiny = planWorkers({ requested: 4, instanceBytes: 40 * MIB, mainBytes: 40 * MIB, budget: memoryBudget(null, undefined) });
  t.check("plan: a small model gets every worker asked for", tiny.workers === 4, JSON.stringify(tiny));
  const free = planWorkers({ requested: 3, ...gte, budget: memoryBudget(Infinity) });
  t.check("plan: memoryBudget Infinity lifts the cap", free.workers === 3 && free.budgetSource === "memoryBudget");
  let refused = null;
  try {
    memoryBudget(-1);
  } catch (err) {
    refused = err;
  }
  t.check("plan: a negative memoryBudget is refused", refused instanceof RangeError && /memoryBudget/.test(refused.message), String(refused));
}

const TOPICS = ["the red planet Mars", "railroads across the continent", "the national debt", "health insurance", "volcanoes and ash"];
const corpus = (n, prefix) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, title: `${prefix} ${i}`, text: `${prefix} ${i} is about ${TOPICS[i % TOPICS.length]}.` }));

// --- On the calling thread (Node has no workers). ---
{
  await initWasm();
  const encoder = await SparseEncoder.fromFiles(await loadFolder("models/splade-tiny"));
  const pool = await EncoderPool.create(encoder, { size: 0, testHooks: { trapOn: MARK } });
  const badBudget = await EncoderPool.create(encoder, { size: 2, memoryBudget: 0 }).then(
    () => null,
    (err) => err,
  );
  t.check("a bad memoryBudget rejects the pool (no fallback)", badBudget instanceof RangeError, String(badBudget));
  t.check("inline: the plan says why there are no workers", pool.plan.workers === 0 && /calling thread/.test(pool.plan.reason), JSON.stringify(pool.plan));
  const search = new Search({ encoder, pool, Index: SparseIndex });
  await search.add([{ id: "doc-3", text: "an earlier version of doc 3 about the gold standard" }]);
  const docs = corpus(8, "doc");
  docs[3].text += ` ${MARK}`;
  const failedEvents = [];
  const out = await search.add(docs, { onFailed: (f) => failedEvents.push(...f) });
  t.check("inline: the marked document failed, with the trap as the reason", out.failed.length === 1 && out.failed[0].id === "doc-3" && /unreachable/.test(out.failed[0].reason), JSON.stringify(out.failed));
  t.check("inline: the other 7 are indexed", out.documents === 7 && docs.every((d) => d.id === "doc-3" || search.has(d.id)));
  t.check("inline: onFailed reported it", failedEvents.length === 1 && failedEvents[0].id === "doc-3");
  t.check("inline: the earlier version of the failed document is kept", /gold standard/.test(search.get("doc-3")?.text ?? ""));
  t.check("inline: search still answers", /^doc-[16]$/.test(search.search("railroads across the continent")[0]?.id));
}

// --- Headless Chromium, real workers. ---
const server = await startServer(ROOT);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => t.info(`page error: ${err.message}`));
  page.on("console", (msg) => t.info(`console: ${msg.text()}`));
  await page.goto(new URL("tests/js/harness.html", server.url).href);
  const r = await page.evaluate(
    async ({ mark, topics }) => {
      const { EncoderPool, Search, SparseEncoder, SparseIndex } = await import("splade-wasm");
      const corpus = (n, prefix) =>
        Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, title: `${prefix} ${i}`, text: `${prefix} ${i} is about ${topics[i % topics.length]}.` }));
      const encoder = await SparseEncoder.load("/dist/models/splade-tiny-q8_0.gguf", { cacheName: false });
      const out = {};
      // A budget that holds the page's instance and two workers of this model, not three.
      const probe = await EncoderPool.create(encoder, { size: 1 });
      out.probe = probe.plan;
      probe.terminate();
      const budget = probe.plan.mainBytes + 2.5 * probe.plan.instanceBytes;
      const pool = await EncoderPool.create(encoder, { size: 4, memoryBudget: budget, testHooks: { trapOn: mark } });
      out.plan = pool.plan;
      out.sizeAtStart = pool.size;
      const search = new Search({ encoder, pool, Index: SparseIndex });
      await search.add([{ id: "doc-5", text: "an earlier version of doc 5 about the gold standard" }]);
      const docs = corpus(24, "doc");
      docs[5].text += ` ${mark}`;
      docs[17].text += ` ${mark}`;
      // A long document (many passages, sent in pieces) with the mark in one of its later passages.
      const paragraphs = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} of the long report on ${topics[i % topics.length]}, with more words to fill it out well.`);
      paragraphs[41] += ` ${mark}`;
      docs.push({ id: "long", title: "long", text: paragraphs.join("\n\n") });
      docs.push({ id: "long-ok", title: "long ok", text: paragraphs.filter((_, i) => i !== 41).join("\n\n") });
      // A replacement starts in the background: wait (up to 10 s) until the pool is whole again.
      const whole = async () => {
        for (let i = 0; i < 100 && pool.size < pool.plan.workers; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return pool.size;
      };
      const failedEvents = [];
      const added = await search.add(docs, { onFailed: (f) => failedEvents.push(...f) });
      out.failed = added.failed;
      out.documents = added.documents;
      out.failedEvents = failedEvents.map((f) => f.id).sort();
      out.indexedAll = docs.filter((d) => !["doc-5", "doc-17", "long"].includes(d.id)).every((d) => search.has(d.id));
      out.keptEarlier = search.get("doc-5")?.text ?? null;
      out.longFailedNotIndexed = !search.has("long");
      out.replaced = pool.replaced;
      out.sizeAfter = await whole();
      out.top = search.search("railroads across the continent")[0]?.id ?? null;
      // Every document of a job trapping: all reported, none indexed, and the pool goes on.
      const bad = corpus(4, "bad").map((d) => ({ ...d, text: `${d.text} ${mark}` }));
      const all = await search.add(bad);
      out.allBad = { failed: all.failed.length, documents: all.documents };
      const after = await search.add(corpus(3, "after"));
      out.afterOk = after.documents === 3 && after.failed.length === 0;
      await whole();
      out.memory = search.workerPlan.memory;
      search.close();
      return out;
    },
    { mark: MARK, topics: TOPICS },
  );
  t.info(`probe: ${r.probe.reason}`);
  t.info(`plan: ${r.plan.reason}`);
  t.check("chromium: the first worker measured its instance", r.probe.instanceBytes > 0 && r.probe.mainBytes > 0 && r.probe.workers === 1, JSON.stringify(r.probe));
  t.check("chromium: the budget allows 2 of 4 workers, and 2 started", r.plan.workers === 2 && r.plan.requested === 4 && r.sizeAtStart === 2 && r.plan.totalBytes <= r.plan.budgetBytes, JSON.stringify(r.plan));
  t.check("chromium: the marked documents failed, with the trap as the reason", r.failed.length === 3 && r.failed.every((f) => /trapped \(unreachable\)/.test(f.reason)), JSON.stringify(r.failed));
  t.check("chromium: onFailed reported doc-5, doc-17 and the long document", JSON.stringify(r.failedEvents) === JSON.stringify(["doc-17", "doc-5", "long"]), JSON.stringify(r.failedEvents));
  t.check("chromium: every other document is indexed (24 + 2 - 3)", r.indexedAll && r.documents === 23, `${r.documents}`);
  t.check("chromium: the earlier version of a failed document is kept", /gold standard/.test(r.keptEarlier ?? ""), r.keptEarlier);
  t.check("chromium: the long document with a trapping passage is not half indexed", r.longFailedNotIndexed);
  t.check("chromium: trapped workers were replaced, the pool is whole again", r.replaced >= 3 && r.sizeAfter === 2, `replaced ${r.replaced}, size ${r.sizeAfter}`);
  // doc-1, doc-6, ... (i % 5 == 1) are the railroad documents.
  t.check("chromium: search answers after the failures", Number(r.top?.split("-")[1]) % 5 === 1, r.top);
  t.check("chromium: a job whose documents all trap reports each, indexes none", r.allBad.failed === 4 && r.allBad.documents === 0, JSON.stringify(r.allBad));
  t.check("chromium: the pool still encodes afterwards", r.afterOk);
  t.check("chromium: memory reported per worker", r.memory.workers.length === 2 && r.memory.workers.every((b) => b > 0), JSON.stringify(r.memory));
} catch (err) {
  t.check("chromium pool harness", false, err?.stack ?? String(err));
} finally {
  await browser.close();
  await server.close();
  cancelWatchdog();
}
t.finish();

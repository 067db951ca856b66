// End-to-end test of the built demo in headless Chromium: node tests/js/demo-e2e.mjs [dist-dir]
//
// Loads the page, indexes LIMIT-small through the file picker and checks the ranking against the
// native CLI, adds a folder (splitting, HTML, skipped files) and hostile text (nothing may run),
// reloads (restored without re-encoding), exports, clears and imports, pauses and resumes a run
// across reloads, reloads offline with the server stopped, and shows the error state. Screenshots
// of each state go to .cache/screenshots/.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { startServer } from "../../tools/serve.mjs";
import { launchChromium, watchdog } from "./browser.mjs";
import { checker } from "./check.mjs";
import { ROOT } from "./fs-folder.mjs";
import { compareRanking, nativeRankings, readJsonl } from "./native.mjs";

const DIST = path.resolve(ROOT, process.argv[2] ?? "dist");
const SHOTS = path.join(ROOT, ".cache", "screenshots");
const LIMIT = path.join(ROOT, "tests/data/limit-small");
const FOLDER = path.join(ROOT, "tests/data/docs-folder/notes");
// The demo's model is the q8_0 pack build.sh writes into dist/; the CLI reads the same file. Both
// multiply the dequantized weights in f32, so that ranking is compared as exactly (1e-4) as the one
// of the f32 model folder (?model=), which the page is also run on.
const PACK = path.join(DIST, "models/splade-tiny-q8_0.gguf");
const FOLDER_MODEL = path.join(ROOT, "models/splade-tiny");
const K = 10;

const cancelWatchdog = watchdog("demo", 12 * 60 * 1000);
const t = checker("demo");
mkdirSync(SHOTS, { recursive: true });

const limitDocs = readJsonl(path.join(LIMIT, "corpus.jsonl"));
const limitQueries = readJsonl(path.join(LIMIT, "queries.jsonl"))
  .slice(0, 4)
  .map((q) => q.text)
  .concat(["Who likes Quokkas and Bassoons?", "pizza with pepperoni"]);

let native;
let nativePack;
try {
  native = nativeRankings({ model: FOLDER_MODEL, corpusFile: path.join(LIMIT, "corpus.jsonl"), queries: limitQueries });
  nativePack = nativeRankings({ model: PACK, corpusFile: path.join(LIMIT, "corpus.jsonl"), queries: limitQueries });
} catch (err) {
  t.check("native CLI rankings", false, err.message);
}

/** A copy of a saved search file with another model fingerprint (and a valid checksum). */
function withFingerprint(bytes, fingerprint) {
  const headerLength = bytes.readUInt32LE(12);
  const header = JSON.parse(bytes.subarray(16, 16 + headerLength).toString("utf8"));
  header.model.fingerprint = fingerprint;
  const newHeader = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(newHeader.length);
  const body = Buffer.concat([bytes.subarray(0, 12), length, newHeader, bytes.subarray(16 + headerLength, bytes.length - 32)]);
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

async function shot(page, name, options = {}) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  t.info(`screenshot: ${path.relative(ROOT, file)}`);
}

let serverStopped = false;
// While a hostile HTML file is parsed with DOMParser, Chromium checks its inline handlers and
// styles against the page's CSP and logs that it blocked them: expected, and counted apart.
let parsingHostileHtml = false;
const blockedWhileParsing = [];

function watch(page, server, problems) {
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    // With the server stopped, Chromium logs the failed online check of the model manifest.
    if (serverStopped && /ERR_CONNECTION_REFUSED|Failed to load resource/.test(msg.text())) {
      return;
    }
    if (parsingHostileHtml && /violates the following Content Security Policy directive/.test(msg.text())) {
      blockedWhileParsing.push(msg.text());
      return;
    }
    if (msg.type() === "error") {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith(server.url) && !url.startsWith("blob:") && !url.startsWith("data:")) {
      problems.push(`request outside the site: ${url}`);
    }
    if (/\/x(\?|$)/.test(url)) {
      problems.push(`an injected <img src=x> was requested: ${url}`);
    }
  });
}

async function waitReady(page, timeout = 120_000) {
  await page.waitForFunction(() => window.spladeDemo?.ready || window.spladeDemo?.error, null, { timeout });
  return page.evaluate(() => window.spladeDemo.error ?? null);
}

async function documents(page) {
  return Number((await page.getAttribute("#library-summary", "data-documents")) ?? 0);
}

async function waitIndexed(page, count, timeout = 180_000) {
  await page.waitForFunction(
    (n) =>
      Number(document.getElementById("library-summary").dataset.documents ?? 0) >= n &&
      document.getElementById("indexing").hidden,
    count,
    { timeout, polling: 200 },
  );
}

async function results(page) {
  return page.$$eval("#results .result", (items) =>
    items.map((li) => ({
      id: li.dataset.id,
      title: li.querySelector(".result-title").textContent,
      score: Number(li.dataset.score),
      snippet: li.querySelector(".snippet").textContent,
    })),
  );
}

async function searchFor(page, query, { type = false } = {}) {
  if (type) {
    await page.fill("#query", "");
    await page.click("#query");
    await page.keyboard.type(query, { delay: 2 });
  } else {
    await page.fill("#query", query);
  }
  await page.waitForFunction((q) => document.getElementById("query").value === q, query);
  return results(page);
}

async function rankingSnapshot(page) {
  const out = [];
  for (const q of limitQueries) {
    out.push((await searchFor(page, q)).map((r) => `${r.title}:${r.score.toFixed(5)}`).join("|"));
  }
  return out;
}

const problems = [];
let server = await startServer(DIST);
const port = Number(new URL(server.url).port);
const pageUrl = new URL("index.html", server.url).href;
let browser = null;
try {
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  watch(page, server, problems);

  // ---- loading, empty ----
  await page.goto(pageUrl);
  const loadingText = await page.textContent("#model-text");
  t.check("shows a loading state", /Loading|Downloading/.test(loadingText), loadingText);
  t.check("the add buttons wait for the model", await page.isDisabled("aside [data-action=sample]"));
  await shot(page, "1-loading-model");
  const error = await waitReady(page);
  t.check("model loads", error == null, error);
  t.check("model state is ready", (await page.getAttribute("#model", "data-state")) === "ready");
  t.check("empty index state is shown", await page.isVisible("#empty"));
  const info = await page.textContent("#model-info");
  t.check("shows model info", info.includes("BertForMaskedLM") && info.includes("q8_0 pack") && !info.includes("undefined"), info);
  t.check("says where documents are encoded (no WebGPU adapter here: wasm)", /documents on wasm: WebGPU/.test(info), info);
  await shot(page, "2-empty-index");

  // ---- LIMIT-small through the file picker, ranking = native CLI ----
  await page.setInputFiles("#file-input", path.join(LIMIT, "corpus.jsonl"));
  await page.waitForSelector("#indexing:not([hidden])", { timeout: 30_000 });
  await shot(page, "3-indexing");
  const started = Date.now();
  await waitIndexed(page, limitDocs.length);
  const limitSeconds = (Date.now() - started) / 1000;
  const run = await page.evaluate(() => window.spladeDemo.lastRun);
  t.info(`LIMIT-small: ${run.documents} documents, ${run.passages} passages in ${run.seconds.toFixed(1)} s ` +
    `(${(run.documents / run.seconds).toFixed(1)} docs/s, ${run.workers} workers; ${limitSeconds.toFixed(1)} s seen by the test)`);
  t.check("indexes the 46 LIMIT-small documents", (await documents(page)) === limitDocs.length);
  t.check("one passage per short document", run.passages === limitDocs.length, run.passages);

  if (nativePack) {
    let worst = 0;
    for (const [i, q] of limitQueries.entries()) {
      const got = await searchFor(page, q, { type: i === 0 });
      const problemsQ = compareRanking(
        got.map((r) => ({ id: r.title, score: r.score })),
        nativePack[i],
        K,
      );
      for (const r of got) {
        const n = nativePack[i].scores.get(r.title);
        worst = Math.max(worst, Math.abs(n - r.score) / Math.max(1, n));
      }
      t.check(`q8_0 pack: top ${K} for "${q}" match the native CLI's`, problemsQ.length === 0, problemsQ.join("; "));
      if (i === 0) {
        t.info(`"${q}": ${got.slice(0, 3).map((r) => `${r.title} ${r.score.toFixed(2)}`).join(" | ")}`);
      }
    }
    t.info(`q8_0 pack, page (wasm) vs native CLI: largest relative score difference in the top ${K}s: ${(worst * 100).toFixed(2)}%`);
  }

  // Search as you type: every keystroke searched (the first query was typed key by key).
  const partial = await searchFor(page, "Who likes Qu");
  t.check("results update on each keystroke", partial.length > 0);

  const query = "Who likes Quokkas?";
  const hits = await searchFor(page, query, { type: true });
  const marks = await page.$$eval("#results .result:first-child .snippet mark", (ms) => ms.map((m) => m.textContent));
  t.check("query tokens are highlighted in the best passage", marks.some((m) => /quokka/i.test(m)), marks.join(","));
  await page.click("#results .result:first-child .why summary");
  await page.waitForSelector("#results .result:first-child .why-table tbody tr", { timeout: 10_000 });
  const why = await page.$$eval("#results .result:first-child .why-table tbody tr", (rows) =>
    rows.map((r) => [r.dataset.word, ...[...r.cells].map((c) => c.textContent.trim())]),
  );
  t.check("the explanation lists the query's words, pieces merged", why.length > 0 && why.some((r) => r[0] === "quokkas") && why.every((r) => r.length === 3 && !r[0].startsWith("##")), JSON.stringify(why));
  const sum = why.reduce((s, r) => s + Number(r[2].replace(/[^\d.-]/g, "")), 0);
  t.check("the contributions add up to the score", Math.abs(sum - hits[0].score) < 0.02 * Math.max(1, hits[0].score), `${sum} vs ${hits[0].score}`);
  await shot(page, "4-results", { fullPage: true });

  await searchFor(page, "ᚠᛇᚻ");
  t.check("no-results state", await page.isVisible("#results .no-results"), await page.textContent("#search-status"));
  await shot(page, "5-no-results");

  // ---- a folder: splitting, HTML, JSON, skipped files; hostile pasted text ----
  const before = await documents(page);
  parsingHostileHtml = true;
  await page.setInputFiles("#folder-input", FOLDER);
  await waitIndexed(page, before + 5);
  parsingHostileHtml = false;
  t.info(`CSP blocked ${blockedWhileParsing.length} inline handlers/styles of the parsed HTML file (reported by Chromium, never run)`);
  const skippedText = await page.textContent("#skipped-list");
  t.check("unsupported files are listed as skipped, with the reason", (await page.isVisible("#skipped")) && /photo\.bin.*unsupported file type/.test(skippedText), skippedText);
  const solar = await searchFor(page, "storm larger than Earth on a gas giant");
  t.check("a Markdown document is found by its heading title", solar[0]?.title === "A tour of the solar system", JSON.stringify(solar[0]));
  const solarDoc = await page.evaluate(() => document.querySelector("#results .result .result-meta")?.textContent ?? "");
  t.check("a long document is split into passages", /passage \d+ of [2-9]/.test(solarDoc), solarDoc);
  const recipe = await searchFor(page, "bake sourdough");
  t.check("JSON records become documents", recipe[0]?.title === "Sourdough bread", JSON.stringify(recipe[0]));

  const XSS_TEXT =
    'Quarantine notes <img src=x onerror="window.__xss=\'paste-img\'"> <script>window.__xss="paste-script"</script> about zebras.';
  await page.click("#paste summary");
  await page.fill("#paste-title", '<img src=x onerror="window.__xss=\'title\'">');
  await page.fill("#paste-text", XSS_TEXT);
  await page.click("#paste-add");
  await waitIndexed(page, before + 6);
  const html = await searchFor(page, "photosynthesis chlorophyll");
  const htmlHit = html.find((r) => r.title === "Plant biology notes");
  t.check("HTML is indexed as its text", htmlHit != null && htmlHit.snippet.includes("Photosynthesis converts light"), JSON.stringify(html[0]));
  t.check("HTML scripts are not indexed as text", htmlHit != null && !htmlHit.snippet.includes("__xss"), htmlHit?.snippet);
  const zebra = await searchFor(page, "quarantine zebras");
  t.check("pasted markup is shown as text", zebra[0]?.snippet.includes("<img src=x onerror=") && zebra[0]?.snippet.includes("<script>"), zebra[0]?.snippet);
  t.check("a pasted title with markup is shown as text", zebra[0]?.title.startsWith("<img"), zebra[0]?.title);
  t.check("no element was injected", (await page.$$("#results img, #results script, #results iframe")).length === 0);
  await page.waitForTimeout(300);
  t.check("no injected script ran", (await page.evaluate(() => window.__xss)) === undefined, await page.evaluate(() => window.__xss));
  await shot(page, "6-hostile-text");

  // ---- reload: restored from IndexedDB without encoding ----
  const total = await documents(page);
  const snapshot = await rankingSnapshot(page);
  await page.reload();
  await waitReady(page);
  const afterReload = await page.evaluate(() => ({ ...window.spladeDemo.stats }));
  t.check("reload restores every document", (await documents(page)) === total, `${await documents(page)} of ${total}`);
  t.check("reload encodes nothing", afterReload.encodedPassages === 0 && afterReload.restoredDocuments === total, JSON.stringify(afterReload));
  t.check("reload gives the same results", JSON.stringify(await rankingSnapshot(page)) === JSON.stringify(snapshot));
  t.check("the model came from the Cache API", (await page.evaluate(() => window.spladeDemo.modelFromCache)) === true);

  // ---- export, clear, import ----
  await page.click(".manage summary");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
  const exported = await download.path();
  const exportedBytes = readFileSync(exported);
  t.check("export gives one file", exportedBytes.length > 1000 && exportedBytes.subarray(0, 8).toString() === "SPLDSRCH", exportedBytes.length);
  await page.click("#clear");
  await page.click("#clear");
  await page.waitForFunction(() => document.getElementById("library-summary").dataset.documents === "0");
  t.check("clear empties the index", await page.isVisible("#empty"));
  await page.setInputFiles("#import-input", exported);
  await page.waitForFunction((n) => Number(document.getElementById("library-summary").dataset.documents) === n, total);
  t.check("import restores the same results", JSON.stringify(await rankingSnapshot(page)) === JSON.stringify(snapshot));
  await page.setInputFiles("#import-input", { name: "bad.splade", mimeType: "application/octet-stream", buffer: Buffer.from("not an index") });
  await page.waitForFunction(() => /Import failed/.test(document.getElementById("notice-text").textContent));
  t.check("a bad import file gives an error and keeps the index", (await documents(page)) === total);
  // The same file as if built with another model: its documents are indexed again with this one.
  const otherModel = withFingerprint(exportedBytes, "0".repeat(64));
  await page.setInputFiles("#import-input", { name: "other.splade", mimeType: "application/octet-stream", buffer: otherModel });
  await page.waitForFunction(() => /another model/.test(document.getElementById("notice-text").textContent), null, { timeout: 30_000 });
  await waitIndexed(page, total);
  t.check("an index from another model is re-indexed and gives the same results", JSON.stringify(await rankingSnapshot(page)) === JSON.stringify(snapshot));

  // ---- pause, reload, resume, reload mid-run: nothing indexed twice, nothing lost ----
  const sample = readJsonl(path.join(DIST, "sample/sotu-sample.jsonl"));
  await page.click("aside [data-action=sample]");
  await page.waitForFunction((n) => Number(document.getElementById("library-summary").dataset.documents) >= n + 6, total, {
    timeout: 120_000,
    polling: 100,
  });
  await page.click("#indexing-pause");
  await page.waitForSelector("#indexing[data-state=paused]", { timeout: 60_000 });
  const pausedAt = await documents(page);
  const encodedBeforePause = await page.evaluate(() => window.spladeDemo.stats.encodedPassages);
  await page.reload();
  await waitReady(page);
  await page.waitForSelector("#indexing[data-state=paused]", { timeout: 30_000 });
  const pausedText = await page.textContent("#indexing-text");
  t.check("a paused run stays paused after a reload", /Paused: \d+ documents still to index/.test(pausedText), pausedText);
  t.check("after the reload the paused run's documents are all there", (await documents(page)) === pausedAt, `${await documents(page)} vs ${pausedAt}`);
  await shot(page, "7-paused");
  await page.click("#indexing-resume");
  await page.waitForFunction((n) => Number(document.getElementById("library-summary").dataset.documents) >= n + 5, pausedAt, {
    timeout: 120_000,
    polling: 100,
  });
  // Give the run a checkpoint, then reload in the middle of it.
  await page.waitForFunction(() => window.spladeDemo.stats.checkpoints > 0, null, { timeout: 60_000 });
  await page.reload();
  await waitReady(page);
  const resumedFrom = await documents(page);
  await waitIndexed(page, total + sample.length, 300_000);
  const final = await page.evaluate(() => ({ ...window.spladeDemo.stats, lastRun: window.spladeDemo.lastRun }));
  t.check("an interrupted run resumes after a reload and completes", (await documents(page)) === total + sample.length, await documents(page));
  t.info(`sample: paused at ${pausedAt - total} documents (${encodedBeforePause} passages encoded), resumed from ${resumedFrom - total} after a reload mid-run; ` +
    `the last session encoded ${final.encodedPassages} passages`);
  t.check("the resumed run does not start over", final.encodedPassages > 0 && resumedFrom > pausedAt, JSON.stringify(final));
  const sotu = await searchFor(page, "the national debt and taxation");
  t.check("sample documents are searchable", sotu.some((r) => r.id.startsWith("sotu-sample.jsonl/")), JSON.stringify(sotu.slice(0, 2)));

  // ---- keyboard and phone width ----
  await page.click("h1");
  await page.keyboard.press("/");
  t.check('"/" focuses the search box', await page.evaluate(() => document.activeElement?.id === "query"));
  await page.keyboard.type("Who likes Quokkas?");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  t.check(
    "arrow keys reach the results; Enter opens an explanation",
    await page.evaluate(() => document.activeElement?.matches("#results .result:nth-child(2) .why summary") && document.activeElement.parentElement.open),
  );
  // Indexing progress and saves re-render the results of the same query: that must keep both.
  await page.evaluate(() => document.getElementById("query").dispatchEvent(new Event("input")));
  t.check(
    "a re-render of the same results keeps the focused result and its open explanation",
    await page.evaluate(() => document.activeElement?.matches("#results .result:nth-child(2) .why summary") && document.activeElement.parentElement.open),
  );
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("ArrowUp");
  t.check("ArrowUp from the first result returns to the query", await page.evaluate(() => document.activeElement?.id === "query"));
  await page.keyboard.press("Escape");
  t.check("Escape clears the query", (await page.inputValue("#query")) === "");
  await page.setViewportSize({ width: 390, height: 844 });
  await searchFor(page, "slavery and the constitution");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  t.check("no horizontal scrolling at phone width", overflow <= 0, `${overflow}px`);
  await shot(page, "8-phone");
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---- offline: the server stopped, the page, model and index still load ----
  await page.waitForFunction(() => window.spladeDemo.offlineReady === true, null, { timeout: 30_000 });
  const onlineSnapshot = await rankingSnapshot(page);
  await server.close();
  serverStopped = true;
  await page.reload();
  const offlineError = await waitReady(page);
  t.check("offline reload (server stopped): the page and model load", offlineError == null, offlineError);
  t.check("offline reload: the index is restored", (await documents(page)) === total + sample.length);
  t.check("offline reload: same results", JSON.stringify(await rankingSnapshot(page)) === JSON.stringify(onlineSnapshot));
  await searchFor(page, "the national debt and taxation");
  await shot(page, "9-offline");
  await context.close();
  server = await startServer(DIST, { port });
  serverStopped = false;

  // ---- error state: the model cannot be downloaded ----
  const errorContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const errorPage = await errorContext.newPage();
  await errorPage.route("**/models/**", (route) => route.fulfill({ status: 404, contentType: "text/plain", body: "not found" }));
  await errorPage.goto(pageUrl);
  const err = await waitReady(errorPage);
  t.check("a missing model shows the error state", err != null && (await errorPage.getAttribute("#model", "data-state")) === "error", err);
  t.check("the error names the problem", /HTTP 404/.test(await errorPage.textContent("#model-text")), await errorPage.textContent("#model-text"));
  await shot(errorPage, "10-error");
  await errorContext.close();

  // ---- exact: the page on the f32 model folder ranks as the native CLI, score for score ----
  const exactContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const exactPage = await exactContext.newPage();
  watch(exactPage, server, problems);
  await exactPage.goto(`${pageUrl}?model=models/splade-tiny/`);
  t.check("?model= loads the f32 model folder", (await waitReady(exactPage)) == null && !(await exactPage.textContent("#model-info")).includes("pack"));
  await exactPage.setInputFiles("#file-input", path.join(LIMIT, "corpus.jsonl"));
  await waitIndexed(exactPage, limitDocs.length);
  if (native) {
    for (const [i, q] of limitQueries.entries()) {
      const got = await searchFor(exactPage, q);
      const problemsQ = compareRanking(got.map((r) => ({ id: r.title, score: r.score })), native[i], K);
      t.check(`f32 folder: top ${K} for "${q}" equal the native CLI's`, problemsQ.length === 0, problemsQ.join("; "));
    }
  }
  // Cancel: what was indexed stays, the rest is dropped (also after a reload).
  await exactPage.click("aside [data-action=sample]");
  await exactPage.waitForFunction((n) => Number(document.getElementById("library-summary").dataset.documents) >= n + 3, limitDocs.length, {
    timeout: 120_000,
    polling: 100,
  });
  await exactPage.click("#indexing-cancel");
  await exactPage.waitForSelector("#indexing", { state: "hidden", timeout: 60_000 });
  const cancelledAt = await documents(exactPage);
  const cancelNotice = await exactPage.textContent("#notice-text");
  t.check("cancel keeps what was indexed and says what was dropped", cancelledAt > limitDocs.length && cancelledAt < limitDocs.length + 100 && /cancelled: \d+ documents? not added/.test(cancelNotice), `${cancelledAt}; ${cancelNotice}`);
  await exactPage.reload();
  await waitReady(exactPage);
  t.check("a cancelled run does not come back after a reload", (await documents(exactPage)) === cancelledAt && (await exactPage.isHidden("#indexing")));
  await exactContext.close();

  // ---- switching the model in the footer: documents are indexed again with the new one ----
  const switchContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const switchPage = await switchContext.newPage();
  watch(switchPage, server, problems);
  await switchPage.goto(pageUrl);
  await waitReady(switchPage);
  await switchPage.click("#paste summary");
  await switchPage.fill("#paste-text", "Lighthouses guide ships past rocky coasts at night.");
  await switchPage.click("#paste-add");
  await waitIndexed(switchPage, 1);
  const q8Score = (await searchFor(switchPage, "lighthouse ships"))[0]?.score;
  await Promise.all([switchPage.waitForEvent("load"), switchPage.selectOption("#model-select", "models/splade-tiny-f32.gguf")]);
  await waitReady(switchPage);
  t.check("the model picker loads the f32 pack", (await switchPage.textContent("#model-info")).includes("f32 pack"), await switchPage.textContent("#model-info"));
  await waitIndexed(switchPage, 1);
  const f32Hit = (await searchFor(switchPage, "lighthouse ships"))[0];
  t.check(
    "after a model switch the documents are indexed again with it",
    f32Hit != null && (await switchPage.evaluate(() => window.spladeDemo.stats.encodedPassages)) === 1 && f32Hit.score !== q8Score,
    `${JSON.stringify(f32Hit)} vs q8_0 score ${q8Score}`,
  );
  await switchPage.reload();
  await waitReady(switchPage);
  t.check("the picked model is remembered", (await switchPage.inputValue("#model-select")) === "models/splade-tiny-f32.gguf" && (await documents(switchPage)) === 1);
  await switchContext.close();

  // ---- a full storage quota, and a drop ----
  const quotaContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const quotaPage = await quotaContext.newPage();
  await quotaPage.goto(pageUrl);
  t.check("a fresh profile loads", (await waitReady(quotaPage)) == null);
  // Leave no room before anything is saved: the saves fail the way a full disk or quota does.
  const cdp = await quotaContext.newCDPSession(quotaPage);
  const usage = await quotaPage.evaluate(async () => (await navigator.storage.estimate()).usage);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: server.url.replace(/\/$/, ""), quotaSize: Math.floor(usage / 2) });
  await quotaPage.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["Lava flows from the volcano down to the sea."], "volcano.txt", { type: "text/plain" }));
    dt.items.add(new File(["# Glaciers\n\nIce sheets carve valleys over thousands of years."], "glaciers.md", { type: "text/markdown" }));
    document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await waitIndexed(quotaPage, 2);
  const dropped = await searchFor(quotaPage, "volcano lava");
  t.check("dropped files are indexed", dropped[0]?.title === "volcano.txt" && (await documents(quotaPage)) === 2, JSON.stringify(dropped));
  await quotaPage.waitForFunction(() => !document.getElementById("notice").hidden, null, { timeout: 30_000 });
  const quotaNotice = await quotaPage.textContent("#notice-text");
  t.check("a full storage quota is shown to the user", /storage for this site is full/.test(quotaNotice), quotaNotice);
  t.check("the summary says the index is not saved", /not saved/.test(await quotaPage.textContent("#library-summary")));
  await shot(quotaPage, "11-storage-full");
  await quotaContext.close();
} catch (err) {
  t.check("demo harness", false, err?.stack ?? String(err));
} finally {
  await browser?.close();
  await server.close();
}
t.check("no page errors, console errors (CSP included) or outside requests", problems.length === 0, [...new Set(problems)].join(" | "));
cancelWatchdog();
t.finish();

// The demo with a folder as people have them, in headless Chromium: node tests/js/hostile.mjs [dist-dir]
//
// A 2 MB text shows progress before it is done and pauses after the jobs in flight; every file of the
// hostile folder (tests/js/hostile-folder.mjs) is indexed or listed as skipped with its reason; no
// mojibake, no site chrome or Markdown syntax in the text; the same file twice is indexed once;
// queries without searchable words say so; the suggested queries show their top word in the snippet;
// one document is removed for good; closing the page mid-run loses nothing it called saved.
// Timing is never asserted: only the order and number of events. Screenshots: .cache/screenshots/hostile-*.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startServer } from "../../tools/serve.mjs";
import { launchChromium, watchdog } from "./browser.mjs";
import { checker } from "./check.mjs";
import { ROOT } from "./fs-folder.mjs";
import { writeHostileFolder } from "./hostile-folder.mjs";

const DIST = path.resolve(ROOT, process.argv[2] ?? "dist");
const WORK = path.join(ROOT, ".cache/hostile");
const SHOTS = path.join(ROOT, ".cache/screenshots");
const t = checker("hostile");
const cancelWatchdog = watchdog("hostile", 15 * 60 * 1000);
mkdirSync(SHOTS, { recursive: true });

const { dir: FOLDER, files } = writeHostileFolder(path.join(WORK, "folder"));
mkdirSync(path.join(WORK, "single"), { recursive: true });
const BIG = path.join(FOLDER, "big.txt");
const MANY = path.join(WORK, "single/many.jsonl");
writeFileSync(MANY, Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: `m${i}`, text: `Entry ${i} of the harbour log: ship ${i * 7} arrived with ${i % 13} crates of tea.` })).join("\n"));

const shot = async (page, name) => {
  await page.screenshot({ path: path.join(SHOTS, `hostile-${name}.png`), fullPage: true });
  t.info(`screenshot: .cache/screenshots/hostile-${name}.png`);
};
const documents = async (page) => Number((await page.getAttribute("#library-summary", "data-documents")) ?? 0);
const waitReady = (page) => page.waitForFunction(() => window.spladeDemo?.ready || window.spladeDemo?.error, null, { timeout: 120_000 });
const waitIdle = (page, atLeast, timeout = 300_000) =>
  page.waitForFunction(
    (n) => Number(document.getElementById("library-summary").dataset.documents ?? 0) >= n && document.getElementById("indexing").hidden,
    atLeast,
    { timeout, polling: 200 },
  );
async function search(page, query) {
  await page.fill("#query", query);
  await page.waitForFunction((q) => document.getElementById("query").value === q, query);
  return page.$$eval("#results .result", (items) => items.map((li) => ({ id: li.dataset.id, snippet: li.querySelector(".snippet").textContent })));
}

const problems = [];
const server = await startServer(DIST);
const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    // Chromium reports the inline handlers of a parsed HTML file that the CSP blocked (never run).
    if (msg.type() === "error" && !/Content Security Policy/.test(msg.text())) {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  await page.goto(new URL("index.html", server.url).href);
  await waitReady(page);

  // ---- a 2 MB text: progress before it is done, pause after the jobs in flight ----
  await page.evaluate(() => {
    const bar = document.getElementById("indexing-progress");
    window.progressLog = [];
    // One entry per job finished (the characters encoded moved), not per re-render.
    new MutationObserver(() => {
      const value = Number(bar.dataset.chars);
      if (value !== window.progressLog.at(-1)?.value) {
        window.progressLog.push({ value, documents: Number(document.getElementById("library-summary").dataset.documents) });
      }
    }).observe(bar, { attributes: true, attributeFilter: ["data-chars"] });
  });
  await page.setInputFiles("#file-input", BIG);
  await page.waitForFunction(() => window.progressLog.filter((p) => p.value > 0).length >= 3, null, { timeout: 300_000, polling: 100 });
  const early = await page.evaluate(() => window.progressLog.filter((p) => p.value > 0));
  t.check("the 2 MB text shows progress before it is done", early.length >= 3 && early.every((p) => p.documents === 0), JSON.stringify(early.slice(0, 4)));
  const progressText = await page.textContent("#indexing-text");
  t.check("with passages and an estimate of the time left", /passages? · about .+ left/.test(progressText), progressText);
  await shot(page, "big-file-progress");
  const atPause = await page.evaluate(() => window.progressLog.length);
  await page.click("#indexing-pause");
  await page.waitForSelector("#indexing[data-state=paused]", { timeout: 120_000 });
  const afterPause = (await page.evaluate(() => window.progressLog.length)) - atPause;
  // Each job in flight (at most two per worker, four workers) reports once; a document-sized job would not.
  t.check("pause acts after the jobs in flight, not at the end of the file", afterPause <= 9 && (await documents(page)) === 0, `${afterPause} progress updates after Pause`);
  await shot(page, "big-file-paused");
  await page.click("#indexing-resume");
  await page.waitForFunction((n) => window.progressLog.length >= n + 2, await page.evaluate(() => window.progressLog.length), { timeout: 120_000 });
  await page.click("#indexing-cancel");
  await page.waitForSelector("#indexing", { state: "hidden", timeout: 120_000 });
  t.check("cancel drops the rest of it", (await documents(page)) === 0 && /cancelled: 1 document not added/.test(await page.textContent("#notice-text")));

  // ---- the hostile folder: every file indexed or listed with its reason ----
  const folderFiles = Object.keys(files).filter((f) => f !== "big.txt");
  const expected = Object.values(files).filter((f) => f.indexed).length - 1 /* big.txt */ + 1; /* lines.jsonl has two records */
  await page.setInputFiles("#folder-input", FOLDER);
  await page.waitForFunction(() => document.getElementById("indexing-text").textContent !== "", null, { timeout: 60_000 }).catch(() => {});
  // big.txt is in the folder too: it is queued again; cancel it once the rest is in.
  await page.waitForFunction((n) => Number(document.getElementById("library-summary").dataset.documents) >= n, expected, { timeout: 300_000, polling: 200 });
  if (await page.isVisible("#indexing-cancel")) {
    await page.click("#indexing-cancel");
  }
  await page.waitForSelector("#indexing", { state: "hidden", timeout: 120_000 });
  const skipped = await page.$$eval("#skipped-list li", (items) => items.map((li) => ({ name: li.querySelector(".skipped-name").textContent, reason: li.querySelector(".skipped-reason").textContent })));
  await page.click("#browse summary");
  await page.waitForSelector("#browse-list li[data-id]");
  const ids = await page.$$eval("#browse-list li[data-id]", (items) => items.map((li) => li.dataset.id));
  const base = path.basename(FOLDER);
  for (const [name, spec] of Object.entries(files)) {
    if (spec.reason) {
      const entry = skipped.find((s) => s.name === `${base}/${name}`);
      t.check(`${name} is listed as skipped: ${spec.reason}`, entry != null && spec.reason.test(entry.reason), JSON.stringify(entry ?? skipped));
    }
  }
  const notes = [`${base}/garden-notes.txt`, `${base}/copies/garden-notes.txt`];
  const indexedNotes = notes.filter((n) => ids.includes(n));
  const duplicate = skipped.find((s) => notes.includes(s.name));
  t.check("the same file twice is indexed once, the other listed as a duplicate", indexedNotes.length === 1 && /same text/.test(duplicate?.reason ?? ""), JSON.stringify({ indexedNotes, duplicate }));
  const accounted = folderFiles.filter((f) => ids.some((id) => id === `${base}/${f}` || id.startsWith(`${base}/${f}/`)) || skipped.some((s) => s.name === `${base}/${f}`));
  t.check("every file is indexed or listed as skipped", accounted.length === folderFiles.length, folderFiles.filter((f) => !accounted.includes(f)).join(", "));
  await shot(page, "skipped-and-library");

  // ---- the text as a reader sees it ----
  const texts = {};
  for (const id of ids) {
    await page.click(`#browse-list li[data-id="${id}"] .browse-open`);
    texts[id] = await page.textContent("#viewer-text");
    if (id.endsWith("page.html")) {
      await shot(page, "viewer");
    }
    await page.click("#viewer-close");
  }
  const all = Object.values(texts).join("\n");
  t.check("no mojibake: no U+FFFD, no binary text", !all.includes("\ufffd") && !all.includes("%PDF") && !/[\u0000-\u0008]/.test(all));
  t.check("Latin-1 text keeps its accents", texts[`${base}/latin1.txt`]?.includes("crème brûlée"), texts[`${base}/latin1.txt`]);
  const html = texts[`${base}/page.html`] ?? "";
  t.check("HTML: the main content, without navigation or footer", html.includes("trimmed the wick") && !/Sign in|gift store|cookie/.test(html), html);
  const md = texts[`${base}/meeting.md`] ?? "";
  t.check("Markdown: readable text, no syntax", md.includes("Repair the bridge before winter") && !/[#*>]|\]\(/.test(md), md);

  // ---- queries without searchable words ----
  for (const q of ["東京の天気", "🚀🎉", "!!!", "???"]) {
    await search(page, q);
    const state = await page.getAttribute("#results .no-results", "data-state").catch(() => null);
    t.check(`"${q}": the no-searchable-words state`, state === "no-searchable-words", `${state}: ${await page.textContent("#search-status")}`);
  }
  await shot(page, "no-searchable-words");

  // ---- remove one document, for good ----
  const before = await documents(page);
  await page.click(`#browse-list li[data-id="${base}/lines.jsonl/b"] .browse-remove`);
  await page.waitForFunction((n) => Number(document.getElementById("library-summary").dataset.documents) === n - 1, before);
  await page.waitForFunction(() => document.getElementById("library-summary").dataset.saved === "true");
  await page.reload();
  await waitReady(page);
  t.check("a removed document stays removed after a reload", (await documents(page)) === before - 1 && !(await search(page, "herons shallows")).some((r) => r.id.endsWith("lines.jsonl/b")));

  // ---- the suggested queries: the top contributing word is in the snippet ----
  await page.fill("#query", "");
  const withSample = (await documents(page)) + 100;
  await page.click("aside [data-action=sample]");
  await waitIdle(page, withSample);
  await page.fill("#query", "");
  const chips = await page.$$eval("#suggestions .chip", (b) => b.map((x) => x.textContent));
  for (const [i, chip] of chips.entries()) {
    await page.fill("#query", "");
    await page.click(`#suggestions .chip >> nth=${i}`);
    await page.waitForSelector("#results .result");
    await page.click("#results .result:first-child .why summary");
    await page.waitForSelector("#results .result:first-child .why-body > *");
    // The top word the passage uses ("related terms" are not in it, so they cannot be marked).
    const rows = await page.$$eval("#results .result:first-child .why-table tbody tr", (trs) => trs.map((tr) => ({ word: tr.dataset.word, related: tr.querySelector(".badge") != null })));
    const top = rows.find((r) => !r.related)?.word ?? null;
    const marks = await page.$$eval("#results .result:first-child .snippet mark", (ms) => ms.map((m) => m.textContent.toLowerCase()));
    if (top == null) {
      t.check(`"${chip}": only related terms matched, and nothing is marked`, marks.length === 0 && rows.length > 0, JSON.stringify({ rows, marks }));
    } else {
      t.check(`"${chip}": the top word "${top}" is marked in the snippet`, marks.some((m) => m.startsWith(top) || top.startsWith(m)), `${marks.join(", ")} ${JSON.stringify(rows)}`);
    }
    if (i === 0) {
      await shot(page, "suggestion-why");
    }
  }

  // ---- close the page mid-run: nothing it called saved is lost ----
  const base2 = await documents(page);
  await page.setInputFiles("#file-input", MANY);
  const claimed = await page.waitForFunction(
    (n) => {
      const s = document.getElementById("library-summary").dataset;
      const running = !document.getElementById("indexing").hidden;
      return running && Number(s.savedDocuments) > n ? Number(s.savedDocuments) : false;
    },
    base2,
    { timeout: 300_000, polling: 50 },
  );
  const savedCount = await claimed.jsonValue();
  await page.close();
  const reopened = await context.newPage();
  await reopened.goto(new URL("index.html", server.url).href);
  await waitReady(reopened);
  const restored = await reopened.evaluate(() => window.spladeDemo.stats.restoredDocuments);
  t.check("closed mid-run: every document shown as saved comes back", restored >= savedCount, `${restored} restored, ${savedCount} shown as saved`);
  await waitIdle(reopened, base2 + 300);
  t.check("and the run carries on to the end", (await documents(reopened)) === base2 + 300);
  await reopened.close();
} catch (err) {
  t.check("hostile harness", false, err?.stack ?? String(err));
} finally {
  await browser.close();
  await server.close();
  cancelWatchdog();
}
t.check("no page errors or console errors", problems.length === 0, [...new Set(problems)].join(" | "));
t.finish();

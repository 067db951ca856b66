// Smoke test of the built demo site in headless chromium: node tests/js/demo-smoke.mjs [dist-dir]
import { mkdirSync } from "node:fs";
import path from "node:path";
import { startServer } from "../../tools/serve.mjs";
import { launchChromium, watchdog } from "./browser.mjs";
import { ROOT } from "./fs-folder.mjs";

const DIST = path.resolve(ROOT, process.argv[2] ?? "dist");
const SCREENSHOT = path.join(ROOT, ".cache", "demo-smoke.png");
const QUERY = "Which planet is known as the Red Planet?";
const MARS = "Mars, known for its reddish appearance, is often referred to as the Red Planet.";
const XSS = '<img src=x onerror="window.__xss=1"> Photosynthesis converts light energy into chemical energy.';
const DOCS = ["The Eiffel Tower was completed in 1889 and is located in Paris, France.", MARS, XSS];

const cancelWatchdog = watchdog("demo", 5 * 60 * 1000);
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
}

const server = await startServer(DIST);
let browser = null;
try {
  browser = await launchChromium();
  const page = await browser.newPage();
  const problems = [];
  const foreign = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  page.on("response", (res) => {
    if (res.status() >= 400) {
      problems.push(`HTTP ${res.status()} for ${res.url()}`);
    }
  });
  page.on("request", (req) => {
    if (!req.url().startsWith(server.url)) {
      foreign.push(req.url());
    }
  });

  await page.goto(new URL("index.html", server.url).href);
  check("shows a loading state", (await page.textContent("#status")).includes("Loading model"));

  await page.waitForFunction(() => document.getElementById("status").dataset.state !== "loading", null, {
    timeout: 120_000,
  });
  const state = await page.getAttribute("#status", "data-state");
  check("model loads", state === "ready", await page.textContent("#status"));

  if (state === "ready") {
    const info = await page.textContent("#model-info");
    check("shows model info", info.includes("BertForMaskedLM") && !info.includes("undefined"), info);

    await page.fill("#docs", DOCS.join("\n"));
    await page.click("#index");
    await page.waitForSelector("#query:not([disabled])", { timeout: 60_000 });
    check("indexes 3 documents", (await page.textContent("#index-status")).includes("Indexed 3 documents"));

    await page.click("#query");
    await page.keyboard.type(QUERY, { delay: 5 });
    await page.waitForFunction(
      (q) => document.getElementById("query").value === q && document.querySelectorAll("#results .result").length === 3,
      QUERY,
      { timeout: 30_000 },
    );
    const texts = await page.$$eval("#results .doc-text", (nodes) => nodes.map((n) => n.textContent));
    const scores = await page.$$eval("#results .score", (nodes) => nodes.map((n) => Number(n.textContent)));
    console.log(`     ranking: ${texts.map((t, i) => `${scores[i]} ${t.slice(0, 30)}`).join(" | ")}`);
    check("Mars document ranks first", texts[0] === MARS, `first: ${texts[0]}`);
    check(
      "scores are descending",
      scores.every((s, i) => i === 0 || scores[i - 1] >= s),
      scores.join(", "),
    );
    const terms = await page.$$eval("#results .result:first-child .term", (nodes) => nodes.map((n) => n.textContent));
    console.log(`     matched terms: ${terms.join(", ")}`);
    check(
      "shows matched tokens",
      terms.some((t) => t.startsWith("planet")) && terms.some((t) => t.startsWith("red")),
      terms.join(", "),
    );

    check("markup in a document renders as text", texts.includes(XSS));
    check("no element injected from document text", (await page.$$("#results img")).length === 0);
    check("onerror handler never ran", (await page.evaluate(() => window.__xss)) === undefined);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`     screenshot: ${path.relative(ROOT, SCREENSHOT)}`);
  }

  check("no page or console errors (CSP included)", problems.length === 0, problems.join(" | "));
  check("no requests outside the site", foreign.length === 0, foreign.join(", "));
} catch (err) {
  check("demo smoke harness", false, err?.stack ?? String(err));
} finally {
  await browser?.close();
  await server.close();
}
cancelWatchdog();

console.log(`demo: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

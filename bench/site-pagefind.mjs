// Static search side by side with Pagefind on the PEP corpus (issue 12): the same 21,635 passages
// (Pagefind gets one HTML page per passage), the same queries, headless Chromium with every request
// logged (page and workers) and the network throttled over the DevTools protocol. Reports bundle size and file count, bytes and requests of the
// first query (cold, runtime included) and of later queries (median, p95), time to results under
// emulated Slow 3G, and search time once the data is there. A benchmark, not a test.
//
// Usage (after ./build.sh peps, which builds the PEP bundle into .cache/site/peps):
//   node bench/site-pagefind.mjs [--bundle DIR] [--queries bench/site-queries.txt] [--k 10] [--throttled 20] [--cold 10] [--out FILE]
// --limit N: only the first N passages for both engines (the splade bundle is then built here, with
// SPLADE_BIN or target/release/splade), for a quick run on a slow machine.
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { createGzip, gunzipSync } from "node:zlib";
import { launchChromium } from "../tests/js/browser.mjs";
import { startServer } from "../tools/serve.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WORK = path.join(ROOT, ".cache/bench-site");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const QUERIES = readFileSync(path.resolve(ROOT, option("queries", "bench/site-queries.txt")), "utf8").split("\n").map((q) => q.trim()).filter(Boolean);
const K = Number(option("k", 10));
const LIMIT = option("limit", null) === null ? Infinity : Number(option("limit"));
const THROTTLED = Number(option("throttled", 20));
// Cold first queries: each of the first COLD queries alone in a fresh browser context (one query
// says little: Pagefind finds nothing for the first one, so it fetches no fragments).
const COLD = Number(option("cold", 10));
const OUT = option("out", path.join(ROOT, `bench/results/site-pagefind-${new Date().toISOString().slice(0, 10)}.json`));
// Chrome DevTools' "Slow 3G" preset.
const SLOW_3G = { offline: false, latency: 2000, downloadThroughput: (500 * 1000) / 8 * 0.8, uploadThroughput: (500 * 1000) / 8 * 0.8 };

function folderStats(dir) {
  let bytes = 0;
  let files = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        files += 1;
        bytes += statSync(p).size;
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

const escapeHtml = (s) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function prepare() {
  const www = path.join(WORK, "www");
  mkdirSync(www, { recursive: true });
  const records = gunzipSync(readFileSync(path.join(ROOT, "data/python-peps.jsonl.gz"))).toString("utf8").split("\n").filter(Boolean).slice(0, LIMIT).map((l) => JSON.parse(l));

  // Pagefind: one page per passage, indexed once (kept while the corpus is unchanged).
  const pfIndex = path.join(www, "pagefind");
  const stamp = path.join(WORK, "pagefind.stamp");
  const want = `${records.length}:${statSync(path.join(ROOT, "data/python-peps.jsonl.gz")).size}`;
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== want || !existsSync(pfIndex)) {
    const src = path.join(WORK, "pagefind-site");
    rmSync(src, { recursive: true, force: true });
    mkdirSync(path.join(src, "p"), { recursive: true });
    for (const r of records) {
      const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(r.title)}</title></head><body><main><h1>${escapeHtml(r.title)}</h1><p>${escapeHtml(r.text)}</p></main></body></html>`;
      writeFileSync(path.join(src, "p", `${r.id}.html`), html);
    }
    rmSync(pfIndex, { recursive: true, force: true });
    const started = Date.now();
    execFileSync(path.join(ROOT, "node_modules/.bin/pagefind"), ["--site", src, "--output-path", pfIndex], { stdio: ["ignore", "ignore", "inherit"] });
    console.log(`pagefind indexed ${records.length} pages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    writeFileSync(stamp, want);
  }

  // Ours: the bundle build.sh made (or make it), and the runtime as one file.
  let bundle = path.resolve(ROOT, option("bundle", ".cache/site/peps"));
  if (Number.isFinite(LIMIT)) {
    bundle = path.join(WORK, `splade-${LIMIT}`);
    if (!existsSync(path.join(bundle, "manifest.json"))) {
      const input = path.join(WORK, `peps-${LIMIT}.jsonl`);
      writeFileSync(input, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
      const bin = process.env.SPLADE_BIN ?? path.join(ROOT, "target/release/splade");
      execFileSync(bin, ["site", "build", "--model", "models/splade-tiny", "--input", input, "--out", bundle], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    }
  }
  if (!existsSync(path.join(bundle, "manifest.json"))) {
    throw new Error(`${bundle} is missing: run ./build.sh peps (it builds the PEP bundle there)`);
  }
  rmSync(path.join(www, "peps"), { recursive: true, force: true });
  execFileSync("cp", ["-r", bundle, path.join(www, "peps")]);
  execFileSync(process.execPath, ["tools/site-bundle-js.mjs", "js/site/splade-search.js", path.join(www, "site/splade-search.js")], { cwd: ROOT, stdio: "ignore" });

  // Two pages, each loading its engine on the first query (so the first query pays for the runtime).
  writeFileSync(path.join(www, "splade.html"), '<!doctype html><meta charset="utf-8"><title>splade</title><script type="module" src="splade-bench.js"></script>');
  writeFileSync(
    path.join(www, "splade-bench.js"),
    `let search;
window.runQuery = async (q, k) => {
  const t0 = performance.now();
  if (!search) search = await (await import("./site/splade-search.js")).createStaticSearch(new URL("peps/", location.href).href);
  const r = await search.search(q, { k });
  return { ms: performance.now() - t0, hits: r.hits.length, searchMs: r.searchMs };
};
`,
  );
  writeFileSync(path.join(www, "pagefind.html"), '<!doctype html><meta charset="utf-8"><title>pagefind</title><script type="module" src="pagefind-bench.js"></script>');
  writeFileSync(
    path.join(www, "pagefind-bench.js"),
    `let pf;
window.runQuery = async (q, k) => {
  const t0 = performance.now();
  if (!pf) {
    pf = await import("./pagefind/pagefind.js");
    await pf.init();
  }
  const s = await pf.search(q);
  const data = await Promise.all(s.results.slice(0, k).map((r) => r.data()));
  return { ms: performance.now() - t0, hits: data.length };
};
`,
  );
  const ours = folderStats(path.join(www, "peps"));
  const runtime = statSync(path.join(www, "site/splade-search.js")).size;
  return {
    www,
    passages: JSON.parse(readFileSync(path.join(bundle, "manifest.json"), "utf8")).passages,
    pages: records.length,
    size: {
      splade: { bytes: ours.bytes + runtime, files: ours.files + 1 },
      pagefind: folderStats(pfIndex),
    },
  };
}

// Static hosts compress text on the fly; so does this server (the bundles' own files are gzip already).
const COMPRESS = new Map([
  [".js", "text/javascript"],
  [".json", "application/json"],
  [".html", "text/html; charset=utf-8"],
  [".css", "text/css"],
]);
function gzipHandler(root) {
  return async (req, res) => {
    const file = path.resolve(root, "." + path.posix.normalize(`/${decodeURIComponent(req.url.split("?")[0])}`));
    if (!file.startsWith(root + path.sep) ||!COMPRESS.has(path.extname(file)) || !/\bgzip\b/.test(req.headers["accept-encoding"] ?? "") || !existsSync(file)) {
      return false;
    }
    res.writeHead(200, { "Content-Type": COMPRESS.get(path.extname(file)), "Content-Encoding": "gzip", "Cache-Control": "no-cache" });
    await pipeline(createReadStream(file), createGzip({ level: 9 }), res);
    return true;
  };
}

async function session(browser, url, throttle) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  if (throttle) {
    await cdp.send("Network.emulateNetworkConditions", throttle);
  }
  // Requests as Playwright sees them: unlike the page's own CDP Network events these include the
  // ones made by workers (Pagefind searches in a web worker). Bytes: headers + encoded body.
  const counter = { requests: 0, bytes: 0, inflight: new Set() };
  context.on("request", (r) => counter.inflight.add(r));
  context.on("requestfinished", (r) => {
    r.sizes().then(
      (z) => {
        counter.requests += 1;
        counter.bytes += z.responseHeadersSize + z.responseBodySize;
        counter.inflight.delete(r);
      },
      () => counter.inflight.delete(r),
    );
  });
  context.on("requestfailed", (r) => counter.inflight.delete(r));
  await page.goto(url);
  await page.waitForFunction(() => typeof window.runQuery === "function");
  const settle = async () => {
    for (let i = 0; i < 200 && counter.inflight.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
  };
  await settle();
  return {
    async query(q) {
      const before = { requests: counter.requests, bytes: counter.bytes };
      const result = await page.evaluate(([q, k]) => window.runQuery(q, k), [q, K]);
      await settle();
      return { ...result, requests: counter.requests - before.requests, bytes: counter.bytes - before.bytes };
    },
    close: () => context.close(),
  };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
};

async function measure(browser, base, engine) {
  const url = `${base}${engine}.html`;
  const cold = [];
  for (const q of QUERIES.slice(0, COLD)) {
    const c = await session(browser, url, null);
    cold.push(await c.query(q));
    await c.close();
  }
  const s = await session(browser, url, null);
  const first = await s.query(QUERIES[0]);
  const later = [];
  for (const q of QUERIES.slice(1)) later.push(await s.query(q));
  // Search time once everything is there: the same queries again (all cached).
  const repeat = [];
  for (const q of QUERIES.slice(0, 100)) repeat.push((await s.query(q)).ms);
  await s.close();

  const slow = await session(browser, url, SLOW_3G);
  const slowFirst = await slow.query(QUERIES[0]);
  const slowLater = [];
  for (const q of QUERIES.slice(1, 1 + THROTTLED)) slowLater.push((await slow.query(q)).ms);
  await slow.close();

  const pick = (xs, key) => xs.map((x) => x[key]);
  return {
    first: { bytes: first.bytes, requests: first.requests, hits: first.hits },
    cold: {
      queries: cold.length,
      bytes: { median: quantile(pick(cold, "bytes"), 0.5), max: Math.max(...pick(cold, "bytes")) },
      requests: { median: quantile(pick(cold, "requests"), 0.5), max: Math.max(...pick(cold, "requests")) },
      withHits: cold.filter((r) => r.hits > 0).length,
    },
    later: {
      queries: later.length,
      bytes: { median: quantile(pick(later, "bytes"), 0.5), p95: quantile(pick(later, "bytes"), 0.95) },
      requests: { median: quantile(pick(later, "requests"), 0.5), p95: quantile(pick(later, "requests"), 0.95) },
      noHits: later.filter((r) => r.hits === 0).length,
    },
    slow3g: { firstMs: slowFirst.ms, laterMedianMs: quantile(slowLater, 0.5), laterP95Ms: quantile(slowLater, 0.95), queries: slowLater.length },
    cachedQueryMs: { median: quantile(repeat, 0.5), p95: quantile(repeat, 0.95) },
    ...(engine === "splade" ? { scoringMs: { median: quantile(pick(later, "searchMs"), 0.5), p95: quantile(pick(later, "searchMs"), 0.95) } } : {}),
  };
}

const { www, passages, pages, size } = prepare();
const server = await startServer(www, { handler: gzipHandler(www) });
const browser = await launchChromium();
const results = { date: new Date().toISOString(), passages, pagefindPages: pages, queries: QUERIES.length, k: K, chromium: browser.version(), size, engines: {} };
try {
  for (const engine of ["splade", "pagefind"]) {
    console.log(`measuring ${engine}…`);
    results.engines[engine] = await measure(browser, server.url, engine);
  }
} finally {
  await browser.close();
  await server.close();
}

mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(results, null, 2) + "\n");
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
const row = (label, f) => `| ${label} | ${f(results.engines.splade, size.splade)} | ${f(results.engines.pagefind, size.pagefind)} |`;
console.log(
  [
    `\n${passages} passages (Pagefind: ${pages} pages), ${QUERIES.length} queries, top ${K} with their text, Chromium ${results.chromium}`,
    "| | splade static search | Pagefind 1.6.0 |",
    "|---|---|---|",
    row("bundle on disk", (_, z) => `${(z.bytes / 1048576).toFixed(1)} MB`),
    row("files", (_, z) => String(z.files)),
    row("first query: bytes (runtime included)", (e) => kb(e.first.bytes)),
    row("first query: requests", (e) => String(e.first.requests)),
    row(`cold first query, median / max over the first ${COLD} queries: bytes`, (e) => `${kb(e.cold.bytes.median)} / ${kb(e.cold.bytes.max)}`),
    row(`cold first query, median / max over the first ${COLD} queries: requests`, (e) => `${e.cold.requests.median} / ${e.cold.requests.max}`),
    row(`queries without results (of ${QUERIES.length})`, (e) => String(e.later.noHits + Number(e.first.hits === 0))),
    row(`later queries: bytes, median / p95 (${QUERIES.length - 1})`, (e) => `${kb(e.later.bytes.median)} / ${kb(e.later.bytes.p95)}`),
    row("later queries: requests, median / p95", (e) => `${e.later.requests.median} / ${e.later.requests.p95}`),
    row("Slow 3G: first query to results", (e) => `${(e.slow3g.firstMs / 1000).toFixed(1)} s`),
    row(`Slow 3G: later queries, median / p95 (${THROTTLED})`, (e) => `${(e.slow3g.laterMedianMs / 1000).toFixed(1)} / ${(e.slow3g.laterP95Ms / 1000).toFixed(1)} s`),
    row("search with everything cached, median / p95", (e) => `${e.cachedQueryMs.median.toFixed(1)} / ${e.cachedQueryMs.p95.toFixed(1)} ms`),
    `\nsplade scoring + top-k after the shards arrive: median ${results.engines.splade.scoringMs.median.toFixed(2)} ms, p95 ${results.engines.splade.scoringMs.p95.toFixed(2)} ms`,
    `written to ${path.relative(ROOT, OUT)}`,
  ].join("\n"),
);

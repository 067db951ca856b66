// The reference model's size in Chromium (issue 13), through the library's own worker pool: a
// doc-v3-gte-sized random GTE model as f32 and q8_0 packs, docs/s for 128- and 512-token passages
// with 1 and N workers, one 8,192-token document on one worker, the wasm memory of each instance
// (the page's and every worker's) and the renderer's peak RSS (Linux /proc, VmHWM); one fresh
// browser per line. With --demo, the demo itself indexes its sample corpus with the q8_0 pack and
// the default worker choice (the "done when").
//   node bench/fullsize-browser.mjs [--workers N] [--formats f32,q8_0] [--passages 16]
//                                   [--long-formats q8_0] [--no-lines] [--demo]
// Needs target/release/splade (to make the model once, in .cache/fullsize/) and pkg/ + dist/
// (./build.sh wasm). Prints JSON lines, then a table. Record `uptime` next to the numbers: the
// machine may be shared.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { launchChromium } from "../tests/js/browser.mjs";
import { startServer } from "../tools/serve.mjs";
import { BASELINES, ROOT } from "./inputs.mjs";
import { rendererPeakBytes } from "./machine.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const workers = Number(option("workers", 2));
const formats = option("formats", "f32,q8_0").split(",");
const longFormats = option("long-formats", "q8_0").split(",").filter(Boolean);
const passageCount = Number(option("passages", 16));
const dir = path.join(ROOT, ".cache/fullsize");
const mib = (bytes) => (bytes == null ? null : Math.round(bytes / 2 ** 20));
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");

function prepareModel() {
  const model = path.join(dir, "gte-base-random");
  mkdirSync(dir, { recursive: true });
  if (!existsSync(path.join(model, "config.json"))) {
    const tokenizer = path.join(ROOT, "models/splade-tiny/tokenizer.json");
    execFileSync("target/release/splade", ["random-model", "--architecture", "gte", "--max-positions", "8192", "--tokenizer", tokenizer, model], { cwd: ROOT, stdio: "inherit" });
  }
  for (const format of new Set([...formats, ...longFormats, "q8_0"])) {
    const file = path.join(dir, `gte-base-random-${format}.gguf`);
    if (!existsSync(file)) {
      execFileSync("target/release/splade", ["convert", model, file, "--dtype", format], { cwd: ROOT, stdio: "inherit" });
    }
  }
}

// PEP sections until well past 8,192 tokens (the page cuts the text to the window).
function longText() {
  const lines = readFileSync(path.join(ROOT, "../shared/data/python-peps/corpus.jsonl"), "utf8").split("\n");
  const texts = [];
  for (let i = 0, chars = 0; chars < 60_000; i++) {
    const t = JSON.parse(lines[i]).text;
    texts.push(t);
    chars += t.length;
  }
  return texts.join("\n\n");
}

/**
 * In the page: loads the pack (the page's own encoder), cuts the texts to exactly `tokens` tokens
 * with its tokenizer, starts the pool, warms each worker, then times the passages sent all at once
 * in jobs of `batch`.
 */
async function measure({ packUrl, texts, tokens, size, batch, memoryBudget }) {
  const { EncoderPool, SparseEncoder } = await import("splade-wasm");
  const encoder = await SparseEncoder.load(packUrl, { cacheName: false });
  const count = (text) => encoder.documentTokenIds(text).length;
  const cut = (text) => {
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (count(text.slice(0, mid)) <= tokens) lo = mid;
      else hi = mid - 1;
    }
    return text.slice(0, lo);
  };
  const passages = texts.map(cut);
  const started = performance.now();
  const pool = await EncoderPool.create(encoder, { size, maxTokens: tokens, memoryBudget, fallback: false });
  const startSeconds = (performance.now() - started) / 1000;
  const job = (list) => pool.encode(list.map((text, key) => ({ key, text })), { mode: "passages" });
  await Promise.all(Array.from({ length: pool.size }, (_, i) => job([passages[i % passages.length]])));
  const t0 = performance.now();
  const jobs = [];
  for (let i = 0; i < passages.length; i += batch) {
    jobs.push(job(passages.slice(i, i + batch)));
  }
  const out = await Promise.all(jobs);
  const seconds = (performance.now() - t0) / 1000;
  const failed = out.flatMap((o) => o.results).filter((r) => r.error != null).length;
  const result = {
    passages: passages.length,
    tokensPerPassage: passages.reduce((n, p) => n + count(p), 0) / passages.length,
    seconds,
    docsPerSecond: passages.length / seconds,
    startSeconds,
    failed,
    plan: pool.plan,
    memory: pool.memory,
  };
  pool.terminate();
  return result;
}

async function inBrowser(server, fn, arg) {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(30 * 60_000);
    await page.goto(new URL("tests/js/harness.html", server.url).href);
    const loadStart = load();
    const result = await page.evaluate(fn, arg);
    return { ...result, rendererPeakMib: mib(rendererPeakBytes(process.pid)), loadStart, loadEnd: load() };
  } finally {
    await browser.close();
  }
}

prepareModel();
const rows = [];
if (!args.includes("--no-lines") || longFormats.length > 0) {
  const server = await startServer(ROOT, { mounts: { "/@fullsize/": dir } });
  try {
    const short = JSON.parse(readFileSync(path.join(BASELINES, "passages-128.json"), "utf8"));
    // 512-token passages from four of the 128-token ones each, so both lengths read the same text.
    const long = Array.from({ length: Math.floor(short.length / 4) }, (_, i) => short.slice(4 * i, 4 * i + 4).join(" "));
    for (const format of args.includes("--no-lines") ? [] : formats) {
      for (const tokens of [128, 512]) {
        for (const size of [...new Set([1, workers])]) {
          const n = tokens === 128 ? passageCount : Math.max(size, Math.ceil(passageCount / 4));
          const texts = (tokens === 128 ? short : long).slice(0, n);
          // Infinity: the worker count asked for, to measure it; the default plan is reported apart.
          // Jobs of up to 4 passages (as bench/fullsize.mjs), enough of them to keep every worker busy.
          const batch = Math.min(4, Math.ceil(n / size));
          const cfg = { packUrl: `/@fullsize/gte-base-random-${format}.gguf`, texts, tokens, size, batch, memoryBudget: Infinity };
          const r = await inBrowser(server, measure, cfg);
          const row = { format, tokens, workers: size, ...r };
          console.log(JSON.stringify({ ...row, plan: undefined, reason: r.plan.reason }));
          rows.push(row);
        }
      }
    }
    const text = longText();
    for (const format of longFormats) {
      const cfg = { packUrl: `/@fullsize/gte-base-random-${format}.gguf`, texts: [text], tokens: 8192, size: 1, batch: 1, memoryBudget: Infinity };
      const r = await inBrowser(server, measure, cfg);
      const row = { format, tokens: 8192, workers: 1, ...r };
      console.log(JSON.stringify({ ...row, plan: undefined }));
      rows.push(row);
    }
  } finally {
    await server.close();
  }
}

if (rows.length > 0) {
  console.log("\n| pack | tokens | workers | docs/s | s per passage | wasm MiB: page + workers | renderer peak RSS MiB | load (start → end) |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const wasm = `${mib(r.memory.mainBytes)} + ${r.memory.workers.map(mib).join(" + ")} = ${mib(r.memory.totalBytes)}`;
    console.log(`| ${r.format} | ${Math.round(r.tokensPerPassage)} | ${r.workers} | ${r.docsPerSecond.toFixed(3)} | ${(r.seconds / r.passages).toFixed(1)} | ${wasm} | ${r.rendererPeakMib} | ${r.loadStart} → ${r.loadEnd} |`);
  }
  for (const format of formats) {
    const at = (tokens) => rows.find((r) => r.format === format && r.tokens === tokens && r.workers === 1)?.docsPerSecond;
    if (at(128) && at(512)) {
      console.log(`${format}: one 512-token passage costs ${(at(128) / (4 * at(512))).toFixed(2)}× four 128-token passages (1 worker, same run)`);
    }
  }
}

if (args.includes("--demo")) {
  const { demoRun } = await import("./fullsize-demo.mjs");
  console.log(JSON.stringify(await demoRun({ dir, load })));
}

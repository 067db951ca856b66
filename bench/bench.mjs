// Side-by-side benchmark: our encoder (wasm in headless Chromium with 1 and N Web Workers, wasm in
// Node, native) against onnxruntime-web (wasm backend, one thread per worker) on the same model,
// passages and long document, in one session. Run by `./build.sh bench [options]`:
//
//   node bench/bench.mjs [--repeat N] [--workers N] [--bert-base] [--bert-base-passages N]
//                        [--only native,node,chromium] [--no-ort] [--limit N] [--out FILE]
// (--limit N: only the first N passages, for a quick check of the harness itself)
//
// Prints a table and writes every number to bench/results/<date>.json (see README "Benchmarks").
import { execFileSync, spawnSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { chromiumPath } from "../tests/js/browser.mjs";
import { contentType } from "../tools/serve.mjs";
import { latency, median, throughput } from "./lib.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BASELINES = path.resolve(ROOT, process.env.SPLADE_BASELINES ?? "../shared/baselines");
const QUERY = "how does cerebral white matter develop in human newborn infants"; // 10 words
const MiB = 2 ** 20;

// ---------------------------------------------------------------------------------------------
// options

function parseArgs(argv) {
  const opt = {
    repeat: 3,
    workers: Math.max(2, os.availableParallelism?.() ?? os.cpus().length),
    bertBase: false,
    bertBasePassages: 32,
    limit: null,
    only: new Set(["native", "node", "chromium"]),
    ort: true,
    out: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) {
        throw new Error(`${a} needs a value`);
      }
      return argv[++i];
    };
    if (a === "--repeat") opt.repeat = Math.max(1, Number(value()));
    else if (a === "--workers") opt.workers = Math.max(1, Number(value()));
    else if (a === "--bert-base") opt.bertBase = true;
    else if (a === "--bert-base-passages") opt.bertBasePassages = Math.max(1, Number(value()));
    else if (a === "--limit") opt.limit = Math.max(1, Number(value()));
    else if (a === "--only") opt.only = new Set(value().split(","));
    else if (a === "--no-ort") opt.ort = false;
    else if (a === "--out") opt.out = path.resolve(value());
    else if (a === "-h" || a === "--help") {
      console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(0, 8).join("\n"));
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return opt;
}

// ---------------------------------------------------------------------------------------------
// machine and inputs

function cpuModel() {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  const field = (name) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
  return {
    model_name: field("model name"),
    vendor: field("vendor_id"),
    family: field("cpu family"),
    model: field("model"),
    mhz: field("cpu MHz"),
    cores: os.availableParallelism?.() ?? os.cpus().length,
    simd: ["avx2", "fma", "avx512f", "avx512_vnni"].filter((f) => new RegExp(`\\b${f}\\b`).test(info)),
  };
}

function gitRevision() {
  if (process.env.SPLADE_BENCH_REVISION) {
    return process.env.SPLADE_BENCH_REVISION; // a tree exported with `git archive`
  }
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    return dirty ? `${rev}+dirty` : rev;
  } catch {
    return null;
  }
}

function listFolder(dir) {
  const out = [];
  const walk = (sub) => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(path.join(dir, rel)).isDirectory()) walk(rel);
      else if (name !== "manifest.json" && name !== "LICENSE") out.push(rel);
    }
  };
  walk("");
  return out.sort();
}

/** Our q8_0 pack of a model folder (`splade convert`), made once under .cache/bench. */
function q8Pack(dir, name) {
  const pack = path.join(ROOT, ".cache/bench", `${name}-q8_0.gguf`);
  if (!existsSync(pack)) {
    mkdirSync(path.dirname(pack), { recursive: true });
    console.log(`making ${path.relative(ROOT, pack)} (splade convert --dtype q8_0)`);
    execFileSync("target/release/splade", ["convert", dir, pack, "--dtype", "q8_0"], { cwd: ROOT, stdio: "inherit" });
  }
  return pack;
}

/** The BERT-base-sized random models: ours (made with the CLI) and the ONNX export (Python). */
function prepareBertBase(notes) {
  const ours = path.join(ROOT, ".cache/bench/bert-base-random");
  if (!existsSync(path.join(ours, "model.safetensors"))) {
    console.log(`making ${path.relative(ROOT, ours)} (splade random-model --architecture bert)`);
    execFileSync(
      "target/release/splade",
      ["random-model", "--architecture", "bert", "--tokenizer", "models/splade-tiny/tokenizer.json", ours],
      { cwd: ROOT, stdio: "inherit" },
    );
  }
  if (!existsSync(path.join(ours, "idf.json"))) {
    writeFileSync(path.join(ours, "idf.json"), readFileSync(path.join(ROOT, "models/splade-tiny/idf.json")));
  }
  const onnxDir = path.resolve(ROOT, process.env.SPLADE_BENCH_BERT_ONNX ?? ".cache/bench/bert-base-onnx");
  if (!existsSync(path.join(onnxDir, "splade.onnx"))) {
    notes.push(
      `BERT-base-sized onnxruntime-web lines skipped: no ${path.relative(ROOT, onnxDir)}/splade.onnx ` +
        "(make it with ../shared/baselines/export_onnx.py --random-bert-base, which needs torch; see README)",
    );
    return { ours, onnxDir: null };
  }
  return { ours, onnxDir };
}

// ---------------------------------------------------------------------------------------------
// a static server with a few mounts (loopback only)

function startServer(mounts) {
  const entries = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = createServer(async (req, res) => {
    const url = decodeURIComponent(req.url.split("?")[0]);
    let file = null;
    for (const [prefix, dir] of entries) {
      if (url.startsWith(prefix)) {
        const candidate = path.resolve(dir, "." + path.posix.normalize("/" + url.slice(prefix.length)));
        if (candidate.startsWith(path.resolve(dir) + path.sep)) file = candidate;
        break;
      }
    }
    const info = file && (await stat(file).catch(() => null));
    if (!info?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": contentType(file), "Content-Length": info.size, "Cache-Control": "no-cache" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => (server.close(done), server.closeAllConnections())),
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// process memory of Chromium's renderers (Linux /proc)

function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

/** Peak RSS (VmHWM) of the largest live renderer process: the page under test and its workers. */
function rendererPeakBytes(browserPid) {
  let peak = 0;
  for (const pid of descendants(browserPid)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) continue;
      const kib = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmHWM:\s+(\d+)/m)?.[1] ?? 0);
      peak = Math.max(peak, kib * 1024);
    } catch {
      // exited meanwhile
    }
  }
  return peak || null;
}

// ---------------------------------------------------------------------------------------------
// the three kinds of run

// `splade bench` measures batch "all" (encode_documents, batched internally by length) and one by
// one (batch 1); one process per round, so that we can report medians as for the other lines.
function runNativeOnce({ model, passages, threads, limit }) {
  let passagesFile = passages;
  if (limit) {
    mkdirSync(path.join(ROOT, ".cache/bench"), { recursive: true });
    passagesFile = path.join(ROOT, ".cache/bench", `passages-${limit}.json`);
    writeFileSync(passagesFile, JSON.stringify(JSON.parse(readFileSync(passages, "utf8")).slice(0, limit)));
  }
  {
    const res = spawnSync(
      path.join(ROOT, "target/release/splade"),
      [
        "bench",
        "--model", model,
        "--passages", passagesFile,
        "--document", path.join(BASELINES, "document-512.json"),
        "--repeat", "1",
        "--query", QUERY,
      ],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, RAYON_NUM_THREADS: String(threads) } },
    );
    if (res.status !== 0) throw new Error(`splade bench failed: ${res.stderr}`);
    return JSON.parse(res.stdout.trim().split("\n").pop());
  }
}

function nativeLines({ label, threads, precision }, runs) {
  const first = runs[0];
  const pick = (key) => runs.map((r) => r[key]).filter((v) => v != null);
  const tokens = first.passage_tokens * first.passages;
  const common = {
    model: label,
    runtime: "native",
    precision,
    engine: "ours",
    workers: threads,
    threads_note: `RAYON_NUM_THREADS=${threads}`,
    passages: first.passages,
    tokens,
    peak_rss_bytes: Math.max(...pick("encode_peak_rss_mib")) * MiB,
    raw: runs,
  };
  const line = (batch, key) => {
    const dps = pick(key);
    return {
      ...common,
      batch,
      docs_per_s: median(dps),
      docs_per_s_best: Math.max(...dps),
      tokens_per_s: median(dps) * (tokens / first.passages),
    };
  };
  const batched = line("all", "docs_per_s");
  batched.document = { ms: median(pick("document_ms")), ms_best: Math.min(...pick("document_ms")) };
  batched.document_tokens = first.document_tokens;
  batched.query = { us_median: median(pick("query_us_median")), us_best: Math.min(...pick("query_us_best")) };
  batched.query_tokens = first.query_tokens;
  return [line(1, "docs_per_s_one_by_one"), batched];
}

function runNodeOnce({ model, pack, batch, reps, limit, document, query }) {
  const cfg = {
    model,
    pack,
    passages: path.join(BASELINES, "passages-128.json"),
    document: document ? path.join(BASELINES, "document-512.json") : null,
    batch,
    reps,
    limit,
    documentReps: document ? 5 : 0,
    query: query ? QUERY : null,
  };
  const res = spawnSync(process.execPath, [path.join(ROOT, "bench/node-wasm.mjs"), JSON.stringify(cfg)], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 * MiB,
  });
  if (res.status !== 0) throw new Error(`node-wasm failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split("\n").pop());
}

/** One line from several rounds of the same configuration (Node or Chromium). */
function mergeRounds(runs) {
  const last = runs.at(-1);
  const out = { ...last, rounds: runs.length };
  Object.assign(out, throughput(runs.flatMap((r) => r.seconds), last.passages, last.tokens));
  if (runs.some((r) => r.document)) {
    out.document = latency(runs.flatMap((r) => r.document?.seconds ?? []));
  }
  if (runs.some((r) => r.query)) {
    const qs = runs.map((r) => r.query).filter(Boolean);
    out.query = {
      calls: qs.reduce((n, q) => n + q.calls, 0),
      us_median: median(qs.map((q) => q.us_median)),
      us_best: Math.min(...qs.map((q) => q.us_best)),
      per_round: qs,
    };
  }
  for (const k of ["wasm_bytes", "renderer_peak_rss_bytes", "max_rss_bytes"]) {
    if (last[k] != null) out[k] = Math.max(...runs.map((r) => r[k] ?? 0));
  }
  out.load_ms = median(runs.map((r) => r.load_ms));
  return out;
}

async function runChromium(ctx, cfg) {
  const context = await ctx.browser.newContext();
  try {
    const page = await context.newPage();
    page.on("pageerror", (err) => console.log(`  [page error] ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error" || process.env.BENCH_VERBOSE) console.log(`  [page] ${msg.text()}`);
    });
    await page.goto(`${ctx.server.url}/bench/page.html`);
    await page.waitForFunction(() => window.benchReady === true);
    const result = await page.evaluate((c) => window.runConfig(c), cfg);
    result.renderer_peak_rss_bytes = rendererPeakBytes(ctx.browserPid);
    return result;
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// the table

const fmt = (x, digits = 1) => (x == null || Number.isNaN(x) ? "" : x.toFixed(digits));
const mib = (bytes) => (bytes == null ? null : bytes / MiB);

function memoryText(line) {
  const parts = [];
  if (line.wasm_bytes != null) parts.push(`wasm ${fmt(mib(line.wasm_bytes), 0)}`);
  if (line.renderer_peak_rss_bytes != null) parts.push(`renderer ${fmt(mib(line.renderer_peak_rss_bytes), 0)}`);
  if (line.max_rss_bytes != null) parts.push(`rss ${fmt(mib(line.max_rss_bytes), 0)}`);
  if (line.peak_rss_bytes != null) parts.push(`rss ${fmt(mib(line.peak_rss_bytes), 0)}`);
  return parts.join(", ");
}

/** The onnxruntime-web line an ours line is compared with: same model, precision, workers, batch. */
function baselineFor(lines, line, precision) {
  const ort = lines.filter((l) => l.engine === "ort" && l.model === line.model && l.precision === precision);
  const sameWorkers = ort.filter((l) => l.workers === line.workers);
  const pool = sameWorkers.length ? sameWorkers : ort.filter((l) => l.workers === 1);
  const sameBatch = pool.find((l) => l.batch === line.batch);
  if (sameBatch) return sameBatch;
  // native "all": against the best onnxruntime-web batch size
  return pool.reduce((best, l) => (!best || l.docs_per_s > best.docs_per_s ? l : best), null);
}

function addRatios(lines) {
  for (const line of lines.filter((l) => l.engine === "ours")) {
    for (const precision of ["fp32", "int8"]) {
      const base = baselineFor(lines, line, precision);
      if (base) {
        line[`ratio_vs_ort_${precision}`] = line.docs_per_s / base.docs_per_s;
        line[`ratio_vs_ort_${precision}_against`] = `${base.runtime} ${base.workers}w b${base.batch}`;
      }
    }
  }
}

function printTable(lines) {
  const header = [
    "model", "runtime", "precision", "workers", "batch", "docs/s median (best)", "tokens/s",
    "ms / 512-tok doc (best)", "query µs", "peak memory MiB", "ours/ORT fp32", "ours/ORT int8",
  ];
  const rows = lines.map((l) => [
    l.model,
    l.runtime,
    l.precision,
    String(l.workers),
    String(l.batch),
    `${fmt(l.docs_per_s, 2)} (${fmt(l.docs_per_s_best, 2)})`,
    fmt(l.tokens_per_s, 0),
    l.document ? `${fmt(l.document.ms)} (${fmt(l.document.ms_best)})` : "",
    l.query ? fmt(l.query.us_median, 1) : "",
    memoryText(l),
    l.ratio_vs_ort_fp32 != null ? `${fmt(l.ratio_vs_ort_fp32, 2)}×` : "",
    l.ratio_vs_ort_int8 != null ? `${fmt(l.ratio_vs_ort_int8, 2)}×` : "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  const out = [line(header), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...rows.map(line)];
  return out.join("\n");
}

/** The issue's targets: single wasm thread in Chromium, best batch size on each side. */
function targets(lines) {
  const best = (filter) =>
    lines.filter(filter).reduce((b, l) => (!b || l.docs_per_s > b.docs_per_s ? l : b), null);
  const out = [];
  for (const [model, fp32Target, int8Target] of [
    ["splade-tiny", 3, 1.5],
    ["bert-base-random", 1.5, 1.2],
  ]) {
    // Same precision class: our f32 against its fp32, our q8_0 against its int8.
    for (const [precision, target, ourPrecision] of [["fp32", fp32Target, "f32"], ["int8", int8Target, "q8_0"]]) {
      const ours = best(
        (l) =>
          l.model === model && l.engine === "ours" && l.precision === ourPrecision && l.runtime === "chromium" && l.workers === 1,
      );
      const ort = best((l) => l.model === model && l.engine === "ort" && l.precision === precision && l.workers === 1);
      if (ours && ort) {
        out.push({
          model,
          against: `onnxruntime-web ${precision}`,
          ours: `${ours.precision} b${ours.batch}: ${fmt(ours.docs_per_s, 2)} docs/s`,
          baseline: `b${ort.batch}: ${fmt(ort.docs_per_s, 2)} docs/s`,
          ratio: ours.docs_per_s / ort.docs_per_s,
          target,
          met: ours.docs_per_s / ort.docs_per_s >= target,
        });
      }
    }
  }
  for (const l of lines.filter((l) => l.query && l.model === "splade-tiny" && l.workers === 1 && l.precision === "f32")) {
    const target = l.runtime === "native" ? 50 : 200;
    out.push({
      model: l.model,
      against: `query latency, ${l.runtime}`,
      ours: `${fmt(l.query.us_median, 1)} µs (${l.query_tokens} tokens)`,
      ratio: null,
      target: `< ${target} µs`,
      met: l.query.us_median < target,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const notes = [];
  const passagesFile = path.join(BASELINES, "passages-128.json");
  const passages = JSON.parse(readFileSync(passagesFile, "utf8"));
  const document = JSON.parse(readFileSync(path.join(BASELINES, "document-512.json"), "utf8")).text;
  for (const need of ["pkg/splade_wasm_bg.wasm", "target/release/splade", "models/splade-tiny/model.safetensors"]) {
    if (!existsSync(path.join(ROOT, need))) throw new Error(`${need} is missing: run ./build.sh build first`);
  }

  const models = [
    {
      label: "splade-tiny",
      dir: path.join(ROOT, "models/splade-tiny"),
      mount: "/models/splade-tiny/",
      q8: q8Pack(path.join(ROOT, "models/splade-tiny"), "splade-tiny"),
      onnx: { fp32: "/@baselines/splade-tiny/splade.onnx", int8: "/@baselines/splade-tiny/splade_int8.onnx" },
      limit: opt.limit,
      reps: opt.repeat,
      batches: [1, 8],
      workers: [...new Set([1, opt.workers])],
      query: true,
    },
  ];
  const mounts = { "/": ROOT, "/@baselines/": BASELINES, "/@bench-cache/": path.join(ROOT, ".cache/bench") };
  if (opt.bertBase) {
    const { ours, onnxDir } = prepareBertBase(notes);
    mounts["/@bert-base/"] = ours;
    if (onnxDir) mounts["/@bert-base-onnx/"] = onnxDir;
    models.push({
      label: "bert-base-random",
      dir: ours,
      mount: "/@bert-base/",
      q8: q8Pack(ours, "bert-base-random"),
      onnx: onnxDir ? { fp32: "/@bert-base-onnx/splade.onnx", int8: "/@bert-base-onnx/splade_int8.onnx" } : null,
      limit: opt.bertBasePassages,
      reps: Math.min(opt.repeat, 2),
      batches: [8],
      workers: [1],
      query: false,
    });
    notes.push(
      `bert-base-random: first ${opt.bertBasePassages} passages, ${Math.min(opt.repeat, 2)} repetitions, ` +
        "batch 8, 1 worker (a BERT-base-sized pass over all 200 takes minutes per line)",
    );
  }

  const env = {
    date: new Date().toISOString(),
    cpu: cpuModel(),
    node: process.version,
    git: gitRevision(),
    onnxruntime_web: JSON.parse(readFileSync(path.join(ROOT, "node_modules/onnxruntime-web/package.json"), "utf8")).version,
    passages: `${path.relative(ROOT, passagesFile)} (${passages.length}, truncated to 128 tokens)`,
    document: "document-512.json, truncated to 512 tokens",
    query: QUERY,
    // The machine is shared: a load well above 1 at the start or the end means the run was disturbed.
    loadavg_start: os.loadavg(),
  };
  console.log(`CPU: ${env.cpu.model_name} (${env.cpu.vendor} family ${env.cpu.family} model ${env.cpu.model}), ${env.cpu.cores} cores`);

  // Every configuration is a job; rounds run all jobs in turn (round-robin), so that the shared
  // machine's slow spells spread over all lines instead of hitting a few of them.
  const jobs = [];
  const needChromium = opt.only.has("chromium");
  for (const m of models) {
    if (opt.only.has("native")) {
      for (const [precision, model] of [["f32", m.dir], ["q8_0", m.q8]]) {
        for (const threads of [...new Set([1, opt.workers])]) {
          jobs.push({
            kind: "native",
            rounds: m.reps,
            meta: { label: m.label, threads, precision },
            run: () => runNativeOnce({ model, passages: passagesFile, threads, limit: m.limit }),
          });
        }
      }
    }
    if (opt.only.has("node")) {
      for (const [precision, pack] of [["f32", null], ["q8_0", m.q8]]) {
        for (const batch of m.batches) {
          const first = batch === m.batches[0];
          jobs.push({
            kind: "node",
            rounds: m.reps,
            meta: { model: m.label, runtime: "node wasm", precision, engine: "ours", workers: 1, batch },
            run: () =>
              runNodeOnce({ model: m.dir, pack, batch, reps: 1, limit: m.limit, document: first, query: m.query && batch === 1 && !pack }),
          });
        }
      }
    }
    if (needChromium) {
      const texts = m.limit ? passages.slice(0, m.limit) : passages;
      const engines = [
        { engine: "ours", precision: "f32" },
        { engine: "ours", precision: "q8_0" },
      ];
      if (opt.ort && m.onnx) {
        engines.push({ engine: "ort", precision: "fp32" }, { engine: "ort", precision: "int8" });
      }
      for (const workers of m.workers) {
        for (const { engine, precision } of engines) {
          for (const batch of m.batches) {
            const firstOfKind = workers === 1 && batch === m.batches[0];
            const cfg = (server, tokenizerFiles) => ({
              label: `${m.label} ${precision} w${workers} b${batch}`,
              engine,
              workers,
              batch,
              reps: 1,
              passages: texts,
              passageTokens: 128,
              document: firstOfKind ? document : null,
              documentTokens: 512,
              documentReps: 3,
              query: firstOfKind && m.query && precision === "f32" ? QUERY : null,
              queryBlocks: 100,
              queryPerBlock: 100,
              tokenizerFiles,
              modelFiles:
                engine === "ours" && precision === "f32"
                  ? Object.fromEntries(listFolder(m.dir).map((rel) => [rel, `${server.url}${m.mount}${rel}`]))
                  : null,
              packUrl: precision === "q8_0" ? `${server.url}/@bench-cache/${path.basename(m.q8)}` : null,
              onnxUrl: engine === "ort" ? `${server.url}${m.onnx[precision]}` : null,
            });
            jobs.push({
              kind: "chromium",
              rounds: m.reps,
              meta: { model: m.label, runtime: "chromium", precision, engine, workers, batch },
              run: async (ctx) => {
                const r = await runChromium(ctx, cfg(ctx.server, ctx.tokenizerFiles));
                r.wasm_bytes = engine === "ours" ? r.worker_wasm_bytes.reduce((a, b) => a + b, 0) : null;
                return r;
              },
            });
          }
        }
      }
    }
  }

  let ctx = null;
  let closeChromium = async () => {};
  if (needChromium) {
    const server = await startServer(mounts);
    // The same flags as tests/js/browser.mjs (no network: stop Chromium's background connections).
    const browserServer = await chromium.launchServer({
      executablePath: chromiumPath(),
      headless: true,
      timeout: 60_000,
      args: [
        "--headless", "--no-sandbox", "--no-first-run", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic",
      ],
    });
    const browser = await chromium.connect(browserServer.wsEndpoint());
    env.chromium = browser.version();
    const tokenizerFiles = Object.fromEntries(
      listFolder(path.join(ROOT, "models/splade-tiny")).map((rel) => [rel, `${server.url}/models/splade-tiny/${rel}`]),
    );
    ctx = { browser, server, browserPid: browserServer.process().pid, tokenizerFiles };
    closeChromium = async () => {
      await browser.close();
      await browserServer.close();
      await server.close();
    };
    console.log(`Chromium ${env.chromium}`);
  }

  const raw = jobs.map(() => []);
  try {
    const rounds = Math.max(...jobs.map((j) => j.rounds));
    for (let round = 0; round < rounds; round++) {
      console.log(`\n== round ${round + 1} of ${rounds}`);
      for (const [i, job] of jobs.entries()) {
        if (round >= job.rounds) continue;
        const t0 = Date.now();
        const r = await job.run(ctx);
        raw[i].push(r);
        const m = job.meta;
        const dps = job.kind === "native" ? r.docs_per_s : r.passages / median(r.seconds);
        console.log(
          `  ${m.model ?? m.label} ${job.kind} ${m.precision ?? "f32"} ${job.kind === "native" ? `t${m.threads}` : `w${m.workers} b${m.batch}`}: ` +
            `${fmt(dps, 2)} docs/s (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
    }
  } finally {
    await closeChromium();
  }

  const lines = jobs.flatMap((job, i) =>
    job.kind === "native" ? nativeLines(job.meta, raw[i]) : [{ ...job.meta, ...mergeRounds(raw[i]) }],
  );

  env.loadavg_end = os.loadavg();
  addRatios(lines);
  const table = printTable(lines);
  const goals = targets(lines);
  console.log(`\nCPU: ${env.cpu.model_name} (family ${env.cpu.family} model ${env.cpu.model}, ${env.cpu.cores} cores); ` +
    `Chromium ${env.chromium ?? "-"}; Node ${env.node}; onnxruntime-web ${env.onnxruntime_web}; git ${env.git}; ` +
    `load average ${env.loadavg_start[0].toFixed(2)} at start, ${env.loadavg_end[0].toFixed(2)} at end\n`);
  console.log(table);
  console.log(
    "\npeak memory: wasm = linear memory of our wasm instances (summed over workers; it never shrinks, so " +
      "final = peak); renderer = peak RSS (VmHWM) of the Chromium renderer process running the page and its " +
      "workers (includes the main-thread splade-tiny tokenizer instance every page loads); rss = peak RSS of " +
      "the Node or native process. Tokenization is included on both sides (ours inside encodeDocument(s), " +
      "onnxruntime-web via our documentTokenIds on the main thread).",
  );
  console.log("\ntargets (issue 5; single wasm thread in Chromium, best batch each side):");
  for (const g of goals) {
    console.log(
      `  ${g.model} vs ${g.against}: ours ${g.ours}` +
        (g.baseline ? `, baseline ${g.baseline}, ratio ${fmt(g.ratio, 2)}× (target ≥ ${g.target}×)` : ` (target ${g.target})`) +
        ` ${g.met ? "MET" : "not met"}`,
    );
  }
  for (const n of notes) console.log(`note: ${n}`);

  const out = opt.out ?? path.join(ROOT, "bench/results", `${env.date.slice(0, 10)}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ env, notes, targets: goals, lines, table }, null, 1) + "\n");
  console.log(`\nwrote ${path.relative(ROOT, out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

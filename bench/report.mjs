// The report: ratios against onnxruntime-web, the table, the issue-5 targets, and every number
// written to bench/results/<date>.json (or --out).
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { MiB, ROOT } from "./inputs.mjs";

export const fmt = (x, digits = 1) => (x == null || Number.isNaN(x) ? "" : x.toFixed(digits));
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

/** The targets: single wasm thread in Chromium, best batch size on each side. */
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

/** Prints the table, the targets and the notes, and writes the results file. */
export function report(lines, { env, notes, out }) {
  // Right after the last round: a load well above 1 here means the end of the run was disturbed.
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
  for (const l of lines.filter((l) => l.runtime === "chromium webgpu")) {
    const where = l.adapter_software ? "a software adapter: these numbers measure correctness only, not a GPU's speed" : "a hardware adapter";
    notes.push(`${l.model} ${l.precision} webgpu b${l.batch} ran on ${l.adapter} (${where})`);
  }
  for (const n of notes) console.log(`note: ${n}`);

  const file = out ?? path.join(ROOT, "bench/results", `${env.date.slice(0, 10)}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ env, notes, targets: goals, lines, table }, null, 1) + "\n");
  console.log(`\nwrote ${path.relative(ROOT, file)}`);
}

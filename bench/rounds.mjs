// Rounds run all jobs in turn (round-robin), so that the shared machine's slow spells spread over
// all lines instead of hitting a few of them; then each job's rounds merge into its report lines.
import { MiB } from "./inputs.mjs";
import { latency, median, throughput } from "./lib.mjs";
import { fmt } from "./report.mjs";

/** Each job's results, one per round it ran (a job runs at most `job.rounds` rounds). */
export async function runRounds(jobs, ctx) {
  const raw = jobs.map(() => []);
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
        `  ${m.model ?? m.label} ${m.runtime ?? job.kind} ${m.precision ?? "f32"} ${job.kind === "native" ? `t${m.threads}` : `w${m.workers} b${m.batch}`}: ` +
          `${fmt(dps, 2)} docs/s (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
  }
  return raw;
}

/** The report's lines: two per native job (batch 1 and "all"), one per Node or Chromium job. */
export function linesOf(jobs, raw) {
  return jobs.flatMap((job, i) =>
    job.kind === "native" ? nativeLines(job.meta, raw[i]) : [{ ...job.meta, ...mergeRounds(raw[i]) }],
  );
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

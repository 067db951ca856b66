// Side-by-side benchmark: our encoder (wasm in headless Chromium with 1 and N Web Workers, WebGPU in
// the same Chromium, wasm in Node, native) against onnxruntime-web (wasm backend, one thread per worker) on the same model,
// passages and long document, in one session. Run by `./build.sh bench [options]`:
//
//   node bench/bench.mjs [--repeat N] [--workers N] [--bert-base] [--bert-base-passages N]
//                        [--only native,node,chromium,webgpu] [--no-ort] [--limit N] [--out FILE]
// (--limit N: only the first N passages, for a quick check of the harness itself)
//
// Prints a table and writes every number to bench/results/<date>.json (see README "Benchmarks").
//
// main reads as the run goes: models → jobs → rounds → report. The parts: inputs.mjs (passages,
// document, query), options.mjs, machine.mjs (the recorded environment, renderer memory),
// models.mjs, jobs.mjs, runs.mjs (native, Node, Chromium; the static server is tools/serve.mjs),
// rounds.mjs, report.mjs.
import { readInputs } from "./inputs.mjs";
import { benchJobs } from "./jobs.mjs";
import { environment } from "./machine.mjs";
import { benchModels, requireBuild } from "./models.mjs";
import { parseArgs } from "./options.mjs";
import { report } from "./report.mjs";
import { linesOf, runRounds } from "./rounds.mjs";
import { startChromium } from "./runs.mjs";

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const notes = [];
  const inputs = readInputs();
  requireBuild();

  const { models, mounts } = benchModels(opt, notes);
  const env = environment(inputs.passages.length);
  console.log(`CPU: ${env.cpu.model_name} (${env.cpu.vendor} family ${env.cpu.family} model ${env.cpu.model}), ${env.cpu.cores} cores`);

  const jobs = benchJobs(models, opt, inputs);

  let ctx = null;
  if (opt.only.has("chromium") || opt.only.has("webgpu")) {
    ctx = await startChromium(mounts, { webgpu: opt.only.has("webgpu") });
    env.chromium = ctx.version;
    console.log(`Chromium ${env.chromium}`);
  }
  let raw;
  try {
    raw = await runRounds(jobs, ctx);
  } finally {
    await ctx?.close();
  }

  report(linesOf(jobs, raw), { env, notes, out: opt.out });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

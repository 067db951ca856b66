// Every configuration of a run is a job: one model, runtime, precision, engine, worker count and
// batch size. `run(ctx)` measures it once (one round); `meta` names its line in the report.
import path from "node:path";
import { QUERY } from "./inputs.mjs";
import { listFolder } from "./models.mjs";
import { runChromium, runNativeOnce, runNodeOnce, serverUrl } from "./runs.mjs";

function nativeJobs(m, opt) {
  const jobs = [];
  for (const [precision, model] of [["f32", m.dir], ["q8_0", m.q8]]) {
    for (const threads of [...new Set([1, opt.workers])]) {
      jobs.push({
        kind: "native",
        rounds: m.reps,
        meta: { label: m.label, threads, precision },
        run: () => runNativeOnce({ model, threads, limit: m.limit }),
      });
    }
  }
  return jobs;
}

function nodeJobs(m) {
  const jobs = [];
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
  return jobs;
}

// Ours in f32 and q8_0, and onnxruntime-web in fp32 and int8 where the model has an ONNX export;
// the long document and the query are timed on the first configuration of each kind only.
function chromiumJobs(m, opt, { passages, document }) {
  const jobs = [];
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
              ? Object.fromEntries(listFolder(m.dir).map((rel) => [rel, serverUrl(server, `${m.mount}${rel}`)]))
              : null,
          packUrl: precision === "q8_0" ? serverUrl(server, `/@bench-cache/${path.basename(m.q8)}`) : null,
          onnxUrl: engine === "ort" ? serverUrl(server, m.onnx[precision]) : null,
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
  return jobs;
}

// Ours on WebGPU on the Chromium page's main thread (one GPU encoder per page), f32 and q8_0, at the
// same batch sizes as the wasm lines next to it.
function webgpuJobs(m, { passages, document }) {
  const texts = m.limit ? passages.slice(0, m.limit) : passages;
  return ["f32", "q8_0"].flatMap((precision) =>
    m.batches.map((batch) => ({
      kind: "chromium",
      rounds: m.reps,
      meta: { model: m.label, runtime: "chromium webgpu", precision, engine: "ours", workers: 1, batch },
      run: (ctx) =>
        runChromium(ctx, {
          label: `${m.label} ${precision} webgpu b${batch}`,
          engine: "webgpu",
          workers: 1,
          batch,
          reps: 1,
          passages: texts,
          passageTokens: 128,
          document: batch === m.batches[0] ? document : null,
          documentTokens: 512,
          documentReps: 3,
          tokenizerFiles: ctx.tokenizerFiles,
          modelFiles:
            precision === "f32"
              ? Object.fromEntries(listFolder(m.dir).map((rel) => [rel, serverUrl(ctx.server, `${m.mount}${rel}`)]))
              : null,
          packUrl: precision === "q8_0" ? serverUrl(ctx.server, `/@bench-cache/${path.basename(m.q8)}`) : null,
        }),
    })),
  );
}

/** The jobs of a run, per model in the order native, Node, Chromium (as `--only` selects). */
export function benchJobs(models, opt, inputs) {
  return models.flatMap((m) => [
    ...(opt.only.has("native") ? nativeJobs(m, opt) : []),
    ...(opt.only.has("node") ? nodeJobs(m) : []),
    ...(opt.only.has("chromium") ? chromiumJobs(m, opt, inputs) : []),
    ...(opt.only.has("webgpu") ? webgpuJobs(m, inputs) : []),
  ]);
}

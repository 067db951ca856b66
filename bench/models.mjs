// The models a run measures, each with its f32 folder, its q8_0 pack and its ONNX baseline, and the
// URL prefixes under which the static server mounts their folders for Chromium.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { BASELINES, ROOT } from "./inputs.mjs";

/** The files of a model folder, relative to it, as the encoder's `files` argument names them. */
export function listFolder(dir) {
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

export function requireBuild() {
  for (const need of ["pkg/splade_wasm_bg.wasm", "target/release/splade", "models/splade-tiny/model.safetensors"]) {
    if (!existsSync(path.join(ROOT, need))) throw new Error(`${need} is missing: run ./build.sh build first`);
  }
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

/**
 * The default model, and the BERT-base-sized one with `--bert-base`. Each says how many passages
 * (`limit`), rounds (`reps`), batch sizes and worker counts its lines use; `mount` and `onnx` are
 * URL paths on the static server, whose extra folders `mounts` lists.
 */
export function benchModels(opt, notes) {
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
  const mounts = { "/@baselines/": BASELINES, "/@bench-cache/": path.join(ROOT, ".cache/bench") };
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
  return { models, mounts };
}

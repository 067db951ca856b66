// Writes tests/data/site/tokenizer-cases.jsonl.gz: texts and the query token ids the wasm encoder
// (the tokenizers crate) gives them, for the static-site tokenizer's identity test. Texts: a sample
// of the shareable corpora in ../shared/data (public domain or CC BY 4.0; SciFact is CC BY-NC, so it
// is compared at development time only) and the generated Unicode edge cases.
// Usage (after ./build.sh build): node tools/site-tokenizer-cases.mjs
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { loadFolder, readBytes, ROOT } from "../tests/js/fs-folder.mjs";
import { edgeCases } from "../tests/js/site-cases.mjs";

const SHARED = path.join(ROOT, "../shared/data");
const SAMPLES = [
  ["python-peps/corpus.jsonl", 120],
  ["sotu-passages/corpus.jsonl", 120],
  ["limit-small/corpus.jsonl", 46],
  ["limit-small/queries.jsonl", 200],
];

function sample(file, count) {
  const lines = readFileSync(path.join(SHARED, file), "utf8").split("\n").filter(Boolean);
  const step = Math.max(1, Math.floor(lines.length / count));
  const out = [];
  for (let i = 0; i < lines.length && out.length < count; i += step) {
    const record = JSON.parse(lines[i]);
    out.push(...[record.title, record.text].filter((t) => typeof t === "string" && t.length > 0));
  }
  return out;
}

const { default: init, SparseEncoder } = await import("../pkg/splade_wasm.js");
await init({ module_or_path: readBytes("pkg/splade_wasm_bg.wasm") });
const encoder = new SparseEncoder(await loadFolder("models/splade-tiny"));

const texts = [...SAMPLES.flatMap(([file, count]) => sample(file, count)), ...edgeCases()];
const lines = texts.map((text) => JSON.stringify({ text, ids: Array.from(encoder.queryTokenIds(text)) }));
encoder.free();

const out = path.join(ROOT, "tests/data/site/tokenizer-cases.jsonl.gz");
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, gzipSync(lines.join("\n") + "\n", { level: 9 }));
console.log(`${texts.length} cases -> ${path.relative(ROOT, out)}`);

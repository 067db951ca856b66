// Peak wasm memory (and time) for one long document in Node, e.g. 8,192 tokens on a
// doc-v3-gte-sized random model:
//   target/release/splade random-model --architecture gte --max-positions 8192 \
//     --tokenizer models/splade-tiny/tokenizer.json /tmp/gte-base-random
//   node bench/long-document-memory.mjs /tmp/gte-base-random TEXT.json
// or, for a model pack: node bench/long-document-memory.mjs '{"pack": PACK, "text": TEXT.json}'
// WebAssembly memory never shrinks, so its final size is the peak of the whole run.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const [first, second] = process.argv.slice(2);
const { pack, model: modelDir, text: textFile } = first?.startsWith("{") ? JSON.parse(first) : { model: first, text: second };
if (!(modelDir || pack) || !textFile) {
  console.error("usage: node bench/long-document-memory.mjs MODEL_DIR TEXT.json | '{\"pack\": PACK, \"text\": TEXT.json}'");
  process.exit(2);
}
const mib = (bytes) => Math.round(bytes / 2 ** 20);
const { default: init, SparseEncoder } = await import("../pkg/splade_wasm.js");
const wasm = await init({ module_or_path: readFileSync("pkg/splade_wasm_bg.wasm") });

const files = {};
for (const name of pack ? [] : readdirSync(modelDir)) {
  files[name] = new Uint8Array(readFileSync(path.join(modelDir, name)));
}
let start = performance.now();
const encoder = pack ? SparseEncoder.fromPack(new Uint8Array(readFileSync(pack))) : new SparseEncoder(files);
const loadMs = performance.now() - start;
const afterLoad = wasm.memory.buffer.byteLength;

const text = JSON.parse(readFileSync(textFile, "utf8")).text;
const tokens = encoder.documentTokenIds(text).length;
start = performance.now();
const vector = encoder.encodeDocument(text);
const encodeMs = performance.now() - start;
console.log(
  JSON.stringify({
    model: encoder.info().architecture,
    tokens,
    nonzeros: vector.indices.length,
    load_ms: Math.round(loadMs),
    encode_ms: Math.round(encodeMs),
    wasm_memory_after_load_mib: mib(afterLoad),
    wasm_memory_peak_mib: mib(wasm.memory.buffer.byteLength),
  }),
);

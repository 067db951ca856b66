// Absurd or oversized model configurations are refused in wasm with an Error naming the value and
// the limit, before anything is allocated for them, and the instance keeps working afterwards (a
// trap would poison it): node tests/js/model-limits.mjs
import { checker } from "./check.mjs";
import { loadFolder, readBytes } from "./fs-folder.mjs";

const t = checker("limits");
const { default: init, SparseEncoder } = await import("../../pkg/splade_wasm.js");
await init({ module_or_path: readBytes("pkg/splade_wasm_bg.wasm") });
const files = await loadFolder("models/splade-tiny");
const config = JSON.parse(new TextDecoder().decode(files["config.json"]));

/** The error message of loading splade-tiny with `changes` applied to its config (null if it loads). */
function refusal(changes) {
  const bytes = new TextEncoder().encode(JSON.stringify({ ...config, ...changes }));
  try {
    new SparseEncoder({ ...files, "config.json": bytes }).free();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : `not an Error: ${String(err)}`;
  }
}

const cases = [
  ["10^9 layers", { num_hidden_layers: 1e9 }, /`num_hidden_layers` = 1000000000 exceeds 256/],
  ["10^9 positions", { max_position_embeddings: 1e9 }, /`max_position_embeddings` = 1000000000 exceeds 1048576/],
  ["a zero hidden size", { hidden_size: 0 }, /`hidden_size` = 0: a model needs at least 1/],
  ["zero heads", { num_attention_heads: 0 }, /`num_attention_heads` = 0/],
  ["heads that do not divide the hidden size", { num_attention_heads: 3 }, /`hidden_size` = 128 is not divisible by `num_attention_heads` = 3/],
  ["weights past 4 GiB", { hidden_size: 16384, num_attention_heads: 128, intermediate_size: 65536, num_hidden_layers: 24 }, /MiB, more than the 4096 MiB a wasm instance can address/],
];
for (const [name, changes, pattern] of cases) {
  const message = refusal(changes);
  t.check(`refused: ${name}`, message != null && pattern.test(message), message);
}
const encoder = new SparseEncoder(files);
const vector = encoder.encodeDocument("the instance still works after the refusals");
t.check("the wasm instance still encodes afterwards", vector.indices.length > 0, JSON.stringify(vector).slice(0, 200));
encoder.free();
t.finish();

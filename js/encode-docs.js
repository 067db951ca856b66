// Split documents into passages and encode them: the unit of work of a worker (or of the calling
// thread when there are no workers, or of the WebGPU encoder in device.js).
import { splitPassages, tokenBudget } from "./passages.js";

/**
 * The passages of `docs` (`[{key, text}]`) for `mode` (see encodeDocs): `{split, texts}`, where
 * `split[i]` are document i's `{start, end}` ranges and `texts` all passages' texts in order.
 */
export function planPassages(budget, docs, mode = "docs") {
  const split = docs.map((doc) => (mode === "passages" ? [{ start: 0, end: doc.text.length }] : splitPassages(doc.text, budget)));
  const texts = [];
  split.forEach((passages, i) => {
    for (const p of passages) {
      texts.push(docs[i].text.slice(p.start, p.end));
    }
  });
  return { split, texts };
}

/** encodeDocs' result from a plan and the vectors of its `texts`, in order. */
export function withVectors(docs, { split, texts }, vectors) {
  let k = 0;
  const results = docs.map((doc, i) => ({
    key: doc.key,
    passages: split[i].map((p) => {
      const v = vectors[k++];
      return { start: p.start, end: p.end, indices: v.indices, values: v.values };
    }),
  }));
  return { results, passages: texts.length };
}

/**
 * `docs`: `[{key, text}]`. Returns `{results: [{key, passages: [{start, end, indices?, values?}]}],
 * passages}`. `mode`: "docs" splits each text and encodes its passages; "passages" encodes each text
 * as one passage (already split: a long document is sent in pieces so that progress, pause and
 * cancel act between small jobs); "split" only splits (offsets, no vectors). All of a call's
 * passages go to one `encodeDocuments` call (batched by length). `testHooks.trapOn`, for the pool's
 * tests only: encoding a text containing that string traps (a real WebAssembly.RuntimeError).
 */
export function encodeDocs(encoder, budget, docs, mode = "docs", testHooks = null) {
  if (testHooks?.trapOn && mode !== "split" && docs.some((doc) => doc.text.includes(testHooks.trapOn))) {
    trap();
  }
  const plan = planPassages(budget, docs, mode);
  if (mode === "split") {
    return { results: docs.map((doc, i) => ({ key: doc.key, passages: plan.split[i] })), passages: 0 };
  }
  return withVectors(docs, plan, plan.texts.length > 0 ? encoder.encodeDocuments(plan.texts) : []);
}

// A module of one function whose body is `unreachable`: calling it traps as a wasm panic or an
// out-of-memory abort does (WebAssembly.RuntimeError), so the pool's recovery meets the real thing.
const TRAP_MODULE = Uint8Array.of(
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
  ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // types: () -> ()
  ...[0x03, 0x02, 0x01, 0x00], // functions: one of type 0
  ...[0x07, 0x08, 0x01, 0x04, 0x74, 0x72, 0x61, 0x70, 0x00, 0x00], // export "trap" = function 0
  ...[0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b], // code: no locals, unreachable, end
);

function trap() {
  new WebAssembly.Instance(new WebAssembly.Module(TRAP_MODULE)).exports.trap();
}

export { tokenBudget };

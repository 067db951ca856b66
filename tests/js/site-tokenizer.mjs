// The static-site tokenizer (js/site/tokenizer.js) against the tokenizers crate: token-for-token on
// the committed cases (corpus samples + Unicode edge cases, ids from the wasm encoder), and live
// against the wasm encoder on every code point and on the edge cases.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { WordPieceTokenizer } from "../../js/site/tokenizer.js";
import { loadFolder, readBytes, ROOT } from "./fs-folder.mjs";
import { codePointSweep, edgeCases } from "./site-cases.mjs";

/** The JS tokenizer configured from a tokenizer.json, the way the builder writes the asset. */
export function tokenizerFromJson(file, maxTokens = 512) {
  const spec = JSON.parse(readFileSync(path.join(ROOT, file), "utf8"));
  const vocab = [];
  for (const [token, id] of Object.entries(spec.model.vocab)) {
    vocab[id] = token;
  }
  const n = spec.normalizer;
  return new WordPieceTokenizer({
    vocab,
    unkId: spec.model.vocab[spec.model.unk_token],
    continuingSubwordPrefix: spec.model.continuing_subword_prefix,
    maxInputCharsPerWord: spec.model.max_input_chars_per_word,
    normalizer: { ...n, strip_accents: n.strip_accents ?? n.lowercase },
    addedTokens: spec.added_tokens,
    maxTokens,
  });
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const show = (text) => JSON.stringify(text).slice(0, 160);

export async function tokenizerChecks(c) {
  const tokenizer = tokenizerFromJson("models/splade-tiny/tokenizer.json");

  const cases = gunzipSync(readFileSync(path.join(ROOT, "tests/data/site/tokenizer-cases.jsonl.gz")))
    .toString("utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  const wrong = cases.filter(({ text, ids }) => !same(tokenizer.encode(text), ids));
  c.check(
    `tokenizer: ${cases.length} committed cases token-for-token`,
    cases.length > 3000 && wrong.length === 0,
    wrong.slice(0, 3).map(({ text, ids }) => `${show(text)}: want ${ids.slice(0, 12)} got ${tokenizer.encode(text).slice(0, 12)}`).join("; "),
  );
  const generated = edgeCases();
  c.check(
    "tokenizer: the committed edge cases are the generator's",
    generated.every((text) => cases.some((k) => k.text === text)),
  );
  c.check("tokenizer: truncates to 512 tokens", tokenizer.encode("word ".repeat(600)).length === 512);

  if (!existsSync(path.join(ROOT, "pkg/splade_wasm_bg.wasm"))) {
    c.check("tokenizer: live comparison needs pkg/ (./build.sh build)", false);
    return;
  }
  const { default: init, SparseEncoder } = await import("../../pkg/splade_wasm.js");
  await init({ module_or_path: readBytes("pkg/splade_wasm_bg.wasm") });
  const encoder = new SparseEncoder(await loadFolder("models/splade-tiny"));
  try {
    const committedOk = cases.every(({ text, ids }) => same(Array.from(encoder.queryTokenIds(text)), ids));
    c.check("tokenizer: the committed ids are the wasm encoder's", committedOk);
    const live = (texts) => texts.filter((text) => !same(tokenizer.encode(text), Array.from(encoder.queryTokenIds(text))));
    const badEdge = live(generated.concat(edgeCases(3000, 1212)));
    c.check("tokenizer: 6000 generated edge cases equal the wasm encoder", badEdge.length === 0, badEdge.slice(0, 3).map(show).join("; "));
    const started = Date.now();
    const sweep = codePointSweep();
    const badSweep = live(sweep);
    c.check(
      `tokenizer: every code point (U+0000..U+10FFFF in ${sweep.length} texts) equals the wasm encoder`,
      badSweep.length === 0,
      badSweep.slice(0, 3).map(show).join("; "),
    );
    c.info(`code point sweep took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    encoder.free();
  }
}

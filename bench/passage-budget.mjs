// What the passage budget costs (issue 13): SciFact nDCG@10 and documents/s in wasm (Node, one
// core) for passage budgets of 128, 256 and 512 tokens, documents split into passages as the
// library splits them and scored by their best passage, as `Search` ranks them:
//   node bench/passage-budget.mjs [--model models/splade-tiny] [--budgets 128,256,512] [--limit DOCS]
// nDCG@10 follows src/eval.rs (trec_eval's definitions, ties by document id in decreasing order).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { splitPassages, tokenBudget } from "../js/passages.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const modelDir = path.resolve(ROOT, option("model", "models/splade-tiny"));
const budgets = option("budgets", "128,256,512").split(",").map(Number);
const data = path.resolve(ROOT, option("data", "../shared/data/scifact"));
const limit = Number(option("limit", Infinity));

const { default: init, SparseEncoder } = await import(path.join(ROOT, "pkg/splade_wasm.js"));
await init({ module_or_path: readFileSync(path.join(ROOT, "pkg/splade_wasm_bg.wasm")) });
const files = {};
for (const name of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "idf.json"]) {
  files[name] = new Uint8Array(readFileSync(path.join(modelDir, name)));
}
const encoder = new SparseEncoder(files);

const lines = (name) => readFileSync(path.join(data, name), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const corpus = lines("corpus.jsonl")
  .slice(0, limit)
  .map((d) => ({ id: String(d._id), text: d.title ? `${d.title} ${d.text}` : d.text }));
const qrels = new Map();
for (const line of readFileSync(path.join(data, "qrels/test.tsv"), "utf8").split("\n").slice(1).filter(Boolean)) {
  const [q, d, grade] = line.split("\t");
  if (!qrels.has(q)) {
    qrels.set(q, new Map());
  }
  qrels.get(q).set(d, Number(grade));
}
const queries = lines("queries.jsonl").filter((q) => qrels.has(String(q._id)));

function ndcgAt10(ranking, judged) {
  const discount = (rank) => Math.log2(rank + 1);
  const dcg = ranking.slice(0, 10).reduce((s, d, i) => s + Math.max(0, judged.get(d) ?? 0) / discount(i + 1), 0);
  const ideal = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  const idcg = ideal.slice(0, 10).reduce((s, g, i) => s + g / discount(i + 1), 0);
  return idcg > 0 ? dcg / idcg : 0;
}

const rows = [];
for (const maxTokens of budgets) {
  const budget = tokenBudget(encoder, maxTokens);
  // token id -> [passage owner (document index), weight] pairs: an inverted index over passages.
  const postings = new Map();
  let passages = 0;
  const started = performance.now();
  for (let first = 0; first < corpus.length; first += 32) {
    const docs = corpus.slice(first, first + 32);
    const owners = [];
    const texts = [];
    docs.forEach((doc, i) => {
      for (const p of splitPassages(doc.text, budget)) {
        texts.push(doc.text.slice(p.start, p.end));
        owners.push(first + i);
      }
    });
    encoder.encodeDocuments(texts).forEach((v, k) => {
      for (let j = 0; j < v.indices.length; j++) {
        const list = postings.get(v.indices[j]) ?? [];
        list.push(owners[k], passages + k, v.values[j]);
        postings.set(v.indices[j], list);
      }
    });
    passages += texts.length;
  }
  const seconds = (performance.now() - started) / 1000;
  let ndcg = 0;
  for (const q of queries) {
    const v = encoder.encodeQuery(q.text);
    const passageScores = new Map();
    for (let j = 0; j < v.indices.length; j++) {
      const list = postings.get(v.indices[j]) ?? [];
      for (let k = 0; k < list.length; k += 3) {
        const at = passageScores.get(list[k + 1]);
        passageScores.set(list[k + 1], { doc: list[k], score: (at?.score ?? 0) + v.values[j] * list[k + 2] });
      }
    }
    const docScores = new Map();
    for (const { doc, score } of passageScores.values()) {
      if (score > 0) {
        docScores.set(doc, Math.max(docScores.get(doc) ?? 0, score));
      }
    }
    const ranking = [...docScores.entries()]
      .sort((a, b) => b[1] - a[1] || (corpus[b[0]].id < corpus[a[0]].id ? -1 : corpus[b[0]].id > corpus[a[0]].id ? 1 : 0))
      .map(([doc]) => corpus[doc].id);
    ndcg += ndcgAt10(ranking, qrels.get(String(q._id)));
  }
  const row = { budget: maxTokens, documents: corpus.length, passages, seconds, docs_per_s: corpus.length / seconds, ndcg_at_10: ndcg / queries.length };
  console.log(JSON.stringify(row));
  rows.push(row);
}
console.log(`\n| passage budget (tokens) | passages | nDCG@10 | documents/s |\n|---|---|---|---|`);
for (const r of rows) {
  console.log(`| ${r.budget} | ${r.passages} | ${r.ndcg_at_10.toFixed(4)} | ${r.docs_per_s.toFixed(1)} |`);
}

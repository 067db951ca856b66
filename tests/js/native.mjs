// Rankings from the native CLI (target/release/splade): the reference the browser results must equal.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./fs-folder.mjs";

export const CLI = path.join(ROOT, "target/release/splade");

function encode(model, side, input) {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing; run ./build.sh build`);
  }
  const out = execFileSync(CLI, ["encode", "--model", model, "--side", side, "--input", input], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

export function readJsonl(file) {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

// The library searches a query by its words (js/words.js): tokens without a letter or digit
// (punctuation) and special tokens are left out. The native reference applies the same rule to the
// CLI's query vectors, from the default model's vocabulary (the packs share it).
let vocabulary = null;
function searchedTerms(q) {
  vocabulary ??= (() => {
    const vocab = JSON.parse(readFileSync(path.join(ROOT, "models/splade-tiny/tokenizer.json"), "utf8")).model.vocab;
    const out = [];
    for (const [token, id] of Object.entries(vocab)) {
      out[id] = token;
    }
    return out;
  })();
  const keep = (id) => /[\p{L}\p{N}]/u.test(vocabulary[id] ?? "") && !/^\[(UNK|CLS|SEP|PAD|MASK)\]$/.test(vocabulary[id]);
  const indices = [];
  const values = [];
  q.indices.forEach((id, i) => {
    if (keep(id) && q.values[i] > 0) {
      indices.push(id);
      values.push(q.values[i]);
    }
  });
  return { indices, values };
}

function dot(q, d) {
  let s = 0;
  let i = 0;
  let j = 0;
  while (i < q.indices.length && j < d.indices.length) {
    if (q.indices[i] === d.indices[j]) {
      s += q.values[i] * d.values[j];
      i++;
      j++;
    } else if (q.indices[i] < d.indices[j]) {
      i++;
    } else {
      j++;
    }
  }
  return s;
}

/**
 * For each query text, every document's native score: `[{query, scores: Map(docId -> score), ranking: [{id, score}]}]`
 * (ranking: positive scores, best first, ties by id).
 */
export function nativeRankings({ model, corpusFile, queries }) {
  const docs = readJsonl(corpusFile);
  const docVectors = encode(model, "document", corpusFile);
  const dir = mkdtempSync(path.join(os.tmpdir(), "splade-queries-"));
  const qfile = path.join(dir, "queries.jsonl");
  writeFileSync(qfile, queries.map((text) => JSON.stringify({ text })).join("\n") + "\n");
  const queryVectors = encode(model, "query", qfile).map(searchedTerms);
  return queries.map((query, qi) => {
    const scores = new Map(docs.map((d, di) => [d._id, dot(queryVectors[qi], docVectors[di])]));
    const ranking = [...scores]
      .filter(([, s]) => s > 0)
      .map(([id, score]) => ({ id, score }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    return { query, scores, ranking };
  });
}

/**
 * Compares a top-k list from the page (`[{id, score}]`) with the native scores: same documents in the
 * same order, except where native scores tie within `eps`; scores equal within `eps` (relative).
 */
export function compareRanking(got, native, k, eps = 1e-4) {
  const problems = [];
  const want = native.ranking.slice(0, k);
  if (got.length !== want.length) {
    problems.push(`${got.length} results, native has ${want.length}`);
  }
  const tol = (a) => eps * Math.max(1, Math.abs(a));
  got.forEach((g, i) => {
    const nativeScore = native.scores.get(g.id);
    if (nativeScore === undefined) {
      problems.push(`#${i + 1} ${g.id} is not a corpus document`);
      return;
    }
    if (Math.abs(nativeScore - g.score) > tol(nativeScore)) {
      problems.push(`#${i + 1} ${g.id}: page score ${g.score}, native ${nativeScore}`);
    }
    const w = want[i];
    if (w && w.id !== g.id && Math.abs(w.score - nativeScore) > tol(w.score)) {
      problems.push(`#${i + 1}: page has ${g.id} (${nativeScore}), native has ${w.id} (${w.score})`);
    }
  });
  return problems;
}

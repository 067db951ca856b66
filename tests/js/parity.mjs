// Fixture parity and robustness suite for the wasm SparseEncoder.
// Environment-agnostic: the caller supplies the encoder class and a file loader.
//
// env = {
//   SparseEncoder,                 // class from pkg/splade_wasm.js (after init)
//   loadFolder(dir) -> Promise<{[relpath]: Uint8Array}>,  // dir relative to the repo root
//   hasFile(dir, relpath) -> Promise<boolean>,
//   log(line),                     // progress / failure output
// }

export const FIXTURES = ["tiny-gte-asym", "tiny-distilbert-asym", "splade-tiny"];
export const FIXTURE_ROOT = "tests/fixtures";
export const DEFAULT_MODEL_DIR = "models/splade-tiny";

const DOC_TOL = 1e-4;
const BATCH_TOL = 1e-5;
const IGNORE_BELOW = 1e-5;
const SCORE_REL_TOL = 1e-3;

// Fixture data files live beside the model files but are not part of the model.
const DATA_FILES = new Set(["README.md", "cases.jsonl", "scores.json", "batch_consistency.json", "meta.json"]);

export function isModelFile(relpath) {
  return !DATA_FILES.has(relpath);
}

const decoder = new TextDecoder();

function json(files, relpath) {
  if (!(relpath in files)) {
    throw new Error(`missing ${relpath}`);
  }
  return JSON.parse(decoder.decode(files[relpath]));
}

function jsonl(bytes) {
  return decoder
    .decode(bytes)
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

class Results {
  constructor(log) {
    this.log = log;
    this.passed = 0;
    this.failed = 0;
    this.failures = [];
  }

  async check(name, fn) {
    try {
      const problem = await fn();
      if (problem) {
        throw new Error(problem);
      }
      this.passed += 1;
    } catch (err) {
      this.failed += 1;
      const message = err instanceof Error ? err.message : String(err);
      this.failures.push({ name, message });
      this.log(`FAIL ${name}: ${message}`);
    }
  }
}

function fmt(x) {
  return Number.isInteger(x) ? String(x) : x.toExponential(3);
}

function firstDiff(actual, expected) {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i += 1) {
    if (actual[i] !== expected[i]) {
      return i;
    }
  }
  return -1;
}

function compareIds(actual, expected) {
  if (!(actual instanceof Uint32Array)) {
    return `expected a Uint32Array, got ${Object.prototype.toString.call(actual)}`;
  }
  const i = firstDiff(Array.from(actual), expected);
  if (i < 0) {
    return null;
  }
  return `length ${actual.length} vs ${expected.length}; first difference at ${i}: ${actual[i]} vs ${expected[i]}`;
}

// Validates the {indices, values} shape and returns Map<id, weight>.
function sparseMap(vec) {
  if (!vec || !(vec.indices instanceof Uint32Array) || !(vec.values instanceof Float32Array)) {
    throw new Error("expected {indices: Uint32Array, values: Float32Array}");
  }
  if (vec.indices.length !== vec.values.length) {
    throw new Error(`indices/values length ${vec.indices.length} vs ${vec.values.length}`);
  }
  const map = new Map();
  for (let i = 0; i < vec.indices.length; i += 1) {
    if (i > 0 && vec.indices[i] <= vec.indices[i - 1]) {
      throw new Error(`indices not strictly ascending at ${i}`);
    }
    if (!Number.isFinite(vec.values[i])) {
      throw new Error(`non-finite value at id ${vec.indices[i]}`);
    }
    map.set(vec.indices[i], vec.values[i]);
  }
  return map;
}

function refMap(obj) {
  const map = new Map();
  for (const [id, value] of Object.entries(obj)) {
    map.set(Number(id), Math.fround(value));
  }
  return map;
}

function compareExact(ours, ref) {
  const a = sparseMap(ours);
  const b = refMap(ref);
  const bad = [];
  for (const id of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(id) !== b.get(id)) {
      bad.push(`${id}: ${a.get(id)} vs ${b.get(id)}`);
    }
  }
  if (bad.length === 0) {
    return null;
  }
  return `nnz ${a.size} vs ${b.size}; ${bad.length} ids differ (ours vs ref): ${bad.slice(0, 5).join(", ")}`;
}

// Dense comparison: absent ids count as 0; an id on one side only must be below IGNORE_BELOW.
export function compareDense(oursMap, refMapped, tol) {
  let maxDiff = 0;
  let worst = -1;
  const onlyOne = [];
  for (const id of new Set([...oursMap.keys(), ...refMapped.keys()])) {
    const a = oursMap.get(id);
    const b = refMapped.get(id);
    const diff = Math.abs((a ?? 0) - (b ?? 0));
    if (diff > maxDiff) {
      maxDiff = diff;
      worst = id;
    }
    if ((a === undefined) !== (b === undefined) && (a ?? b) >= IGNORE_BELOW) {
      onlyOne.push(`${id}: ${a ?? "absent"} vs ${b ?? "absent"}`);
    }
  }
  const problems = [];
  if (maxDiff > tol) {
    problems.push(
      `max abs diff ${fmt(maxDiff)} > ${fmt(tol)} at id ${worst} (${oursMap.get(worst) ?? 0} vs ${refMapped.get(worst) ?? 0})`,
    );
  }
  if (onlyOne.length > 0) {
    problems.push(`${onlyOne.length} ids on one side only: ${onlyOne.slice(0, 5).join(", ")}`);
  }
  return {
    maxDiff,
    problem: problems.length ? `nnz ${oursMap.size} vs ${refMapped.size}; ${problems.join("; ")}` : null,
  };
}

export function sparseDot(q, d) {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < q.indices.length && j < d.indices.length) {
    if (q.indices[i] === d.indices[j]) {
      sum += q.values[i] * d.values[j];
      i += 1;
      j += 1;
    } else if (q.indices[i] < d.indices[j]) {
      i += 1;
    } else {
      j += 1;
    }
  }
  return sum;
}

function expectedInfo(files) {
  const config = json(files, "document_0_MLMTransformer/config.json");
  const st = json(files, "document_0_MLMTransformer/sentence_bert_config.json");
  const qtok = json(files, "query_0_SparseStaticEmbedding/tokenizer_config.json");
  return {
    hiddenSize: config.hidden_size ?? config.dim,
    layers: config.num_hidden_layers ?? config.n_layers,
    vocabSize: config.vocab_size,
    maxDocumentTokens: st.max_seq_length,
    maxQueryTokens: qtok.model_max_length,
  };
}

async function loadModelFiles(env, dir) {
  const all = await env.loadFolder(dir);
  const files = {};
  for (const [rel, bytes] of Object.entries(all)) {
    if (isModelFile(rel)) {
      files[rel] = bytes;
    }
  }
  return { all, files };
}

async function runFixture(env, results, name) {
  const dir = `${FIXTURE_ROOT}/${name}`;
  const started = Date.now();
  const { all, files } = await loadModelFiles(env, dir);
  const cases = jsonl(all["cases.jsonl"]);
  const scores = JSON.parse(decoder.decode(all["scores.json"]));
  const batches = JSON.parse(decoder.decode(all["batch_consistency.json"]));

  let enc = null;
  await results.check(`${name}/load`, () => {
    enc = new env.SparseEncoder(files);
  });
  if (!enc) {
    return;
  }

  await results.check(`${name}/info`, () => {
    const info = enc.info();
    const want = expectedInfo(files);
    const bad = Object.entries(want)
      .filter(([key, value]) => info[key] !== value)
      .map(([key, value]) => `${key}: ${info[key]} vs ${value}`);
    if (typeof info.architecture !== "string" || info.architecture === "") {
      bad.push(`architecture: ${JSON.stringify(info.architecture)}`);
    }
    return bad.length ? bad.join(", ") : null;
  });

  const singles = new Map();
  for (const c of cases) {
    const id = `${name}/${c.id}`;
    await results.check(`${id}/doc_ids`, () => compareIds(enc.documentTokenIds(c.text), c.doc_input_ids));
    await results.check(`${id}/query_ids`, () => compareIds(enc.queryTokenIds(c.text), c.query_input_ids));
    await results.check(`${id}/query_vector`, () =>
      compareExact(enc.encodeQuery(c.text), c.query_sparse ?? c.query_sparse_when_batched),
    );
    await results.check(`${id}/doc_vector`, () => {
      const t0 = Date.now();
      const ours = sparseMap(enc.encodeDocument(c.text));
      const ms = Date.now() - t0;
      if (ms > 2000) {
        env.log(`  ${id}: encodeDocument took ${ms} ms (${c.doc_num_tokens} tokens)`);
      }
      singles.set(c.id, ours);
      return compareDense(ours, refMap(c.doc_sparse), DOC_TOL).problem;
    });
    if (c.doc_tokens) {
      await results.check(`${id}/token_strings`, () => {
        const strings = enc.tokenStrings(Uint32Array.from(c.doc_input_ids));
        const i = firstDiff(Array.from(strings), c.doc_tokens);
        return i < 0 ? null : `at ${i}: ${JSON.stringify(strings[i])} vs ${JSON.stringify(c.doc_tokens[i])}`;
      });
    }
  }

  // All cases in one call, then the reference batch experiment's groupings (GTE keeps its 2735-token case apart).
  const textOf = new Map(cases.map((c) => [c.id, c.text]));
  const groups = [{ label: "all", ids: cases.map((c) => c.id) }];
  for (const [b, batch] of batches.document.entries()) {
    groups.push({ label: `reference_${b}`, ids: batch.case_ids });
  }
  for (const { label, ids } of groups) {
    await results.check(`${name}/batch_${label}(${ids.length} docs)`, () => {
      const out = enc.encodeDocuments(ids.map((id) => textOf.get(id)));
      if (!Array.isArray(out) || out.length !== ids.length) {
        return `expected an array of ${ids.length} vectors, got ${out?.length}`;
      }
      const bad = [];
      ids.forEach((caseId, k) => {
        const single = singles.get(caseId);
        if (!single) {
          bad.push(`${caseId}: no single encoding to compare`);
          return;
        }
        const { problem } = compareDense(sparseMap(out[k]), single, BATCH_TOL);
        if (problem) {
          bad.push(`${caseId}: ${problem}`);
        }
      });
      return bad.length ? bad.join(" | ") : null;
    });
  }

  const queryVecs = [];
  for (const [i, q] of scores.queries.entries()) {
    await results.check(`${name}/scores/query_${q.id}`, () => {
      queryVecs[i] = enc.encodeQuery(q.text);
      return compareExact(queryVecs[i], scores.query_sparse[q.id]);
    });
  }
  let docVecs = null;
  await results.check(`${name}/scores/encode_documents(${scores.documents.length} docs)`, () => {
    docVecs = enc.encodeDocuments(scores.documents.map((d) => d.text));
    const bad = [];
    scores.documents.forEach((d, j) => {
      const { problem } = compareDense(sparseMap(docVecs[j]), refMap(scores.document_sparse[d.id]), DOC_TOL);
      if (problem) {
        bad.push(`${d.id}: ${problem}`);
      }
    });
    return bad.length ? bad.join(" | ") : null;
  });
  await results.check(`${name}/scores/matrix`, () => {
    if (!docVecs || queryVecs.length !== scores.queries.length) {
      return "vectors missing (see earlier failures)";
    }
    const bad = [];
    let maxRel = 0;
    scores.queries.forEach((q, i) => {
      scores.documents.forEach((d, j) => {
        const want = Math.fround(scores.scores[i][j]);
        const got = sparseDot(queryVecs[i], docVecs[j]);
        const rel = Math.abs(got - want) / Math.max(1, Math.abs(want));
        maxRel = Math.max(maxRel, rel);
        if (rel > SCORE_REL_TOL) {
          bad.push(`[${q.id}][${d.id}] ${got} vs ${want}`);
        }
      });
    });
    env.log(`  ${name}: score matrix max relative diff ${fmt(maxRel)}`);
    return bad.length ? `${bad.length} scores off: ${bad.slice(0, 5).join(", ")}` : null;
  });

  try {
    enc.free();
  } catch (err) {
    await results.check(`${name}/free`, () => {
      throw err;
    });
  }
  env.log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function expectThrow(fn, { mention } = {}) {
  let threw = null;
  try {
    const out = fn();
    if (out && typeof out.free === "function") {
      out.free();
    }
  } catch (err) {
    threw = err;
  }
  if (!threw) {
    return "did not throw";
  }
  if (!(threw instanceof Error)) {
    return `threw a non-Error: ${String(threw)}`;
  }
  if (threw instanceof WebAssembly.RuntimeError) {
    return `wasm trapped (${threw.message}) instead of returning an error`;
  }
  if (!threw.message || threw.message.trim() === "") {
    return "Error has an empty message";
  }
  if (mention && !mention.some((word) => threw.message.includes(word))) {
    return `message does not mention ${mention.join(" or ")}: ${threw.message}`;
  }
  return null;
}

// Bad inputs must surface as JS Errors and leave already-built encoders usable.
async function runRobustness(env, results) {
  const name = "robustness";
  const dir = `${FIXTURE_ROOT}/tiny-distilbert-asym`;
  const { all, files } = await loadModelFiles(env, dir);
  const cases = jsonl(all["cases.jsonl"]);
  const mars = cases.find((c) => c.id === "red_doc_mars");
  const weights = "document_0_MLMTransformer/model.safetensors";

  let enc = null;
  await results.check(`${name}/load_good`, () => {
    enc = new env.SparseEncoder(files);
  });

  await results.check(`${name}/truncated_safetensors`, () => {
    const bad = { ...files, [weights]: files[weights].slice(0, files[weights].length >> 1) };
    return expectThrow(() => new env.SparseEncoder(bad));
  });

  await results.check(`${name}/unknown_model_type`, () => {
    const config = json(files, "document_0_MLMTransformer/config.json");
    config.model_type = "nonsense";
    const bad = { ...files, "document_0_MLMTransformer/config.json": new TextEncoder().encode(JSON.stringify(config)) };
    return expectThrow(() => new env.SparseEncoder(bad), { mention: ["nonsense", "model_type"] });
  });

  await results.check(`${name}/missing_tokenizer`, () => {
    const bad = Object.fromEntries(Object.entries(files).filter(([rel]) => !rel.endsWith("tokenizer.json")));
    return expectThrow(() => new env.SparseEncoder(bad));
  });

  await results.check(`${name}/empty_files`, () => expectThrow(() => new env.SparseEncoder({})));

  if (!enc) {
    return;
  }

  await results.check(`${name}/1MB_document`, () => {
    const text = "The quick brown fox jumps over the lazy dog near the river bank. ".repeat(16384);
    const t0 = Date.now();
    const ids = enc.documentTokenIds(text);
    const vec = sparseMap(enc.encodeDocument(text));
    env.log(`  ${name}: 1 MB document tokenized and encoded in ${Date.now() - t0} ms`);
    const max = expectedInfo(files).maxDocumentTokens;
    if (ids.length !== max) {
      return `expected ${max} token ids after truncation, got ${ids.length}`;
    }
    return vec.size > 0 ? null : "empty vector";
  });

  await results.check(`${name}/emoji_only`, () => {
    const doc = sparseMap(enc.encodeDocument("🍕🚀"));
    const query = sparseMap(enc.encodeQuery("🍕🚀"));
    if (doc.size === 0) {
      return "empty document vector";
    }
    return query.size === 1 && query.get(100) === 1
      ? null
      : `query vector ${JSON.stringify([...query])}, expected {100: 1}`;
  });

  await results.check(`${name}/encoder_survives_errors`, () => {
    try {
      new env.SparseEncoder({ ...files, [weights]: new Uint8Array(10) });
    } catch {
      // expected
    }
    const problem = compareDense(sparseMap(enc.encodeDocument(mars.text)), refMap(mars.doc_sparse), DOC_TOL).problem;
    return problem ?? compareExact(enc.encodeQuery(mars.text), mars.query_sparse);
  });

  enc.free();
}

// The default HF-style model folder: its document side is the splade-tiny fixture's model.
async function runDefaultModel(env, results) {
  const name = "default-model";
  if (!(await env.hasFile(DEFAULT_MODEL_DIR, "model.safetensors"))) {
    env.log(`SKIP ${name}: ${DEFAULT_MODEL_DIR} not present (run ./build.sh setup)`);
    return;
  }
  if (!(await env.hasFile(DEFAULT_MODEL_DIR, "idf.json"))) {
    env.log(`SKIP ${name}: ${DEFAULT_MODEL_DIR}/idf.json not present`);
    return;
  }
  const { files } = await loadModelFiles(env, DEFAULT_MODEL_DIR);
  delete files["manifest.json"];
  delete files.LICENSE;
  const fixture = await env.loadFolder(`${FIXTURE_ROOT}/splade-tiny`);
  const cases = jsonl(fixture["cases.jsonl"]);

  let enc = null;
  await results.check(`${name}/load`, () => {
    enc = new env.SparseEncoder(files);
  });
  if (!enc) {
    return;
  }
  await results.check(`${name}/info`, () => {
    const info = enc.info();
    const want = { hiddenSize: 128, layers: 2, vocabSize: 30522, maxDocumentTokens: 512, maxQueryTokens: 512 };
    const bad = Object.entries(want).filter(([key, value]) => info[key] !== value);
    return bad.length ? bad.map(([key, value]) => `${key}: ${info[key]} vs ${value}`).join(", ") : null;
  });
  for (const c of cases) {
    const id = `${name}/${c.id}`;
    await results.check(`${id}/doc_ids`, () => compareIds(enc.documentTokenIds(c.text), c.doc_input_ids));
    await results.check(`${id}/query_ids`, () => compareIds(enc.queryTokenIds(c.text), c.query_input_ids));
    await results.check(
      `${id}/doc_vector`,
      () => compareDense(sparseMap(enc.encodeDocument(c.text)), refMap(c.doc_sparse), DOC_TOL).problem,
    );
    await results.check(`${id}/query_support`, () => {
      const allowed = new Set(c.query_input_ids);
      const stray = [...sparseMap(enc.encodeQuery(c.text)).keys()].filter((tokenId) => !allowed.has(tokenId));
      return stray.length ? `query vector has ids not in the query: ${stray.slice(0, 5).join(", ")}` : null;
    });
  }
  enc.free();
}

export async function runAll(env, { fixtures = FIXTURES } = {}) {
  const results = new Results(env.log);
  for (const name of fixtures) {
    try {
      await runFixture(env, results, name);
    } catch (err) {
      await results.check(`${name}/harness`, () => {
        throw err;
      });
    }
  }
  for (const suite of [runRobustness, runDefaultModel]) {
    try {
      await suite(env, results);
    } catch (err) {
      await results.check(`${suite.name}/harness`, () => {
        throw err;
      });
    }
  }
  return { passed: results.passed, failed: results.failed, failures: results.failures };
}

// Search over documents: passages encoded by a worker pool into a SparseIndex, and queries answered
// by document with explanations. Highlighting lives in highlight.js, the save file in search-file.js.
import { openDevicePool } from "./device.js";
import { SparseEncoder } from "./encoder.js";
import { Highlighter } from "./highlight.js";
import { EncoderPool, defaultWorkerCount } from "./pool.js";
import { SearchFileError, readSearchFile, writeSearchFile } from "./search-file.js";
import { abortError } from "./util.js";
import { initWasm } from "./wasm.js";

const JOB_DOCS = 8;
const JOB_CHARS = 8_000;

function passageId(docId, n) {
  return `${docId}#${n}`;
}

function splitPassageId(pid) {
  const cut = pid.lastIndexOf("#");
  return [pid.slice(0, cut), Number(pid.slice(cut + 1))];
}

function normalizeDoc(doc, i) {
  if (doc == null || typeof doc !== "object") {
    throw new TypeError(`document ${i} must be an object {id, text, title?, meta?}`);
  }
  if (typeof doc.text !== "string") {
    throw new TypeError(`document ${i} (${doc.id ?? "no id"}) has no text string`);
  }
  if (doc.id == null || String(doc.id) === "") {
    throw new TypeError(`document ${i} has no id`);
  }
  const out = { id: String(doc.id), text: doc.text };
  if (doc.title != null && doc.title !== "") {
    out.title = String(doc.title);
  }
  if (doc.source != null && doc.source !== "") {
    out.source = String(doc.source);
  }
  if (doc.meta != null) {
    out.meta = doc.meta;
  }
  return out;
}

function jobsOf(docs) {
  const jobs = [];
  let job = [];
  let chars = 0;
  for (const doc of docs) {
    if (job.length > 0 && (job.length >= JOB_DOCS || chars + doc.text.length > JOB_CHARS)) {
      jobs.push(job);
      job = [];
      chars = 0;
    }
    job.push(doc);
    chars += doc.text.length;
  }
  if (job.length > 0) {
    jobs.push(job);
  }
  return jobs;
}

async function sparseIndexClass() {
  const bindings = await initWasm();
  return bindings.SparseIndex;
}

export class Search {
  #encoder;
  #pool;
  #Index;
  #index;
  #docs = new Map();
  #passages = 0;
  #highlighter;
  #ownsEncoder;

  /** Use `createSearch`. */
  constructor({ encoder, pool, Index, ownsEncoder = false }) {
    this.#encoder = encoder;
    this.#pool = pool;
    this.#Index = Index;
    this.#index = new Index();
    this.#ownsEncoder = ownsEncoder;
    this.#highlighter = new Highlighter(encoder);
  }

  get encoder() {
    return this.#encoder;
  }

  /** Where documents are encoded: `{backend: "webgpu"|"wasm", adapter, reason}` (see `device` in createSearch). */
  get device() {
    return this.#pool.device ?? { backend: "wasm", adapter: null, reason: "a plain encoder pool" };
  }

  /** Number of workers encoding documents (0: on the calling thread). */
  get workers() {
    return this.#pool.size;
  }

  /** Number of documents. */
  get size() {
    return this.#docs.size;
  }

  /** Number of passages in the index. */
  get passageCount() {
    return this.#passages;
  }

  has(id) {
    return this.#docs.has(String(id));
  }

  /** A document: `{id, text, title?, meta?, passages: [{start, end}]}`. */
  get(id) {
    return this.#docs.get(String(id)) ?? null;
  }

  /** All documents, in the order they were added. */
  documents() {
    return [...this.#docs.values()];
  }

  #put(doc, passages) {
    this.#removePassages(doc.id);
    passages.forEach((p, n) => this.#index.add(passageId(doc.id, n), p.indices, p.values));
    this.#passages += passages.length;
    this.#docs.set(doc.id, { ...doc, passages: passages.map((p) => ({ start: p.start, end: p.end })) });
  }

  #removePassages(id) {
    const old = this.#docs.get(id);
    if (old) {
      old.passages.forEach((_, n) => this.#index.remove(passageId(id, n)));
      this.#passages -= old.passages.length;
      this.#docs.delete(id);
    }
  }

  /**
   * Adds (or replaces, by id) documents `[{id, text, title?, meta?}]`: splits them into passages and
   * encodes them in the worker pool. `onProgress({done, total, passages, docsPerSecond, etaSeconds})`
   * follows along; `onIndexed(docs)` gets each batch once it is searchable. Aborting `signal` stops
   * after the batches in flight; it rejects with an AbortError whose `remaining` lists the documents
   * not indexed. Resolves to `{documents, passages, seconds}`.
   */
  async add(docs, { signal = null, onProgress = null, onIndexed = null } = {}) {
    const list = Array.from(docs, normalizeDoc);
    const byKey = new Map(list.map((d, i) => [i, d]));
    const jobs = jobsOf(list.map((d, i) => ({ key: i, text: d.text })));
    const started = performance.now();
    const total = list.length;
    let done = 0;
    let passages = 0;
    let failure = null;
    const finished = new Set();

    const report = () => {
      if (!onProgress) {
        return;
      }
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      onProgress({
        done,
        total,
        passages,
        seconds,
        docsPerSecond: rate,
        etaSeconds: rate > 0 ? (total - done) / rate : null,
      });
    };
    report();

    let next = 0;
    const lane = async () => {
      while (next < jobs.length && failure == null && !signal?.aborted) {
        const job = jobs[next++];
        let out;
        try {
          out = await this.#pool.encode(job);
        } catch (err) {
          failure ??= err;
          return;
        }
        const indexed = [];
        for (const r of out.results) {
          const doc = byKey.get(r.key);
          this.#put(doc, r.passages);
          finished.add(r.key);
          indexed.push(this.#docs.get(doc.id));
        }
        done += out.results.length;
        passages += out.passages;
        try {
          await onIndexed?.(indexed);
        } catch (err) {
          failure ??= err;
        }
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#pool.concurrency, jobs.length) }, lane));
    if (failure) {
      throw failure;
    }
    if (signal?.aborted && finished.size < total) {
      const err = abortError("Indexing was stopped");
      err.remaining = list.filter((_, i) => !finished.has(i));
      throw err;
    }
    return { documents: done, passages, seconds: (performance.now() - started) / 1000 };
  }

  /** Removes a document; returns whether it was there. */
  remove(id) {
    const had = this.#docs.has(String(id));
    this.#removePassages(String(id));
    return had;
  }

  /** Removes every document. */
  clear() {
    this.#index.free?.();
    this.#index = new this.#Index();
    this.#docs.clear();
    this.#passages = 0;
  }

  /** The query as weighted tokens: `[{tokenId, token, weight}]`, heaviest first. */
  queryTerms(query) {
    const q = this.#encoder.encodeQuery(query);
    const tokens = q.indices.length ? this.#encoder.tokenStrings(q.indices) : [];
    return Array.from(q.indices, (tokenId, i) => ({ tokenId, token: tokens[i], weight: q.values[i] })).sort(
      (a, b) => b.weight - a.weight,
    );
  }

  /**
   * Top `k` documents for `query`, each scored by its best passage: `[{id, title, meta, score,
   * passage: {index, start, end, text, score}, matchingPassages}]`. Exact over the passages: the
   * `candidates` best passages (default `max(50, 5k)`) are grouped by document.
   */
  search(query, { k = 10, candidates = null } = {}) {
    const q = this.#encoder.encodeQuery(query);
    if (q.indices.length === 0 || this.#passages === 0) {
      return [];
    }
    const hits = this.#index.search(q.indices, q.values, candidates ?? Math.max(50, 5 * k));
    const groups = new Map();
    for (const { id: pid, score } of hits) {
      const [docId, n] = splitPassageId(pid);
      const group = groups.get(docId);
      if (group) {
        group.matchingPassages += 1;
        continue;
      }
      if (groups.size >= k) {
        continue;
      }
      const doc = this.#docs.get(docId);
      const p = doc?.passages[n];
      if (!p) {
        continue;
      }
      groups.set(docId, {
        id: docId,
        title: doc.title ?? null,
        meta: doc.meta ?? null,
        score,
        passage: { index: n, start: p.start, end: p.end, text: doc.text.slice(p.start, p.end), score },
        matchingPassages: 1,
      });
    }
    return [...groups.values()];
  }

  /**
   * Why a passage matched: `{score, terms: [{tokenId, token, queryWeight, documentWeight,
   * contribution, expansion}]}`, largest contribution first. `expansion` marks a term the passage
   * does not contain as a token: the model added it.
   */
  explain(id, query, { passage = 0 } = {}) {
    const doc = this.#docs.get(String(id));
    const p = doc?.passages[passage];
    if (!p) {
      return { score: 0, terms: [] };
    }
    const q = this.#encoder.encodeQuery(query);
    const raw = q.indices.length ? this.#index.explain(passageId(doc.id, passage), q.indices, q.values) : [];
    const tokens = raw.length ? this.#encoder.tokenStrings(Uint32Array.from(raw, (t) => t.tokenId)) : [];
    const present = new Set(this.#encoder.documentTokenIds(doc.text.slice(p.start, p.end)));
    const terms = raw
      .map((t, i) => ({ ...t, token: tokens[i], expansion: !present.has(t.tokenId) }))
      .sort((a, b) => b.contribution - a.contribution);
    return { score: terms.reduce((s, t) => s + t.contribution, 0), terms };
  }

  /**
   * Ranges `[start, end]` of the words in `text` (between `from` and `to`) that match a word of the
   * query (see Highlighter.highlights).
   */
  highlights(text, query, options = {}) {
    return this.#highlighter.highlights(text, query, options);
  }

  /**
   * A window of about `maxChars` of a result's passage around its densest highlights:
   * `{text, start, end, highlights: [[start, end]] (relative to text), clippedStart, clippedEnd}`.
   */
  snippet(id, query, { passage = 0, maxChars = 360 } = {}) {
    const doc = this.#docs.get(String(id));
    const p = doc?.passages[passage];
    return p ? this.#highlighter.snippet(doc.text, p, query, { maxChars }) : null;
  }

  /**
   * Everything (documents, passages, index) as one file: "SPLDSRCH", format version, a JSON header
   * with the documents and the model's fingerprint, the SparseIndex bytes, and a SHA-256 of all before it.
   */
  async save() {
    return writeSearchFile({
      documents: [...this.#docs.values()],
      model: { fingerprint: await this.#encoder.fingerprint(), info: this.#encoder.info() },
      indexBytes: this.#index.save(),
    });
  }

  /**
   * Replaces the contents with a file from `save()`. Throws a `SearchFileError` for a file that is
   * not one, is corrupt, or was built with another model (unless `allowOtherModel`).
   */
  async load(bytes, { allowOtherModel = false } = {}) {
    const { header, documents, indexBytes } = await readSearchFile(bytes);
    const fingerprint = await this.#encoder.fingerprint();
    if (!allowOtherModel && header.model?.fingerprint !== fingerprint) {
      throw new SearchFileError("this index was built with a different model; re-index the documents with this one", {
        otherModel: true,
      });
    }
    let index;
    try {
      index = this.#Index.load(indexBytes);
    } catch (err) {
      throw new SearchFileError(`the index in this file is corrupt: ${err?.message ?? err}`);
    }
    this.#index.free?.();
    this.#index = index;
    this.#docs.clear();
    this.#passages = 0;
    for (const d of documents) {
      this.#docs.set(d.id, d);
      this.#passages += d.passages.length;
    }
    return { documents: this.#docs.size, passages: this.#passages };
  }

  /**
   * The documents of a file from `save()` (`[{id, text, title?, source?, meta?}]`), without its index:
   * what to index again when the file was built with another model.
   */
  static async documentsInFile(bytes) {
    const { documents } = await readSearchFile(bytes);
    return documents.map(({ passages, ...doc }) => doc);
  }

  /** Stops the workers and frees the index (and the encoder if createSearch loaded it). */
  close() {
    this.#pool.terminate();
    this.#index.free?.();
    if (this.#ownsEncoder) {
      this.#encoder.free();
    }
  }
}

/**
 * A ready search: loads the model (`model`: a URL of a pack or a folder ending in "/", or a
 * SparseEncoder), starts `workers` encoder workers (default: one per core, at most 4; 0 encodes on
 * the calling thread, as in Node), and returns a `Search`. `device`: "wasm" (default), "webgpu" (throws
 * without a usable adapter) or "auto" (WebGPU if it agrees with wasm and is faster on this device; see
 * device.js).
 */
export async function createSearch({
  model,
  workers = defaultWorkerCount(),
  maxPassageTokens = null,
  onProgress = null,
  signal = null,
  cacheName,
  device = "wasm",
} = {}) {
  if (model == null) {
    throw new TypeError("createSearch needs a model: a URL or a SparseEncoder");
  }
  const ownsEncoder = !(model instanceof SparseEncoder);
  const encoder = ownsEncoder
    ? await SparseEncoder.load(model, { onProgress, signal, ...(cacheName !== undefined ? { cacheName } : {}) })
    : model;
  const [Index, wasmPool] = await Promise.all([sparseIndexClass(), EncoderPool.create(encoder, { size: workers, maxTokens: maxPassageTokens })]);
  let pool;
  try {
    pool = await openDevicePool(encoder, wasmPool, { device, maxTokens: maxPassageTokens });
  } catch (err) {
    wasmPool.terminate();
    throw err;
  }
  return new Search({ encoder, pool, Index, ownsEncoder });
}

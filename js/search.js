// Search over documents: passages encoded by a worker pool into a SparseIndex, results grouped by
// document, explanations, highlighting, and saving everything as one file.
import { SparseEncoder } from "./encoder.js";
import { sha256Hex } from "./loader.js";
import { EncoderPool, defaultWorkerCount } from "./pool.js";
import { initWasm } from "./wasm.js";

const FILE_MAGIC = "SPLDSRCH";
const FILE_VERSION = 1;
const JOB_DOCS = 8;
const JOB_CHARS = 8_000;
const WORD = /[\p{L}\p{N}]+/gu;

export class SearchFileError extends Error {
  constructor(message, { otherModel = false } = {}) {
    super(message);
    this.name = "SearchFileError";
    /** The file is sound but was built with another model. */
    this.otherModel = otherModel;
  }
}

function abortError() {
  return new DOMException("Indexing was stopped", "AbortError");
}

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

function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
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
  #wordTokens = new Map();
  #ownsEncoder;

  /** Use `createSearch`. */
  constructor({ encoder, pool, Index, ownsEncoder = false }) {
    this.#encoder = encoder;
    this.#pool = pool;
    this.#Index = Index;
    this.#index = new Index();
    this.#ownsEncoder = ownsEncoder;
  }

  get encoder() {
    return this.#encoder;
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
      const err = abortError();
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

  /** A word's tokens (without [CLS]/[SEP]) as a string key, cached. */
  #tokensOf(word) {
    let key = this.#wordTokens.get(word);
    if (key === undefined) {
      if (this.#wordTokens.size > 50_000) {
        this.#wordTokens.clear();
      }
      key = Array.from(this.#encoder.documentTokenIds(word).subarray(1, -1)).join(",");
      this.#wordTokens.set(word, key);
    }
    return key;
  }

  /**
   * Ranges `[start, end]` of the words in `text` (between `from` and `to`) that match a word of the
   * query: the same tokens; for a query word that is one token ("planet"), a word that starts with it;
   * or the query word plus up to three letters ("planets"). Query words whose tokens all weigh less
   * than `minWeight` times the query's largest weight (stop words, mostly) are not marked.
   */
  highlights(text, query, { from = 0, to = text.length, minWeight = 0.15 } = {}) {
    const q = this.#encoder.encodeQuery(query);
    const weights = new Map(Array.from(q.indices, (id, i) => [id, q.values[i]]));
    const top = q.values.reduce((m, v) => Math.max(m, v), 0);
    const words = new Set();
    const stems = new Set();
    const prefixes = [];
    for (const [word] of query.matchAll(WORD)) {
      const key = this.#tokensOf(word);
      const ids = key === "" ? [] : key.split(",").map(Number);
      if (ids.length > 0 && ids.some((id) => (weights.get(id) ?? 0) >= minWeight * top)) {
        words.add(key);
        if (ids.length === 1) {
          stems.add(String(ids[0]));
        }
        if (word.length >= 4) {
          prefixes.push(word.toLowerCase());
        }
      }
    }
    if (words.size === 0) {
      return [];
    }
    // "planet" also marks "planets", "planetary" does not: a query word plus at most 3 letters.
    const inflected = (w) => {
      const lower = w.toLowerCase();
      return prefixes.some((p) => lower.length - p.length <= 3 && lower.startsWith(p));
    };
    const out = [];
    const part = text.slice(from, to);
    for (const m of part.matchAll(WORD)) {
      const key = this.#tokensOf(m[0]);
      if (words.has(key) || stems.has(key.split(",", 1)[0]) || inflected(m[0])) {
        out.push([from + m.index, from + m.index + m[0].length]);
      }
    }
    return out;
  }

  /**
   * A window of about `maxChars` of a result's passage around its densest highlights:
   * `{text, start, end, highlights: [[start, end]] (relative to text), clippedStart, clippedEnd}`.
   */
  snippet(id, query, { passage = 0, maxChars = 360 } = {}) {
    const doc = this.#docs.get(String(id));
    const p = doc?.passages[passage];
    if (!p) {
      return null;
    }
    const all = this.highlights(doc.text, query, { from: p.start, to: p.end });
    let start = p.start;
    let end = p.end;
    if (end - start > maxChars) {
      // The window start (at a highlight) that covers the most highlights.
      let best = p.start;
      let bestCount = -1;
      for (let i = 0, j = 0; i < all.length; i++) {
        while (j < all.length && all[j][1] <= all[i][0] + maxChars) {
          j++;
        }
        if (j - i > bestCount) {
          bestCount = j - i;
          best = all[i][0];
        }
      }
      start = Math.max(p.start, best - Math.floor(maxChars / 4));
      end = Math.min(p.end, start + maxChars);
      start = Math.max(p.start, end - maxChars);
      // Snap to word boundaries.
      if (start > p.start) {
        const space = doc.text.indexOf(" ", start);
        if (space !== -1 && space < start + 30) {
          start = space + 1;
        }
      }
      if (end < p.end) {
        const space = doc.text.lastIndexOf(" ", end);
        if (space > end - 30) {
          end = space;
        }
      }
    }
    return {
      text: doc.text.slice(start, end),
      start,
      end,
      highlights: all.filter(([s, e]) => s >= start && e <= end).map(([s, e]) => [s - start, e - start]),
      clippedStart: start > p.start,
      clippedEnd: end < p.end,
    };
  }

  /**
   * Everything (documents, passages, index) as one file: "SPLDSRCH", format version, a JSON header
   * with the documents and the model's fingerprint, the SparseIndex bytes, and a SHA-256 of all before it.
   */
  async save() {
    const header = {
      format: FILE_VERSION,
      model: { fingerprint: await this.#encoder.fingerprint(), info: this.#encoder.info() },
      saved: new Date().toISOString(),
      documents: [...this.#docs.values()].map((d) => ({ ...d, passages: d.passages.map((p) => [p.start, p.end]) })),
    };
    const headerBytes = new TextEncoder().encode(JSON.stringify(header));
    const indexBytes = this.#index.save();
    const body = concat([new TextEncoder().encode(FILE_MAGIC), u32(FILE_VERSION), u32(headerBytes.length), headerBytes, indexBytes]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
    return concat([body, digest]);
  }

  /**
   * Replaces the contents with a file from `save()`. Throws a `SearchFileError` for a file that is
   * not one, is corrupt, or was built with another model (unless `allowOtherModel`).
   */
  async load(bytes, { allowOtherModel = false } = {}) {
    const { header, indexBytes } = await parseFile(bytes);
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
    for (const d of header.documents ?? []) {
      const passages = d.passages.map(([start, end]) => ({ start, end }));
      this.#docs.set(d.id, { ...d, passages });
      this.#passages += passages.length;
    }
    return { documents: this.#docs.size, passages: this.#passages };
  }

  /**
   * The documents of a file from `save()` (`[{id, text, title?, source?, meta?}]`), without its index:
   * what to index again when the file was built with another model.
   */
  static async documentsInFile(bytes) {
    const { header } = await parseFile(bytes);
    return (header.documents ?? []).map(({ passages, ...doc }) => doc);
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

/** Checks and splits a file from `Search.save()`: `{header, indexBytes}`; throws SearchFileError. */
async function parseFile(bytes) {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (data.length < 16 + 32 || new TextDecoder().decode(data.subarray(0, 8)) !== FILE_MAGIC) {
    throw new SearchFileError("this is not a saved splade-wasm search index");
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FILE_VERSION) {
    throw new SearchFileError(`this index file has format version ${version}; this version reads ${FILE_VERSION}`);
  }
  const body = data.subarray(0, data.length - 32);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  if (digest.some((b, i) => b !== data[data.length - 32 + i])) {
    throw new SearchFileError("this index file is corrupt or truncated (checksum mismatch)");
  }
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > body.length) {
    throw new SearchFileError("this index file is corrupt (bad header length)");
  }
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(body.subarray(16, 16 + headerLength)));
  } catch (err) {
    throw new SearchFileError(`this index file is corrupt (${err.message})`);
  }
  if (!Array.isArray(header?.documents)) {
    throw new SearchFileError("this index file is corrupt (no document list)");
  }
  return { header, indexBytes: body.subarray(16 + headerLength) };
}

/**
 * A ready search: loads the model (`model`: a URL of a pack or a folder ending in "/", or a
 * SparseEncoder), starts `workers` encoder workers (default: one per core, at most 4; 0 encodes on
 * the calling thread, as in Node), and returns a `Search`.
 */
export async function createSearch({
  model,
  workers = defaultWorkerCount(),
  maxPassageTokens = null,
  onProgress = null,
  signal = null,
  cacheName,
} = {}) {
  if (model == null) {
    throw new TypeError("createSearch needs a model: a URL or a SparseEncoder");
  }
  const ownsEncoder = !(model instanceof SparseEncoder);
  const encoder = ownsEncoder
    ? await SparseEncoder.load(model, { onProgress, signal, ...(cacheName !== undefined ? { cacheName } : {}) })
    : model;
  const [Index, pool] = await Promise.all([sparseIndexClass(), EncoderPool.create(encoder, { size: workers, maxTokens: maxPassageTokens })]);
  return new Search({ encoder, pool, Index, ownsEncoder });
}

// Search over documents: passages encoded by a worker pool into a SparseIndex, and queries answered
// by document with explanations. Highlighting lives in highlight.js, the save file in search-file.js.
import { Highlighter } from "./highlight.js";
import { encodeInJobs } from "./batches.js";
import { normalizeDoc } from "./progress.js";
import { SearchFileError, readSearchFile, writeSearchFile } from "./search-file.js";
import { QueryWords, vocabularyFingerprint, wordsOfTerms } from "./words.js";

function passageId(docId, n) {
  return `${docId}#${n}`;
}

function splitPassageId(pid) {
  const cut = pid.lastIndexOf("#");
  return [pid.slice(0, cut), Number(pid.slice(cut + 1))];
}

export class Search {
  #encoder;
  #pool;
  #Index;
  #index;
  #docs = new Map();
  #passages = 0;
  #highlighter;
  #queryWords;
  #vocabularyHash = null;
  #ownsEncoder;
  // Text -> id: identical content is indexed once (the Map hashes the strings; nothing is copied).
  #byText = new Map();
  #partial = new Map(); // id -> passages of a long document stopped half-way (batches.js)

  /** Use `createSearch`. */
  constructor({ encoder, pool, Index, ownsEncoder = false }) {
    this.#encoder = encoder;
    this.#pool = pool;
    this.#Index = Index;
    this.#index = new Index();
    this.#ownsEncoder = ownsEncoder;
    this.#highlighter = new Highlighter(encoder);
    this.#queryWords = new QueryWords(encoder);
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

  /**
   * Why documents are encoded on the calling thread although workers were asked for (the worker
   * script did not start: see createSearch's `workerUrl`), or null. Worth showing: the page is slow
   * while indexing.
   */
  get workerFallback() {
    return this.#pool.fallbackReason;
  }

  /** How many workers and why (`EncoderPool.plan`; show its `reason`), with the pool's wasm `memory` now. */
  get workerPlan() {
    return { ...this.#pool.plan, memory: this.#pool.memory };
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

  /** The id of a document whose text is exactly `text`, or null. */
  idOfText(text) {
    return this.#byText.get(text) ?? null;
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
    this.#byText.set(doc.text, doc.id);
  }

  #removePassages(id) {
    const old = this.#docs.get(id);
    if (old) {
      old.passages.forEach((_, n) => this.#index.remove(passageId(id, n)));
      this.#passages -= old.passages.length;
      this.#docs.delete(id);
      if (this.#byText.get(old.text) === id) {
        this.#byText.delete(old.text);
      }
    }
  }

  /**
   * Adds (or replaces, by id) documents `[{id, text, title?, meta?}]`: splits them into passages and
   * encodes them in the worker pool, a few passages per job. A document already here with the same id
   * and text is not encoded again (`unchanged`). `onProgress({done, total, passages, chars, totalChars,
   * seconds, docsPerSecond, etaSeconds})` follows every job; `onIndexed(docs)` gets documents once
   * searchable; `onUnchanged(docs)` the documents skipped as unchanged (`reencode` encodes them too);
   * `onFailed([{id, title, reason}])` each document that could not be encoded (a worker trapped on it
   * even alone; an earlier version with its id stays in the index). Aborting `signal` stops after the
   * jobs in a worker; it rejects with an AbortError whose `remaining` lists the documents not indexed
   * (a long one keeps its encoded passages for next time).
   * Resolves to `{documents, passages, unchanged, failed: [{id, title, reason}], seconds}`.
   */
  async add(docs, { signal = null, onProgress = null, onIndexed = null, onUnchanged = null, onFailed = null, reencode = false } = {}) {
    const list = [];
    let unchanged = 0;
    // The same id twice: the last one counts, as if added one after the other.
    const latest = new Map(Array.from(docs, normalizeDoc).map((d) => [d.id, d]));
    for (const doc of latest.values()) {
      const old = this.#docs.get(doc.id);
      if (!reencode && old && old.text === doc.text && old.title === doc.title && old.source === doc.source) {
        unchanged += 1;
      } else {
        list.push(doc);
      }
    }
    if (unchanged > 0) {
      onUnchanged?.([...latest.values()].filter((d) => !list.includes(d)));
    }
    const byId = new Map(list.map((d) => [d.id, d]));
    const started = performance.now();
    const total = list.length;
    const totalChars = list.reduce((n, d) => n + d.text.length, 0);
    let done = 0;
    const failed = [];
    let passages = 0;
    let chars = 0;
    const finished = new Set();

    // The rate is measured from the first job's end: before it lie the workers' start and the split
    // of a long document, which would make the first estimates far too long.
    let clock = null; // {at, chars}
    const report = () => {
      if (!onProgress) {
        return;
      }
      const now = performance.now();
      const seconds = (now - started) / 1000;
      const charRate = clock && now > clock.at ? (chars - clock.chars) / ((now - clock.at) / 1000) : 0;
      onProgress({
        done,
        total,
        passages,
        chars,
        totalChars,
        seconds,
        docsPerSecond: seconds > 0 ? done / seconds : 0,
        etaSeconds: charRate > 0 ? (totalChars - chars) / charRate : null,
      });
    };
    report();
    try {
      await encodeInJobs(
        this.#pool,
        list.map((d) => ({ key: d.id, text: d.text })),
        {
          lanes: this.#pool.concurrency,
          signal,
          partial: this.#partial,
          onDone: async (id, encoded) => {
            const doc = byId.get(id);
            this.#put(doc, encoded);
            finished.add(id);
            done += 1;
            await onIndexed?.([this.#docs.get(id)]);
          },
          onFailed: async (id, reason) => {
            failed.push({ id, title: byId.get(id).title ?? null, reason });
            finished.add(id);
            done += 1;
            await onFailed?.([failed.at(-1)]);
          },
          onJob: (job) => {
            chars += job.chars;
            passages += job.passages;
            clock ??= { at: performance.now(), chars };
            report();
          },
        },
      );
    } catch (err) {
      if (err?.name === "AbortError") {
        err.remaining = list.filter((d) => !finished.has(d.id));
      }
      throw err;
    }
    return { documents: done - failed.length, passages, unchanged, failed, seconds: (performance.now() - started) / 1000 };
  }

  /** Removes a document; returns whether it was there. */
  remove(id) {
    const had = this.#docs.has(String(id));
    this.#partial.delete(String(id));
    this.#removePassages(String(id));
    return had;
  }

  /** Removes every document. */
  clear() {
    this.#index.free?.();
    this.#index = new this.#Index();
    this.#docs.clear();
    this.#byText.clear();
    this.#partial.clear();
    this.#passages = 0;
  }

  /**
   * What of `query` is searched: `{searchable, words: [{text, known}]}`. Words the vocabulary cannot
   * spell (an [UNK] piece: emoji, most CJK for an English model) and punctuation are not; with none
   * left, `searchable` is false and `search` returns no results (show "no searchable words").
   */
  analyzeQuery(query) {
    const { searchable, words } = this.#queryWords.analyze(query);
    return { searchable, words: words.map(({ text, known }) => ({ text, known })) };
  }

  /** The query as searched, as weighted tokens: `[{tokenId, token, weight}]`, heaviest first. */
  queryTerms(query) {
    const q = this.#queryWords.analyze(query);
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
    const q = this.#queryWords.analyze(query);
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
   * contribution, expansion}], words}`, largest contribution first. `expansion` marks a term the passage
   * does not contain as a token: the model added it. `words` groups the tokens by the query word they
   * came from (`[{word, contribution, related, pieces}]`; `related`: the passage does not use the word).
   */
  explain(id, query, { passage = 0 } = {}) {
    const doc = this.#docs.get(String(id));
    const p = doc?.passages[passage];
    if (!p) {
      return { score: 0, terms: [], words: [] };
    }
    const q = this.#queryWords.analyze(query);
    const raw = q.indices.length ? this.#index.explain(passageId(doc.id, passage), q.indices, q.values) : [];
    const tokens = raw.length ? this.#encoder.tokenStrings(Uint32Array.from(raw, (t) => t.tokenId)) : [];
    const present = new Set(this.#encoder.documentTokenIds(doc.text.slice(p.start, p.end)));
    const terms = raw
      .map((t, i) => ({ ...t, token: tokens[i], expansion: !present.has(t.tokenId) }))
      .sort((a, b) => b.contribution - a.contribution);
    return { score: terms.reduce((s, t) => s + t.contribution, 0), terms, words: wordsOfTerms(q, terms) };
  }

  /**
   * Ranges `[start, end]` of the words in `text` (between `from` and `to`) that match a word of the
   * query (see Highlighter.highlights).
   */
  highlights(text, query, options = {}) {
    return this.#highlighter.highlights(text, query, options);
  }

  /**
   * A window of about `maxChars` of a result's passage centred on the words that contributed most to
   * its score, those words marked: `{text, start, end, highlights: [[start, end]] (relative to text),
   * weights, clippedStart, clippedEnd}`.
   */
  snippet(id, query, { passage = 0, maxChars = 360 } = {}) {
    const doc = this.#docs.get(String(id));
    const p = doc?.passages[passage];
    if (!p) {
      return null;
    }
    const contributions = new Map();
    for (const t of this.explain(id, query, { passage }).terms) {
      if (!t.expansion) {
        contributions.set(t.tokenId, t.contribution);
      }
    }
    return this.#highlighter.contributionSnippet(doc.text, p, contributions, { maxChars });
  }

  /**
   * Everything (documents, passages, index) as one file: "SPLDSRCH", format version, a JSON header
   * with the documents and the model's fingerprint, the SparseIndex bytes, and a SHA-256 of all before it.
   */
  async save() {
    // Documents and index are taken together before the first await: indexing goes on meanwhile.
    const documents = [...this.#docs.values()];
    const indexBytes = this.#index.save();
    return writeSearchFile({
      documents,
      model: { fingerprint: await this.#encoder.fingerprint(), vocabulary: await this.#vocabulary(), info: this.#encoder.info() },
      indexBytes,
    });
  }

  async #vocabulary() {
    this.#vocabularyHash ??= vocabularyFingerprint(this.#encoder);
    return this.#vocabularyHash;
  }

  /**
   * Replaces the contents with a file from `save()`. Throws a `SearchFileError` for a file that is
   * not one, is corrupt, or was built with another model (unless `allowOtherModel`, or
   * `allowSameVocabulary` and the other model has this one's vocabulary: its index stays searchable
   * while the documents are encoded again). `otherModel` in the result says the vectors are another model's.
   */
  async load(bytes, { allowOtherModel = false, allowSameVocabulary = false } = {}) {
    const { header, documents, indexBytes } = await readSearchFile(bytes);
    const otherModel = header.model?.fingerprint !== (await this.#encoder.fingerprint());
    const sameVocabulary = allowSameVocabulary && header.model?.vocabulary === (await this.#vocabulary());
    if (otherModel && !allowOtherModel && !sameVocabulary) {
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
    this.#byText.clear();
    this.#passages = 0;
    for (const d of documents) {
      this.#docs.set(d.id, d);
      this.#byText.set(d.text, d.id);
      this.#passages += d.passages.length;
    }
    return { documents: this.#docs.size, passages: this.#passages, otherModel };
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

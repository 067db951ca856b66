// Indexing documents in jobs of about the same size whatever the documents' size: short documents
// travel together; a long one is split first (in a worker) and sent a few passages at a time. Progress,
// pause and cancel act between jobs, so within about one job's encoding time even for a 2 MB text.
// A long document stopped half-way keeps its encoded passages (`partial`) for the next run.
// A document the pool reports as failed (see pool.js) is passed to `onFailed` and the others go on.
import { abortError } from "./util.js";

const JOB_DOCS = 8;
// Characters per job: a few passages of the default model. Small enough that a job takes well under a
// second in a worker, large enough that the per-message cost stays small.
export const JOB_CHARS = 6_000;

/**
 * Plans jobs over `docs` (`[{key, text}]`) lazily: `next()` resolves to `{mode, items, chars}` or null.
 * `partial` maps a key to `{text, ranges, vectors}` kept from an earlier stopped run (used if the text is the same).
 */
class JobPlanner {
  #pool;
  #docs;
  #partial;
  #i = 0;
  #long = null; // {key, ranges, pos}: a long document being sent in pieces
  #chain = Promise.resolve(null);

  constructor(pool, docs, partial) {
    this.#pool = pool;
    // Short documents first: many become searchable while a long one would hold them back for minutes.
    this.#docs = [...docs.filter((d) => d.text.length <= JOB_CHARS), ...docs.filter((d) => d.text.length > JOB_CHARS)];
    this.#partial = partial;
  }

  /** The next job; calls are served one after the other (several lanes ask at once). */
  next() {
    this.#chain = this.#chain.then(() => this.#next());
    return this.#chain;
  }

  async #next() {
    for (;;) {
      if (this.#long) {
        const job = this.#piece();
        if (job) {
          return job;
        }
        this.#long = null;
      }
      const items = [];
      let chars = 0;
      while (this.#i < this.#docs.length) {
        const doc = this.#docs[this.#i];
        if (doc.text.length > JOB_CHARS) {
          break;
        }
        if (items.length > 0 && (items.length >= JOB_DOCS || chars + doc.text.length > JOB_CHARS)) {
          return { mode: "docs", items, chars };
        }
        items.push(doc);
        chars += doc.text.length;
        this.#i++;
      }
      if (items.length > 0) {
        return { mode: "docs", items, chars };
      }
      if (this.#i >= this.#docs.length) {
        return null;
      }
      const doc = this.#docs[this.#i++];
      let state = this.#partial.get(doc.key);
      if (state?.text !== doc.text) {
        const [split] = (await this.#pool.encode([{ key: doc.key, text: doc.text }], { mode: "split" })).results;
        if (split.error != null) {
          return { mode: "failed", items: [doc], chars: doc.text.length, error: split.error };
        }
        state = { text: doc.text, ranges: split.passages, vectors: [] };
        this.#partial.set(doc.key, state);
      }
      this.#long = { key: doc.key, text: doc.text, state, pos: 0 };
    }
  }

  /** The next few passages of the long document in progress that are not encoded yet. */
  #piece() {
    const { key, text, state } = this.#long;
    if (state.failed != null) {
      return null;
    }
    const items = [];
    let chars = 0;
    while (this.#long.pos < state.ranges.length) {
      const n = this.#long.pos;
      if (state.vectors[n]) {
        this.#long.pos++;
        continue;
      }
      const { start, end } = state.ranges[n];
      if (items.length > 0 && chars + (end - start) > JOB_CHARS) {
        break;
      }
      items.push({ key: [key, n], text: text.slice(start, end) });
      chars += end - start;
      this.#long.pos++;
    }
    return items.length > 0 ? { mode: "passages", items, chars, state } : null;
  }
}

/**
 * Encodes `docs` (`[{key, text}]`) with `pool`, `lanes` jobs at a time. `onDone(key, passages)` gets
 * each document once all its passages are encoded; `onFailed(key, reason)` each document that could
 * not be encoded (a long one once, its encoded passages dropped); `onJob({chars, passages})` follows
 * every job.
 * `partial` (a Map, kept by the caller) holds the passages of long documents stopped half-way.
 * Aborting `signal` drops the queued jobs and ends after the jobs in a worker; it rejects with an
 * AbortError.
 */
export async function encodeInJobs(pool, docs, { lanes, signal = null, partial, onDone, onFailed, onJob }) {
  const planner = new JobPlanner(pool, docs, partial);
  const onAbort = () => pool.clearQueue(abortError("Indexing was stopped"));
  signal?.addEventListener("abort", onAbort);
  let failure = null;
  const lane = async () => {
    while (failure == null && !signal?.aborted) {
      let job;
      let out;
      try {
        job = await planner.next();
        if (job == null || signal?.aborted) {
          return;
        }
        out = job.mode === "failed" ? { results: [{ key: job.items[0].key, error: job.error }], passages: 0 } : await pool.encode(job.items, { mode: job.mode });
      } catch (err) {
        failure ??= err;
        return;
      }
      try {
        if (job.mode !== "passages") {
          for (const r of out.results) {
            await (r.error == null ? onDone(r.key, r.passages) : onFailed(r.key, r.error));
          }
        } else {
          const [key] = job.items[0].key;
          const { state } = job;
          const failed = out.results.find((r) => r.error != null);
          if (failed && state.failed == null) {
            // One passage lost is the document lost: a search over the rest would silently miss it.
            state.failed = failed.error;
            partial.delete(key);
            await onFailed(key, failed.error);
          }
          if (state.failed == null) {
            for (const r of out.results) {
              const n = r.key[1];
              const [{ indices, values }] = r.passages;
              state.vectors[n] = { start: state.ranges[n].start, end: state.ranges[n].end, indices, values };
            }
            if (state.ranges.every((_, n) => state.vectors[n])) {
              partial.delete(key);
              await onDone(key, state.vectors);
            }
          }
        }
        onJob({ chars: job.chars, passages: out.passages });
      } catch (err) {
        failure ??= err;
        return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (signal?.aborted) {
    throw abortError("Indexing was stopped");
  }
  if (failure) {
    throw failure;
  }
}

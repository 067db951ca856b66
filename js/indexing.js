// Resumable indexing: a queue of documents that a Search indexes in runs which can be paused, resumed
// and cancelled, with the search and the queue checkpointed to a store (an IndexStore) so that a
// reload, or a closed tab, picks up where it stopped without encoding anything twice.
//
// The store saves the search file and drops the indexed documents from its queue in one step, so what
// is saved and what is queued always add up to everything that was added.
import { Search } from "./search.js";
import { Checkpointer } from "./checkpoints.js";
import { sortOutDuplicates } from "./duplicates.js";
import { charsOf, runProgress } from "./progress.js";
import { SearchFileError } from "./search-file.js";

const PAUSED_SETTING = "paused";


/** An event of a ResumableIndexer; `detail` says what happened (see index.d.ts). */
export class IndexingEvent extends Event {
  constructor(type, detail = null) {
    super(type);
    this.detail = detail;
  }
}

export class ResumableIndexer extends EventTarget {
  #search;
  #store;
  #checkpoints;
  #pending = []; // documents waiting for a run (also in the store's queue)
  #paused = false;
  #run = null; // {controller, reason, total, done, passages, chars, totalChars, started, ended, end}
  // What the runs since the queue was last empty did, pauses and restarts included: the "done" event's
  // totals. `seconds` counts time spent running.
  #session = null; // {documents, passages, chars, seconds}

  /**
   * Indexes into `search`, keeping it and the queue in `store` (an IndexStore, or anything with its
   * methods; null to keep nothing). Checkpoints during a run come at most every `minSaveInterval` ms,
   * less often when saving is slow (up to `maxSaveInterval`).
   */
  constructor(search, { store = null, minSaveInterval = 2000, maxSaveInterval = 30_000 } = {}) {
    super();
    this.#search = search;
    this.#store = store;
    this.#checkpoints = new Checkpointer(search, store, (type, detail) => this.#emit(type, detail), {
      minSaveInterval,
      maxSaveInterval,
    });
  }

  get search() {
    return this.#search;
  }

  /** "running", "paused" (documents wait for `resume()`) or "idle". */
  get state() {
    return this.#run ? "running" : this.#paused && this.#pending.length > 0 ? "paused" : "idle";
  }

  get running() {
    return this.#run != null;
  }

  get paused() {
    return this.#paused;
  }

  /** Why the run in progress is stopping after its batches in flight ("pause", "cancel", ...), or null. */
  get stopping() {
    return this.#run?.reason ?? null;
  }

  /** Documents waiting to be indexed (not counting the run in progress). */
  get queued() {
    return this.#pending.length;
  }

  /** Whether there is a store to keep the index in. */
  get persistent() {
    return this.#store != null;
  }

  /** Why the last checkpoint failed (null after a good one). */
  get saveError() {
    return this.#checkpoints.error;
  }

  /** The current wait between checkpoints during a run, in ms. */
  get saveInterval() {
    return this.#checkpoints.interval;
  }

  /**
   * Indexed documents (or removals) the store does not hold yet: 0 when everything searchable is saved.
   * Always 0 without a store (see `persistent`).
   */
  get unsaved() {
    return this.#checkpoints.unsaved;
  }

  /** Documents the store held after the last good checkpoint (of this session). */
  get savedDocuments() {
    return this.#checkpoints.saved;
  }

  /**
   * The run in progress: `{done, total, passages, chars, totalChars, seconds, docsPerSecond,
   * etaSeconds}`, updated after every job of a few passages. `total`, `totalChars` and the estimate
   * include the documents queued behind it; counts include the runs before a pause or restart since
   * the queue was last empty. Null when none runs.
   */
  get progress() {
    return this.#run ? runProgress(this.#session, this.#run, this.#pending) : null;
  }

  #emit(type, detail = null) {
    this.dispatchEvent(new IndexingEvent(type, detail));
  }

  async #persistPaused(paused) {
    await this.#store?.setSetting(PAUSED_SETTING, paused).catch(() => {});
  }

  /**
   * Loads what the store kept: the saved search and the queue (not started: call `start()`). A saved
   * search built with another model is queued again from its documents. Resolves to `{documents,
   * reindexing, error}`: documents restored, documents queued again, and why the saved search could
   * not be used (null if it could).
   */
  async restore() {
    const result = { documents: 0, reindexing: 0, error: null };
    if (!this.#store) {
      return result;
    }
    const bytes = await this.#store.loadState();
    let reindex = [];
    if (bytes) {
      try {
        // Another model with the same vocabulary: its index answers searches until it is re-encoded.
        const loaded = await this.#search.load(bytes, { allowSameVocabulary: true });
        result.documents = loaded.documents;
        if (loaded.otherModel) {
          reindex = this.#search.documents().map(({ passages, ...doc }) => doc);
          result.reindexing = reindex.length;
        }
      } catch (err) {
        if (err instanceof SearchFileError && err.otherModel) {
          // The model changed since the index was built: its vectors are useless, its documents are not.
          reindex = await Search.documentsInFile(bytes);
          result.reindexing = reindex.length;
        } else {
          result.error = err;
        }
      }
    }
    this.#checkpoints.saved = this.#search.size; // what the store held
    this.#pending = await this.#store.queued();
    this.#paused = (await this.#store.getSetting(PAUSED_SETTING)) === true;
    if (reindex.length > 0) {
      const queued = new Set(this.#pending.map((d) => d.id));
      const again = reindex.filter((d) => !queued.has(d.id));
      await this.#store.enqueue(again).catch(() => {});
      await this.#persistPaused(false);
      this.#pending = again.concat(this.#pending);
      this.#paused = false;
    }
    this.#emit("change");
    return result;
  }

  /**
   * Queues documents (`{id, text, title?, source?, meta?}`; an existing id is replaced), saves the
   * queue, and indexes them: in a new run, or folded into the one in progress. Un-pauses. Identical
   * content is indexed once: a document whose text is already indexed or queued (under any id) is
   * left out, and so is one already indexed unchanged. Resolves once they are queued, to `{queued,
   * unchanged: [id], duplicates: [{id, of}]}`; `whenIdle()` waits for the indexing. A queue the store
   * cannot save is reported as an "error" event (`during: "queue"`); the documents are indexed all the same.
   */
  async add(docs) {
    const { list, unchanged, duplicates } = sortOutDuplicates(this.#search, [...(this.#run?.docs ?? []), ...this.#pending], docs);
    if (this.#store && list.length > 0) {
      try {
        await this.#store.enqueue(list);
      } catch (error) {
        this.#emit("error", { error, during: "queue" });
      }
    }
    this.#pending.push(...list);
    if (this.#paused && list.length > 0) {
      this.#paused = false;
      await this.#persistPaused(false);
    }
    if (list.length > 0) {
      this.start();
    }
    return { queued: list.length, unchanged, duplicates };
  }

  /** Removes one document from the search, the queue and the store (saved at once). Returns whether it was there. */
  async remove(id) {
    const key = String(id);
    const queued = this.#pending.length;
    this.#pending = this.#pending.filter((d) => String(d.id) !== key);
    const had = this.#search.remove(key) || this.#pending.length < queued;
    if (had) {
      // The store's queue drops the id with the next checkpoint, which is now.
      this.#checkpoints.indexed([key]);
      this.#checkpoints.changed();
      this.#emit("change");
      await this.#checkpoints.save(true);
    }
    return had;
  }

  /** Starts indexing the queue unless it is paused or a run is in progress. */
  start() {
    if (this.#run) {
      // Fold the new documents into the run in progress: stop it after its batches in flight and go on.
      this.#run.reason = "restart";
      this.#run.controller.abort();
      return;
    }
    if (this.#pending.length === 0 || this.#paused) {
      this.#emit("change");
      return;
    }
    void this.#runQueue();
  }

  async #runQueue() {
    const docs = this.#pending;
    this.#pending = [];
    const run = {
      docs,
      controller: new AbortController(),
      reason: null,
      total: docs.length,
      done: 0,
      passages: 0,
      chars: 0,
      totalChars: charsOf(docs),
      started: performance.now(),
    };
    this.#session ??= { documents: 0, passages: 0, chars: 0, seconds: 0 };
    run.ended = new Promise((resolve) => {
      run.end = resolve;
    });
    this.#run = run;
    this.#emit("change");
    try {
      // Queued documents are encoded even when an index holds them: they may be another model's vectors.
      await this.#search.add(docs, {
        reencode: true,
        signal: run.controller.signal,
        onProgress: (p) => {
          run.done = p.done;
          run.passages = p.passages;
          run.chars = p.chars;
          run.totalChars = p.totalChars;
          run.eta = p.etaSeconds;
          this.#emit("progress", this.progress);
        },
        onUnchanged: (same) => this.#checkpoints.indexed(same.map((d) => d.id)),
        onFailed: (failed) => this.#checkpoints.failed(failed),
        onIndexed: (batch) => {
          this.#checkpoints.indexed(batch.map((d) => d.id));
          this.#emit("indexed", { documents: batch });
          this.#checkpoints.save(false);
        },
      });
      this.#endRun(run);
      await this.#checkpoints.save(true);
      if (this.#pending.length === 0) {
        const session = this.#session;
        this.#session = null;
        this.#emit("done", { documents: session.documents, passages: session.passages, seconds: session.seconds });
      }
    } catch (err) {
      this.#endRun(run);
      if (err?.name === "AbortError") {
        this.#pending = (err.remaining ?? []).concat(this.#pending);
        if (run.reason === "cancel" || run.reason === "stop") {
          const dropped = this.#pending.length;
          this.#pending = [];
          await this.#store?.clearQueue().catch(() => {});
          this.#session = null;
          if (run.reason === "cancel") {
            this.#emit("cancelled", { dropped });
          }
        } else if (run.reason === "pause") {
          this.#paused = true;
          await this.#persistPaused(true);
        }
        await this.#checkpoints.save(true);
      } else {
        this.#pending = docs.filter((d) => !this.#search.has(d.id)).concat(this.#pending);
        this.#paused = true;
        await this.#checkpoints.save(true);
        this.#emit("error", { error: err, during: "index" });
      }
    }
    run.end();
    if (this.#pending.length > 0 && !this.#paused) {
      void this.#runQueue();
    } else {
      this.#emit("change");
    }
  }

  /** Folds a finished or stopped run into the session's totals. */
  #endRun(run) {
    this.#run = null;
    Object.assign(this.#session, {
      documents: this.#session.documents + run.done,
      passages: this.#session.passages + run.passages,
      chars: this.#session.chars + run.chars,
      seconds: this.#session.seconds + (performance.now() - run.started) / 1000,
    });
  }

  /** Pauses after the jobs in a worker (the queue stays saved); returns whether a run was pausing. */
  pause() {
    if (!this.#run) {
      return false;
    }
    this.#run.reason = "pause";
    this.#run.controller.abort();
    this.#emit("change");
    return true;
  }

  async resume() {
    this.#paused = false;
    await this.#persistPaused(false);
    this.start();
  }

  /**
   * Drops the queue: the run in progress stops after its batches in flight (an "cancelled" event
   * counts the documents not indexed). What was indexed stays. Returns whether a run was stopping.
   */
  async cancel() {
    if (this.#run) {
      this.#run.reason = "cancel";
      this.#run.controller.abort();
      this.#emit("change");
      return true;
    }
    this.#pending = [];
    this.#paused = false;
    await this.#store?.clearQueue().catch(() => {});
    await this.#persistPaused(false);
    this.#emit("change");
    return false;
  }

  /** Drops the queue and waits for the run in progress (if any) to stop and checkpoint. */
  async stop() {
    this.#pending = [];
    this.#paused = false;
    const run = this.#run;
    if (run) {
      run.reason = "stop";
      run.controller.abort();
      await run.ended;
    }
  }

  /**
   * Stops the run in progress and saves, leaving its queue for the next `restore()` to carry on with
   * (for example before the page goes away); in this session indexing stays paused. A queue the user
   * paused stays paused.
   */
  async suspend() {
    const run = this.#run;
    if (run) {
      run.reason = "pause";
      run.controller.abort();
      await run.ended;
      await this.#persistPaused(false);
    }
    await this.save();
  }

  /** Resolves once no run is in progress and none is about to start (the queue is empty or paused). */
  whenIdle() {
    return new Promise((resolve) => {
      const check = () => {
        if (!this.#run) {
          this.removeEventListener("change", check);
          resolve();
        }
      };
      this.addEventListener("change", check);
      check();
    });
  }

  /** Saves now (after a save in progress). A failure is an "error" event (`during: "save"`) and `saveError`. */
  save() {
    return this.#checkpoints.save(true);
  }

  /** Stops indexing and removes every document, from the search and from the store. */
  async clear() {
    await this.stop();
    this.#search.clear();
    this.#checkpoints.forget();
    this.#checkpoints.saved = 0;
    try {
      await this.#store?.clear();
      await this.#store?.setSetting(PAUSED_SETTING, false);
    } finally {
      this.#emit("change");
    }
  }

  /**
   * Replaces everything with a file from `Search.save()` (checked before anything is stopped) and
   * saves it. A file built with another model is indexed again from its documents. Resolves to
   * `{documents, passages, reindexing}`; throws a SearchFileError for a file that is not one.
   */
  async load(bytes) {
    await Search.documentsInFile(bytes);
    await this.stop();
    let result;
    let again = null;
    try {
      try {
        result = { ...(await this.#search.load(bytes)), reindexing: 0 };
      } catch (err) {
        if (!(err instanceof SearchFileError && err.otherModel)) {
          throw err;
        }
        again = await Search.documentsInFile(bytes);
        result = { documents: 0, passages: 0, reindexing: again.length };
        this.#search.clear();
      }
      await this.#store?.clear();
      this.#checkpoints.forget();
      await this.save();
    } finally {
      this.#emit("change");
    }
    if (again) {
      await this.add(again);
    }
    return result;
  }
}

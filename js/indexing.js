// Resumable indexing: a queue of documents that a Search indexes in runs which can be paused, resumed
// and cancelled, with the search and the queue checkpointed to a store (an IndexStore) so that a
// reload, or a closed tab, picks up where it stopped without encoding anything twice.
//
// The store saves the search file and drops the indexed documents from its queue in one step, so what
// is saved and what is queued always add up to everything that was added.
import { Search } from "./search.js";
import { SearchFileError } from "./search-file.js";

const PAUSED_SETTING = "paused";
// A checkpoint writes the whole search file: it waits at least this many times as long as the last
// one took (between the bounds below), so that saving stays a small share of the indexing time.
const SAVE_BACKOFF = 20;

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
  #saveError = null;
  #pending = []; // documents waiting for a run (also in the store's queue)
  #paused = false;
  #run = null; // {controller, reason, total, done, passages, started, rate, eta, ended, end}
  #doneIds = []; // indexed since the last checkpoint: dropped from the store's queue by the next one
  #lastSave = 0;
  #saving = null;
  #minSaveInterval;
  #maxSaveInterval;
  #saveInterval;

  /**
   * Indexes into `search`, keeping it and the queue in `store` (an IndexStore, or anything with its
   * methods; null to keep nothing). Checkpoints during a run come at most every `minSaveInterval` ms,
   * less often when saving is slow (up to `maxSaveInterval`).
   */
  constructor(search, { store = null, minSaveInterval = 2000, maxSaveInterval = 30_000 } = {}) {
    super();
    this.#search = search;
    this.#store = store;
    this.#minSaveInterval = minSaveInterval;
    this.#maxSaveInterval = Math.max(minSaveInterval, maxSaveInterval);
    this.#saveInterval = minSaveInterval;
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
    return this.#saveError;
  }

  /** The current wait between checkpoints during a run, in ms. */
  get saveInterval() {
    return this.#saveInterval;
  }

  /**
   * The run in progress: `{done, total, passages, seconds, docsPerSecond, etaSeconds}`, where `total`
   * and the estimate include the documents queued behind it; null when none runs.
   */
  get progress() {
    const run = this.#run;
    if (!run) {
      return null;
    }
    const left = this.#pending.length;
    return {
      done: run.done,
      total: run.total + left,
      passages: run.passages,
      seconds: (performance.now() - run.started) / 1000,
      docsPerSecond: run.rate,
      etaSeconds: run.eta != null && run.done > 0 ? run.eta + left / Math.max(run.rate, 1e-9) : null,
    };
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
        result.documents = (await this.#search.load(bytes)).documents;
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
   * queue, and indexes them: in a new run, or folded into the one in progress. Un-pauses. Resolves
   * once they are queued; `whenIdle()` waits for the indexing. A queue the store cannot save is
   * reported as an "error" event (`during: "queue"`); the documents are indexed all the same.
   */
  async add(docs) {
    const list = [...docs];
    if (this.#store) {
      try {
        await this.#store.enqueue(list);
      } catch (error) {
        this.#emit("error", { error, during: "queue" });
      }
    }
    this.#pending.push(...list);
    if (this.#paused) {
      this.#paused = false;
      await this.#persistPaused(false);
    }
    this.start();
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
      controller: new AbortController(),
      reason: null,
      total: docs.length,
      done: 0,
      passages: 0,
      started: performance.now(),
      rate: 0,
      eta: null,
    };
    run.ended = new Promise((resolve) => {
      run.end = resolve;
    });
    this.#run = run;
    this.#emit("change");
    try {
      await this.#search.add(docs, {
        signal: run.controller.signal,
        onProgress: (p) => {
          run.done = p.done;
          run.rate = p.docsPerSecond;
          run.eta = p.etaSeconds;
          this.#emit("progress", this.progress);
        },
        onIndexed: (batch) => {
          for (const doc of batch) {
            this.#doneIds.push(doc.id);
            run.passages += doc.passages.length;
          }
          this.#emit("indexed", { documents: batch });
          this.#checkpoint(false);
        },
      });
      this.#run = null;
      await this.#checkpoint(true);
      this.#emit("done", { documents: run.total, passages: run.passages, seconds: (performance.now() - run.started) / 1000 });
    } catch (err) {
      this.#run = null;
      if (err?.name === "AbortError") {
        this.#pending = (err.remaining ?? []).concat(this.#pending);
        if (run.reason === "cancel" || run.reason === "stop") {
          const dropped = this.#pending.length;
          this.#pending = [];
          await this.#store?.clearQueue().catch(() => {});
          if (run.reason === "cancel") {
            this.#emit("cancelled", { dropped });
          }
        } else if (run.reason === "pause") {
          this.#paused = true;
          await this.#persistPaused(true);
        }
        await this.#checkpoint(true);
      } else {
        this.#pending = docs.filter((d) => !this.#search.has(d.id)).concat(this.#pending);
        this.#paused = true;
        await this.#checkpoint(true);
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

  /** Pauses after the batches in flight (the queue stays saved); returns whether a run was pausing. */
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
    return this.#checkpoint(true);
  }

  /** Saves the search (and drops indexed documents from the saved queue); at most every `saveInterval` ms unless forced. */
  async #checkpoint(force) {
    if (!this.#store) {
      return;
    }
    if (this.#saving) {
      if (!force) {
        return;
      }
      while (this.#saving) {
        await this.#saving;
      }
    }
    if (!force && performance.now() - this.#lastSave < this.#saveInterval) {
      return;
    }
    this.#saving = (async () => {
      const ids = this.#doneIds;
      this.#doneIds = [];
      const started = performance.now();
      try {
        const bytes = await this.#search.save();
        await this.#store.saveState(bytes, ids);
        this.#saveError = null;
        const took = performance.now() - started;
        this.#saveInterval = Math.min(this.#maxSaveInterval, Math.max(this.#minSaveInterval, SAVE_BACKOFF * took));
        this.#emit("saved", { documents: this.#search.size, bytes: bytes.length, ms: took });
      } catch (error) {
        this.#doneIds = ids.concat(this.#doneIds);
        this.#saveError = error;
        this.#emit("error", { error, during: "save" });
      } finally {
        this.#lastSave = performance.now();
        this.#saving = null;
      }
    })();
    await this.#saving;
  }

  /** Stops indexing and removes every document, from the search and from the store. */
  async clear() {
    await this.stop();
    this.#search.clear();
    this.#doneIds = [];
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
      this.#doneIds = [];
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

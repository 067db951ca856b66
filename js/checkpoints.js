// Checkpoints of a ResumableIndexer: the search file written to the store, with the documents indexed
// since the last one dropped from the store's queue in the same step. Saving waits at least
// SAVE_BACKOFF times as long as the last save took (between the bounds), so that it stays a small share
// of the indexing time. Knows which indexed documents are not saved yet, so a page never says "saved"
// early.

// A checkpoint writes the whole search file: it waits at least this many times as long as the last
// one took (between the bounds below).
const SAVE_BACKOFF = 20;

export class Checkpointer {
  #search;
  #store;
  #emit;
  #doneIds = []; // indexed since the last checkpoint: dropped from the store's queue by the next one
  #changed = false; // documents removed or replaced since the last checkpoint
  #lastSave = 0;
  #saving = null;
  #minInterval;
  #maxInterval;
  #interval;
  error = null;
  saved = 0; // documents in the last good checkpoint

  constructor(search, store, emit, { minSaveInterval, maxSaveInterval }) {
    this.#search = search;
    this.#store = store;
    this.#emit = emit;
    this.#minInterval = minSaveInterval;
    this.#maxInterval = Math.max(minSaveInterval, maxSaveInterval);
    this.#interval = minSaveInterval;
  }

  get interval() {
    return this.#interval;
  }

  /** Documents indexed (or removed) that the store does not have yet: 0 once a checkpoint holds them all. */
  get unsaved() {
    return this.#store ? this.#doneIds.length + (this.#changed ? 1 : 0) : 0;
  }

  indexed(ids) {
    this.#doneIds.push(...ids);
  }

  /**
   * Documents that could not be encoded (`[{id, title, reason}]`) leave the queue as indexed ones do,
   * since encoding them again would fail again; reported as a "failed" event.
   */
  failed(docs) {
    this.indexed(docs.map((d) => d.id));
    this.#emit("failed", { documents: docs });
  }

  /** Something other than indexing changed the search (a document removed). */
  changed() {
    this.#changed = true;
  }

  forget() {
    this.#doneIds = [];
    this.#changed = false;
  }

  /** Saves the search (and drops indexed documents from the saved queue); at most every `interval` ms unless forced. */
  async save(force) {
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
    if (!force && performance.now() - this.#lastSave < this.#interval) {
      return;
    }
    this.#saving = (async () => {
      const ids = this.#doneIds;
      const changed = this.#changed;
      this.#doneIds = [];
      this.#changed = false;
      const started = performance.now();
      // Search.save takes its snapshot before its first await: this count is what the file holds.
      const documents = this.#search.size;
      try {
        const bytes = await this.#search.save();
        await this.#store.saveState(bytes, ids);
        this.error = null;
        this.saved = documents;
        const took = performance.now() - started;
        this.#interval = Math.min(this.#maxInterval, Math.max(this.#minInterval, SAVE_BACKOFF * took));
        this.#emit("saved", { documents, bytes: bytes.length, ms: took });
      } catch (error) {
        this.#doneIds = ids.concat(this.#doneIds);
        this.#changed ||= changed;
        this.error = error;
        this.#emit("error", { error, during: "save" });
      } finally {
        this.#lastSave = performance.now();
        this.#saving = null;
      }
    })();
    await this.#saving;
  }
}

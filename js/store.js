// Persistence in IndexedDB (raw API): the saved search (one `Search.save()` file) and the queue of
// documents still to index, written in one transaction so that they always agree.

const DB_VERSION = 1;

export class StorageError extends Error {
  constructor(message, { quota = false, cause } = {}) {
    super(message, { cause });
    this.name = "StorageError";
    this.quota = quota;
  }
}

function isQuotaError(err) {
  return err?.name === "QuotaExceededError" || /quota/i.test(err?.message ?? "");
}

function wrap(err, what) {
  if (err instanceof StorageError) {
    return err;
  }
  if (isQuotaError(err)) {
    return new StorageError(
      `the browser's storage for this site is full, so ${what} could not be saved; free some space (or export the index) and try again`,
      { quota: true, cause: err },
    );
  }
  return new StorageError(`${what} could not be saved in this browser: ${err?.message ?? err}`, { cause: err });
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
    tx.onerror = () => reject(tx.error ?? new Error("transaction failed"));
  });
}

export class IndexStore {
  #db;

  constructor(db) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database `name`. Throws a StorageError where IndexedDB is unavailable. */
  static async open(name = "splade-search") {
    if (typeof indexedDB === "undefined") {
      throw new StorageError("this browser has no IndexedDB, so the index cannot be kept between visits");
    }
    const req = indexedDB.open(name, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("kv")) {
        db.createObjectStore("kv");
      }
      if (!db.objectStoreNames.contains("queue")) {
        db.createObjectStore("queue", { keyPath: "id" });
      }
    };
    try {
      return new IndexStore(await request(req));
    } catch (err) {
      throw new StorageError(`cannot open the browser database: ${err?.message ?? err}`, { cause: err });
    }
  }

  async #get(key) {
    const tx = this.#db.transaction("kv", "readonly");
    return request(tx.objectStore("kv").get(key));
  }

  /** The last saved search file (`Uint8Array`) or null. */
  async loadState() {
    const value = await this.#get("state");
    return value == null ? null : new Uint8Array(value);
  }

  /** Saves the search file and drops `indexedIds` from the queue, atomically. */
  async saveState(bytes, indexedIds = []) {
    try {
      const tx = this.#db.transaction(["kv", "queue"], "readwrite");
      tx.objectStore("kv").put(bytes, "state");
      const queue = tx.objectStore("queue");
      for (const id of indexedIds) {
        queue.delete(id);
      }
      await finished(tx);
    } catch (err) {
      throw wrap(err, "the index");
    }
  }

  /** Adds documents to the queue of documents to index (in order). */
  async enqueue(docs) {
    try {
      const tx = this.#db.transaction(["kv", "queue"], "readwrite");
      const kv = tx.objectStore("kv");
      const seq = (await request(kv.get("seq"))) ?? 0;
      const queue = tx.objectStore("queue");
      docs.forEach((doc, i) => queue.put({ ...doc, seq: seq + i }));
      kv.put(seq + docs.length, "seq");
      await finished(tx);
    } catch (err) {
      throw wrap(err, "the documents to index");
    }
  }

  /** The documents still to index, in the order they were queued. */
  async queued() {
    const tx = this.#db.transaction("queue", "readonly");
    const docs = await request(tx.objectStore("queue").getAll());
    return docs.sort((a, b) => a.seq - b.seq).map(({ seq, ...doc }) => doc);
  }

  async clearQueue() {
    const tx = this.#db.transaction("queue", "readwrite");
    tx.objectStore("queue").clear();
    await finished(tx);
  }

  async getSetting(key) {
    return this.#get(`setting:${key}`);
  }

  async setSetting(key, value) {
    try {
      const tx = this.#db.transaction("kv", "readwrite");
      tx.objectStore("kv").put(value, `setting:${key}`);
      await finished(tx);
    } catch (err) {
      throw wrap(err, "a setting");
    }
  }

  /** Deletes the saved index and the queue (settings stay). */
  async clear() {
    const tx = this.#db.transaction(["kv", "queue"], "readwrite");
    tx.objectStore("kv").delete("state");
    tx.objectStore("queue").clear();
    await finished(tx);
  }

  close() {
    this.#db.close();
  }
}

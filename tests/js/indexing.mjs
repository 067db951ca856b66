// The library's resumable indexing (ResumableIndexer) in Node: node tests/js/indexing.mjs
//
// A real Search (the tiny model, encoding on this thread) over an in-memory store with IndexStore's
// methods and contract (the search file and the queue saved in one step). A "reload" is a new Search
// and a new indexer over the same store. The demo's end-to-end test covers the same in Chromium with
// IndexedDB.
import { createHash } from "node:crypto";
import { checker } from "./check.mjs";
import { loadFolder } from "./fs-folder.mjs";

const { ResumableIndexer, SearchFileError, SparseEncoder, createSearch } = await import("../../pkg/index.js");

const t = checker("indexing");
const encoder = await SparseEncoder.fromFiles(await loadFolder("models/splade-tiny"));

const TOPICS = [
  "the red planet Mars and its thin atmosphere of carbon dioxide",
  "railroads built across the continent in the nineteenth century",
  "paying off the national debt with a budget surplus",
  "the gold standard and the value of paper money",
  "health insurance for workers and their families",
  "volcanoes erupting lava and ash over the island",
];

function corpus(n, prefix = "doc") {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    title: `${prefix} ${i}`,
    text: `${prefix} document ${i} is about ${TOPICS[i % TOPICS.length]}. It also mentions item number ${i} and ${TOPICS[(i * 7 + 3) % TOPICS.length]}.`,
  }));
}

/** IndexStore's contract in memory; `delayMs` slows saving, `failSaves` makes the next saves throw. */
class MemoryStore {
  state = null;
  queue = new Map();
  settings = new Map();
  seq = 0;
  saves = 0;
  delayMs = 0;
  failSaves = 0;

  async loadState() {
    return this.state ? this.state.slice() : null;
  }
  async saveState(bytes, indexedIds = []) {
    if (this.delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    }
    if (this.failSaves > 0) {
      this.failSaves -= 1;
      throw new Error("the disk is full");
    }
    this.state = bytes.slice();
    for (const id of indexedIds) {
      this.queue.delete(id);
    }
    this.saves += 1;
  }
  async enqueue(docs) {
    for (const doc of docs) {
      this.queue.set(doc.id, { ...doc, seq: this.seq++ });
    }
  }
  async queued() {
    return [...this.queue.values()].sort((a, b) => a.seq - b.seq).map(({ seq, ...doc }) => doc);
  }
  async clearQueue() {
    this.queue.clear();
  }
  async getSetting(key) {
    return this.settings.get(key);
  }
  async setSetting(key, value) {
    this.settings.set(key, value);
  }
  async clear() {
    this.state = null;
    this.queue.clear();
  }
}

const searches = [];
async function open(store, options = {}) {
  const search = await createSearch({ model: encoder, workers: 0 });
  searches.push(search);
  return new ResumableIndexer(search, { store, ...options });
}

function record(indexer) {
  const events = { change: 0, progress: [], indexed: 0, saved: 0, done: [], cancelled: [], error: [] };
  indexer.addEventListener("change", () => (events.change += 1));
  indexer.addEventListener("progress", ({ detail }) => events.progress.push(detail));
  indexer.addEventListener("indexed", ({ detail }) => (events.indexed += detail.documents.length));
  indexer.addEventListener("saved", () => (events.saved += 1));
  indexer.addEventListener("done", ({ detail }) => events.done.push(detail));
  indexer.addEventListener("cancelled", ({ detail }) => events.cancelled.push(detail));
  indexer.addEventListener("error", ({ detail }) => events.error.push(detail));
  return events;
}

/** Calls `fn(indexer)` once, at the first indexed batch. */
function atFirstBatch(indexer, fn) {
  const once = () => {
    indexer.removeEventListener("indexed", once);
    fn(indexer);
  };
  indexer.addEventListener("indexed", once);
}

/** The saved file with another model's fingerprint (checksum recomputed), as an older model would have left it. */
function withOtherModel(bytes, { otherVocabulary = false } = {}) {
  const buf = Buffer.from(bytes);
  const headerLength = buf.readUInt32LE(12);
  const header = JSON.parse(buf.subarray(16, 16 + headerLength).toString("utf8"));
  header.model.fingerprint = "0".repeat(64);
  if (otherVocabulary) {
    header.model.vocabulary = "1".repeat(64);
  }
  const newHeader = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(newHeader.length);
  const body = Buffer.concat([buf.subarray(0, 12), length, newHeader, buf.subarray(16 + headerLength, buf.length - 32)]);
  return new Uint8Array(Buffer.concat([body, createHash("sha256").update(body).digest()]));
}

const topIds = (search, query) => search.search(query, { k: 3 }).map((r) => r.id).join(",");

// ---- a run from empty to saved ----
const store = new MemoryStore();
const first = await open(store);
const empty = await first.restore();
t.check("restore from an empty store", empty.documents === 0 && empty.reindexing === 0 && empty.error === null && first.state === "idle", JSON.stringify(empty));
const events = record(first);
await first.add(corpus(40));
t.check("add resolves with the run started", first.running && first.state === "running");
await first.whenIdle();
t.check("every document is searchable", first.search.size === 40, first.search.size);
t.check("the run reports done once with its counts", events.done.length === 1 && events.done[0].documents === 40 && events.done[0].passages === first.search.passageCount, JSON.stringify(events.done));
const last = events.progress.at(-1);
t.check("progress counts up to the total", events.progress.length > 1 && last.done === 40 && last.total === 40, JSON.stringify(last));
t.check("every document is announced as indexed once", events.indexed === 40, events.indexed);
t.check("checkpoints were written; the saved queue is empty", events.saved >= 1 && store.state != null && store.queue.size === 0, `${events.saved} ${store.queue.size}`);
t.check("idle after the run", first.state === "idle" && !first.running && first.progress === null && first.queued === 0);
const redPlanet = topIds(first.search, "red planet atmosphere");

// ---- a reload restores without encoding ----
const reloaded = await open(store);
const reloadEvents = record(reloaded);
const restored = await reloaded.restore();
reloaded.start();
await reloaded.whenIdle();
t.check("a reload restores every document", restored.documents === 40 && reloaded.search.size === 40, JSON.stringify(restored));
t.check("a reload encodes nothing", reloadEvents.indexed === 0 && reloadEvents.done.length === 0);
t.check("the restored search ranks as before", topIds(reloaded.search, "red planet atmosphere") === redPlanet, redPlanet);

// ---- pause, reload, resume ----
const pauseStore = new MemoryStore();
const pausing = await open(pauseStore);
await pausing.restore();
atFirstBatch(pausing, (indexer) => t.check("pause() acts on a running run", indexer.pause() && indexer.stopping === "pause"));
await pausing.add(corpus(60));
await pausing.whenIdle();
const left = pausing.queued;
t.check("paused after the batches in flight", pausing.state === "paused" && pausing.paused && left > 0 && pausing.search.size + left === 60, `${pausing.search.size} + ${left}`);
t.check("the paused queue is saved", pauseStore.queue.size === left && pauseStore.settings.get("paused") === true, pauseStore.queue.size);
const afterPause = await open(pauseStore);
const resumedEvents = record(afterPause);
const pausedRestore = await afterPause.restore();
afterPause.start();
await afterPause.whenIdle();
t.check("a reload keeps the pause and the queue", pausedRestore.documents === 60 - left && afterPause.paused && afterPause.queued === left && resumedEvents.indexed === 0, JSON.stringify(pausedRestore));
await afterPause.resume();
await afterPause.whenIdle();
t.check("resume indexes exactly what was left", afterPause.search.size === 60 && resumedEvents.indexed === left, `${afterPause.search.size} ${resumedEvents.indexed}`);
t.check("after resuming the saved queue is empty and unpaused", pauseStore.queue.size === 0 && pauseStore.settings.get("paused") === false);

// ---- cancel ----
const cancelStore = new MemoryStore();
const cancelling = await open(cancelStore);
const cancelEvents = record(cancelling);
atFirstBatch(cancelling, (indexer) => indexer.cancel());
await cancelling.add(corpus(60));
await cancelling.whenIdle();
const dropped = cancelEvents.cancelled[0]?.dropped ?? 0;
t.check("cancel reports the documents not indexed", cancelEvents.cancelled.length === 1 && dropped > 0 && cancelling.search.size + dropped === 60, JSON.stringify(cancelEvents.cancelled));
t.check("cancel drops the queue, saved too", cancelling.queued === 0 && cancelling.state === "idle" && cancelStore.queue.size === 0);
const afterCancel = await open(cancelStore);
const cancelRestore = await afterCancel.restore();
t.check("a cancelled run does not come back after a reload", cancelRestore.documents === cancelling.search.size && afterCancel.queued === 0);

// ---- documents added during a run join it ----
const foldStore = new MemoryStore();
const folding = await open(foldStore);
const foldEvents = record(folding);
await folding.add(corpus(30, "a"));
await folding.add(corpus(10, "b"));
await folding.whenIdle();
t.check("documents added during a run are indexed too", folding.search.size === 40 && foldStore.queue.size === 0 && foldEvents.indexed === 40, `${folding.search.size} ${foldEvents.indexed}`);

// ---- checkpoints back off when saving is slow ----
const slowStore = new MemoryStore();
slowStore.delayMs = 150;
const slow = await open(slowStore);
await slow.add(corpus(16));
await slow.whenIdle();
t.check("a slow save lengthens the wait between checkpoints (20× the save)", slow.saveInterval >= 3000 && slow.saveInterval <= 30_000, slow.saveInterval);
const cappedStore = new MemoryStore();
cappedStore.delayMs = 150;
const capped = await open(cappedStore, { maxSaveInterval: 2500 });
await capped.add(corpus(16));
await capped.whenIdle();
t.check("the wait between checkpoints is capped", capped.saveInterval === 2500, capped.saveInterval);
const rareStore = new MemoryStore();
const rare = await open(rareStore, { minSaveInterval: 1e9 });
await rare.add(corpus(40));
await rare.whenIdle();
t.check("within the interval only the run's final checkpoint is written", rareStore.saves === 1 && rareStore.queue.size === 0, rareStore.saves);

// ---- a failed save is reported and retried ----
const failStore = new MemoryStore();
failStore.failSaves = 1;
const failing = await open(failStore);
const failEvents = record(failing);
await failing.add(corpus(24));
await failing.whenIdle();
const saveErrors = failEvents.error.filter((e) => e.during === "save");
t.check("a failed save is an error event", saveErrors.length === 1 && /disk is full/.test(saveErrors[0].error?.message), JSON.stringify(failEvents.error));
t.check("the next save catches up: nothing indexed stays queued", failing.saveError === null && failStore.queue.size === 0 && failStore.saves >= 1);
const afterFail = await open(failStore);
t.check("what the failed save missed is restored", (await afterFail.restore()).documents === 24);

// ---- a saved index from another model is indexed again ----
const otherStore = new MemoryStore();
otherStore.state = withOtherModel(store.state, { otherVocabulary: true });
const other = await open(otherStore);
const otherRestore = await other.restore();
t.check("another model's index: its documents are queued again", otherRestore.documents === 0 && otherRestore.reindexing === 40 && other.queued === 40, JSON.stringify(otherRestore));
other.start();
await other.whenIdle();
t.check("and indexed with this model", other.search.size === 40 && otherStore.queue.size === 0 && topIds(other.search, "red planet atmosphere") === redPlanet);
// Same vocabulary (a q8_0 and an f32 pack of one model): the old index answers until the new one is done.
const sameVocabStore = new MemoryStore();
sameVocabStore.state = withOtherModel(store.state);
const sameVocab = await open(sameVocabStore);
const sameVocabEvents = record(sameVocab);
const sameVocabRestore = await sameVocab.restore();
t.check("another model with this vocabulary: the old index stays searchable", sameVocabRestore.documents === 40 && sameVocabRestore.reindexing === 40 && topIds(sameVocab.search, "red planet atmosphere") === redPlanet, JSON.stringify(sameVocabRestore));
sameVocab.start();
await sameVocab.whenIdle();
t.check("while every document is encoded again with this model", sameVocabEvents.indexed === 40 && sameVocab.search.size === 40 && sameVocabStore.queue.size === 0);
const sameVocabReload = await open(sameVocabStore);
t.check("after which the saved index is this model's", (await sameVocabReload.restore()).reindexing === 0);
const corruptStore = new MemoryStore();
corruptStore.state = new TextEncoder().encode("not a search file at all, just some bytes that are long enough");
const corrupt = await open(corruptStore);
const corruptRestore = await corrupt.restore();
t.check("a corrupt saved index is reported, not thrown", corruptRestore.error instanceof SearchFileError && corruptRestore.documents === 0, String(corruptRestore.error));

// ---- load (import), clear, stop, suspend ----
const importing = await open(new MemoryStore());
await importing.add(corpus(5, "old"));
await importing.whenIdle();
const imported = await importing.load(store.state);
t.check("load replaces everything with a saved file", imported.documents === 40 && imported.reindexing === 0 && importing.search.size === 40 && !importing.search.has("old-0"), JSON.stringify(imported));
let refused = null;
try {
  await importing.load(new Uint8Array(100));
} catch (err) {
  refused = err;
}
t.check("load refuses a file that is not one, keeping the contents", refused instanceof SearchFileError && importing.search.size === 40, String(refused));
const reimported = await importing.load(withOtherModel(store.state));
await importing.whenIdle();
t.check("load of another model's file indexes its documents again", reimported.reindexing === 40 && importing.search.size === 40, JSON.stringify(reimported));

const clearStore = new MemoryStore();
const clearing = await open(clearStore);
await clearing.add(corpus(12));
await clearing.whenIdle();
await clearing.clear();
t.check("clear empties the search and the store", clearing.search.size === 0 && clearStore.state === null && clearStore.queue.size === 0 && clearing.state === "idle");

const stopStore = new MemoryStore();
const stopping = await open(stopStore);
const stopEvents = record(stopping);
let stopped = null;
atFirstBatch(stopping, (indexer) => {
  stopped = indexer.stop();
});
await stopping.add(corpus(60));
await stopping.whenIdle();
await stopped;
t.check("stop drops the queue without a cancelled event", stopping.search.size < 60 && stopping.queued === 0 && stopStore.queue.size === 0 && stopEvents.cancelled.length === 0);

const suspendStore = new MemoryStore();
const suspending = await open(suspendStore);
let suspended = null;
atFirstBatch(suspending, (indexer) => {
  suspended = indexer.suspend();
});
await suspending.add(corpus(60));
await suspending.whenIdle();
await suspended;
const kept = suspendStore.queue.size;
t.check("suspend saves and keeps the queue for the next visit", kept > 0 && suspending.search.size + kept === 60 && suspendStore.settings.get("paused") === false, `${suspending.search.size} + ${kept}`);
const nextVisit = await open(suspendStore);
await nextVisit.restore();
t.check("the next visit carries on with it", !nextVisit.paused && nextVisit.queued === kept);
nextVisit.start();
await nextVisit.whenIdle();
t.check("and finishes the work", nextVisit.search.size === 60 && suspendStore.queue.size === 0);

// ---- a long document: progress, pause and resume per job of a few passages ----
const longText = Array.from({ length: 400 }, (_, i) => `Paragraph ${i}. ${TOPICS[i % TOPICS.length]} and ${TOPICS[(i * 5 + 1) % TOPICS.length]}. ` + TOPICS[(i * 3) % TOPICS.length].repeat(3)).join("\n\n");
const longStore = new MemoryStore();
const longRun = await open(longStore);
const longEvents = record(longRun);
let pausedAt = null;
let reportsAfterPause = 0;
longRun.addEventListener("progress", ({ detail }) => {
  if (pausedAt != null && longRun.running) {
    reportsAfterPause += 1;
  }
  if (pausedAt == null && detail.chars > 0 && longEvents.progress.length >= 4) {
    pausedAt = detail.chars;
    longRun.pause();
  }
});
await longRun.add([{ id: "long", title: "long", text: longText }]);
await longRun.whenIdle();
const beforePause = longEvents.progress.filter((p) => p.chars > 0);
t.check("a long document reports progress before it is done", beforePause.length >= 3 && longEvents.indexed === 0, `${beforePause.length} reports`);
// The first job's time holds the start-up (and the split), so the estimate starts from the second.
t.check("with an estimate of the time left from the second job on", beforePause[0].etaSeconds === null && beforePause.slice(1).every((p) => p.etaSeconds > 0 && p.totalChars >= longText.length), JSON.stringify(beforePause.slice(0, 2)));
t.check("pause acts after the job in progress, not at the end of the document", longRun.state === "paused" && reportsAfterPause <= 1 && !longRun.search.has("long"), `${reportsAfterPause} reports after pause`);
await longRun.resume();
await longRun.whenIdle();
const longDoc = longRun.search.get("long");
const [longDone] = longEvents.done;
t.check("resume finishes the long document", longDoc != null && longDoc.passages.length > 10, longDoc?.passages.length);
t.check("the final count covers the whole run across the pause, nothing encoded twice", longEvents.done.length === 1 && longDone.documents === 1 && longDone.passages === longDoc.passages.length, JSON.stringify(longDone));
t.check("everything indexed is saved", longRun.unsaved === 0 && longStore.queue.size === 0);

// ---- identical content is indexed once; unchanged documents are not encoded again ----
const dupStore = new MemoryStore();
const dup = await open(dupStore);
const dupEvents = record(dup);
const [one] = corpus(1, "dup");
const firstAdd = await dup.add([one, { ...one, id: "dup-copy" }]);
await dup.whenIdle();
const again = await dup.add([one, { ...one, id: "dup-again" }]);
await dup.whenIdle();
t.check("the same text under two ids is indexed once", dup.search.size === 1 && firstAdd.duplicates.length === 1 && firstAdd.duplicates[0].of === one.id, JSON.stringify(firstAdd));
t.check("re-adding it is neither encoded nor duplicated", dupEvents.indexed === 1 && again.unchanged[0] === one.id && again.duplicates[0]?.id === "dup-again" && again.queued === 0, JSON.stringify(again));
await dup.add(corpus(3, "more"));
await dup.whenIdle();
t.check("remove takes one document out", (await dup.remove("more-1")) && !dup.search.has("more-1") && dup.search.size === 3);
const afterRemove = await open(dupStore);
await afterRemove.restore();
t.check("and the removal is saved", afterRemove.search.size === 3 && !afterRemove.search.has("more-1"));

for (const search of searches) {
  search.close();
}
t.finish();

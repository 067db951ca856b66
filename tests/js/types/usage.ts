// Type-checked (tsc --strict, in tests/js/npm-package.mjs) against pkg/index.d.ts: the API as an app uses it.
import {
  DEFAULT_MEMORY_BUDGET,
  EncoderPool,
  IndexStore,
  IndexingEvent,
  ResumableIndexer,
  Search,
  SearchFileError,
  SparseEncoder,
  SparseIndex,
  StorageError,
  createSearch,
  documentsFromFiles,
  documentsFromText,
  filesFromDataTransfer,
  initWasm,
  splitPassages,
  tokenBudget,
  type FailedDocument,
  type IndexingProgress,
  type IndexingStorage,
  type LoadProgress,
  type SearchResult,
  type WorkerPlan,
} from "splade-wasm";

export async function demo(files: FileList, drop: DataTransfer, signal: AbortSignal): Promise<void> {
  await initWasm();
  const encoder = await SparseEncoder.loadFolder("models/splade-tiny/", {
    signal,
    onProgress: (p: LoadProgress) => console.log(p.loaded, p.total ?? "?", p.fromCache),
  });
  const packed: SparseEncoder = await SparseEncoder.load(new URL("model.gguf", location.href), { cacheName: false });
  packed.free();
  const info = encoder.info();
  const q = encoder.encodeQuery("red planet");
  const ids: Uint32Array = q.indices;
  const names: string[] = encoder.tokenStrings(ids);
  console.log(info.maxDocumentTokens, names, await encoder.fingerprint());

  const index = new SparseIndex();
  index.add("a#0", q.indices, q.values);
  const hits = index.search(q.indices, q.values, 10);
  const top: string | undefined = hits[0]?.id;
  const bytes: Uint8Array = index.save();
  console.log(top, SparseIndex.load(bytes).size, index.explain("a#0", q.indices, q.values)[0]?.contribution);

  const passages = splitPassages("one\n\ntwo", tokenBudget(encoder, 256));
  console.log(passages.map((p) => p.end - p.start));

  const pool = await EncoderPool.create(encoder, { size: 2 });
  const encoded = await pool.encode([{ key: 1, text: "hello" }]);
  console.log(encoded.passages, pool.fallbackReason, encoded.results[0]?.error ?? encoded.results[0]?.passages?.length);
  const plan: WorkerPlan = pool.plan;
  console.log(plan.reason, plan.budgetSource, pool.memory.workers.length, pool.replaced, DEFAULT_MEMORY_BUDGET);
  pool.terminate();

  const search: Search = await createSearch({ model: encoder, workers: 2, maxPassageTokens: 256, memoryBudget: 512 * 2 ** 20 });
  console.log(search.workerPlan.reason, search.workerPlan.memory.totalBytes);
  const { documents } = await documentsFromFiles(files);
  const dropped = await filesFromDataTransfer(drop);
  await search.add([...documents, ...documentsFromText("notes.md", "# Notes\n\ntext")], {
    signal,
    onProgress: (p: IndexingProgress) => console.log(p.done, p.total, p.docsPerSecond, p.etaSeconds),
    onIndexed: (docs) => console.log(docs.map((d) => d.passages.length)),
    onFailed: (failed: FailedDocument[]) => console.warn(failed.map((f) => `${f.id}: ${f.reason}`)),
  });
  const results: SearchResult[] = search.search("red planet", { k: 5 });
  for (const r of results) {
    const why = search.explain(r.id, "red planet", { passage: r.passage.index });
    const snippet = search.snippet(r.id, "red planet");
    console.log(r.title, r.score, why.terms.filter((t) => t.expansion).map((t) => t.token), snippet?.highlights);
  }
  const saved = await search.save();
  try {
    await search.load(saved);
  } catch (err) {
    if (err instanceof SearchFileError && err.otherModel) {
      await search.add(await Search.documentsInFile(saved));
    }
  }
  const store = await IndexStore.open("demo");
  try {
    await store.saveState(saved, search.documents().map((d) => d.id));
  } catch (err) {
    if (err instanceof StorageError && err.quota) {
      console.warn("full", dropped.length);
    }
  }
  const indexer = new ResumableIndexer(search, { store, minSaveInterval: 1000, maxSaveInterval: 10_000 });
  indexer.addEventListener("progress", (e) => console.log(e.detail.done, e.detail.total, e.detail.etaSeconds ?? "?"));
  indexer.addEventListener("indexed", (e) => console.log(e.detail.documents.map((d) => d.passages.length)));
  indexer.addEventListener("saved", (e) => console.log(e.detail.documents, e.detail.bytes, e.detail.ms));
  indexer.addEventListener("done", (e) => console.log(e.detail.documents, e.detail.passages, e.detail.seconds));
  indexer.addEventListener("failed", (e) => console.warn(e.detail.documents.map((d) => d.reason)));
  indexer.addEventListener("cancelled", (e: IndexingEvent<"cancelled">) => console.log(e.detail.dropped));
  indexer.addEventListener("error", ({ detail }) => console.warn(detail.during, detail.error, indexer.saveError));
  const { documents: restored, reindexing, error } = await indexer.restore();
  console.log(restored, reindexing, error, indexer.state, indexer.queued, indexer.progress?.docsPerSecond);
  indexer.start();
  await indexer.add(documents);
  const pausing: boolean = indexer.pause();
  await indexer.resume();
  const stopping: boolean = await indexer.cancel();
  console.log(pausing, stopping, indexer.stopping, indexer.running, indexer.paused, indexer.persistent, indexer.saveInterval);
  await indexer.whenIdle();
  await indexer.save();
  await indexer.suspend();
  await indexer.stop();
  const loaded = await indexer.load(saved);
  console.log(loaded.documents + loaded.passages + loaded.reindexing);
  await indexer.clear();
  const inMemory: IndexingStorage = {
    loadState: async () => null,
    saveState: async () => {},
    enqueue: async () => {},
    queued: async () => [],
    clearQueue: async () => {},
    getSetting: async () => undefined,
    setSetting: async () => {},
    clear: async () => {},
  };
  new ResumableIndexer(search, { store: inMemory }).start();
  new ResumableIndexer(search).start();
  search.close();
}

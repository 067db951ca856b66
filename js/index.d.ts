// Types for the splade-wasm package (ESM; browsers with or without a bundler, and Node 20+).

/** A sparse vector: token ids ascending, with their weights. */
export interface SparseVector {
  indices: Uint32Array;
  values: Float32Array;
}

export interface ModelInfo {
  architecture: string;
  hiddenSize: number;
  layers: number;
  vocabSize: number;
  maxDocumentTokens: number;
  maxQueryTokens: number;
  [key: string]: unknown;
}

/** Bytes of a model download so far; `total` is null while unknown. */
export interface LoadProgress {
  loaded: number;
  total: number | null;
  /** True when everything came from the Cache API (no download). */
  fromCache: boolean;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal | null;
  /** Cache API cache to keep model files in (default "splade-models-v1"); false for none. */
  cacheName?: string | false;
  /** Download again even if cached. */
  reload?: boolean;
}

export interface PackInfo {
  formatVersion: number;
  /** The requested storage type: f32, f16, q8_0, q4_k. */
  dtype: string;
  /** The model it was converted from. */
  source: string;
  /** Which tensors are stored how. */
  quantization: string;
  contentSha256: string;
  fileBytes: number;
  /** GGUF type -> [tensors, bytes]. */
  formats: Record<string, [number, number]>;
}

/** What a worker needs to build the same model. */
export type ModelSource = { kind: "files"; files: Record<string, Uint8Array> } | { kind: "pack"; bytes: Uint8Array };

/** Where the wasm module comes from: a URL, its bytes, or a compiled module. Default: next to the package. */
export type WasmSource = string | URL | BufferSource | WebAssembly.Module;

/** Compiles and instantiates the wasm module in this realm (once; later calls return the same promise). */
export function initWasm(source?: WasmSource): Promise<unknown>;

export class SparseEncoder {
  private constructor();
  /**
   * A model by URL: a single-file pack (.gguf), or a folder when the URL ends in "/" (see loadFolder).
   * Streams with fetch, reports progress, honours `signal`, and keeps the files in the Cache API once they
   * built an encoder (never an aborted, truncated or corrupt download); a cached pack is used while a HEAD
   * request finds it unchanged on the server (or the server is unreachable). Throws an Error for a 404, an
   * HTML page instead of a model, a truncated file or a pack of an unknown version.
   */
  static load(url: string | URL, options?: LoadOptions): Promise<SparseEncoder>;
  /**
   * A model folder in Hugging Face or sentence-transformers layout, fetched file by file with one
   * combined progress: the files listed in its `manifest.json` ({files: [{path, bytes?, sha256?}]}), or
   * else the files such folders hold. In Node, a path or file: URL reads from disk.
   */
  static loadFolder(baseUrl: string | URL, options?: LoadOptions): Promise<SparseEncoder>;
  /** A model folder in memory: {relative path: bytes}. */
  static fromFiles(files: Record<string, Uint8Array>): Promise<SparseEncoder>;
  /** A single-file model pack in memory. */
  static fromPack(bytes: Uint8Array | ArrayBuffer): Promise<SparseEncoder>;
  /** What a pack holds, without building the model; throws for bytes that are not a readable pack. */
  static packInfo(bytes: Uint8Array | ArrayBuffer): Promise<PackInfo>;
  /** For a model loaded from a pack, its PackInfo; else null. */
  packInfo(): Promise<PackInfo | null>;

  readonly source: ModelSource;
  /** The wasm-bindgen object. */
  readonly raw: unknown;
  /** SHA-256 (hex) of the model's bytes. */
  fingerprint(): Promise<string>;
  encodeQuery(text: string): SparseVector;
  encodeDocument(text: string): SparseVector;
  encodeDocuments(texts: string[]): SparseVector[];
  /** Query-side token ids (no special tokens, truncated). */
  queryTokenIds(text: string): Uint32Array;
  /** Document-side token ids, with [CLS]/[SEP], truncated to the model's maximum. */
  documentTokenIds(text: string): Uint32Array;
  tokenStrings(indices: Uint32Array | number[]): string[];
  /**
   * The request a search engine runs for `text` (no model inference: the query side is a lookup):
   * a JSON body to send as is, or for "pgvector" a SQL statement. Equal to `splade export-query`.
   * Throws an Error for an unknown format or a bad option.
   */
  engineQuery(text: string, format: EngineFormat, options?: EngineQueryOptions): string;
  info(): ModelInfo;
  /** Lowers the document truncation length (tokens, specials included). */
  setMaxDocumentTokens(maxTokens: number): void;
  free(): void;
}

/** Engines `engineQuery` writes for (see `splade export` for the matching documents and schema). */
export type EngineFormat =
  | "opensearch"
  | "opensearch-sparse-vector"
  | "elasticsearch"
  | "qdrant"
  | "milvus"
  | "pgvector"
  | "jsonl";

export interface EngineQueryOptions {
  /** Results requested (default 10). */
  k?: number;
  /** Index, collection or table name (default "documents"); ASCII letters, digits, "_". */
  index?: string;
  /** Field or column of the vectors (default "embedding"). */
  field?: string;
}

export interface SearchHit {
  id: string;
  score: number;
}

export interface TermContribution {
  tokenId: number;
  queryWeight: number;
  documentWeight: number;
  contribution: number;
}

/**
 * An inverted index over token ids (call `await initWasm()` first). Ids are strings; adding an existing
 * id replaces it. `search` is exact top-k by sparse dot product.
 */
export class SparseIndex {
  constructor();
  add(id: string, indices: Uint32Array, values: Float32Array): void;
  remove(id: string): boolean;
  has(id: string): boolean;
  readonly size: number;
  ids(): string[];
  search(qIndices: Uint32Array, qValues: Float32Array, k: number): SearchHit[];
  explain(id: string, qIndices: Uint32Array, qValues: Float32Array): TermContribution[];
  /** Versioned, checksummed bytes. */
  save(): Uint8Array;
  /** Throws an Error for corrupt input. */
  static load(bytes: Uint8Array): SparseIndex;
  /** Sizes and memory: {documents, tombstones, tokens, postings, postingsBytes, documentsBytes, scratchBytes, memoryBytes}. */
  stats(): Record<string, number>;
  /** Releases the slack left by incremental adds. */
  shrinkToFit(): void;
  free(): void;
}

export interface Passage {
  /** UTF-16 offsets into the document's text. */
  start: number;
  end: number;
}

export interface SplitOptions {
  /** Token budget per passage (default 256). */
  maxTokens?: number;
  /** Counts a string's tokens; default: characters / 4. */
  countTokens?: ((text: string) => number) | null;
}

/** Splits text into passages by paragraphs, packed up to the budget; long paragraphs are cut at sentences, then spaces. */
export function splitPassages(text: string, options?: SplitOptions): Passage[];
/** Passage length when none is asked for (attention's cost grows with the square of the length). */
export const DEFAULT_PASSAGE_TOKENS: 512;
/** `splitPassages` options that fit an encoder's model (`maxTokens` includes special tokens; default min(model maximum, 512)). */
export function tokenBudget(encoder: SparseEncoder, maxTokens?: number | null): Required<SplitOptions>;

export const MAX_WORKERS: number;
/** One worker per logical core, at most MAX_WORKERS; 0 where there are no Web Workers (Node). */
export function defaultWorkerCount(): number;

/** The budget for wasm memory across the page's instance and its workers when nothing else says: 1 GiB. */
export const DEFAULT_MEMORY_BUDGET: number;

/**
 * How many workers a pool started, and why. Each worker holds the whole model in its own wasm
 * instance; the first one measures what that takes (`instanceBytes`, after building the model), and
 * as many start as fit the budget next to the page's own instance (`mainBytes`), at least one.
 */
export interface WorkerPlan {
  workers: number;
  requested: number;
  /** Wasm memory one worker's instance took after building the model. */
  instanceBytes: number;
  /** Wasm memory of the calling thread's instance (the page's encoder). */
  mainBytes: number;
  budgetBytes: number;
  /** Where the budget came from: the `memoryBudget` option, a quarter of `navigator.deviceMemory` (at most 1 GiB), or the default 1 GiB. */
  budgetSource: "memoryBudget" | "deviceMemory" | "default";
  /** mainBytes + workers × instanceBytes. */
  totalBytes: number;
  /** The choice in a sentence, e.g. "2 of 4 workers asked for: the model takes 305 MiB of wasm memory per worker and 305 MiB on the page, and the default budget of 1024 MiB holds no more". */
  reason: string;
}

/** Wasm memory now, which is also the peak (a wasm instance's memory only grows). */
export interface WorkerMemory {
  workers: number[];
  mainBytes: number;
  totalBytes: number;
}

/** A document is either encoded (`passages`) or failed (`error`: why). */
export interface EncodedDocument {
  key: unknown;
  passages?: Array<Passage & SparseVector>;
  error?: string;
}

/** Module Web Workers, each with its own wasm instance; with size 0 the work runs on the calling thread. */
export class EncoderPool {
  private constructor();
  /**
   * Starts up to `size` workers, as many as fit `memoryBudget` (bytes; Infinity: no cap; see WorkerPlan).
   * With `fallback` (default), a pool whose workers cannot start encodes on the calling thread instead.
   * `testHooks.trapOn`: for tests only, a document containing that text traps its worker's wasm.
   */
  static create(
    encoder: SparseEncoder,
    options?: {
      size?: number;
      maxTokens?: number | null;
      workerUrl?: string | URL | null;
      fallback?: boolean;
      memoryBudget?: number | null;
      testHooks?: { trapOn?: string } | null;
    },
  ): Promise<EncoderPool>;
  readonly size: number;
  /** Why the pool runs on the calling thread although workers were asked for (null if it does not). */
  readonly fallbackReason: string | null;
  readonly plan: WorkerPlan;
  readonly memory: WorkerMemory;
  /** Workers replaced after their wasm instance trapped or the worker died. */
  readonly replaced: number;
  readonly concurrency: number;
  /**
   * Splits and encodes documents; "passages" encodes each text as one passage, "split" only splits.
   * A job that fails (a worker traps: it is replaced) is retried in halves, a lone document once more;
   * a document that still fails comes back with `error`.
   */
  encode(
    docs: Array<{ key: unknown; text: string }>,
    options?: { mode?: "docs" | "passages" | "split" },
  ): Promise<{ results: EncodedDocument[]; passages: number; ms: number }>;
  clearQueue(reason?: unknown): void;
  terminate(): void;
}

export type Device = "auto" | "webgpu" | "wasm";
export const DEVICES: readonly Device[];
/** Largest absolute document-weight difference from wasm at which WebGPU's results are trusted. */
export const AGREEMENT_TOLERANCE: number;

export interface DeviceInfo {
  backend: "webgpu" | "wasm";
  /** The WebGPU adapter (null when none was opened). */
  adapter: { adapter: string; backend: string; software: boolean } | null;
  /** Why this backend: asked for, remembered, measured, or why WebGPU is not used. */
  reason: string | null;
  /** The warm-up race's times (the same texts on the wasm workers and on the GPU) when `auto` measured them. */
  gpuMs?: number | null;
  wasmMs?: number | null;
}

/** Encodes like an `EncoderPool`, on WebGPU or wasm; a failing GPU hands its batch to wasm. */
export class DevicePool {
  private constructor();
  device: DeviceInfo;
  readonly size: number;
  readonly fallbackReason: string | null;
  readonly concurrency: number;
  /** The wasm workers' plan and memory, as `EncoderPool.plan` and `EncoderPool.memory`. */
  readonly plan: WorkerPlan;
  readonly memory: WorkerMemory;
  encode(
    docs: Array<{ key: unknown; text: string }>,
    options?: { mode?: "docs" | "passages" | "split" },
  ): Promise<{ results: EncodedDocument[]; passages: number; ms: number }>;
  /** For tests: destroys the GPU device as a lost device would. */
  simulateDeviceLoss(): void;
  clearQueue(reason?: unknown): void;
  terminate(): void;
}

/**
 * Chooses the device for `encoder`'s documents over a wasm `pool`: "wasm"; "webgpu" (throws without a
 * usable adapter, or when its results disagree with wasm); "auto" (WebGPU when it agrees and is faster
 * on a warm-up batch, remembered per model and adapter in localStorage).
 */
export function openDevicePool(
  encoder: SparseEncoder,
  pool: EncoderPool,
  options?: { device?: Device; maxTokens?: number | null },
): Promise<DevicePool>;

/** A document to index. Adding an existing id replaces the document. */
export interface DocumentInput {
  id: string;
  text: string;
  title?: string;
  /** Where it came from (a file name), shown with results. */
  source?: string;
  meta?: Record<string, unknown>;
}

export interface StoredDocument extends DocumentInput {
  passages: Passage[];
}

export interface IndexingProgress {
  /** Documents indexed, of `total`. */
  done: number;
  total: number;
  /** Passages encoded. */
  passages: number;
  /** Characters encoded, of `totalChars`: the measure the estimate uses (updated every few passages). */
  chars: number;
  totalChars: number;
  seconds: number;
  docsPerSecond: number;
  etaSeconds: number | null;
}

export interface AddOptions {
  /** Aborting stops after the batches in flight; the promise rejects with an AbortError whose `remaining` lists what was not indexed. */
  signal?: AbortSignal | null;
  onProgress?: ((progress: IndexingProgress) => void) | null;
  /** Each batch of documents once it is searchable (e.g. to persist progress). */
  onIndexed?: ((docs: StoredDocument[]) => void | Promise<void>) | null;
  /** Documents already indexed with the same id and text: not encoded again. */
  onUnchanged?: ((docs: DocumentInput[]) => void) | null;
  /** Documents that could not be encoded even alone (a worker trapped on them); others go on. */
  onFailed?: ((docs: FailedDocument[]) => void | Promise<void>) | null;
}

/** A document that could not be encoded; an earlier version with its id stays indexed. */
export interface FailedDocument {
  id: string;
  title: string | null;
  reason: string;
}

export interface SearchResult {
  id: string;
  title: string | null;
  meta: Record<string, unknown> | null;
  /** The score of the document's best passage. */
  score: number;
  passage: Passage & { index: number; text: string; score: number };
  /** Passages of this document among the candidates. */
  matchingPassages: number;
}

export interface ExplainedTerm extends TermContribution {
  token: string;
  /** The passage does not contain this token: the model added it (an expansion term). */
  expansion: boolean;
}

export interface ExplainedWord {
  /** The query word (lower case), or a token no query word accounts for. */
  word: string;
  contribution: number;
  /** The passage does not use the word: the model judged it related. */
  related: boolean;
  /** Its tokens ("hi", "##jack" for "hijack"). */
  pieces: ExplainedTerm[];
}

export interface Snippet {
  text: string;
  start: number;
  end: number;
  /** [start, end) ranges within `text`. */
  highlights: Array<[number, number]>;
  /** Each highlight's contribution to the score (Search.snippet). */
  weights?: number[];
  clippedStart: boolean;
  clippedEnd: boolean;
}

export class SearchFileError extends Error {
  /** The file is sound but was built with another model (see Search.documentsInFile). */
  readonly otherModel: boolean;
}

export class Search {
  private constructor();
  readonly encoder: SparseEncoder;
  readonly workers: number;
  /** Where documents are encoded, on which adapter, and why. */
  readonly device: DeviceInfo;
  /** Why encoding runs on the calling thread although workers were asked for, or null. */
  readonly workerFallback: string | null;
  /** How many workers and why, with the wasm memory now. */
  readonly workerPlan: WorkerPlan & { memory: WorkerMemory };
  /** Documents. */
  readonly size: number;
  readonly passageCount: number;
  has(id: string): boolean;
  get(id: string): StoredDocument | null;
  documents(): StoredDocument[];
  /** The id of the document with exactly this text, or null. */
  idOfText(text: string): string | null;
  add(
    docs: Iterable<DocumentInput>,
    options?: AddOptions & { reencode?: boolean },
  ): Promise<{ documents: number; passages: number; unchanged: number; failed: FailedDocument[]; seconds: number }>;
  remove(id: string): boolean;
  clear(): void;
  queryTerms(query: string): Array<{ tokenId: number; token: string; weight: number }>;
  /** Top k documents, each scored by its best passage. */
  search(query: string, options?: { k?: number; candidates?: number | null }): SearchResult[];
  /** Token contributions, and the same grouped by the query word they came from. */
  explain(id: string, query: string, options?: { passage?: number }): { score: number; terms: ExplainedTerm[]; words: ExplainedWord[] };
  highlights(text: string, query: string, options?: { from?: number; to?: number; minWeight?: number }): Array<[number, number]>;
  snippet(id: string, query: string, options?: { passage?: number; maxChars?: number }): Snippet | null;
  /** Documents, passages and index as one checksummed file. */
  save(): Promise<Uint8Array>;
  /** Replaces the contents; throws SearchFileError for a foreign, corrupt or other-model file. */
  load(
    bytes: Uint8Array | ArrayBuffer,
    options?: { allowOtherModel?: boolean; allowSameVocabulary?: boolean },
  ): Promise<{ documents: number; passages: number; otherModel: boolean }>;
  /** What of a query is searched: words the vocabulary cannot spell and punctuation are not. */
  analyzeQuery(query: string): { searchable: boolean; words: Array<{ text: string; known: boolean }> };
  /** The documents of a saved file, without its index (to index them again with another model). */
  static documentsInFile(bytes: Uint8Array | ArrayBuffer): Promise<Array<DocumentInput & { source?: string }>>;
  close(): void;
}

export interface CreateSearchOptions extends Omit<LoadOptions, "reload"> {
  /** A model URL (pack, or folder ending in "/") or a loaded encoder. */
  model: string | URL | SparseEncoder;
  /** Encoder workers at most (default defaultWorkerCount(); 0 = on the calling thread); fewer start where memoryBudget holds fewer. */
  workers?: number;
  /** Wasm memory for the page's instance and all workers, in bytes (default: see WorkerPlan.budgetSource; Infinity: no cap). */
  memoryBudget?: number | null;
  /** Where the package's worker.js is served, if a bundler moved it (Vite and webpack 5 need none). */
  workerUrl?: string | URL | null;
  /** Encode on the calling thread when workers cannot start (default true; see Search.workerFallback). */
  fallback?: boolean;
  /** Passage length in tokens, special tokens included (default: min(the model's maximum, 512), see DEFAULT_PASSAGE_TOKENS; up to the model's maximum). */
  maxPassageTokens?: number | null;
  /** Where documents are encoded (default "wasm"); see `openDevicePool`. */
  device?: Device;
}

export function createSearch(options: CreateSearchOptions): Promise<Search>;

export class StorageError extends Error {
  /** The browser's storage quota was exceeded. */
  readonly quota: boolean;
}

/** IndexedDB persistence: the saved search and the queue of documents still to index. */
export class IndexStore {
  private constructor();
  static open(name?: string): Promise<IndexStore>;
  loadState(): Promise<Uint8Array | null>;
  saveState(bytes: Uint8Array, indexedIds?: string[]): Promise<void>;
  enqueue(docs: DocumentInput[]): Promise<void>;
  queued(): Promise<DocumentInput[]>;
  clearQueue(): Promise<void>;
  getSetting(key: string): Promise<unknown>;
  setSetting(key: string, value: unknown): Promise<void>;
  clear(): Promise<void>;
  close(): void;
}

/** What a ResumableIndexer needs of its store: the methods of IndexStore it calls. */
export type IndexingStorage = Pick<
  IndexStore,
  "loadState" | "saveState" | "enqueue" | "queued" | "clearQueue" | "getSetting" | "setSetting" | "clear"
>;

/** What each event of a ResumableIndexer carries in `detail`. */
export interface IndexingEventMap {
  /** The state, the queue or the contents changed (a run started or ended, a pause, a restore, a clear). */
  change: null;
  /** The run in progress; `total` and `etaSeconds` include the documents queued behind it. */
  progress: IndexingProgress;
  /** A batch of documents is searchable. */
  indexed: { documents: StoredDocument[] };
  /** A checkpoint was written: the search (`documents` of them) and the queue are in the store. */
  saved: { documents: number; bytes: number; ms: number };
  /** The queue is indexed; the totals count every run since it was last empty (pauses and resumes included). */
  done: { documents: number; passages: number; seconds: number };
  /** Documents that could not be encoded (a worker trapped on them even alone); they leave the queue. */
  failed: { documents: FailedDocument[] };
  /** `cancel()` stopped a run; `dropped` documents were not indexed. */
  cancelled: { dropped: number };
  /** The queue could not be saved, the index could not be saved (see saveError), or indexing failed (and paused). */
  error: { error: unknown; during: "queue" | "save" | "index" };
}

export class IndexingEvent<K extends keyof IndexingEventMap = keyof IndexingEventMap> extends Event {
  readonly type: K;
  readonly detail: IndexingEventMap[K];
}

/**
 * Resumable indexing into a Search: a queue of documents indexed in runs that can pause, resume and
 * cancel, with the search and the queue checkpointed to a store (IndexStore) so that a reload carries on.
 */
export class ResumableIndexer extends EventTarget {
  constructor(search: Search, options?: { store?: IndexingStorage | null; minSaveInterval?: number; maxSaveInterval?: number });
  readonly search: Search;
  readonly state: "running" | "paused" | "idle";
  readonly running: boolean;
  readonly paused: boolean;
  /** Why the run in progress is stopping after its batches in flight, or null. */
  readonly stopping: "pause" | "cancel" | "stop" | "restart" | null;
  /** Documents waiting (not counting the run in progress). */
  readonly queued: number;
  readonly persistent: boolean;
  /** Why the last checkpoint failed (null after a good one). */
  readonly saveError: unknown;
  /** The current wait between checkpoints during a run (ms): longer when saving is slow. */
  readonly saveInterval: number;
  /** Indexed documents (and removals) not in the store yet: 0 when everything searchable is saved. */
  readonly unsaved: number;
  /** Documents the store held after the last good checkpoint of this session. */
  readonly savedDocuments: number;
  /** The run in progress (see the "progress" event); null when none runs. */
  readonly progress: IndexingProgress | null;
  /** Loads the saved search and queue (does not start them); an index built with another model is queued again. */
  restore(): Promise<{ documents: number; reindexing: number; error: unknown }>;
  /**
   * Queues and saves documents, un-pauses, and indexes them (resolves once queued). Identical text is
   * indexed once: `duplicates` repeat a text indexed or queued under another id; `unchanged` are indexed as they are.
   */
  add(docs: Iterable<DocumentInput>): Promise<{ queued: number; unchanged: string[]; duplicates: Array<{ id: string; of: string }> }>;
  /** Removes one document from the search, the queue and the store. */
  remove(id: string): Promise<boolean>;
  start(): void;
  /** Pauses after the batches in flight; false when no run was in progress. */
  pause(): boolean;
  resume(): Promise<void>;
  /** Drops the queue (a run stops after its batches in flight); true when a run was stopping. */
  cancel(): Promise<boolean>;
  /** Drops the queue and waits for the run in progress to stop. */
  stop(): Promise<void>;
  /** Stops and saves, leaving the queue for the next restore() to carry on with. */
  suspend(): Promise<void>;
  whenIdle(): Promise<void>;
  /** Checkpoints now; a failure becomes an "error" event and saveError. */
  save(): Promise<void>;
  /** Stops, and removes every document from the search and the store. */
  clear(): Promise<void>;
  /** Replaces everything with a saved file (re-indexing its documents if another model built it). */
  load(bytes: Uint8Array | ArrayBuffer): Promise<{ documents: number; passages: number; reindexing: number }>;
  addEventListener<K extends keyof IndexingEventMap>(
    type: K,
    listener: (event: IndexingEvent<K>) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof IndexingEventMap>(
    type: K,
    listener: (event: IndexingEvent<K>) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

export interface FileDocument extends DocumentInput {
  source: string;
}

export const SUPPORTED_EXTENSIONS: string[];
export function isSupportedFile(name: string): boolean;
/** Documents from one file's content: .txt/.md as text, .html via DOMParser (text only), .json/.jsonl records with a text field. */
export function documentsFromText(name: string, content: string): FileDocument[];
/** Documents from files; every file that gives none is in `skipped` with the reason (type, binary, broken JSON, empty, size). */
export function documentsFromFiles(
  files: Iterable<File>,
  options?: { maxFileBytes?: number },
): Promise<{ documents: FileDocument[]; skipped: Array<{ name: string; reason: string }> }>;
export function filesFromDataTransfer(dataTransfer: DataTransfer): Promise<File[]>;
/** An HTML page's text and title: its main content when marked (main, one article), else the body without navigation and page chrome. */
export function htmlToText(html: string): { title: string; text: string };
/** Markdown as the text a reader sees: no heading marks, emphasis, link or image syntax, list markers or table pipes. */
export function markdownToText(markdown: string): string;
/**
 * A file's bytes as text: UTF-8, UTF-16 with a BOM, else windows-1252 (Latin-1) rather than U+FFFD.
 * Throws an Error whose message is the reason for bytes that are not text (a PDF, a ZIP, NUL bytes, control characters).
 */
export function decodeText(bytes: Uint8Array | ArrayBuffer): { text: string; encoding: string };

export const DEFAULT_CACHE_NAME: string;
/** Removes cached model files (all, or those under urlPrefix); returns how many entries went. */
export function clearModelCache(options?: { cacheName?: string; urlPrefix?: string | URL | null }): Promise<number>;

// splade-wasm: learned sparse retrieval (SPLADE) in the browser and in Node, in WebAssembly.
export { initWasm } from "./wasm.js";
export { SparseEncoder } from "./encoder.js";
// The wasm class itself: construct it after `await initWasm()` (createSearch and SparseEncoder.load do that).
export { SparseIndex } from "./splade_wasm.js";
export { EncoderPool, defaultWorkerCount, MAX_WORKERS } from "./pool.js";
export { DEFAULT_MEMORY_BUDGET } from "./memory.js";
export { AGREEMENT_TOLERANCE, DEVICES, DevicePool, openDevicePool } from "./device.js";
export { DEFAULT_PASSAGE_TOKENS, splitPassages, tokenBudget } from "./passages.js";
export { createSearch } from "./create-search.js";
export { Search } from "./search.js";
export { SearchFileError } from "./search-file.js";
export { IndexingEvent, ResumableIndexer } from "./indexing.js";
export { IndexStore, StorageError } from "./store.js";
export { documentsFromFiles, documentsFromText, filesFromDataTransfer, isSupportedFile, SUPPORTED_EXTENSIONS } from "./documents.js";
export { htmlToText, markdownToText } from "./markup.js";
export { decodeText } from "./decode.js";
export { clearModelCache, DEFAULT_CACHE_NAME } from "./loader.js";

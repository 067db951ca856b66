// The SparseEncoder of the package: the wasm encoder plus loading (by URL, with progress and the
// Cache API) and what a worker needs to build the same model.
import { fetchFolder, fetchPack } from "./loader.js";
import { sha256Hex } from "./util.js";
import { initWasm } from "./wasm.js";

function rawClass(bindings) {
  return bindings.SparseEncoder;
}

function isFolderUrl(url) {
  const s = url instanceof URL ? url.pathname : String(url).split(/[?#]/)[0];
  return s.endsWith("/");
}

async function buildFromSource(source) {
  const bindings = await initWasm();
  const Raw = rawClass(bindings);
  if (source.kind === "pack") {
    if (typeof Raw.fromPack !== "function") {
      throw new Error("this build of splade-wasm cannot read model packs (no SparseEncoder.fromPack); load a model folder");
    }
    // Described once, before the build (which reuses the space): each description copies the whole
    // pack into wasm memory, and later, with that space taken by small allocations, the page's
    // instance would grow by the pack's size for good (141 MiB for a doc-v3-gte-sized q8_0 pack).
    try {
      source.packInfo ??= Raw.packInfo?.(source.bytes) ?? null;
    } catch {
      // not a sound pack: fromPack says what is wrong
    }
    return Raw.fromPack(source.bytes);
  }
  return new Raw(source.files);
}

/**
 * Loads with `fetchModel` (a function of {reload}), builds the encoder, and only then caches the
 * downloaded bytes. If bytes read from the cache fail to build, they are evicted and downloaded once more.
 */
async function loadAndCommit(fetchModel, toSource) {
  for (let attempt = 0; ; attempt++) {
    const fetched = await fetchModel({ reload: attempt > 0 });
    const source = toSource(fetched);
    let raw;
    try {
      raw = await buildFromSource(source);
    } catch (err) {
      if (attempt === 0 && fetched.fetcher.fromCache > 0) {
        await fetched.fetcher.evict();
        continue;
      }
      throw err instanceof Error ? err : new Error(String(err));
    }
    await fetched.fetcher.commit();
    return new SparseEncoder(raw, source);
  }
}

export class SparseEncoder {
  #raw;
  #source;
  #fingerprint = null;
  #info = null;

  /** Use the static `load`, `loadFolder`, `fromFiles` or `fromPack`. */
  constructor(raw, source) {
    if (raw == null || typeof raw.encodeQuery !== "function") {
      throw new TypeError("use SparseEncoder.load(url), loadFolder(url), fromFiles(files) or fromPack(bytes)");
    }
    this.#raw = raw;
    this.#source = source;
  }

  /**
   * A model by URL: a single-file pack (`.gguf`), or a folder when the URL ends in "/".
   * Streams with `fetch`, reports `onProgress({loaded, total, fromCache})`, honours `signal`, and
   * keeps the bytes in the Cache API (`cacheName`, `false` for none) once they built an encoder.
   */
  static async load(url, options = {}) {
    if (isFolderUrl(url)) {
      return SparseEncoder.loadFolder(url, options);
    }
    return loadAndCommit(
      ({ reload }) => fetchPack(url, { ...options, reload: reload || options.reload }),
      ({ bytes }) => ({ kind: "pack", bytes }),
    );
  }

  /** A model folder in Hugging Face / sentence-transformers layout, fetched file by file with one progress. */
  static async loadFolder(baseUrl, options = {}) {
    return loadAndCommit(
      ({ reload }) => fetchFolder(baseUrl, { ...options, reload: reload || options.reload }),
      ({ files }) => ({ kind: "files", files }),
    );
  }

  /** A model folder already in memory: `{relative path: Uint8Array}`. */
  static async fromFiles(files) {
    const source = { kind: "files", files: { ...files } };
    return new SparseEncoder(await buildFromSource(source), source);
  }

  /**
   * What a pack holds, without building the model: `{formatVersion, dtype, source, quantization,
   * contentSha256, fileBytes, formats}`. Throws for bytes that are not a readable pack.
   */
  static async packInfo(bytes) {
    const bindings = await initWasm();
    if (typeof rawClass(bindings).packInfo !== "function") {
      throw new Error("this build of splade-wasm cannot read model packs");
    }
    return rawClass(bindings).packInfo(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  }

  /** A single-file model pack already in memory. */
  static async fromPack(bytes) {
    const source = { kind: "pack", bytes: bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes) };
    return new SparseEncoder(await buildFromSource(source), source);
  }

  /** What a worker needs to build the same model: `{kind: "files", files}` or `{kind: "pack", bytes}`. */
  get source() {
    return this.#source;
  }

  /** The wasm-bindgen object, for APIs this wrapper does not cover. */
  get raw() {
    return this.#raw;
  }

  /** For a model from a pack, what the pack says about itself (see `SparseEncoder.packInfo`); else null. */
  async packInfo() {
    return this.#source.kind === "pack" ? (this.#source.packInfo ?? SparseEncoder.packInfo(this.#source.bytes)) : null;
  }

  /** SHA-256 (hex) over the model's bytes: identifies the model an index was built with. */
  async fingerprint() {
    if (this.#fingerprint == null) {
      const src = this.#source;
      if (src.kind === "pack") {
        // A pack carries the hash of its content (checked when it loaded).
        this.#fingerprint = (await this.packInfo())?.contentSha256 ?? (await sha256Hex(src.bytes));
      } else {
        const parts = [];
        for (const path of Object.keys(src.files).sort()) {
          parts.push(`${path}\t${await sha256Hex(src.files[path])}\n`);
        }
        this.#fingerprint = await sha256Hex(new TextEncoder().encode(parts.join("")));
      }
    }
    return this.#fingerprint;
  }

  encodeQuery(text) {
    return this.#raw.encodeQuery(text);
  }

  encodeDocument(text) {
    return this.#raw.encodeDocument(text);
  }

  encodeDocuments(texts) {
    return this.#raw.encodeDocuments(texts);
  }

  queryTokenIds(text) {
    return this.#raw.queryTokenIds(text);
  }

  documentTokenIds(text) {
    return this.#raw.documentTokenIds(text);
  }

  tokenStrings(indices) {
    return this.#raw.tokenStrings(indices instanceof Uint32Array ? indices : Uint32Array.from(indices));
  }

  /**
   * The request a search engine runs for `text`, from the inference-free query side: a JSON body to
   * send as is (or, for pgvector, a SQL statement). The same text as `splade export-query`.
   */
  engineQuery(text, format, { k = 10, index = "documents", field = "embedding" } = {}) {
    if (!Number.isInteger(k) || k < 1 || k > 0xffffffff) {
      throw new Error(`engineQuery: k must be a positive integer, got ${k}`);
    }
    if (typeof this.#raw.engineQuery !== "function") {
      throw new Error("this build of splade-wasm cannot write engine queries");
    }
    return this.#raw.engineQuery(text, format, k, index, field);
  }

  info() {
    this.#info ??= this.#raw.info();
    return { ...this.#info };
  }

  /** Lowers the document truncation length (tokens, specials included), where the build supports it. */
  setMaxDocumentTokens(maxTokens) {
    if (typeof this.#raw.setMaxDocumentTokens !== "function") {
      throw new Error("this build of splade-wasm cannot change the document length");
    }
    this.#raw.setMaxDocumentTokens(maxTokens);
    this.#info = null;
  }

  free() {
    this.#raw?.free();
    this.#raw = null;
    this.#source = null;
  }
}

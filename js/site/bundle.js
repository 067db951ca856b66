// Reading a static search bundle (format: src/site/FORMAT.md): the manifest, the tokenizer asset,
// posting shards and document fragments, each fetched once, checked (gzip, header, build id, length,
// CRC-32) and turned into an Error that names the file when anything is off.
import { WordPieceTokenizer } from "./tokenizer.js";

const DEFAULT_TIMEOUT_MS = 30_000;
// The bundle format this runtime reads (manifest `version`, and every shard's and fragment's header).
const FORMAT_VERSION = 2;
// Where `splade site build` writes the tokenizer asset (the manifest names it).
const TOKENIZER_PATH = "tokenizer.bin";

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

const ascii = (bytes, start, length) => String.fromCharCode(...bytes.subarray(start, start + length));
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Unsigned LEB128 reader over a byte array. */
export class VarintReader {
  constructor(bytes, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  next() {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.offset >= this.end) {
        throw new RangeError("varint runs past the end");
      }
      const byte = this.bytes[this.offset++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        return value;
      }
    }
    throw new RangeError("varint longer than 5 bytes");
  }
}

/**
 * Fetches the files of one bundle. `fetchImpl` defaults to the global fetch; every request
 * (response and body) is bounded by `timeoutMs`, so a stalled server gives an Error, not a hang.
 */
export class BundleReader {
  #base;
  #fetch;
  #timeoutMs;
  #build = null;
  // Counters for what crossed the network (stored, compressed sizes).
  requests = 0;
  bytes = 0;

  constructor(bundleUrl, { fetch: fetchImpl, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const base = String(bundleUrl);
    this.#base = new URL(base.endsWith("/") ? base : `${base}/`, globalThis.location?.href);
    this.#fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
    this.#timeoutMs = timeoutMs;
  }

  url(path) {
    const url = new URL(path, this.#base);
    if (this.#build) {
      url.searchParams.set("v", this.#build);
    }
    return url;
  }

  async #get(path, what, { cache } = {}) {
    const url = this.url(path);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    try {
      let response;
      try {
        response = await this.#fetch(url, { signal: controller.signal, ...(cache ? { cache } : {}) });
      } catch (err) {
        throw new Error(`static search: cannot fetch ${what} (${url}): ${controller.signal.aborted ? `no answer in ${this.#timeoutMs / 1000} s` : err.message}`);
      }
      if (!response.ok) {
        const missing = response.status === 404 ? "missing" : `HTTP ${response.status}`;
        throw new Error(`static search: ${what} is ${missing} (${url})`);
      }
      let body;
      try {
        body = new Uint8Array(await response.arrayBuffer());
      } catch (err) {
        throw new Error(`static search: ${what} was cut off while downloading (${url}): ${controller.signal.aborted ? "timed out" : err.message}`);
      }
      this.requests += 1;
      this.bytes += body.length;
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  // `{bytes, stored}`: the file decompressed (when gzip) and its size as fetched.
  async #payload(path, what) {
    const body = await this.#get(path, what);
    if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) {
      try {
        return { bytes: await gunzip(body), stored: body.length };
      } catch {
        throw new Error(`static search: ${what} is corrupt or truncated (gzip error) (${this.url(path)})`);
      }
    }
    return { bytes: body, stored: body.length };
  }

  async manifest() {
    const body = await this.#get("manifest.json", "the manifest", { cache: "no-cache" });
    let manifest;
    try {
      manifest = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw new Error(`static search: ${this.url("manifest.json")} is not JSON (is the bundle URL right?)`);
    }
    if (manifest?.format !== "splade-static-search") {
      throw new Error(`static search: ${this.url("manifest.json")} is not a static search manifest`);
    }
    if (manifest.version !== FORMAT_VERSION) {
      throw new Error(`static search: bundle format version ${manifest.version} is not supported (this runtime reads version ${FORMAT_VERSION})`);
    }
    if (!/^[0-9a-f]{16}$/.test(manifest.build ?? "")) {
      throw new Error("static search: the manifest has no valid build id");
    }
    if (!manifest.model || !manifest.tokenizer) {
      throw new Error("static search: this bundle has no tokenizer (built from vectors without --model), so text queries are impossible");
    }
    this.#build = manifest.build;
    return manifest;
  }

  /**
   * Starts fetching the tokenizer under its usual name before the manifest is there (one round
   * trip fewer). No cache-busting query yet (the build id comes with the manifest): `tokenizer()`
   * takes this copy only when its model fingerprint is the manifest's, which pins its content.
   */
  prefetchTokenizer() {
    const what = `the tokenizer (${TOKENIZER_PATH})`;
    const early = this.#payload(TOKENIZER_PATH, what);
    early.catch(() => {}); // a failed prefetch only means the regular fetch below
    return early;
  }

  /**
   * The tokenizer asset: `{tokenizer, weights, header}`; checks the model fingerprint. `early`:
   * the `prefetchTokenizer()` promise, used when it holds this model's tokenizer.
   */
  async tokenizer(manifest, early = null) {
    const what = `the tokenizer (${manifest.tokenizer.path})`;
    const fingerprint = manifest.model.fingerprint;
    if (early && manifest.tokenizer.path === TOKENIZER_PATH) {
      try {
        return parseTokenizerAsset((await early).bytes, { what, fingerprint });
      } catch {
        // Missing, stale (another model) or damaged: fetch it again with the build's query.
      }
    }
    const { bytes } = await this.#payload(manifest.tokenizer.path, what);
    return parseTokenizerAsset(bytes, { what, fingerprint });
  }

  /** `{body, stored}`: a shard's or fragment's body after its header checks, and its stored size. */
  async file(kind, n, path) {
    const magic = kind === "shard" ? "SPLDSHRD" : "SPLDFRAG";
    const what = `${kind} ${n} (${path})`;
    const { bytes, stored } = await this.#payload(path, what);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 32 || ascii(bytes, 0, 8) !== magic) {
      throw new Error(`static search: ${what} is not a ${kind} file (wrong magic; an HTML page served instead?)`);
    }
    if (view.getUint32(8, true) !== FORMAT_VERSION) {
      throw new Error(`static search: ${what} has format version ${view.getUint32(8, true)}, expected ${FORMAT_VERSION}`);
    }
    if (view.getUint32(12, true) !== n) {
      throw new Error(`static search: ${what} is ${kind} ${view.getUint32(12, true)} served under the wrong name`);
    }
    const build = hex(bytes.subarray(16, 24));
    if (build !== this.#build) {
      throw new Error(`static search: ${what} is from another build (${build}, the manifest says ${this.#build}): reload the page`);
    }
    const length = view.getUint32(24, true);
    if (bytes.length - 32 !== length) {
      throw new Error(`static search: ${what} is truncated (body ${bytes.length - 32} bytes, header says ${length})`);
    }
    const body = bytes.subarray(32);
    if (crc32(body) !== view.getUint32(28, true)) {
      throw new Error(`static search: ${what} is corrupt (CRC-32 mismatch)`);
    }
    return { body, stored };
  }
}

/** Parses the tokenizer asset (see src/site/FORMAT.md, "The tokenizer asset"; decompressed payload). */
export function parseTokenizerAsset(bytes, { what = "the tokenizer", fingerprint = null } = {}) {
  const fail = (why) => new Error(`static search: ${what} ${why}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16 || ascii(bytes, 0, 8) !== "SPLDQTK1") {
    throw fail("is not a tokenizer asset (wrong magic)");
  }
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength + 4 > bytes.length) {
    throw fail("is truncated (header)");
  }
  let header;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    throw fail("has a corrupt header");
  }
  if (header.format !== 2) {
    throw fail(`has format ${header.format}, this runtime reads 2`);
  }
  if (fingerprint !== null && header.fingerprint !== fingerprint) {
    throw fail(`belongs to another model (fingerprint ${header.fingerprint}, the manifest says ${fingerprint}): rebuild the bundle`);
  }
  // The vocabulary, sorted and front-coded: the suffixes joined by "\n", then per token the UTF-16
  // length of the prefix it shares with the token before.
  const size = header.vocab_size;
  const suffixStart = 12 + headerLength + 4;
  const suffixLength = view.getUint32(12 + headerLength, true);
  const prefixStart = suffixStart + suffixLength;
  const weightsStart = prefixStart + size;
  if (weightsStart + 4 * size !== bytes.length) {
    throw fail(`is truncated or has trailing bytes (${bytes.length} bytes, expected ${weightsStart + 4 * size})`);
  }
  const suffixes = new TextDecoder().decode(bytes.subarray(suffixStart, prefixStart)).split("\n");
  if (suffixes.length !== size) {
    throw fail(`has ${suffixes.length} vocabulary strings, the header says ${size}`);
  }
  const vocab = new Array(size);
  let previous = "";
  for (let id = 0; id < size; id++) {
    const shared = bytes[prefixStart + id];
    if (shared > previous.length) {
      throw fail(`has a prefix longer than the token before (token ${id})`);
    }
    previous = vocab[id] = previous.slice(0, shared) + suffixes[id];
  }
  const weights = new Float32Array(size);
  for (let id = 0; id < size; id++) {
    weights[id] = view.getFloat32(weightsStart + 4 * id, true);
  }
  const tokenizer = new WordPieceTokenizer({
    vocab,
    unkId: header.wordpiece.unk_id,
    continuingSubwordPrefix: header.wordpiece.continuing_subword_prefix,
    maxInputCharsPerWord: header.wordpiece.max_input_chars_per_word,
    normalizer: header.normalizer,
    addedTokens: header.added_tokens ?? [],
    maxTokens: header.max_query_tokens,
  });
  return { tokenizer, weights, header };
}

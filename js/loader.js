// Fetching model files: streamed with byte progress, checked, and kept in the Cache API.
//
// Nothing is written to the cache until the caller has built an encoder from the bytes, so an
// aborted, truncated or corrupt download is never cached (see `commit` below).

import { abortError, byteCollector, isNode, mapLimit, readNodeFile, sha256Hex } from "./util.js";

export const DEFAULT_CACHE_NAME = "splade-models-v1";

const DOWNLOAD_ABORTED = "The model download was aborted";

/** Files a Hugging Face masked-LM folder (+ OpenSearch `idf.json`) may hold; missing optional ones are skipped. */
const HF_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "idf.json"];
/** Files of one sentence-transformers module folder. */
const ST_MODULE_FILES = [
  "config.json",
  "model.safetensors",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "sentence_bert_config.json",
];

function throwIfAborted(signal) {
  if (signal?.aborted) {
    throw abortError(DOWNLOAD_ABORTED, signal);
  }
}

function join(dir, rel) {
  return dir === "" ? rel : `${dir.replace(/\/+$/, "")}/${rel}`;
}

/** `url` made absolute (against the page, or the working directory in Node) and, for a folder, ending in "/". */
export function resolveUrl(url, { folder = false } = {}) {
  let href = url instanceof URL ? url.href : String(url);
  if (folder && !href.endsWith("/")) {
    href += "/";
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) {
    return new URL(href);
  }
  if (typeof location !== "undefined" && location.href) {
    return new URL(href, location.href);
  }
  if (isNode) {
    return new URL(href, `file://${process.cwd().replace(/\/?$/, "/")}`);
  }
  throw new Error(`cannot resolve the relative URL ${href}`);
}

async function openCache(cacheName) {
  if (cacheName === false || cacheName == null || typeof caches === "undefined") {
    return null;
  }
  try {
    return await caches.open(cacheName);
  } catch {
    return null; // e.g. an insecure context or an opaque origin: work without a cache
  }
}

const HTML_START = /^\s*<(!doctype\s+html|html|head|body|title|meta|!--)/i;

function looksLikeHtml(bytes) {
  const head = new TextDecoder().decode(bytes.subarray(0, 256));
  return HTML_START.test(head);
}

function htmlError(url) {
  return new Error(
    `${url} returned an HTML page, not a model file (is the URL right? Some servers answer a missing file with a page)`,
  );
}

function isFileUrl(url) {
  return url.protocol === "file:";
}

// A browser reports a missing CORS header like a network failure: on another origin, name CORS first.
function networkFailureHint(url) {
  const here = typeof location !== "undefined" ? location.origin : "null";
  const there = new URL(url, here === "null" ? undefined : here).origin;
  return here !== "null" && there !== here
    ? `the model is on another origin (${there}): its server must allow ${here} with an Access-Control-Allow-Origin header (CORS), or you are offline`
    : "offline, or the server is unreachable";
}

/**
 * Downloads `url` and returns its bytes, or null for a 404 when `optional`. Reports
 * `onBytes(loadedDelta, totalOrNull)` as data arrives. Throws a clear Error for an HTTP error, an
 * HTML page instead of a file, or a body shorter or longer than its `Content-Length`.
 */
async function download(url, { signal, onBytes, onHeaders, optional = false }) {
  throwIfAborted(signal);
  if (isNode && isFileUrl(url)) {
    const bytes = await readNodeFile(url);
    if (bytes == null) {
      if (optional) {
        return null;
      }
      throw new Error(`model file not found: ${url.pathname}`);
    }
    onBytes?.(bytes.length, bytes.length);
    return bytes;
  }
  let response;
  try {
    response = await fetch(url, { signal, cache: "no-cache" });
  } catch (err) {
    if (signal?.aborted) {
      throw abortError(DOWNLOAD_ABORTED, signal);
    }
    throw new Error(`could not download ${url}: ${err?.message ?? err} (${networkFailureHint(url)})`);
  }
  if (response.status === 404 && optional) {
    await response.body?.cancel().catch(() => {});
    return null;
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`could not download ${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
  }
  if ((response.headers.get("content-type") ?? "").toLowerCase().startsWith("text/html")) {
    await response.body?.cancel().catch(() => {});
    throw htmlError(url);
  }
  onHeaders?.(validators(response.headers));
  const encoded = (response.headers.get("content-encoding") ?? "identity") !== "identity";
  const lengthHeader = response.headers.get("content-length");
  const total = !encoded && lengthHeader != null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  onBytes?.(0, total);

  const collected = byteCollector(total);
  let loaded = 0;
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        collected.push(value);
        loaded += value.length;
        onBytes?.(value.length, total);
      }
    } catch (err) {
      if (signal?.aborted) {
        throw abortError(DOWNLOAD_ABORTED, signal);
      }
      throw new Error(`the download of ${url} was cut off after ${loaded} bytes: ${err?.message ?? err}`);
    }
  } else {
    const buf = new Uint8Array(await response.arrayBuffer());
    collected.push(buf);
    loaded = buf.length;
    onBytes?.(loaded, total);
  }
  throwIfAborted(signal);
  if (total != null && loaded !== total) {
    throw new Error(`the download of ${url} is truncated: got ${loaded} of ${total} bytes`);
  }
  const bytes = collected.bytes();
  if (looksLikeHtml(bytes)) {
    throw htmlError(url);
  }
  return bytes;
}

/** What identifies a version of a file on the server: ETag, Last-Modified and length, as far as sent. */
function validators(headers) {
  return {
    etag: headers.get("etag") ?? "",
    lastModified: headers.get("last-modified") ?? "",
    length: headers.get("content-encoding") ? "" : (headers.get("content-length") ?? ""),
  };
}

const VALIDATOR_HEADERS = { etag: "X-Splade-ETag", lastModified: "X-Splade-Last-Modified", length: "X-Splade-Length" };

/**
 * Whether the server's copy of `url` differs from a cached response, by a HEAD request. Offline, or
 * when the server says too little to tell, the cached copy stands.
 */
async function changedOnServer(url, cached, signal) {
  let head;
  try {
    head = await fetch(url, { method: "HEAD", cache: "no-cache", signal });
  } catch {
    return false;
  }
  if (!head.ok) {
    return false;
  }
  const now = validators(head.headers);
  return Object.entries(VALIDATOR_HEADERS).some(([key, header]) => {
    const before = cached.headers.get(header) ?? "";
    return now[key] !== "" && before !== "" && now[key] !== before;
  });
}

/**
 * A set of files fetched for one model. `get` reads from the cache or the network; `commit`
 * writes what came from the network to the cache (call it only once the bytes proved good).
 */
class FileFetcher {
  constructor({ cache, signal, onProgress, reload = false }) {
    this.cache = cache;
    this.signal = signal;
    this.onProgress = onProgress;
    this.reload = reload;
    this.loaded = 0;
    this.total = 0;
    this.expected = 0; // bytes announced in advance (a manifest), so `total` is right from the start
    this.fromNetwork = new Map(); // url -> bytes to cache on commit
    this.validators = new Map(); // url -> {etag, lastModified, length} of the download
    this.fromCache = 0;
    this.cachedUrls = [];
    this.downloaded = 0;
    this.lastReport = 0;
  }

  expect(bytes) {
    this.expected += bytes;
    this.total += bytes;
  }

  report(force = false) {
    if (!this.onProgress) {
      return;
    }
    const now = Date.now();
    if (!force && now - this.lastReport < 50) {
      return;
    }
    this.lastReport = now;
    this.onProgress({
      loaded: this.loaded,
      total: this.total > 0 ? Math.max(this.total, this.loaded) : null,
      fromCache: this.downloaded === 0 && this.fromCache > 0,
    });
  }

  async cached(url, { revalidate = false } = {}) {
    if (!this.cache || this.reload) {
      return null;
    }
    try {
      const hit = await this.cache.match(url.href);
      if (!hit || (revalidate && (await changedOnServer(url, hit, this.signal)))) {
        return null;
      }
      return new Uint8Array(await hit.arrayBuffer());
    } catch {
      return null;
    }
  }

  /** Bytes of `url`; `size`/`sha256` (from a manifest) are checked when given. */
  async get(url, { optional = false, size = null, sha256 = null, networkFirst = false, revalidate = false } = {}) {
    throwIfAborted(this.signal);
    let bytes = networkFirst ? null : await this.cached(url, { revalidate });
    if (bytes && ((size != null && bytes.length !== size) || (sha256 && (await sha256Hex(bytes)) !== sha256))) {
      bytes = null; // the model changed on the server since it was cached
    }
    if (bytes) {
      this.fromCache += 1;
      this.cachedUrls.push(url.href);
      this.loaded += bytes.length;
      if (size == null) {
        this.total += bytes.length;
      }
      this.report();
      return bytes;
    }
    let announced = size != null;
    try {
      bytes = await download(url, {
        signal: this.signal,
        optional,
        onHeaders: (v) => this.validators.set(url.href, v),
        onBytes: (delta, total) => {
          if (!announced && total != null) {
            announced = true;
            this.total += total;
          }
          this.loaded += delta;
          this.report();
        },
      });
    } catch (err) {
      if (networkFirst && !this.signal?.aborted) {
        const fallback = await this.cached(url);
        if (fallback) {
          return fallback; // offline: the cached copy is the best there is
        }
      }
      throw err;
    }
    if (bytes == null) {
      return null;
    }
    if (!announced) {
      this.total += bytes.length;
    }
    if (size != null && bytes.length !== size) {
      throw new Error(`${url} has ${bytes.length} bytes, but the manifest says ${size} (truncated or changed file)`);
    }
    if (sha256 && (await sha256Hex(bytes)) !== sha256) {
      throw new Error(`${url} does not match the sha256 in its manifest (corrupt download)`);
    }
    if (!networkFirst) {
      this.downloaded += 1; // a manifest checked online does not make the model "downloaded"
    }
    this.fromNetwork.set(url.href, bytes);
    this.report();
    return bytes;
  }

  /** Forgets cached copies that were read (they did not build a model): the next load downloads them. */
  async evict() {
    if (this.cache) {
      await Promise.all(this.cachedUrls.map((href) => this.cache.delete(href).catch(() => false)));
    }
  }

  /** Writes the downloaded files to the cache. A full quota is not an error: the model still works. */
  async commit() {
    this.report(true);
    if (!this.cache || this.fromNetwork.size === 0) {
      return;
    }
    await Promise.all(
      [...this.fromNetwork].map(([href, bytes]) =>
        this.cache
          .put(
            href,
            new Response(bytes, {
              headers: {
                "Content-Type": "application/octet-stream",
                "Content-Length": String(bytes.length),
                ...Object.fromEntries(
                  Object.entries(VALIDATOR_HEADERS).map(([key, header]) => [header, this.validators.get(href)?.[key] ?? ""]),
                ),
              },
            }),
          )
          .catch((err) => console.warn(`splade-wasm: could not cache ${href}: ${err?.message ?? err}`)),
      ),
    );
  }
}

function parseJson(bytes, url) {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new Error(`${url} is not valid JSON (${err.message})`);
  }
}

/**
 * Fetches a model folder (`baseUrl` ends in "/"): from its `manifest.json` (`{files: [{path, bytes,
 * sha256?}]}`) when there is one, else the files a Hugging Face / sentence-transformers folder is
 * known to hold. Returns `{files, fetcher}`: `{relpath: Uint8Array}` and the fetcher to commit.
 */
export async function fetchFolder(baseUrl, { signal, onProgress, cacheName = DEFAULT_CACHE_NAME, reload = false } = {}) {
  const base = resolveUrl(baseUrl, { folder: true });
  const fetcher = new FileFetcher({ cache: await openCache(cacheName), signal, onProgress, reload });
  const files = {};
  const manifestBytes = await fetcher.get(new URL("manifest.json", base), { optional: true, networkFirst: true });
  if (manifestBytes) {
    const manifest = parseJson(manifestBytes, new URL("manifest.json", base));
    if (!Array.isArray(manifest?.files) || manifest.files.length === 0) {
      throw new Error(`${new URL("manifest.json", base)} must list the model's files as {"files": [{"path": ...}]}`);
    }
    for (const f of manifest.files) {
      if (typeof f.bytes === "number") {
        fetcher.expect(f.bytes);
      }
    }
    await mapLimit(manifest.files, 4, async (f) => {
      files[f.path] = await fetcher.get(new URL(f.path, base), { size: f.bytes ?? null, sha256: f.sha256 ?? null });
    });
    return { files, fetcher };
  }

  const modulesBytes = await fetcher.get(new URL("modules.json", base), { optional: true });
  let wanted;
  if (modulesBytes) {
    files["modules.json"] = modulesBytes;
    const modules = parseJson(modulesBytes, new URL("modules.json", base));
    const router = Array.isArray(modules) ? modules.find((m) => String(m?.type ?? "").endsWith("Router")) : null;
    const routerDir = router?.path ?? "";
    const routerPath = join(routerDir, "router_config.json");
    const routerBytes = await fetcher.get(new URL(routerPath, base));
    files[routerPath] = routerBytes;
    const routes = parseJson(routerBytes, new URL(routerPath, base))?.structure ?? {};
    const dirs = new Set(Object.values(routes).flat().map((id) => join(routerDir, String(id))));
    wanted = [...dirs].flatMap((dir) => ST_MODULE_FILES.map((name) => join(dir, name)));
  } else {
    wanted = HF_FILES;
  }
  await mapLimit(wanted, 4, async (rel) => {
    const bytes = await fetcher.get(new URL(rel, base), { optional: true });
    if (bytes) {
      files[rel] = bytes;
    }
  });
  if (Object.keys(files).length === 0) {
    throw new Error(`no model files found at ${base} (expected manifest.json, modules.json or config.json)`);
  }
  return { files, fetcher };
}

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"

/** Fetches a single-file model pack. Returns `{bytes, fetcher}`; commit the fetcher once the pack loads. */
export async function fetchPack(url, { signal, onProgress, cacheName = DEFAULT_CACHE_NAME, reload = false } = {}) {
  const resolved = resolveUrl(url);
  const fetcher = new FileFetcher({ cache: await openCache(cacheName), signal, onProgress, reload });
  // One file and no manifest: a HEAD request tells whether the cached copy is still the server's.
  const bytes = await fetcher.get(resolved, { revalidate: true });
  if (bytes.length < 4 || GGUF_MAGIC.some((b, i) => bytes[i] !== b)) {
    fetcher.fromNetwork.clear();
    throw new Error(`${resolved} is not a model pack (a GGUF file starts with "GGUF")`);
  }
  return { bytes, fetcher };
}

/** Removes cached model files: all of them, or those under `urlPrefix`. */
export async function clearModelCache({ cacheName = DEFAULT_CACHE_NAME, urlPrefix = null } = {}) {
  if (typeof caches === "undefined") {
    return 0;
  }
  if (urlPrefix == null) {
    return (await caches.delete(cacheName)) ? 1 : 0;
  }
  const cache = await caches.open(cacheName);
  const prefix = resolveUrl(urlPrefix).href;
  let removed = 0;
  for (const request of await cache.keys()) {
    if (request.url.startsWith(prefix) && (await cache.delete(request))) {
      removed += 1;
    }
  }
  return removed;
}

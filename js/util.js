// Small helpers shared by the library's modules (one copy each): bytes, hashing, aborts, Node files.

/** True in Node (not in a browser or a worker); decides how local files and `file:` URLs are read. */
export const isNode = typeof process !== "undefined" && process.versions?.node != null && typeof window === "undefined";

/** The byte arrays joined into one. */
export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// A length above what a wasm instance can address is not allocated up front: it cannot be a model.
const MAX_PREALLOCATED_BYTES = 2 ** 32;

/**
 * Collects a download's chunks: straight into one buffer when `length` is known, so that a model is
 * not held twice while it downloads (a 550 MB f32 pack would peak at 1.1 GB); else joined at the end.
 */
export function byteCollector(length) {
  const into = length != null && length <= MAX_PREALLOCATED_BYTES ? new Uint8Array(length) : null;
  const chunks = [];
  let at = 0;
  return {
    push(chunk) {
      if (into && chunks.length === 0 && at + chunk.length <= length) {
        into.set(chunk, at);
        at += chunk.length;
      } else {
        chunks.push(chunk); // more than announced: the caller's length check refuses it
      }
    },
    bytes() {
      const parts = into ? [into.subarray(0, at), ...chunks] : chunks;
      return parts.length === 1 ? parts[0] : concat(parts);
    },
  };
}

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects on the first error. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** The error an aborted operation rejects with: the signal's own reason if it gave one, else an AbortError. */
export function abortError(message, signal = null) {
  return signal?.reason instanceof Error ? signal.reason : new DOMException(message, "AbortError");
}

/**
 * A local file's bytes in Node (`url`: a `file:` URL), or null when there is none. Hidden from
 * bundlers: this branch only runs in Node.
 */
export async function readNodeFile(url) {
  const fsName = "node:fs/promises";
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsName);
  try {
    const buf = await fs.readFile(url);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    if (err?.code === "ENOENT") {
      return null;
    }
    throw new Error(`cannot read ${url.pathname ?? url}: ${err.message}`);
  }
}

// The save file of a Search: "SPLDSRCH", the format version, a JSON header (the documents, their
// passages and the model's fingerprint), the SparseIndex bytes, and a SHA-256 of everything before it.
import { concat } from "./util.js";

const FILE_MAGIC = "SPLDSRCH";
const FILE_VERSION = 1;
const DIGEST_BYTES = 32;
const PREAMBLE_BYTES = 16; // magic, version, header length

export class SearchFileError extends Error {
  constructor(message, { otherModel = false } = {}) {
    super(message);
    this.name = "SearchFileError";
    /** The file is sound but was built with another model. */
    this.otherModel = otherModel;
  }
}

function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** The file for `documents` (`{..., passages: [{start, end}]}`), the encoder's model and the index bytes. */
export async function writeSearchFile({ documents, model, indexBytes }) {
  const header = {
    format: FILE_VERSION,
    model,
    saved: new Date().toISOString(),
    documents: documents.map((d) => ({ ...d, passages: d.passages.map((p) => [p.start, p.end]) })),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const body = concat([new TextEncoder().encode(FILE_MAGIC), u32(FILE_VERSION), u32(headerBytes.length), headerBytes, indexBytes]);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  return concat([body, digest]);
}

/**
 * Checks and splits a file from `writeSearchFile`: `{header, documents, indexBytes}`, the documents
 * with their passages as `{start, end}` again. Throws a SearchFileError for anything else.
 */
export async function readSearchFile(bytes) {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (data.length < PREAMBLE_BYTES + DIGEST_BYTES || new TextDecoder().decode(data.subarray(0, 8)) !== FILE_MAGIC) {
    throw new SearchFileError("this is not a saved splade-wasm search index");
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FILE_VERSION) {
    throw new SearchFileError(`this index file has format version ${version}; this version reads ${FILE_VERSION}`);
  }
  const body = data.subarray(0, data.length - DIGEST_BYTES);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  if (digest.some((b, i) => b !== data[data.length - DIGEST_BYTES + i])) {
    throw new SearchFileError("this index file is corrupt or truncated (checksum mismatch)");
  }
  const headerLength = view.getUint32(12, true);
  if (PREAMBLE_BYTES + headerLength > body.length) {
    throw new SearchFileError("this index file is corrupt (bad header length)");
  }
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(body.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)));
  } catch (err) {
    throw new SearchFileError(`this index file is corrupt (${err.message})`);
  }
  if (!Array.isArray(header?.documents)) {
    throw new SearchFileError("this index file is corrupt (no document list)");
  }
  const documents = header.documents.map((d) => ({ ...d, passages: d.passages.map(([start, end]) => ({ start, end })) }));
  return { header, documents, indexBytes: body.subarray(PREAMBLE_BYTES + headerLength) };
}

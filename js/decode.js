// A file's bytes as text, or the reason they are not text. Files come from users' folders: a PDF or a
// spreadsheet named anything, random bytes named ".txt", old Windows or Latin-1 text, UTF-16 exports.

/** Why a file was left out: an Error whose message is shown to the user as the reason. */
export class SkippedFile extends Error {
  constructor(reason) {
    super(reason);
    this.name = "SkippedFile";
  }
}

// Formats recognised by their first bytes, whatever the file is called.
const SIGNATURES = [
  [[0x25, 0x50, 0x44, 0x46, 0x2d], "a PDF document (not text): save it as text first"],
  [[0x50, 0x4b, 0x03, 0x04], "a ZIP archive (a spreadsheet, Word or other office file?), not text"],
  [[0xd0, 0xcf, 0x11, 0xe0], "an old Office document (not text)"],
  [[0x89, 0x50, 0x4e, 0x47], "a PNG image, not text"],
  [[0xff, 0xd8, 0xff], "a JPEG image, not text"],
  [[0x47, 0x49, 0x46, 0x38], "a GIF image, not text"],
  [[0x1f, 0x8b], "a gzip archive, not text"],
];

// A text file has almost no C0 control characters besides tab, line feed, form feed and carriage return.
const SAMPLE_BYTES = 64 * 1024;
const MAX_CONTROL_SHARE = 0.01;

function startsWith(bytes, signature) {
  return signature.every((b, i) => bytes[i] === b);
}

/** Why `bytes` are not text (a signature, NUL bytes, control characters), or null. */
export function binaryReason(bytes) {
  for (const [signature, reason] of SIGNATURES) {
    if (startsWith(bytes, signature)) {
      return reason;
    }
  }
  const n = Math.min(bytes.length, SAMPLE_BYTES);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0) {
      return "binary data (NUL bytes), not text";
    }
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) || b === 0x7f) {
      controls += 1;
    }
  }
  return controls > MAX_CONTROL_SHARE * n ? "binary data (control characters), not text" : null;
}

/**
 * Decodes a text file: UTF-8 (a BOM or valid UTF-8), UTF-16 with a BOM, otherwise windows-1252 (which
 * covers Latin-1), so that an old file shows its accents instead of U+FFFD. Throws a SkippedFile for
 * bytes that are not text. Returns `{text, encoding}`.
 */
export function decodeText(input) {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    const encoding = bytes[0] === 0xff ? "utf-16le" : "utf-16be";
    return { text: new TextDecoder(encoding).decode(bytes), encoding };
  }
  const reason = binaryReason(bytes);
  if (reason) {
    throw new SkippedFile(reason);
  }
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), encoding: "utf-8" };
  } catch {
    return { text: new TextDecoder("windows-1252").decode(bytes), encoding: "windows-1252" };
  }
}

const UNSUPPORTED = new Map([
  [".pdf", "PDF documents are not supported: save it as text first"],
  [".xlsx", "spreadsheets are not supported: save it as CSV text or JSON first"],
  [".xls", "spreadsheets are not supported: save it as CSV text or JSON first"],
  [".ods", "spreadsheets are not supported: save it as CSV text or JSON first"],
  [".docx", "Word documents are not supported: save it as text or HTML first"],
  [".doc", "Word documents are not supported: save it as text or HTML first"],
  [".odt", "office documents are not supported: save it as text or HTML first"],
  [".rtf", "RTF documents are not supported: save it as text first"],
]);

/** The reason shown for a file type that is not read. */
export function unsupportedReason(ext, supported) {
  return UNSUPPORTED.get(ext) ?? `unsupported file type${ext ? ` (${ext})` : ""}: only ${supported.join(", ")} are read`;
}

// Turning files into documents `{id, title, text, meta?}`: plain text as it is, Markdown and HTML as
// the text a reader sees (markup.js; HTML parsed into an inert document: nothing runs or loads), JSON
// and JSON lines with a text field. Bytes are decoded (UTF-8, UTF-16, windows-1252) and binary files
// refused (decode.js). Every file left out is reported with its reason.
import { SkippedFile, decodeText, unsupportedReason } from "./decode.js";
import { htmlToText, markdownToText } from "./markup.js";

export const SUPPORTED_EXTENSIONS = [".txt", ".text", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".ndjson"];

const TEXT_FIELDS = ["text", "body", "content", "contents", "passage", "abstract"];
const ID_FIELDS = ["_id", "id", "docid", "doc_id"];
const TITLE_FIELDS = ["title", "name", "heading"];
function extension(name) {
  const dot = name.lastIndexOf(".");
  return dot === -1 ? "" : name.slice(dot).toLowerCase();
}

export function isSupportedFile(name) {
  const base = name.split("/").pop();
  return !base.startsWith(".") && SUPPORTED_EXTENSIONS.includes(extension(base));
}

function firstString(record, fields) {
  for (const f of fields) {
    const v = record?.[f];
    if (typeof v === "string" && v.trim() !== "") {
      return v;
    }
    if (typeof v === "number") {
      return String(v);
    }
  }
  return null;
}

function recordToDoc(record, source, n) {
  if (record == null || typeof record !== "object" || Array.isArray(record)) {
    throw new Error(`${source}: item ${n} is not an object`);
  }
  const text = firstString(record, TEXT_FIELDS);
  if (text == null) {
    throw new Error(`${source}: item ${n} has no text field (${TEXT_FIELDS.join(", ")})`);
  }
  const key = firstString(record, ID_FIELDS);
  const title = firstString(record, TITLE_FIELDS) ?? key ?? `${source} #${n}`;
  const meta = {};
  for (const [k, v] of Object.entries(record)) {
    if (!TEXT_FIELDS.includes(k) && !ID_FIELDS.includes(k) && !TITLE_FIELDS.includes(k) && (typeof v !== "object" || v === null)) {
      meta[k] = v;
    }
  }
  const doc = { id: `${source}/${key ?? n}`, title, text, source };
  if (key != null) {
    meta.id = key;
  }
  if (Object.keys(meta).length > 0) {
    doc.meta = meta;
  }
  return doc;
}

/**
 * Documents from one file's text. `name` is its path (used for ids and titles). Throws an Error that
 * names the file and line for malformed JSON.
 */
export function documentsFromText(name, content) {
  const ext = extension(name);
  const base = name.split("/").pop();
  if (ext === ".html" || ext === ".htm") {
    const { title, text } = htmlToText(content);
    return text ? [{ id: name, title: title || base, text, source: name }] : [];
  }
  if (ext === ".json") {
    let data;
    try {
      data = JSON.parse(content);
    } catch (err) {
      throw new Error(`${name} is not valid JSON: ${err.message}`);
    }
    const items = Array.isArray(data) ? data : Array.isArray(data?.documents) ? data.documents : [data];
    return items.map((item, i) => (typeof item === "string" ? { id: `${name}/${i + 1}`, title: `${base} #${i + 1}`, text: item, source: name } : recordToDoc(item, name, i + 1)));
  }
  if (ext === ".jsonl" || ext === ".ndjson") {
    const docs = [];
    content.split("\n").forEach((line, i) => {
      if (line.trim() === "") {
        return;
      }
      let record;
      try {
        record = JSON.parse(line);
      } catch (err) {
        throw new Error(`${name}, line ${i + 1}: not valid JSON (${err.message})`);
      }
      docs.push(recordToDoc(record, name, i + 1));
    });
    return docs;
  }
  let text = content.replace(/\r\n?/g, "\n").trim();
  let title = base;
  if (ext === ".md" || ext === ".markdown") {
    title = markdownToText(/^#\s+(.+)$/m.exec(text)?.[1] ?? "").trim() || base;
    text = markdownToText(text);
  }
  return text ? [{ id: name, title, text, source: name }] : [];
}

/**
 * Documents from File objects (from an <input type=file>, a folder pick, or a drop). Returns
 * `{documents, skipped: [{name, reason}]}`: every file that gives no document is listed with why (an
 * unsupported type, binary data, broken JSON, no text, too large); none of them is fatal.
 */
export async function documentsFromFiles(files, { maxFileBytes = 64 * 1024 * 1024 } = {}) {
  const documents = [];
  const skipped = [];
  for (const file of files) {
    const name = file.webkitRelativePath || file.relativePath || file.name;
    const base = name.split("/").pop();
    if (base.startsWith(".")) {
      skipped.push({ name, reason: "a hidden file" });
      continue;
    }
    if (!isSupportedFile(name)) {
      skipped.push({ name, reason: unsupportedReason(extension(base), SUPPORTED_EXTENSIONS) });
      continue;
    }
    if (file.size > maxFileBytes) {
      skipped.push({ name, reason: `larger than ${Math.round(maxFileBytes / 1e6)} MB` });
      continue;
    }
    if (file.size === 0) {
      skipped.push({ name, reason: "an empty file" });
      continue;
    }
    try {
      const { text } = decodeText(new Uint8Array(await file.arrayBuffer()));
      const docs = documentsFromText(name, text);
      if (docs.length === 0) {
        skipped.push({ name, reason: "no text in it" });
      }
      documents.push(...docs);
    } catch (err) {
      skipped.push({ name, reason: err instanceof SkippedFile ? err.message : err?.message ?? String(err) });
    }
  }
  return { documents, skipped };
}

async function readEntries(reader) {
  const out = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) {
      return out;
    }
    out.push(...batch);
  }
}

async function walkEntry(entry, files) {
  if (entry.name.startsWith(".")) {
    return;
  }
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    file.relativePath = entry.fullPath.replace(/^\//, "");
    files.push(file);
  } else if (entry.isDirectory) {
    for (const child of await readEntries(entry.createReader())) {
      await walkEntry(child, files);
    }
  }
}

/** The files of a drop, folders walked recursively. */
export async function filesFromDataTransfer(dataTransfer) {
  const entries = [...(dataTransfer.items ?? [])]
    .filter((item) => item.kind === "file")
    .map((item) => item.webkitGetAsEntry?.())
    .filter(Boolean);
  if (entries.length === 0) {
    return [...(dataTransfer.files ?? [])];
  }
  const files = [];
  for (const entry of entries) {
    await walkEntry(entry, files);
  }
  return files;
}

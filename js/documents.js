// Turning files into documents `{id, title, text, meta?}`: plain text and Markdown as they are, HTML
// as its text (parsed with DOMParser into an inert document; nothing runs or loads), JSON and JSON
// lines with a text field. Works on File objects (browser) and on {name, text} pairs anywhere.

export const SUPPORTED_EXTENSIONS = [".txt", ".text", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".ndjson"];

const TEXT_FIELDS = ["text", "body", "content", "contents", "passage", "abstract"];
const ID_FIELDS = ["_id", "id", "docid", "doc_id"];
const TITLE_FIELDS = ["title", "name", "heading"];
const BLOCK_TAGS =
  "p,div,section,article,header,footer,main,aside,nav,h1,h2,h3,h4,h5,h6,li,dt,dd,blockquote,pre,table,tr,figure,figcaption,address,hr,br";

function extension(name) {
  const dot = name.lastIndexOf(".");
  return dot === -1 ? "" : name.slice(dot).toLowerCase();
}

export function isSupportedFile(name) {
  const base = name.split("/").pop();
  return !base.startsWith(".") && SUPPORTED_EXTENSIONS.includes(extension(base));
}

/** Collapses spaces inside lines and runs of blank lines; keeps paragraph breaks. */
function tidy(text) {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t\f\v\u00a0]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** The text of an HTML document and its title, via DOMParser (inert: no scripts, no loads). */
export function htmlToText(html) {
  if (typeof DOMParser === "undefined") {
    throw new Error("reading HTML needs DOMParser (a browser)");
  }
  const doc = new DOMParser().parseFromString(html, "text/html");
  const title = doc.querySelector("title")?.textContent?.trim() ?? "";
  for (const el of doc.querySelectorAll("script,style,noscript,template,head,svg,iframe,object")) {
    el.remove();
  }
  // textContent runs block elements together: give each one a paragraph break first.
  for (const el of doc.body?.querySelectorAll(BLOCK_TAGS) ?? []) {
    el.before(doc.createTextNode("\n\n"));
    el.after(doc.createTextNode("\n\n"));
  }
  return { title, text: tidy(doc.body?.textContent ?? "") };
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
  const text = content.replace(/\r\n?/g, "\n").trim();
  let title = base;
  if (ext === ".md" || ext === ".markdown") {
    title = /^#\s+(.+)$/m.exec(text)?.[1]?.trim() || base;
  }
  return text ? [{ id: name, title, text, source: name }] : [];
}

/**
 * Documents from File objects (from an <input type=file>, a folder pick, or a drop). Returns
 * `{documents, skipped: [{name, reason}]}`; unsupported and unreadable files are skipped, not fatal.
 */
export async function documentsFromFiles(files, { maxFileBytes = 64 * 1024 * 1024 } = {}) {
  const documents = [];
  const skipped = [];
  for (const file of files) {
    const name = file.webkitRelativePath || file.relativePath || file.name;
    if (!isSupportedFile(name)) {
      skipped.push({ name, reason: "unsupported file type" });
      continue;
    }
    if (file.size > maxFileBytes) {
      skipped.push({ name, reason: `larger than ${Math.round(maxFileBytes / 1e6)} MB` });
      continue;
    }
    try {
      documents.push(...documentsFromText(name, await file.text()));
    } catch (err) {
      skipped.push({ name, reason: err?.message ?? String(err) });
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

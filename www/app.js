import init, { SparseEncoder } from "./pkg/splade_wasm.js";

const MODEL_DIR = "models/splade-tiny/";
const MAX_TERMS = 8;
const SAMPLE_DOCS = [
  "Venus is often called Earth's twin because of its similar size and proximity.",
  "Mars, known for its reddish appearance, is often referred to as the Red Planet.",
  "Saturn, famous for its rings, is sometimes mistaken for the Red Planet.",
  "Currently New York is rainy.",
  "Photosynthesis converts light energy into chemical energy stored in glucose.",
  "The Eiffel Tower was completed in 1889 and is located in Paris, France.",
];

const els = Object.fromEntries(
  ["status", "docs", "index", "index-status", "query", "search-status", "results", "model-info"].map((id) => [
    id.replace(/-(\w)/g, (_, c) => c.toUpperCase()),
    document.getElementById(id),
  ]),
);

let encoder = null;
let indexed = [];

function setStatus(state, text) {
  els.status.dataset.state = state;
  els.status.textContent = text;
}

function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

// Lets the browser paint a status message before a long synchronous wasm call.
function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

async function fetchOk(url) {
  const res = await fetch(url);
  if (!res.ok) {
    throw new Error(`could not load ${url} (HTTP ${res.status})`);
  }
  return res;
}

async function loadModelFiles() {
  const manifest = await (await fetchOk(MODEL_DIR + "manifest.json")).json();
  const totalMb = manifest.files.reduce((sum, f) => sum + (f.bytes ?? 0), 0) / 1e6;
  let done = 0;
  const entries = await Promise.all(
    manifest.files.map(async ({ path }) => {
      const bytes = new Uint8Array(await (await fetchOk(MODEL_DIR + path)).arrayBuffer());
      done += 1;
      setStatus("loading", `Loading model… ${done}/${manifest.files.length} files (${totalMb.toFixed(1)} MB)`);
      return [path, bytes];
    }),
  );
  return Object.fromEntries(entries);
}

async function loadModel() {
  const started = performance.now();
  const [files] = await Promise.all([
    loadModelFiles(),
    init({ module_or_path: new URL("./pkg/splade_wasm_bg.wasm", import.meta.url) }),
  ]);
  setStatus("loading", "Loading model… building the encoder");
  await nextPaint();
  encoder = new SparseEncoder(files);
  const info = encoder.info();
  els.modelInfo.textContent =
    `Model: ${info.architecture}, ${info.layers} layers, hidden size ${info.hiddenSize}, ` +
    `vocabulary ${info.vocabSize}; documents up to ${info.maxDocumentTokens} tokens, queries up to ${info.maxQueryTokens}.`;
  setStatus("ready", `Model ready (${Math.round(performance.now() - started)} ms). Index some documents, then search.`);
}

async function indexDocuments() {
  const texts = els.docs.value
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  if (texts.length === 0) {
    els.indexStatus.textContent = "Add at least one document.";
    return;
  }
  els.index.disabled = true;
  els.indexStatus.textContent = `Indexing ${texts.length} documents…`;
  await nextPaint();
  try {
    const started = performance.now();
    const vectors = encoder.encodeDocuments(texts);
    indexed = texts.map((text, i) => ({ text, vector: vectors[i] }));
    const ms = Math.round(performance.now() - started);
    els.indexStatus.textContent = `Indexed ${texts.length} documents in ${ms} ms.`;
    els.query.disabled = false;
    els.query.placeholder = "e.g. Which planet is known as the Red Planet?";
    search();
  } catch (err) {
    els.indexStatus.textContent = `Indexing failed: ${errorText(err)}`;
  } finally {
    els.index.disabled = false;
  }
}

// Both vectors have ascending indices, so a merge walk gives the dot product and its terms.
function match(query, doc) {
  const terms = [];
  let score = 0;
  let i = 0;
  let j = 0;
  while (i < query.indices.length && j < doc.indices.length) {
    const qi = query.indices[i];
    const dj = doc.indices[j];
    if (qi === dj) {
      const contribution = query.values[i] * doc.values[j];
      score += contribution;
      terms.push({ id: qi, query: query.values[i], doc: doc.values[j], contribution });
      i += 1;
      j += 1;
    } else if (qi < dj) {
      i += 1;
    } else {
      j += 1;
    }
  }
  terms.sort((a, b) => b.contribution - a.contribution);
  return { score, terms: terms.slice(0, MAX_TERMS) };
}

function renderResult({ text, score, terms }, names) {
  const item = document.createElement("li");
  item.className = score > 0 ? "result" : "result no-match";

  const scoreEl = document.createElement("div");
  scoreEl.className = "score";
  scoreEl.textContent = score.toFixed(2);

  const textEl = document.createElement("div");
  textEl.className = "doc-text";
  textEl.textContent = text;

  const termList = document.createElement("ul");
  termList.className = "terms";
  for (const term of terms) {
    const chip = document.createElement("li");
    chip.className = "term";
    chip.textContent = `${names.get(term.id)} ${term.contribution.toFixed(2)}`;
    chip.title = `query weight ${term.query.toFixed(3)} × document weight ${term.doc.toFixed(3)}`;
    termList.append(chip);
  }

  item.append(scoreEl, textEl, termList);
  return item;
}

function search() {
  const text = els.query.value;
  if (indexed.length === 0) {
    return;
  }
  if (text.trim() === "") {
    els.results.replaceChildren();
    els.searchStatus.textContent = "Type a query to rank the documents.";
    return;
  }
  let query;
  try {
    query = encoder.encodeQuery(text);
  } catch (err) {
    els.searchStatus.textContent = `Query failed: ${errorText(err)}`;
    return;
  }
  const ranked = indexed
    .map((doc, order) => ({ text: doc.text, order, ...match(query, doc.vector) }))
    .sort((a, b) => b.score - a.score || a.order - b.order);

  const ids = [...new Set(ranked.flatMap((r) => r.terms.map((t) => t.id)))];
  const strings = ids.length ? encoder.tokenStrings(Uint32Array.from(ids)) : [];
  const names = new Map(ids.map((id, k) => [id, strings[k]]));

  els.results.replaceChildren(...ranked.map((r) => renderResult(r, names)));
  const matched = ranked.filter((r) => r.score > 0).length;
  els.searchStatus.textContent = `${query.indices.length} query terms; ${matched} of ${ranked.length} documents match.`;
}

els.docs.value = SAMPLE_DOCS.join("\n");
els.index.addEventListener("click", indexDocuments);
els.query.addEventListener("input", search);

try {
  await loadModel();
  els.index.disabled = false;
} catch (err) {
  setStatus("error", `Could not load the model: ${errorText(err)}`);
}

// One result's parts: the snippet with its highlights, and the "Why this result" table.
import { el, plural } from "./dom.js";

export function appendHighlighted(parent, text, ranges) {
  let at = 0;
  for (const [s, e] of ranges) {
    if (s > at) {
      parent.append(document.createTextNode(text.slice(at, s)));
    }
    parent.append(el("mark", null, text.slice(s, e)));
    at = e;
  }
  if (at < text.length) {
    parent.append(document.createTextNode(text.slice(at)));
  }
}

export function fillExplanation(container, search, result, query) {
  const { words } = search.explain(result.id, query, { passage: result.passage.index });
  container.replaceChildren();
  if (words.length === 0) {
    container.append(el("p", "muted", "No word of the query counts for this passage."));
    return;
  }
  const table = el("table", "why-table");
  const caption = el("caption", null, "How much each word of your query added to the score (the sum is the score).");
  const head = el("thead");
  const headRow = el("tr");
  for (const h of ["Word", "Contribution"]) {
    const th = el("th", null, h);
    th.scope = "col";
    headRow.append(th);
  }
  head.append(headRow);
  const body = el("tbody");
  const max = words[0].contribution || 1;
  for (const w of words) {
    const row = el("tr");
    row.dataset.word = w.word;
    const wordCell = el("td", "token");
    wordCell.append(el("span", "word", w.word));
    if (w.related) {
      const badge = el("span", "badge", "related term");
      badge.title = "The passage does not use this word: the model judged the passage related to it.";
      wordCell.append(" ", badge);
    }
    if (w.pieces.length > 1) {
      // The model's own units, for the curious: "hi" + "##jack" for "hijack".
      wordCell.append(el("span", "pieces muted small-text", ` ${w.pieces.map((p) => p.token).join(" + ")}`));
    }
    const bar = el("span", "bar");
    bar.style.setProperty("--w", `${Math.max(2, Math.round((100 * w.contribution) / max))}%`);
    const contribution = el("td", "num");
    contribution.append(bar, el("span", null, w.contribution.toFixed(2)));
    contribution.title = w.pieces.map((p) => `${p.token}: ${p.queryWeight.toFixed(2)} × ${p.documentWeight.toFixed(2)}`).join("\n");
    row.append(wordCell, contribution);
    body.append(row);
  }
  table.append(caption, head, body);
  container.append(table);
  const related = words.filter((w) => w.related).length;
  if (related > 0) {
    container.append(
      el("p", "muted small-text", `${plural(related, "word")} marked “related term” counted although the passage never uses ${related === 1 ? "it" : "them"}.`),
    );
  }
}

export function renderResult(search, result, query, rank, { onOpen = null } = {}) {
  const doc = search.get(result.id);
  const item = el("li", "result");
  item.dataset.id = result.id;
  item.dataset.score = String(result.score);

  const head = el("div", "result-head");
  const title = el("h3", "result-title", result.title ?? result.id);
  const score = el("span", "score", result.score.toFixed(2));
  score.title = "Score: the sparse dot product of the query and the best passage";
  head.append(el("span", "rank", `${rank}.`), title, score);

  const metaParts = [];
  if (doc.source && doc.source !== (result.title ?? "")) {
    metaParts.push(doc.source);
  }
  if (doc.passages.length > 1) {
    metaParts.push(`passage ${result.passage.index + 1} of ${doc.passages.length}`);
  }
  if (result.matchingPassages > 1) {
    metaParts.push(`${result.matchingPassages} passages match`);
  }
  const meta = el("p", "result-meta", metaParts.join(" · "));

  const snippet = search.snippet(result.id, query, { passage: result.passage.index });
  const text = el("p", "snippet");
  if (snippet.clippedStart) {
    text.append("… ");
  }
  appendHighlighted(text, snippet.text, snippet.highlights);
  if (snippet.clippedEnd) {
    text.append(" …");
  }

  const why = el("details", "why");
  why.append(el("summary", null, "Why this result"));
  const whyBody = el("div", "why-body");
  why.append(whyBody);
  why.addEventListener("toggle", () => {
    if (why.open && !whyBody.hasChildNodes()) {
      fillExplanation(whyBody, search, result, query);
    }
  });

  item.append(head);
  if (metaParts.length > 0) {
    item.append(meta);
  }
  item.append(text, why);
  if (onOpen) {
    const open = el("button", "small link open-doc", "Open the document");
    open.type = "button";
    open.addEventListener("click", () => onOpen(result.id, result.passage.index));
    item.append(open);
  }
  return item;
}

export function renderNoResults(search, query) {
  const item = el("li", "no-results");
  const analysis = search.analyzeQuery(query);
  if (!analysis.searchable) {
    item.dataset.state = "no-searchable-words";
    item.append(el("p", "no-results-title", `No searchable words in “${query.trim()}”.`));
    item.append(
      el(
        "p",
        "muted",
        "The model’s vocabulary has none of these words: emoji, punctuation and characters it does not know are not searched. " +
          "Try words in the language of your documents.",
      ),
    );
    return item;
  }
  item.append(el("p", "no-results-title", `No document matches “${query.trim()}”.`));
  const terms = search.queryTerms(query);
  const unknown = analysis.words.filter((w) => !w.known).map((w) => w.text);
  const p = el("p", "muted", `Searched for ${terms.length === 1 ? "the word piece" : "the word pieces"} `);
  terms.slice(0, 12).forEach((t, i) => {
    if (i > 0) {
      p.append(", ");
    }
    p.append(el("code", null, t.token));
  });
  p.append(unknown.length > 0 ? `; not searchable: ${unknown.join(", ")}.` : ". Try other words, or add documents that contain them.");
  item.append(p);
  return item;
}

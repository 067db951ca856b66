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
  const { terms } = search.explain(result.id, query, { passage: result.passage.index });
  container.replaceChildren();
  if (terms.length === 0) {
    container.append(el("p", "muted", "No query term appears in this passage’s vector."));
    return;
  }
  const table = el("table", "why-table");
  const caption = el("caption", null, "Each query token’s weight × the passage’s weight for it; the sum is the score.");
  const head = el("thead");
  const headRow = el("tr");
  for (const h of ["Token", "Query", "Passage", "Contribution"]) {
    const th = el("th", null, h);
    th.scope = "col";
    headRow.append(th);
  }
  head.append(headRow);
  const body = el("tbody");
  const max = terms[0].contribution || 1;
  for (const t of terms) {
    const row = el("tr");
    const tokenCell = el("td", "token");
    tokenCell.append(el("code", null, t.token));
    if (t.expansion) {
      const badge = el("span", "badge", "expansion");
      badge.title = "The passage does not contain this token: the model added it as a related term.";
      tokenCell.append(" ", badge);
    }
    const bar = el("span", "bar");
    bar.style.setProperty("--w", `${Math.max(2, Math.round((100 * t.contribution) / max))}%`);
    const contribution = el("td", "num");
    contribution.append(bar, el("span", null, t.contribution.toFixed(2)));
    row.append(tokenCell, el("td", "num", t.queryWeight.toFixed(2)), el("td", "num", t.documentWeight.toFixed(2)), contribution);
    body.append(row);
  }
  table.append(caption, head, body);
  container.append(table);
  const expansions = terms.filter((t) => t.expansion).length;
  if (expansions > 0) {
    container.append(
      el("p", "muted small-text", `${plural(expansions, "term")} marked “expansion” matched although the passage never uses the word.`),
    );
  }
}

export function renderResult(search, result, query, rank) {
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
  return item;
}

export function renderNoResults(search, query) {
  const item = el("li", "no-results");
  item.append(el("p", "no-results-title", `No document matches “${query.trim()}”.`));
  const terms = search.queryTerms(query);
  if (terms.length > 0) {
    const p = el("p", "muted", "Searched for the tokens ");
    terms.slice(0, 12).forEach((t, i) => {
      if (i > 0) {
        p.append(", ");
      }
      p.append(el("code", null, t.token));
    });
    p.append(". Try other words, or add documents that contain them.");
    item.append(p);
  }
  return item;
}

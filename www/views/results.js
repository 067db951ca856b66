// The search box and its results: search on every keystroke, the states around it (nothing indexed,
// indexing, paused, no results), suggestions for the sample, and keyboard navigation.
import { $, duration, el, errorText, plural } from "./dom.js";
import { renderNoResults, renderResult } from "./explain.js";

const RESULTS = 10;
const REFRESH_MS = 400; // while indexing, results follow the new documents at most this often

export function mountResults({ app, sampleName, sampleQueries, onOpen = null }) {
  const els = {
    query: $("query"),
    status: $("search-status"),
    empty: $("empty"),
    placeholder: $("placeholder"),
    placeholderHeading: $("placeholder-heading"),
    placeholderText: $("placeholder-text"),
    placeholderRetry: $("placeholder-retry"),
    tips: $("tips"),
    suggestions: $("suggestions"),
    results: $("results"),
  };
  let refreshTimer = null;

  function setStatus(text) {
    els.status.textContent = text;
  }

  function setPlaceholder(heading, text, { retry = false } = {}) {
    els.placeholder.hidden = heading == null;
    if (heading != null) {
      els.placeholderHeading.textContent = heading;
      els.placeholderText.textContent = text;
      els.placeholderRetry.hidden = !retry;
    }
  }

  function showSuggestions() {
    els.tips.hidden = false;
    const hasSample = app.search.documents().some((d) => d.id.startsWith(`${sampleName}/`));
    els.suggestions.hidden = !hasSample;
    if (hasSample && els.suggestions.childElementCount === 1) {
      for (const q of sampleQueries) {
        const b = el("button", "chip", q);
        b.type = "button";
        b.addEventListener("click", () => {
          els.query.value = q;
          els.query.focus();
          render();
        });
        els.suggestions.append(b);
      }
    }
  }

  function render() {
    const { search, indexer } = app;
    if (!search || !indexer) {
      return;
    }
    const query = els.query.value;
    const indexed = search.size;
    const busy = indexer.running;
    const waiting = indexer.queued > 0;
    els.empty.hidden = indexed > 0 || busy || waiting;
    els.tips.hidden = true;
    if (indexed === 0) {
      els.results.replaceChildren();
      if (busy) {
        setPlaceholder("Indexing your documents…", "Results appear here as soon as the first documents are indexed.");
      } else if (waiting) {
        setPlaceholder("Indexing is paused", "Resume indexing (on the right) to search these documents.");
      } else {
        setPlaceholder(null);
      }
      setStatus("");
      return;
    }
    setPlaceholder(null);
    if (query.trim() === "") {
      els.results.replaceChildren();
      showSuggestions();
      if (!/^Restored|^Indexed/.test(els.status.textContent)) {
        setStatus(`Type to search ${plural(indexed, "document")}.${busy ? " Indexing continues in the background." : ""}`);
      }
      return;
    }
    let results;
    const started = performance.now();
    try {
      results = search.search(query, { k: RESULTS });
    } catch (err) {
      els.results.replaceChildren();
      setStatus(`Search failed: ${errorText(err)}`);
      return;
    }
    const ms = performance.now() - started;
    if (results.length === 0) {
      els.results.replaceChildren(renderNoResults(search, query));
      setStatus(search.analyzeQuery(query).searchable ? `No results${busy ? " yet (indexing continues)" : ""}.` : "No searchable words.");
      return;
    }
    // Re-renders of the same query also come from indexing progress and saves finishing: they must not
    // take the keyboard focus or close an explanation the user opened, so both carry over to the same
    // documents' rows.
    const rowOf = (node) => node?.closest?.("#results .result");
    const sameQuery = els.results.dataset.query === query;
    const focusedId = sameQuery ? rowOf(document.activeElement)?.dataset.id : undefined;
    const openIds = new Set(
      sameQuery ? [...els.results.querySelectorAll(".why[open]")].map((d) => rowOf(d)?.dataset.id) : [],
    );
    els.results.replaceChildren(...results.map((r, i) => renderResult(search, r, query, i + 1, { onOpen })));
    els.results.dataset.query = query;
    for (const row of els.results.querySelectorAll(".result")) {
      if (openIds.has(row.dataset.id)) {
        row.querySelector(".why").open = true;
      }
      if (row.dataset.id === focusedId) {
        row.querySelector(".why summary").focus();
      }
    }
    setStatus(
      `Top ${plural(results.length, "document")} of ${indexed.toLocaleString("en-US")} · ${ms < 1 ? ms.toFixed(2) : ms.toFixed(0)} ms` +
        (busy ? " · indexing continues" : ""),
    );
  }

  function scheduleRefresh() {
    refreshTimer ??= setTimeout(() => {
      refreshTimer = null;
      render();
    }, REFRESH_MS);
  }

  /** Follows an indexer's events (once it exists). */
  function follow(indexer) {
    indexer.addEventListener("change", render);
    indexer.addEventListener("indexed", scheduleRefresh);
    indexer.addEventListener("done", ({ detail }) => {
      setStatus(`Indexed ${plural(detail.documents, "document")} (${plural(detail.passages, "passage")}) in ${duration(detail.seconds)}.`);
    });
  }

  /** The search box, usable once the model is ready. */
  function enable() {
    els.query.disabled = false;
    els.query.placeholder = "Search your documents…";
    if (!window.matchMedia("(pointer: coarse)").matches) {
      els.query.focus();
    }
  }

  /** The search box and the placeholder once the model failed to load. */
  function unavailable(offline) {
    els.query.placeholder = "Search is unavailable: the model did not load";
    els.empty.hidden = true;
    setPlaceholder(
      "Search could not start",
      offline
        ? "The model has not been saved in this browser yet, and you are offline. Connect once, then it works offline."
        : "The model could not be loaded (details above). Check your connection and try again.",
      { retry: true },
    );
  }

  els.placeholderRetry.addEventListener("click", () => location.reload());
  els.query.addEventListener("input", render);
  els.query.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      els.query.value = "";
      render();
    } else if (e.key === "ArrowDown") {
      const first = els.results.querySelector(".why summary");
      if (first) {
        e.preventDefault();
        first.focus();
      }
    }
  });
  // Arrow keys move between results ("Why this result" toggles); ArrowUp from the first goes back to the query.
  els.results.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") {
      return;
    }
    const summaries = [...els.results.querySelectorAll(".why summary")];
    const at = summaries.indexOf(document.activeElement);
    if (at === -1) {
      return;
    }
    e.preventDefault();
    const next = at + (e.key === "ArrowDown" ? 1 : -1);
    if (next < 0) {
      els.query.focus();
    } else if (next < summaries.length) {
      summaries[next].focus();
      summaries[next].scrollIntoView({ block: "nearest" });
    }
  });
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t?.isContentEditable;
    if (e.key === "/" && !typing && !els.query.disabled) {
      e.preventDefault();
      els.query.focus();
      els.query.select();
    }
  });

  return { follow, render, setStatus, enable, unavailable, clearQuery: () => (els.query.value = "") };
}

// Browsing the library: every indexed document, filtered by title or file, each removable on its own
// and readable in full (the viewer scrolls to, and marks, the passage a result matched). Document text
// reaches the page only as text.
import { $, el, errorText, plural } from "./dom.js";

const SHOWN = 300; // rows rendered at most; the filter finds the rest
const REFRESH_MS = 500;

export function mountBrowse({ app, notice }) {
  const els = {
    browse: $("browse"),
    filter: $("browse-filter"),
    list: $("browse-list"),
    more: $("browse-more"),
    viewer: $("viewer"),
    title: $("viewer-title"),
    source: $("viewer-source"),
    text: $("viewer-text"),
  };
  let timer = null;

  function render() {
    const { search } = app;
    if (!search || !els.browse.open) {
      return;
    }
    const needle = els.filter.value.trim().toLowerCase();
    const docs = search.documents().filter((d) => needle === "" || `${d.title ?? ""} ${d.source ?? ""} ${d.id}`.toLowerCase().includes(needle));
    els.list.replaceChildren(
      ...docs.slice(0, SHOWN).map((doc) => {
        const li = el("li", "browse-item");
        li.dataset.id = doc.id;
        const open = el("button", "link browse-open", doc.title || doc.id);
        open.type = "button";
        open.addEventListener("click", () => openDocument(doc.id));
        const meta = el("span", "muted small-text", `${doc.source ?? ""} · ${plural(doc.passages.length, "passage")}`);
        const remove = el("button", "small danger-outline browse-remove", "Remove");
        remove.type = "button";
        remove.setAttribute("aria-label", `Remove ${doc.title || doc.id}`);
        remove.addEventListener("click", () => removeDocument(doc.id));
        li.append(open, meta, remove);
        return li;
      }),
    );
    els.more.hidden = docs.length <= SHOWN;
    els.more.textContent = `${plural(docs.length - SHOWN, "more document")}: narrow the filter to see them.`;
    if (docs.length === 0) {
      els.list.append(el("li", "muted", needle ? "No document matches this filter." : "Nothing indexed yet."));
    }
  }

  async function removeDocument(id) {
    const title = app.search.get(id)?.title ?? id;
    try {
      await app.indexer.remove(id);
      notice.show(`Removed “${title}”.`, "info");
    } catch (err) {
      notice.show(`Could not remove “${title}”: ${errorText(err)}`);
    }
    render();
  }

  /** Shows a document's whole text; `passage` (an index) is marked and scrolled into view. */
  function openDocument(id, passage = null) {
    const doc = app.search?.get(id);
    if (!doc) {
      return;
    }
    els.title.textContent = doc.title || doc.id;
    els.source.textContent = `${doc.source ?? doc.id} · ${plural(doc.passages.length, "passage")} · ${plural(doc.text.length, "character")}`;
    const p = passage != null ? doc.passages[passage] : null;
    const mark = p ? el("mark", "viewer-passage", doc.text.slice(p.start, p.end)) : null;
    els.text.replaceChildren(...(p ? [doc.text.slice(0, p.start), mark, doc.text.slice(p.end)] : [doc.text]));
    if (!els.viewer.open) {
      els.viewer.showModal();
    }
    els.viewer.dataset.id = id;
    mark?.scrollIntoView({ block: "center" });
  }

  $("viewer-close").addEventListener("click", () => els.viewer.close());
  els.browse.addEventListener("toggle", render);
  els.filter.addEventListener("input", render);

  function follow(indexer) {
    const later = () => {
      timer ??= setTimeout(() => {
        timer = null;
        render();
      }, REFRESH_MS);
    };
    indexer.addEventListener("change", later);
    indexer.addEventListener("indexed", later);
  }

  return { follow, render, openDocument };
}

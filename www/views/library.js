// The library panel: what is indexed and whether it is saved, and export, import and clear.
import { $, el, errorText, megabytes, plural } from "./dom.js";

const REFRESH_MS = 400;

export function mountLibrary({ app, notice, results }) {
  const els = {
    summary: $("library-summary"),
    exportBtn: $("export"),
    importBtn: $("import"),
    importInput: $("import-input"),
    clear: $("clear"),
  };
  let refreshTimer = null;
  let clearArmed = null;

  function render() {
    const { search, indexer } = app;
    if (!search) {
      return;
    }
    const n = search.size;
    els.summary.dataset.documents = String(n);
    els.summary.dataset.passages = String(search.passageCount);
    let text = n === 0 ? "Nothing indexed yet." : `${plural(n, "document")} · ${plural(search.passageCount, "passage")}`;
    if (n > 0) {
      // "Saved" only once a checkpoint holds every searchable document.
      let saved = "not saved in this browser";
      if (indexer?.persistent && indexer.saveError == null) {
        saved =
          indexer.unsaved > 0
            ? `${indexer.savedDocuments.toLocaleString("en-US")} saved in this browser, the rest being saved…`
            : "saved in this browser";
        if (indexer.unsaved === 0 && app.persisted === false) {
          saved += " (the browser may clear it when space runs low)";
        }
      }
      const persisted = indexer?.persistent === true && indexer.saveError == null;
      els.summary.dataset.saved = String(persisted && indexer.unsaved === 0);
      // What the page claims is saved: the test closes the page mid-run and checks it all comes back.
      els.summary.dataset.savedDocuments = String(persisted ? (indexer.unsaved === 0 ? n : indexer.savedDocuments) : 0);
      text += ` · ${saved}`;
    }
    els.summary.textContent = text;
    els.exportBtn.disabled = n === 0;
  }

  async function exportIndex() {
    const bytes = await app.search.save();
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const a = el("a");
    a.href = url;
    a.download = `sparse-search-${new Date().toISOString().slice(0, 10)}.splade`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    notice.show(`Exported ${plural(app.search.size, "document")} (${megabytes(bytes.length)}).`, "info");
  }

  async function importIndex(file) {
    if (!file) {
      return;
    }
    try {
      const { documents, passages, reindexing } = await app.indexer.load(new Uint8Array(await file.arrayBuffer()));
      if (reindexing > 0) {
        notice.show(`This index was built with another model: indexing its ${plural(reindexing, "document")} again.`, "info");
      } else {
        notice.show(`Imported ${plural(documents, "document")} (${plural(passages, "passage")}).`, "info");
      }
    } catch (err) {
      notice.show(`Import failed: ${errorText(err)}`);
    }
  }

  async function clearAll() {
    if (!clearArmed) {
      els.clear.textContent = "Click again to delete everything";
      clearArmed = setTimeout(() => {
        clearArmed = null;
        els.clear.textContent = "Clear everything";
      }, 4000);
      return;
    }
    clearTimeout(clearArmed);
    clearArmed = null;
    els.clear.textContent = "Clear everything";
    results.clearQuery();
    try {
      await app.indexer.clear();
    } catch (err) {
      notice.show(`Could not clear the browser storage: ${errorText(err)}`);
      return;
    }
    notice.show("Cleared: the index and documents were removed from this browser.", "info");
  }

  els.exportBtn.addEventListener("click", () => exportIndex().catch((err) => notice.show(`Export failed: ${errorText(err)}`)));
  els.importBtn.addEventListener("click", () => els.importInput.click());
  els.importInput.addEventListener("change", () => {
    importIndex(els.importInput.files[0]);
    els.importInput.value = "";
  });
  els.clear.addEventListener("click", clearAll);

  /** Follows an indexer's events (once it exists). */
  function follow(indexer) {
    indexer.addEventListener("change", render);
    indexer.addEventListener("saved", render);
    indexer.addEventListener("error", render);
    indexer.addEventListener("indexed", () => {
      refreshTimer ??= setTimeout(() => {
        refreshTimer = null;
        render();
      }, REFRESH_MS);
    });
  }

  return { follow, render };
}

// Adding documents: the sample corpus, files, a folder, drag and drop, and pasted text.
import { documentsFromFiles, documentsFromText, filesFromDataTransfer } from "../pkg/index.js";
import { $, el, errorText, plural } from "./dom.js";

// Skipped files listed at most; the summary still counts them all.
const SKIPPED_SHOWN = 200;

export function mountSources({ app, notice, results, sampleUrl, sampleName }) {
  const els = {
    dropzone: $("dropzone"),
    fileInput: $("file-input"),
    folderInput: $("folder-input"),
    pasteTitle: $("paste-title"),
    pasteText: $("paste-text"),
    pasteAdd: $("paste-add"),
    paste: $("paste"),
    skipped: $("skipped"),
    skippedSummary: $("skipped-summary"),
    skippedList: $("skipped-list"),
  };
  let skippedCount = 0;

  /** Lists files left out, with why; the list stays until dismissed (a notice would be replaced). */
  function reportSkipped(items) {
    if (items.length === 0) {
      return;
    }
    for (const { name, reason } of items) {
      skippedCount += 1;
      if (skippedCount <= SKIPPED_SHOWN) {
        const li = el("li");
        li.append(el("span", "skipped-name", name), el("span", "skipped-reason", reason));
        els.skippedList.append(li);
      }
    }
    els.skippedSummary.textContent = `${plural(skippedCount, "file")} not added`;
    els.skipped.hidden = false;
    els.skipped.open = true;
  }

  $("skipped-dismiss").addEventListener("click", () => {
    skippedCount = 0;
    els.skippedList.replaceChildren();
    els.skipped.hidden = true;
  });

  async function addDocuments(docs) {
    if (!app.indexer) {
      return;
    }
    if (docs.length === 0) {
      notice.show("Nothing to add: no text found.", "info");
      return;
    }
    notice.hide();
    const { unchanged, duplicates } = await app.indexer.add(docs);
    const titleOf = (id) => app.search.get(id)?.title ?? id;
    reportSkipped(duplicates.map((d) => ({ name: d.id, reason: `the same text as “${titleOf(d.of)}”, indexed once` })));
    if (unchanged.length > 0) {
      notice.show(`${plural(unchanged.length, "document")} already indexed and unchanged: not encoded again.`, "info");
    }
  }

  async function addFiles(files) {
    if (!app.indexer) {
      return;
    }
    const list = [...files];
    if (list.length === 0) {
      return;
    }
    results.setStatus(`Reading ${plural(list.length, "file")}…`);
    const { documents, skipped } = await documentsFromFiles(list);
    reportSkipped(skipped);
    if (documents.length > 0) {
      await addDocuments(documents);
    }
    results.setStatus(
      `Read ${plural(list.length, "file")}: ${plural(documents.length, "document")} to index` +
        (skipped.length > 0 ? `, ${plural(skipped.length, "file")} not added (listed below).` : "."),
    );
  }

  async function loadSample() {
    if (!app.indexer) {
      return;
    }
    try {
      const res = await fetch(sampleUrl);
      if (!res.ok) {
        throw new Error(`HTTP ${res.status}`);
      }
      const docs = documentsFromText(sampleName, await res.text()).map((d) => ({ ...d, source: "sample: State of the Union" }));
      await addDocuments(docs);
    } catch (err) {
      notice.show(`The sample corpus could not be loaded: ${errorText(err)}`);
    }
  }

  async function addPasted() {
    const text = els.pasteText.value.trim();
    if (text === "") {
      els.pasteText.focus();
      return;
    }
    const title = els.pasteTitle.value.trim() || text.split("\n")[0].slice(0, 80);
    const id = `pasted/${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
    els.pasteText.value = "";
    els.pasteTitle.value = "";
    els.paste.open = false;
    await addDocuments([{ id, title, text, source: "pasted text" }]);
  }

  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "sample") {
        loadSample();
      } else if (action === "files") {
        els.fileInput.click();
      } else if (action === "folder") {
        els.folderInput.click();
      }
    });
  }
  els.fileInput.addEventListener("change", () => {
    addFiles(els.fileInput.files);
    els.fileInput.value = "";
  });
  els.folderInput.addEventListener("change", () => {
    addFiles(els.folderInput.files);
    els.folderInput.value = "";
  });
  const dropzoneEnabled = () => els.dropzone.getAttribute("aria-disabled") !== "true";
  els.dropzone.addEventListener("click", () => dropzoneEnabled() && els.fileInput.click());
  els.dropzone.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && dropzoneEnabled()) {
      e.preventDefault();
      els.fileInput.click();
    }
  });
  let dragDepth = 0;
  document.addEventListener("dragenter", (e) => {
    if ([...(e.dataTransfer?.types ?? [])].includes("Files")) {
      dragDepth += 1;
      document.body.classList.add("dragging");
    }
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) {
      document.body.classList.remove("dragging");
    }
  });
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
  });
  document.addEventListener("drop", async (e) => {
    e.preventDefault();
    dragDepth = 0;
    document.body.classList.remove("dragging");
    if (e.dataTransfer) {
      addFiles(await filesFromDataTransfer(e.dataTransfer));
    }
  });
  els.pasteAdd.addEventListener("click", addPasted);
  els.pasteText.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      addPasted();
    }
  });

  return {
    /** Whether the drop zone takes files (the buttons are enabled by the page). */
    setEnabled(enabled) {
      els.dropzone.setAttribute("aria-disabled", String(!enabled));
      els.dropzone.tabIndex = enabled ? 0 : -1;
    },
  };
}

// Adding documents: the sample corpus, files, a folder, drag and drop, and pasted text.
import { documentsFromFiles, documentsFromText, filesFromDataTransfer } from "../pkg/index.js";
import { $, errorText, plural } from "./dom.js";

export function mountSources({ app, notice, results, sampleUrl, sampleName }) {
  const els = {
    dropzone: $("dropzone"),
    fileInput: $("file-input"),
    folderInput: $("folder-input"),
    pasteTitle: $("paste-title"),
    pasteText: $("paste-text"),
    pasteAdd: $("paste-add"),
    paste: $("paste"),
  };

  async function addDocuments(docs) {
    if (!app.indexer) {
      return;
    }
    if (docs.length === 0) {
      notice.show("Nothing to add: no text found.", "info");
      return;
    }
    notice.hide();
    await app.indexer.add(docs);
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
    if (skipped.length > 0) {
      const names = skipped.slice(0, 3).map((s) => `${s.name} (${s.reason})`).join("; ");
      notice.show(`Skipped ${plural(skipped.length, "file")}: ${names}${skipped.length > 3 ? "; …" : ""}`, "info");
    }
    if (documents.length > 0) {
      await addDocuments(documents);
    } else if (skipped.length === 0) {
      notice.show("Those files hold no text to index.", "info");
    }
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

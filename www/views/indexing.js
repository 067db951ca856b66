// The indexing panel: progress of the run in progress, and Pause, Resume and Cancel. The work itself
// (the queue, checkpoints, surviving a reload) is the library's ResumableIndexer.
import { $, duration, plural } from "./dom.js";

const STOPPING_TEXT = { pause: "Pausing after the passages in progress…", cancel: "Stopping…" };

export function mountIndexing({ app }) {
  const els = {
    panel: $("indexing"),
    progress: $("indexing-progress"),
    text: $("indexing-text"),
    pause: $("indexing-pause"),
    resume: $("indexing-resume"),
    cancel: $("indexing-cancel"),
  };

  function render() {
    const { indexer, search } = app;
    if (!indexer) {
      return;
    }
    const active = indexer.running;
    const left = indexer.queued;
    els.panel.hidden = !active && left === 0;
    els.panel.dataset.state = active ? "running" : indexer.paused ? "paused" : "idle";
    els.pause.hidden = !active;
    els.resume.hidden = active || left === 0;
    els.cancel.hidden = !active && left === 0;
    els.progress.hidden = !active;
    if (active) {
      const p = indexer.progress;
      // Characters, not documents: one 2 MB text moves the bar as much as a thousand short notes.
      els.progress.max = Math.max(p.totalChars, 1);
      els.progress.value = p.chars;
      els.progress.dataset.done = String(p.done);
      els.progress.dataset.chars = String(p.chars);
      if (STOPPING_TEXT[indexer.stopping]) {
        els.text.textContent = STOPPING_TEXT[indexer.stopping];
        return;
      }
      const percent = p.totalChars > 0 ? Math.floor((100 * p.chars) / p.totalChars) : 0;
      const parts = [`${p.done.toLocaleString("en-US")} of ${plural(p.total, "document")} (${percent}%)`, plural(p.passages, "passage")];
      if (p.etaSeconds != null) {
        parts.push(`about ${duration(p.etaSeconds)} left`);
      }
      if (p.docsPerSecond > 0) {
        parts.push(`${p.docsPerSecond.toFixed(1)} docs/s`);
      }
      const device = search.device;
      parts.push(device.backend === "webgpu" ? `WebGPU: ${device.adapter?.adapter ?? "GPU"}` : search.workers > 0 ? `wasm, ${plural(search.workers, "worker")}` : "wasm on the page");
      els.text.textContent = parts.join(" · ");
    } else if (left > 0) {
      els.text.textContent = `Paused: ${plural(left, "document")} still to index. They are saved; resume any time, even after a reload.`;
    }
  }

  els.pause.addEventListener("click", () => app.indexer?.pause());
  els.resume.addEventListener("click", () => app.indexer?.resume());
  els.cancel.addEventListener("click", () => app.indexer?.cancel());

  /** Follows an indexer's events (once it exists). */
  function follow(indexer) {
    indexer.addEventListener("change", render);
    indexer.addEventListener("progress", render);
  }

  return { follow, render };
}

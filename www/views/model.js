// The model: its status line (download progress, ready, failed), what was loaded, and the picker in
// the footer that switches to another model by reloading the page.
import { SparseEncoder, createSearch } from "../pkg/index.js";
import { $, megabytes, plural } from "./dom.js";

export const MODEL_KEY = "splade-demo-model"; // localStorage: the model picked in the footer

export function mountModel({ modelUrl, app }) {
  const els = {
    model: $("model"),
    text: $("model-text"),
    progress: $("model-progress"),
    retry: $("model-retry"),
    info: $("model-info"),
    select: $("model-select"),
  };

  function setState(state, text, progress = null) {
    els.model.dataset.state = state;
    els.text.textContent = text;
    if (progress == null) {
      els.progress.hidden = state !== "loading";
      els.progress.removeAttribute("value"); // indeterminate
    } else {
      els.progress.hidden = false;
      els.progress.value = progress;
    }
    els.retry.hidden = state !== "error";
  }

  /**
   * What a first visit downloads: the model and the WebAssembly encoder, from their Content-Length
   * (null when unknown, e.g. offline). Shown instead of a fixed guess that missed the wasm.
   */
  async function downloadBytes() {
    if (modelUrl.endsWith("/")) {
      return null; // a model folder: its size is the sum of its manifest, not one HEAD away
    }
    try {
      const sizes = await Promise.all(
        [modelUrl, new URL("../pkg/splade_wasm_bg.wasm", import.meta.url)].map(async (url) => {
          const res = await fetch(url, { method: "HEAD", cache: "no-cache" });
          const n = Number(res.headers.get("content-length"));
          return res.ok && n > 0 ? n : NaN;
        }),
      );
      const total = sizes.reduce((a, b) => a + b, 0);
      return Number.isFinite(total) ? total : null;
    } catch {
      return null;
    }
  }

  /** Which backend encodes documents, on which adapter, and why it was chosen. */
  function deviceText({ backend, adapter, reason }) {
    const where = backend === "webgpu" ? `documents on WebGPU (${adapter?.adapter ?? "unknown adapter"})` : "documents on wasm";
    return `${where}${reason ? `: ${reason}` : ""}.`;
  }

  /** Loads the model and starts the search's workers; resolves to the Search. */
  async function load({ workers, memoryBudget, device, onFromCache }) {
    setState("loading", "Loading the model…");
    downloadBytes().then((bytes) => {
      const text = $("placeholder-text");
      if (bytes != null && els.model.dataset.state === "loading") {
        text.textContent = `The model is loading. The first visit downloads it with the WebAssembly encoder (${megabytes(bytes)}); after that both are kept in this browser.`;
      }
    });
    const started = performance.now();
    const encoder = await SparseEncoder.load(modelUrl, {
      onProgress: ({ loaded, total, fromCache }) => {
        onFromCache(fromCache);
        if (fromCache) {
          setState("loading", "Loading the model from this browser’s storage…", total ? loaded / total : null);
        } else if (total) {
          setState("loading", `Downloading the model… ${megabytes(loaded)} of ${megabytes(total)}`, loaded / total);
        } else {
          setState("loading", `Downloading the model… ${megabytes(loaded)}`);
        }
      },
    });
    setState("loading", workers > 0 ? `Starting ${plural(workers, "encoder worker")}…` : "Starting the encoder…");
    const search = await createSearch({ model: encoder, workers, memoryBudget, device });
    const info = encoder.info();
    const pack = await encoder.packInfo();
    const ms = Math.round(performance.now() - started);
    setState("ready", `Model ready in ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}`);
    els.info.textContent =
      `Loaded: ${pack ? `the ${pack.dtype} pack of ${pack.source} (${megabytes(pack.fileBytes)}), ` : "a model folder, "}` +
      `${info.architecture}, ${info.layers} layers, hidden size ${info.hiddenSize}, ${info.vocabSize.toLocaleString("en-US")}-token vocabulary; ` +
      `passages up to ${info.maxDocumentTokens} tokens; ` +
      (search.workers > 0 ? `${plural(search.workers, "encoder worker")}` : "encoding on the page") +
      // How many workers and why: each holds the whole model, so a large one gets fewer.
      ` (${search.workerPlan.reason}); ` +
      deviceText(search.device);
    return search;
  }

  // The picker: one of the packs build.sh writes (or, with ?model=, whatever was asked for).
  const current = [...els.select.options].find((o) => new URL(o.value, location.href).href === modelUrl);
  if (current) {
    els.select.value = current.value;
  } else {
    els.select.append(new Option(new URL(modelUrl).pathname.split("/").filter(Boolean).pop(), modelUrl, true, true));
  }
  els.select.addEventListener("change", async () => {
    const value = els.select.value;
    let remembered = false;
    try {
      localStorage.setItem(MODEL_KEY, value);
      remembered = true;
    } catch {
      // without localStorage the choice travels in the address
    }
    els.select.disabled = true;
    // Stop after the batches in flight; the queue stays saved and carries on with the new model.
    await app.indexer?.suspend().catch(() => {});
    const next = new URL(location.href);
    next.searchParams.delete("model");
    if (!remembered) {
      next.searchParams.set("model", value);
    }
    location.assign(next.href);
  });
  els.retry.addEventListener("click", () => location.reload());

  return { setState, load };
}

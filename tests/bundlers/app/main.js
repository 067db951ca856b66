// A small app as a web developer would write it from the package's README, bundled by Vite and by
// webpack in tests/js/bundlers.mjs: the workers must start and search must work after bundling.
import { createSearch } from "splade-wasm";

async function main() {
  const search = await createSearch({ model: new URL("splade-tiny-q8_0.gguf", document.baseURI).href });
  await search.add([
    { id: "mars", title: "Mars", text: "Mars, known for its reddish appearance, is often referred to as the Red Planet." },
    { id: "venus", title: "Venus", text: "Venus is often called Earth's twin because of its similar size and proximity." },
    { id: "paris", title: "Paris", text: "The Eiffel Tower was completed in 1889 and is located in Paris, France." },
  ]);
  const [best] = search.search("Which planet is known as the Red Planet?");
  document.getElementById("out").textContent = `${best.id} (${search.workers} workers)`;
  return { workers: search.workers, workerFallback: search.workerFallback, best: best.id };
}

window.appResult = main().catch((err) => ({ error: String(err?.stack ?? err) }));

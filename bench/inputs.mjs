// What every line of the benchmark measures: the passages, the long document and the query, read
// from the shared baselines (../shared/baselines, or $SPLADE_BASELINES).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BASELINES = path.resolve(ROOT, process.env.SPLADE_BASELINES ?? "../shared/baselines");
export const PASSAGES_FILE = path.join(BASELINES, "passages-128.json");
export const DOCUMENT_FILE = path.join(BASELINES, "document-512.json");
export const QUERY = "how does cerebral white matter develop in human newborn infants"; // 10 words
export const MiB = 2 ** 20;

/** The passages (strings) and the text of the long document. */
export function readInputs() {
  return {
    passages: JSON.parse(readFileSync(PASSAGES_FILE, "utf8")),
    document: JSON.parse(readFileSync(DOCUMENT_FILE, "utf8")).text,
  };
}

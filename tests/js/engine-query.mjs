// encoder.engineQuery (the JS library on the wasm build) against `splade export-query` (the native
// CLI): the same request text, byte for byte, for every engine format and a few hostile queries;
// bad formats and options throw Errors.
import { execFileSync } from "node:child_process";
import { checker } from "./check.mjs";
import { loadFolder } from "./fs-folder.mjs";
import { CLI } from "./native.mjs";

const { SparseEncoder } = await import("../../pkg/index.js");

const MODEL = "models/splade-tiny";
const FORMATS = ["opensearch", "opensearch-sparse-vector", "elasticsearch", "qdrant", "milvus", "pgvector", "jsonl"];
const QUERIES = [
  "Which planet is known as the Red Planet?",
  "U.S. policy... on 3.5% rates; \"quoted\" \\ back-slash ' apostrophe",
  "naïve café — 東京 emoji 🚀",
  "",
];

const t = checker("engine-query");
const encoder = await SparseEncoder.fromFiles(await loadFolder(MODEL));

function cli(format, text, extra = []) {
  const args = ["export-query", "--model", MODEL, "--format", format, "--text", text, ...extra];
  return execFileSync(CLI, args, { encoding: "utf8" }).replace(/\n$/, "");
}

for (const format of FORMATS) {
  for (const [i, text] of QUERIES.entries()) {
    const js = encoder.engineQuery(text, format);
    const native = cli(format, text);
    t.check(`${format} query ${i} equals the CLI`, js === native, `js ${js}\ncli ${native}`);
    if (format !== "pgvector") {
      let parsed = null;
      try {
        parsed = JSON.parse(js);
      } catch (e) {
        parsed = e;
      }
      t.check(`${format} query ${i} is JSON`, parsed !== null && !(parsed instanceof Error), String(parsed));
    }
  }
}

const options = { k: 25, index: "passages", field: "splade" };
for (const format of ["opensearch", "qdrant", "milvus", "pgvector"]) {
  const js = encoder.engineQuery(QUERIES[0], format, options);
  const native = cli(format, QUERIES[0], ["-k", "25", "--index", "passages", "--field", "splade"]);
  t.check(`${format} with k, index and field equals the CLI`, js === native, `js ${js}\ncli ${native}`);
}

const opensearch = JSON.parse(encoder.engineQuery(QUERIES[0], "opensearch"));
const tokens = opensearch.query.neural_sparse.embedding.query_tokens;
const q = encoder.encodeQuery(QUERIES[0]);
const strings = encoder.tokenStrings(q.indices);
t.check(
  "opensearch query_tokens are the query vector by WordPiece string",
  Object.keys(tokens).length === q.indices.length &&
    strings.every((s, i) => Math.abs(tokens[s] - q.values[i]) <= 1e-7 * Math.abs(q.values[i])),
  JSON.stringify(tokens),
);

function throwsError(name, f, pattern) {
  try {
    f();
    t.check(name, false, "did not throw");
  } catch (e) {
    t.check(name, e instanceof Error && pattern.test(e.message), String(e?.message ?? e));
  }
}
throwsError("an unknown format throws", () => encoder.engineQuery("x", "solr"), /unknown export format `solr`/);
throwsError("vespa has no query shape", () => encoder.engineQuery("x", "vespa"), /no query shape for vespa/);
throwsError("k must be a positive integer", () => encoder.engineQuery("x", "qdrant", { k: 2.5 }), /k must be/);
throwsError("an index name with SQL in it throws", () => encoder.engineQuery("x", "pgvector", { index: "d; DROP" }), /index name/);

encoder.free();
t.finish();

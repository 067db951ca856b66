// The reference model's size in wasm (issue 13): a doc-v3-gte-sized random GTE model as f32 and
// q8_0 packs, docs/s for 128- and 512-token passages with 1 and N workers (one Node process per
// worker, each its own wasm instance, as browser workers are), the peak wasm memory per worker and
// in total, and one 8,192-token document's time and memory:
//   node bench/fullsize.mjs [--workers N] [--limit PASSAGES] [--formats f32,q8_0] [--no-long]
// Needs the native CLI (target/release/splade, or SPLADE_BIN) and pkg/ (./build.sh wasm). The
// model and packs are written once into .cache/fullsize/. Prints JSON lines, then a table.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const workers = Number(option("workers", 2));
const limit = Number(option("limit", 16));
const formats = option("formats", "f32,q8_0").split(",");
const bin = process.env.SPLADE_BIN ?? path.join(ROOT, "target/release/splade");
const dir = path.join(ROOT, ".cache/fullsize");
const model = path.join(dir, "gte-base-random");
const mib = (bytes) => Math.round(bytes / 2 ** 20);
mkdirSync(dir, { recursive: true });

if (!existsSync(path.join(model, "config.json"))) {
  execFileSync(bin, ["random-model", "--architecture", "gte", "--max-positions", "8192", "--tokenizer", path.join(ROOT, "models/splade-tiny/tokenizer.json"), model], { stdio: "inherit" });
}
const pack = (format) => {
  const file = path.join(dir, `gte-base-random-${format}.gguf`);
  if (!existsSync(file)) {
    execFileSync(bin, ["convert", model, file, "--dtype", format], { stdio: "inherit" });
  }
  return file;
};

// 512-token passages: four of the 128-token baseline passages each, so both lengths read the same text.
const short = JSON.parse(readFileSync(path.join(ROOT, "../shared/baselines/passages-128.json"), "utf8"));
const long = Array.from({ length: Math.floor(short.length / 4) }, (_, i) => short.slice(4 * i, 4 * i + 4).join(" "));
const passageFiles = { 128: path.join(dir, "passages-128.json"), 512: path.join(dir, "passages-512.json") };
writeFileSync(passageFiles[128], JSON.stringify(short));
writeFileSync(passageFiles[512], JSON.stringify(long));

function node(script, arg) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, script), arg], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1))) : reject(new Error(`${script} exited with ${code}`))));
  });
}

const rows = [];
for (const format of formats) {
  const file = pack(format);
  for (const tokens of [128, 512]) {
    for (const n of [...new Set([1, workers])]) {
      // Each worker encodes its own share of the passages, all at once.
      const cfg = { pack: file, passages: passageFiles[tokens], passageTokens: tokens, limit: Math.ceil(limit / (tokens / 128)), batch: 4, reps: 1, documentReps: 0, queryCalls: 0 };
      const results = await Promise.all(Array.from({ length: n }, () => node("bench/node-wasm.mjs", JSON.stringify(cfg))));
      const row = {
        format,
        pack_mib: mib(readFileSync(file).length),
        tokens,
        workers: n,
        docs_per_s: results.reduce((s, r) => s + r.docs_per_s, 0),
        wasm_mib_per_worker: Math.max(...results.map((r) => mib(r.wasm_bytes))),
        wasm_mib_total: results.reduce((s, r) => s + mib(r.wasm_bytes), 0),
        rss_mib_total: results.reduce((s, r) => s + mib(r.max_rss_bytes), 0),
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  }
}
if (!args.includes("--no-long")) {
  const text = path.join(dir, "long-document.json");
  if (!existsSync(text)) {
    // PEP sections until well past 8,192 tokens; the encoder truncates to the model's window.
    const lines = readFileSync(path.join(ROOT, "../shared/data/python-peps/corpus.jsonl"), "utf8").split("\n");
    const texts = [];
    for (let i = 0, chars = 0; chars < 60_000; i++) {
      const t = JSON.parse(lines[i]).text;
      texts.push(t);
      chars += t.length;
    }
    writeFileSync(text, JSON.stringify({ text: texts.join("\n\n") }));
  }
  for (const format of formats) {
    const long = await node("bench/long-document-memory.mjs", JSON.stringify({ pack: pack(format), text }));
    console.log(JSON.stringify({ format, ...long }));
  }
}

console.log("\n| pack | tokens | workers | docs/s | wasm MiB per worker | wasm MiB total | RSS MiB total |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.format} (${r.pack_mib} MiB) | ${r.tokens} | ${r.workers} | ${r.docs_per_s.toFixed(2)} | ${r.wasm_mib_per_worker} | ${r.wasm_mib_total} | ${r.rss_mib_total} |`);
}
for (const format of formats) {
  const at = (tokens) => rows.find((r) => r.format === format && r.tokens === tokens && r.workers === 1)?.docs_per_s;
  if (at(128) && at(512)) {
    console.log(`${format}: one 512-token passage costs ${(at(128) / (4 * at(512))).toFixed(2)}× four 128-token passages`);
  }
}

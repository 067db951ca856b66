// The static-site runtime (js/site/) in Node against a small bundle built here with the native CLI:
// the same hits, scores, files and bytes as `splade site search`; caching; and a clear Error for every
// kind of broken bundle (missing, truncated, corrupt, another build, another model, HTML, a stall).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { createStaticSearch } from "../../js/site/index.js";
import { ROOT } from "./fs-folder.mjs";
import { startServer } from "../../tools/serve.mjs";

export const QUERIES = [
  "how do decorators work",
  "What is a PEP?",
  "style guide naming conventions for classes",
  "async await coroutines",
  "type hints for functions",
  "the walrus operator := assignment expressions",
  "unicode identifiers",
  "garbage collection and reference counting",
  "f-strings formatting",
  "pattern matching match statement",
  "Zen of Python",
  "deprecate distutils",
  "GIL removal free threading",
  "package versioning scheme",
  "pip install dependencies",
  "naïve café Σίσυφος 中文",
  "<script>alert(1)</script>",
  "x",
];

export function spladeBinary() {
  const candidates = [process.env.SPLADE_BIN, "target/release/splade"].filter(Boolean);
  const found = candidates.map((p) => path.resolve(ROOT, p)).find((p) => existsSync(p));
  if (!found) {
    throw new Error("target/release/splade is missing: run ./build.sh build (or set SPLADE_BIN)");
  }
  return found;
}

// Records the tests index: a slice of the PEP corpus plus pages with hostile titles, text and URLs.
export const HOSTILE = [
  {
    id: "xss-1",
    title: '<img src=x onerror="document.title=\'pwned\'"> decorators <script>window.pwned=1</script>',
    url: "javascript:document.title='pwned'",
    text: 'Decorators wrap functions. <img src=x onerror="document.title=\'pwned\'"> <b>bold</b> &amp; <a href="javascript:alert(1)">link</a>',
  },
  {
    id: "xss-2",
    title: "</li><li>forged result",
    url: "data:text/html,<script>alert(1)</script>",
    text: "A decorator is applied with the @ syntax before a function definition.",
  },
];

function corpusSlice(count) {
  const lines = gunzipSync(readFileSync(path.join(ROOT, "data/python-peps.jsonl.gz"))).toString("utf8").split("\n");
  return lines.filter(Boolean).slice(0, count).map((line) => JSON.parse(line));
}

/**
 * Builds a bundle of `count` PEP passages + the hostile pages into `dir/name`; small shards and
 * fragments; `args`: more `site build` options. Builds share one vector cache in `dir`, so a second
 * build of the same passages encodes nothing.
 */
export function buildTestBundle(dir, { count = 400, extra = [], name = "bundle", args = [] } = {}) {
  const input = path.join(dir, "input.jsonl");
  const records = [...corpusSlice(count), ...HOSTILE, ...extra];
  writeFileSync(input, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const out = path.join(dir, name);
  execFileSync(
    spladeBinary(),
    ["site", "build", "--model", "models/splade-tiny", "--input", input, "--out", out, "--shard-bytes", "4096", "--passages-per-fragment", "4", "--cache", path.join(dir, "vectors.cache"), ...args],
    { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
  );
  return out;
}

function nativeSearch(bundle, query, k = 10) {
  const out = execFileSync(spladeBinary(), ["site", "search", bundle, query, "--k", String(k)], { cwd: ROOT, encoding: "utf8" });
  return JSON.parse(out);
}

async function rejects(promise, ms = 10_000) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ hung: true }), ms);
  });
  try {
    const value = await Promise.race([promise.then(() => ({ resolved: true })), timeout]);
    return value.hung ? "hung" : "resolved";
  } catch (err) {
    return err instanceof Error ? err.message : `non-Error ${err}`;
  } finally {
    clearTimeout(timer);
  }
}

function rewriteGz(file, edit) {
  writeFileSync(file, gzipSync(edit(new Uint8Array(gunzipSync(readFileSync(file)))), { level: 9 }));
}

export async function runtimeChecks(c, work) {
  const bundle = buildTestBundle(work);
  const manifest = JSON.parse(readFileSync(path.join(bundle, "manifest.json"), "utf8"));
  c.info(`test bundle: ${manifest.passages} passages, ${manifest.shards.count} shards, ${manifest.fragments.count} fragments`);
  const server = await startServer(work);
  const url = `${server.url}bundle/`;
  try {
    // Parity with the native reader, cold (files and bytes) and with a warm cache (hits).
    const warm = await createStaticSearch(url);
    let equal = 0;
    const diffs = [];
    for (const query of QUERIES) {
      const native = nativeSearch(bundle, query);
      const cold = await createStaticSearch(url);
      const got = await cold.search(query, { k: 10 });
      const again = await warm.search(query, { k: 10 });
      const mine = got.hits.map((h) => ({ id: h.id, n: h.n, score: h.score }));
      const same =
        JSON.stringify(mine) === JSON.stringify(native.hits) &&
        JSON.stringify(again.hits.map((h) => ({ id: h.id, n: h.n, score: h.score }))) === JSON.stringify(native.hits) &&
        got.fetched.files === native.files &&
        got.fetched.bytes === native.bytes;
      if (same) equal++;
      else diffs.push(`${query}: js ${JSON.stringify(mine).slice(0, 300)} files ${got.fetched.files}/${got.fetched.bytes}; native ${JSON.stringify(native).slice(0, 300)}`);
    }
    c.check(`runtime: ${QUERIES.length} queries equal \`splade site search\` (ids, scores, files, bytes)`, equal === QUERIES.length, diffs.join("\n"));
    await splitListChecks(c, work, server);

    const s = await createStaticSearch(url);
    const first = await s.search("python decorators", { k: 5 });
    const repeat = await s.search("python decorators", { k: 5 });
    const refine = await s.search("python decorators syntax", { k: 5 });
    c.check("runtime: a repeated query fetches nothing", first.fetched.files > 0 && repeat.fetched.files === 0, JSON.stringify(repeat.fetched));
    const newShards = new Set(s.encode("python decorators syntax").map((t) => t.id)).size > new Set(s.encode("python decorators").map((t) => t.id)).size;
    c.check("runtime: refining a query fetches only what is new", newShards && refine.fetched.files <= 1 + 5, JSON.stringify(refine.fetched));
    const hit = first.hits.find((h) => h.id.startsWith("pep-"));
    c.check(
      "runtime: hits carry title, url, excerpt highlights and why-terms",
      hit && hit.title && hit.url.startsWith("https://") && hit.excerpt.highlights.length > 0 && hit.terms.length > 0 &&
        hit.terms.every((t) => t.contribution > 0) &&
        Math.abs(hit.terms.reduce((a, t) => a + t.contribution, 0) - hit.score) < 1e-9 * Math.max(1, hit.score),
      JSON.stringify(hit).slice(0, 600),
    );
    const marked = hit.excerpt.highlights.map(([a, b]) => hit.excerpt.text.slice(a, b).toLowerCase());
    c.check("runtime: highlights mark the query's words", marked.some((w) => w.startsWith("decorator") || w === "python"), marked.join(","));
    const empty = await s.search("", { k: 5 });
    c.check("runtime: an empty query has no hits and fetches nothing", empty.hits.length === 0 && empty.fetched.files === 0);
    c.check("runtime: k = 0 gives no hits", (await s.search("decorators", { k: 0 })).hits.length === 0);

    await brokenBundleChecks(c, work, bundle, server);
  } finally {
    await server.close();
  }
}

// Split lists (heads of 24 postings, so many lists have tails): the same hits, scores, files and
// bytes as the native reader for k = 1 and 10, hence the same tail fetches and early stops.
async function splitListChecks(c, work, server) {
  const bundle = buildTestBundle(work, { name: "split", args: ["--head-postings", "24"] });
  const { tails } = JSON.parse(readFileSync(path.join(bundle, "manifest.json"), "utf8")).shards;
  c.check("split: the test bundle has tail files", tails > 20, String(tails));
  const diffs = [];
  let tailsFetched = 0;
  for (const k of [1, 10]) {
    for (const query of QUERIES) {
      const native = nativeSearch(bundle, query, k);
      const got = await (await createStaticSearch(`${server.url}split/`)).search(query, { k });
      const mine = got.hits.map((h) => ({ id: h.id, n: h.n, score: h.score }));
      const sum = got.hits.every((h) => Math.abs(h.terms.reduce((a, t) => a + t.contribution, 0) - h.score) < 1e-9 * Math.max(1, h.score));
      if (JSON.stringify(mine) !== JSON.stringify(native.hits) || got.fetched.files !== native.files || got.fetched.bytes !== native.bytes || !sum) {
        diffs.push(`k ${k} ${query}: js ${JSON.stringify(mine).slice(0, 200)} ${got.fetched.files}/${got.fetched.bytes}; native ${JSON.stringify(native).slice(0, 200)}`);
      }
      // More files than one shard per token plus one fragment per hit: some were tails.
      tailsFetched += Number(got.fetched.files > got.tokens.length + got.hits.length);
    }
  }
  c.check(`split: ${2 * QUERIES.length} searches equal \`splade site search\` (ids, scores, files, bytes; why-terms sum to the score)`, diffs.length === 0, diffs.join("\n"));
  c.check("split: some searches fetch tails", tailsFetched > 0, String(tailsFetched));
  const missing = path.join(work, "split-missing");
  rmSync(missing, { recursive: true, force: true });
  cpSync(bundle, missing, { recursive: true });
  const { count } = JSON.parse(readFileSync(path.join(bundle, "manifest.json"), "utf8")).shards;
  for (let n = count; n < count + tails; n++) unlinkSync(path.join(missing, "postings", `${n}.bin`));
  const message = await rejects(Promise.all(QUERIES.map(async (q) => (await createStaticSearch(`${server.url}split-missing/`)).search(q, { k: 10 }))));
  c.check("split: a missing tail file gives a clear Error", /shard \d+ .*is missing/.test(message), message);
}

async function brokenBundleChecks(c, work, bundle, server) {
  const probe = await createStaticSearch(`${server.url}bundle/`);
  const query = "python decorators";
  const ids = probe.encode(query).map((t) => t.id);
  const { firstToken, count } = probe.manifest.shards;
  const shardOf = (id) => firstToken.filter((f) => f <= id).length - 1;
  const needed = [...new Set(ids.map(shardOf))];
  const shardFile = (dir, n) => path.join(dir, probe.manifest.shards.path.replace("{n}", n));
  const target = needed[needed.length - 1];
  c.check("broken: the query needs a shard", needed.length > 0 && target < count);

  const variant = (name, edit) => {
    const dir = path.join(work, name);
    rmSync(dir, { recursive: true, force: true });
    cpSync(bundle, dir, { recursive: true });
    edit(dir);
    return `${server.url}${name}/`;
  };
  const searchError = async (base) => rejects((async () => (await createStaticSearch(base)).search(query))());

  const cases = [
    ["missing shard", variant("missing", (d) => unlinkSync(shardFile(d, target))), /shard \d+ .*is missing/],
    ["truncated gzip", variant("cut", (d) => writeFileSync(shardFile(d, target), readFileSync(shardFile(d, target)).subarray(0, 40))), /corrupt or truncated/],
    ["truncated body", variant("short", (d) => rewriteGz(shardFile(d, target), (b) => b.subarray(0, b.length - 3))), /truncated/],
    ["flipped byte", variant("flip", (d) => rewriteGz(shardFile(d, target), (b) => { b[b.length - 1] ^= 0x40; return b; })), /corrupt \(CRC-32/],
    ["another build", variant("other", (d) => rewriteGz(shardFile(d, target), (b) => { b[16] ^= 0xff; return b; })), /from another build/],
    ["HTML instead of a shard", variant("html", (d) => writeFileSync(shardFile(d, target), "<!doctype html><p>not found</p>")), /not a shard file/],
    ["another file's name", variant("swap", (d) => cpSync(shardFile(d, (target + 1) % count), shardFile(d, target))), /wrong name|from another build/],
    [
      "missing fragment",
      variant("nofrag", (d) => {
        for (let n = 0; n < probe.manifest.fragments.count; n++) unlinkSync(path.join(d, probe.manifest.fragments.path.replace("{n}", n)));
      }),
      /fragment \d+ .*is missing/,
    ],
  ];
  for (const [name, base, pattern] of cases) {
    const message = await searchError(base);
    c.check(`broken: ${name} gives a clear Error`, pattern.test(message), message);
  }

  const otherModel = variant("model", (d) => {
    const file = path.join(d, "manifest.json");
    const m = JSON.parse(readFileSync(file, "utf8"));
    m.model.fingerprint = `sha256:${"0".repeat(64)}`;
    writeFileSync(file, JSON.stringify(m));
  });
  const modelError = await rejects(createStaticSearch(otherModel));
  c.check("broken: a tokenizer of another model is refused", /another model/.test(modelError), modelError);
  const noBundle = await rejects(createStaticSearch(`${server.url}nowhere/`));
  c.check("broken: no bundle at the URL", /manifest is missing/.test(noBundle), noBundle);

  // A server that never answers: an Error after the timeout, not a hang.
  const stall = await startServer(work, { handler: (req) => req.url.includes("/postings/") });
  try {
    const s = await createStaticSearch(`${stall.url}bundle/`, { timeoutMs: 500 });
    const started = Date.now();
    const message = await rejects(s.search(query), 5000);
    c.check("broken: a stalled shard request fails after the timeout", /no answer in 0.5 s/.test(message) && Date.now() - started < 3000, message);
  } finally {
    await stall.close();
  }

  // After a failure the shard is fetched again: restoring it makes the same search work.
  const base = variant("retry", (d) => unlinkSync(shardFile(d, target)));
  const s = await createStaticSearch(base);
  const firstTry = await rejects(s.search(query));
  cpSync(shardFile(bundle, target), shardFile(path.join(work, "retry"), target));
  const second = await s.search(query).then((r) => r.hits.length, (e) => e.message);
  c.check("broken: a failed shard is retried by the next search", /missing/.test(firstTry) && second > 0, `${firstTry} / ${second}`);
}

/** A scratch folder for one test run. */
export function scratch() {
  return mkdtempSync(path.join(os.tmpdir(), "splade-site-"));
}

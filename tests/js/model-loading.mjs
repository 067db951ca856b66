// The browser model-loading path in headless Chromium: node tests/js/model-loading.mjs
//
// SparseEncoder.loadFolder / load from pkg/: byte progress, the Cache API (a hit on reload, offline),
// abort, and clear errors (404, an HTML page, a truncated download, a checksum mismatch, not a pack),
// none of which leave anything in the cache.
import { readFileSync } from "node:fs";
import path from "node:path";
import { startServer } from "../../tools/serve.mjs";
import { launchChromium, watchdog } from "./browser.mjs";
import { checker } from "./check.mjs";
import { ROOT } from "./fs-folder.mjs";

const MODEL = "dist/models/splade-tiny";
const PACK = "dist/models/splade-tiny-q8_0.gguf";
const packBytes = readFileSync(path.join(ROOT, PACK));
let packVersion = "Tue, 01 Jan 2030 00:00:00 GMT"; // Last-Modified of /faults/changed/pack.gguf

/** The pack with its format version (u32 after the key and its type tag) set to `version`. */
function packWithVersion(version) {
  const key = Buffer.from("splade.format_version");
  const at = packBytes.indexOf(key);
  const out = Buffer.from(packBytes);
  out.writeUInt32LE(version, at + key.length + 4);
  return out;
}
const MODEL_URL = `/${MODEL}/`;
const manifest = JSON.parse(readFileSync(path.join(ROOT, MODEL, "manifest.json"), "utf8"));
const modelBytes = manifest.files.reduce((n, f) => n + f.bytes, 0);

const cancelWatchdog = watchdog("loading", 6 * 60 * 1000);
const t = checker("loading");
const requests = [];

function realFile(rel) {
  return readFileSync(path.join(ROOT, MODEL, rel));
}

// Broken servers, by path prefix: /faults/<kind>/<model file>.
async function faults(req, res) {
  const url = new URL(req.url, "http://x");
  if (url.pathname.startsWith(`/${MODEL}/`)) {
    requests.push(url.pathname.slice(MODEL.length + 2));
  }
  if (url.pathname === `/${PACK}` || url.pathname.endsWith("/pack.gguf")) {
    requests.push(`${req.method} ${url.pathname}`);
  }
  const p = /^\/faults\/([a-z-]+)\/pack\.gguf$/.exec(url.pathname);
  if (p) {
    let body = packBytes;
    const headers = { "Content-Type": "application/octet-stream" };
    if (p[1] === "corrupt") {
      body = Buffer.from(packBytes);
      body[Math.floor(body.length * 0.6)] ^= 0x55;
    } else if (p[1] === "short") {
      body = packBytes.subarray(0, Math.floor(packBytes.length * 0.7));
    } else if (p[1] === "version") {
      body = packWithVersion(99);
    } else if (p[1] === "html-sniff") {
      body = Buffer.from("<!doctype html><html><body>Not Found</body></html>");
    } else if (p[1] === "changed") {
      headers["Last-Modified"] = packVersion;
    }
    headers["Content-Length"] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  }
  const m = /^\/faults\/([a-z-]+)\/(.+)$/.exec(url.pathname);
  if (!m) {
    return false;
  }
  const [, kind, rel] = m;
  const exists = manifest.files.some((f) => f.path === rel) || rel === "manifest.json";
  if (kind === "html") {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!doctype html><html><body><h1>Welcome</h1></body></html>");
    return true;
  }
  if (!exists) {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found");
    return true;
  }
  let body = rel === "manifest.json" ? Buffer.from(JSON.stringify(manifest)) : realFile(rel);
  if (kind === "badsha" && rel === "manifest.json") {
    const bad = structuredClone(manifest);
    bad.files.find((f) => f.path === "model.safetensors").sha256 = "0".repeat(64);
    body = Buffer.from(JSON.stringify(bad));
  }
  if (kind === "html-sniff" && rel === "model.safetensors") {
    body = Buffer.from("<!DOCTYPE html>\n<html><head><title>Error</title></head><body>Oops</body></html>");
  }
  if (kind === "truncated" && rel === "model.safetensors") {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length });
    res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.destroy(), 50));
    return true;
  }
  res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length });
  if (kind === "slow" && rel === "model.safetensors") {
    let at = 0;
    const step = () => {
      if (res.destroyed || at >= body.length) {
        res.end();
        return;
      }
      res.write(body.subarray(at, at + 262_144));
      at += 262_144;
      setTimeout(step, 40);
    };
    step();
    return true;
  }
  res.end(body);
  return true;
}

const server = await startServer(ROOT, { handler: faults });
let browser = null;
try {
  browser = await launchChromium();
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (err) => t.check("no page errors", false, err.message));
  await page.goto(new URL("tests/js/harness.html", server.url).href);

  const load = (url, options = {}) =>
    page.evaluate(
      async ({ url, options }) => {
        const { SparseEncoder } = await import("/pkg/index.js");
        const events = [];
        const controller = new AbortController();
        try {
          const enc = await SparseEncoder[options.pack ? "load" : "loadFolder"](url, {
            cacheName: options.cacheName,
            signal: controller.signal,
            onProgress: (p) => {
              events.push(p);
              if (options.abortAfter != null && p.loaded > options.abortAfter) {
                controller.abort();
              }
            },
          });
          const q = enc.encodeQuery("Which planet is known as the Red Planet?");
          enc.free();
          return { ok: true, events, queryTerms: q.indices.length };
        } catch (err) {
          return { ok: false, events, name: err?.name, message: String(err?.message ?? err) };
        }
      },
      { url, options },
    );
  const cached = (cacheName) =>
    page.evaluate(async (name) => (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname), cacheName);

  // ---- progress, then a cache hit on reload, then offline ----
  requests.length = 0;
  const first = await load(MODEL_URL, { cacheName: "t-progress" });
  t.check("loads the model folder", first.ok && first.queryTerms > 0, first.message);
  const last = first.events.at(-1);
  t.info(`${first.events.length} progress events, last ${JSON.stringify(last)}`);
  t.check("reports byte progress", first.events.length >= 3 && last.loaded === last.total && last.total >= modelBytes, JSON.stringify(last));
  t.check(
    "progress never goes back",
    first.events.every((e, i) => i === 0 || (e.loaded >= first.events[i - 1].loaded && e.loaded <= (e.total ?? Infinity))),
  );
  t.check("the first load is a download", last.fromCache === false);
  t.check("every model file was fetched once", manifest.files.every((f) => requests.filter((r) => r === f.path).length === 1), requests.join(","));
  const keys = await cached("t-progress");
  t.check("the files are in the Cache API", manifest.files.every((f) => keys.includes(`${MODEL_URL}${f.path}`)), keys.join(","));

  await page.reload();
  requests.length = 0;
  const again = await load(MODEL_URL, { cacheName: "t-progress" });
  t.check("reload: loads from the cache", again.ok && again.events.at(-1)?.fromCache === true, JSON.stringify(again.events.at(-1)));
  t.check("reload: no model file is downloaded again", requests.every((r) => r === "manifest.json"), requests.join(","));

  await context.setOffline(true);
  const offline = await load(MODEL_URL, { cacheName: "t-progress" });
  t.check("offline: loads from the cache", offline.ok && offline.events.at(-1)?.fromCache === true, offline.message);
  await context.setOffline(false);

  // ---- a pack: progress, cache hit (a HEAD request only), a changed pack downloaded again ----
  requests.length = 0;
  const pack = await load(`/${PACK}`, { cacheName: "t-pack-ok", pack: true });
  t.check("loads a model pack", pack.ok && pack.queryTerms > 0, pack.message);
  const packLast = pack.events.at(-1);
  t.check("pack: byte progress up to its size", packLast?.loaded === packBytes.length && packLast?.total === packBytes.length, JSON.stringify(packLast));
  await page.reload();
  requests.length = 0;
  const packAgain = await load(`/${PACK}`, { cacheName: "t-pack-ok", pack: true });
  t.check("pack: reload loads from the cache", packAgain.ok && packAgain.events.at(-1)?.fromCache === true);
  t.check("pack: reload only asks whether it changed (HEAD)", requests.join(",") === `HEAD /${PACK}`, requests.join(","));
  await context.setOffline(true);
  const packOffline = await load(`/${PACK}`, { cacheName: "t-pack-ok", pack: true });
  t.check("pack: offline loads from the cache", packOffline.ok && packOffline.events.at(-1)?.fromCache === true, packOffline.message);
  await context.setOffline(false);
  await load("/faults/changed/pack.gguf", { cacheName: "t-pack-changed", pack: true });
  packVersion = "Wed, 02 Jan 2030 00:00:00 GMT";
  requests.length = 0;
  const changed = await load("/faults/changed/pack.gguf", { cacheName: "t-pack-changed", pack: true });
  t.check("pack: a pack changed on the server is downloaded again", changed.ok && changed.events.at(-1)?.fromCache === false && requests.includes("GET /faults/changed/pack.gguf"), requests.join(","));

  // ---- abort ----
  const aborted = await load("/faults/slow/", { cacheName: "t-abort", abortAfter: 1_000_000 });
  t.check("abort rejects with an AbortError", !aborted.ok && aborted.name === "AbortError", `${aborted.name}: ${aborted.message}`);
  t.check("an aborted download is not cached", (await cached("t-abort")).length === 0, (await cached("t-abort")).join(","));

  // ---- errors ----
  const missing = await load("/no/such/model/", { cacheName: "t-404" });
  t.check("a missing folder: clear error", !missing.ok && /no model files found/.test(missing.message), missing.message);
  const missingPack = await load("/no/such/model.gguf", { cacheName: "t-404", pack: true });
  t.check("a missing pack: HTTP 404 error", !missingPack.ok && /HTTP 404/.test(missingPack.message), missingPack.message);
  const html = await load("/faults/html/", { cacheName: "t-html" });
  t.check("an HTML page instead of a model: clear error", !html.ok && /HTML page/.test(html.message), html.message);
  const sniff = await load("/faults/html-sniff/", { cacheName: "t-html" });
  t.check("an HTML body with a binary type: clear error", !sniff.ok && /HTML page/.test(sniff.message), sniff.message);
  const truncated = await load("/faults/truncated/", { cacheName: "t-trunc" });
  t.check("a truncated download: clear error", !truncated.ok && /cut off|truncated/.test(truncated.message), truncated.message);
  const badsha = await load("/faults/badsha/", { cacheName: "t-sha" });
  t.check("a corrupt download (sha256): clear error", !badsha.ok && /sha256/.test(badsha.message), badsha.message);
  const notPack = await load("/faults/ok/tokenizer.json", { cacheName: "t-pack", pack: true });
  t.check("a file that is not a pack: clear error", !notPack.ok && /not a model pack/.test(notPack.message), notPack.message);
  const corrupt = await load("/faults/corrupt/pack.gguf", { cacheName: "t-pack", pack: true });
  t.check("a corrupt pack (content hash): clear error", !corrupt.ok && /hash|sha-?256|corrupt/i.test(corrupt.message), corrupt.message);
  const short = await load("/faults/short/pack.gguf", { cacheName: "t-pack", pack: true });
  t.check("a truncated pack: clear error", !short.ok && /truncat/i.test(short.message), short.message);
  const version = await load("/faults/version/pack.gguf", { cacheName: "t-pack", pack: true });
  t.check("a pack of an unknown version: clear error", !version.ok && /version/i.test(version.message), version.message);
  const packHtml = await load("/faults/html-sniff/pack.gguf", { cacheName: "t-pack", pack: true });
  t.check("an HTML page instead of a pack: clear error", !packHtml.ok && /HTML page/.test(packHtml.message), packHtml.message);
  // Another origin (a second server: another port) that sends no Access-Control-Allow-Origin header.
  const otherOrigin = await startServer(ROOT);
  try {
    const cors = await load(new URL(PACK, otherOrigin.url).href, { cacheName: "t-cors", pack: true });
    t.check("a model on another origin without CORS: the error names CORS", !cors.ok && /CORS/.test(cors.message) && cors.message.includes(new URL(otherOrigin.url).origin), cors.message);
  } finally {
    await otherOrigin.close();
  }
  t.info(`pack errors: ${[corrupt, short, version].map((r) => r.message).join(" | ")}`);
  for (const name of ["t-404", "t-html", "t-trunc", "t-sha", "t-pack", "t-cors"]) {
    const left = await cached(name);
    t.check(`nothing cached after a failed load (${name})`, left.length === 0, left.join(","));
  }
} catch (err) {
  t.check("loading harness", false, err?.stack ?? String(err));
} finally {
  await browser?.close();
  await server.close();
}
cancelWatchdog();
t.finish();

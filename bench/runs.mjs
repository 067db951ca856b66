// The three kinds of run, each one round of one configuration: native (`splade bench`, a process
// per round), wasm in Node (bench/node-wasm.mjs, a process per round) and wasm in headless Chromium
// (bench/page.html in a fresh browser context per round, served by tools/serve.mjs).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { chromiumPath } from "../tests/js/browser.mjs";
import { startServer } from "../tools/serve.mjs";
import { DOCUMENT_FILE, MiB, PASSAGES_FILE, QUERY, ROOT } from "./inputs.mjs";
import { rendererPeakBytes } from "./machine.mjs";
import { listFolder } from "./models.mjs";

// `splade bench` measures batch "all" (encode_documents, batched internally by length) and one by
// one (batch 1); one process per round, so that we can report medians as for the other lines.
export function runNativeOnce({ model, threads, limit }) {
  let passagesFile = PASSAGES_FILE;
  if (limit) {
    mkdirSync(path.join(ROOT, ".cache/bench"), { recursive: true });
    passagesFile = path.join(ROOT, ".cache/bench", `passages-${limit}.json`);
    writeFileSync(passagesFile, JSON.stringify(JSON.parse(readFileSync(PASSAGES_FILE, "utf8")).slice(0, limit)));
  }
  const res = spawnSync(
    path.join(ROOT, "target/release/splade"),
    [
      "bench",
      "--model", model,
      "--passages", passagesFile,
      "--document", DOCUMENT_FILE,
      "--repeat", "1",
      "--query", QUERY,
    ],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, RAYON_NUM_THREADS: String(threads) } },
  );
  if (res.status !== 0) throw new Error(`splade bench failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split("\n").pop());
}

export function runNodeOnce({ model, pack, batch, reps, limit, document, query }) {
  const cfg = {
    model,
    pack,
    passages: PASSAGES_FILE,
    document: document ? DOCUMENT_FILE : null,
    batch,
    reps,
    limit,
    documentReps: document ? 5 : 0,
    query: query ? QUERY : null,
  };
  const res = spawnSync(process.execPath, [path.join(ROOT, "bench/node-wasm.mjs"), JSON.stringify(cfg)], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 * MiB,
  });
  if (res.status !== 0) throw new Error(`node-wasm failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split("\n").pop());
}

/**
 * The repository served with the benchmark's extra `mounts`, and Chromium launched as a server so
 * that its renderers' memory can be read. The returned context runs Chromium rounds; `close` ends
 * both.
 */
export async function startChromium(mounts, { webgpu = false } = {}) {
  const server = await startServer(ROOT, { mounts });
  // The same flags as tests/js/browser.mjs (no network: stop Chromium's background connections).
  const browserServer = await chromium.launchServer({
    executablePath: chromiumPath(),
    headless: true,
    timeout: 60_000,
    args: [
      "--headless", "--no-sandbox", "--no-first-run", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-quic",
      // WebGPU lines: headless Chromium's only adapter here is SwiftShader (software).
      ...(webgpu ? ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"] : []),
    ],
  });
  const browser = await chromium.connect(browserServer.wsEndpoint());
  const tokenizerFiles = Object.fromEntries(
    listFolder(path.join(ROOT, "models/splade-tiny")).map((rel) => [rel, serverUrl(server, `/models/splade-tiny/${rel}`)]),
  );
  return {
    browser,
    server,
    browserPid: browserServer.process().pid,
    tokenizerFiles,
    version: browser.version(),
    close: async () => {
      await browser.close();
      await browserServer.close();
      await server.close();
    },
  };
}

/** The address of `urlPath` (absolute, e.g. a mount's "/@baselines/…") on the static server. */
export function serverUrl(server, urlPath) {
  return new URL(urlPath, server.url).href;
}

export async function runChromium(ctx, cfg) {
  const context = await ctx.browser.newContext();
  try {
    const page = await context.newPage();
    page.on("pageerror", (err) => console.log(`  [page error] ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error" || process.env.BENCH_VERBOSE) console.log(`  [page] ${msg.text()}`);
    });
    await page.goto(serverUrl(ctx.server, "/bench/page.html"));
    await page.waitForFunction(() => window.benchReady === true);
    const result = await page.evaluate((c) => window.runConfig(c), cfg);
    result.renderer_peak_rss_bytes = rendererPeakBytes(ctx.browserPid);
    return result;
  } finally {
    await context.close();
  }
}

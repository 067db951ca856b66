// The npm package in bundled apps: node tests/js/bundlers.mjs
//
// tests/bundlers/app (the README's example as a page) is built for production by Vite and by webpack 5
// (pinned devDependencies) against a copy of pkg/ installed as node_modules/splade-wasm, then run in
// headless Chromium: the encoder workers must start (a bundler that drops the worker's imports makes the
// pool fall back to the page), search must work, and the console must stay free of errors.
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../tools/serve.mjs";
import { launchChromium, watchdog } from "./browser.mjs";
import { checker } from "./check.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const WORK = path.join(ROOT, ".cache/bundlers");
const APP = path.join(ROOT, "tests/bundlers/app");
const MODEL = path.join(ROOT, "dist/models/splade-tiny-q8_0.gguf");

const t = checker("bundlers");
const cancel = watchdog("bundlers", 10 * 60_000);

/** A project folder with the app's sources and the package installed from pkg/. */
function project(name) {
  const dir = path.join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "node_modules"), { recursive: true });
  cpSync(APP, path.join(dir, "src"), { recursive: true });
  cpSync(path.join(ROOT, "pkg"), path.join(dir, "node_modules/splade-wasm"), { recursive: true });
  return dir;
}

async function buildVite() {
  const { build } = await import("vite");
  const dir = project("vite");
  await build({
    root: path.join(dir, "src"),
    configFile: false,
    logLevel: "error",
    resolve: { preserveSymlinks: false },
    build: { outDir: path.join(dir, "out"), emptyOutDir: true },
  });
  return path.join(dir, "out");
}

async function buildWebpack() {
  const { default: webpack } = await import("webpack");
  const dir = project("webpack");
  const out = path.join(dir, "out");
  const stats = await new Promise((resolve, reject) => {
    webpack(
      {
        mode: "production",
        context: dir,
        entry: "./src/main.js",
        output: { path: out, filename: "main.js", clean: true },
        resolve: { modules: [path.join(dir, "node_modules")] },
        performance: { hints: false },
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
  if (stats.hasErrors()) {
    throw new Error(stats.toString({ all: false, errors: true }));
  }
  writeFileSync(path.join(out, "index.html"), '<!doctype html><meta charset="utf-8"><p id="out">loading…</p><script src="main.js"></script>\n');
  return out;
}

async function runInChromium(browser, label, out) {
  cpSync(MODEL, path.join(out, "splade-tiny-q8_0.gguf"));
  const server = await startServer(out);
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (msg) => {
    const favicon = /status of 404/.test(msg.text()) && msg.location()?.url?.endsWith("/favicon.ico");
    if ((msg.type() === "error" || msg.type() === "warning") && !favicon) {
      problems.push(`${msg.type()}: ${msg.text()}`);
    }
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (req) => problems.push(`request failed: ${req.url()}`));
  page.on("response", (res) => {
    // The browser asks for a favicon on its own; the app never does.
    if (res.status() >= 400 && !res.url().endsWith("/favicon.ico")) {
      problems.push(`HTTP ${res.status()}: ${res.url()}`);
    }
  });
  try {
    await page.goto(new URL("index.html", server.url).href);
    const result = await page.evaluate(() => window.appResult);
    t.check(`${label}: the app runs`, result != null && result.error == null, result?.error);
    t.check(`${label}: the encoder workers start`, result?.workers > 0 && result.workerFallback == null, JSON.stringify(result));
    t.check(`${label}: search works`, result?.best === "mars", result?.best);
    t.check(`${label}: no console error or warning`, problems.length === 0, problems.join(" | "));
    mkdirSync(path.join(ROOT, ".cache/screenshots"), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, `.cache/screenshots/bundled-${label.toLowerCase()}.png`) });
  } finally {
    await page.close();
    await server.close();
  }
}

const browser = await launchChromium();
try {
  for (const [label, build] of [
    ["Vite", buildVite],
    ["webpack", buildWebpack],
  ]) {
    let out = null;
    try {
      out = await build();
      t.check(`${label}: production build`, true);
      const files = readdirSync(out, { recursive: true }).map(String);
      // The worker is a chunk of its own (with its imports), not inlined into the page's bundle.
      const scripts = files.filter((f) => f.endsWith(".js"));
      t.check(`${label}: the worker is emitted as a chunk of its own`, scripts.length >= 2, files.join(", "));
    } catch (err) {
      t.check(`${label}: production build`, false, err?.stack ?? String(err));
      continue;
    }
    await runInChromium(browser, label, out);
  }
} finally {
  await browser.close();
  cancel();
}
t.finish();

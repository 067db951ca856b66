// The npm package in pkg/: node tests/js/npm-package.mjs
//
// Runs the README example (the block after "<!-- example: npm") in Node 20+ and in headless Chromium
// without a bundler (an import map), checks package.json, and that index.d.ts declares every export.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startServer } from "../../tools/serve.mjs";
import { launchChromium, watchdog } from "./browser.mjs";
import { checker } from "./check.mjs";
import { ROOT } from "./fs-folder.mjs";

const PKG = path.join(ROOT, "pkg");
// Async: the test's own server must keep answering while the example runs.
const run = promisify(execFile);
const PLACEHOLDER_URL = "https://example.com/models/splade-tiny-q8_0.gguf";
const MODEL_PATH = "models/splade-tiny-q8_0.gguf"; // in dist/

const cancelWatchdog = watchdog("package", 5 * 60 * 1000);
const t = checker("package");

function exampleFrom(file) {
  const text = readFileSync(file, "utf8");
  const m = /<!-- example: npm[^>]*-->\s*```js\n([\s\S]*?)```/.exec(text);
  return m ? m[1] : null;
}

function checkOutput(where, out) {
  const lines = out.trim().split("\n");
  t.check(`${where}: reports model download progress`, lines.some((l) => /^model: \d+ of \d+ bytes$/.test(l)), lines[0]);
  const best = lines.find((l) => !l.startsWith("model:") && !l.startsWith(" "));
  t.check(`${where}: the Mars document ranks first`, /^mars \d+\.\d\d$/.test(best ?? ""), best);
  t.check(`${where}: prints the explanation`, lines.some((l) => /^ {2}planet: \d+\.\d\d × \d+\.\d\d$/.test(l)), out);
  t.check(`${where}: saves the index`, lines.some((l) => /^saved \d+ bytes$/.test(l)), out);
  return best;
}

// ---- package.json and types ----
const pkgJson = JSON.parse(readFileSync(path.join(PKG, "package.json"), "utf8"));
t.check("package.json: ESM with types", pkgJson.type === "module" && pkgJson.types === "./index.d.ts" && pkgJson.exports?.["."]?.default === "./index.js");
const targets = Object.values(pkgJson.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e)));
t.check("package.json: every export target exists", targets.every((f) => existsSync(path.join(PKG, f))), targets.join(", "));
const listed = (pkgJson.files ?? []).filter((f) => !f.includes("*"));
t.check("package.json: every file in `files` is in the package", listed.every((f) => existsSync(path.join(PKG, f))), listed.join(", "));
const dts = readFileSync(path.join(PKG, "index.d.ts"), "utf8");
const declared = new Set([...dts.matchAll(/^export (?:declare )?(?:class|function|const|interface|type) (\w+)/gm)].map((m) => m[1]));
const exported = Object.keys(await import(path.join(PKG, "index.js")));
const undeclared = exported.filter((name) => !declared.has(name));
t.check("index.d.ts declares every export", undeclared.length === 0, undeclared.join(", "));
const ghost = [...declared].filter((n) => /^[a-z]|^[A-Z][A-Z_]+$|Error$|^[A-Z]\w*(Search|Encoder|Index|Pool|Store)$/.test(n) && !exported.includes(n));
t.check("index.d.ts declares nothing that is not exported", ghost.length === 0, ghost.join(", "));

// ---- the README example ----
const example = exampleFrom(path.join(ROOT, "README.md"));
t.check("README.md has the npm example", example != null && example.includes(PLACEHOLDER_URL));
t.check("the package README has the same example", exampleFrom(path.join(PKG, "README.md")) === example);

// ---- TypeScript: index.d.ts, tests/js/types/usage.ts and the README example under tsc --strict ----
const tsc = path.join(ROOT, "node_modules/.bin/tsc");
if (existsSync(tsc) && example) {
  const tsDir = mkdtempSync(path.join(os.tmpdir(), "splade-types-"));
  writeFileSync(path.join(tsDir, "example.ts"), `export {};\n${example}`);
  writeFileSync(
    path.join(tsDir, "tsconfig.json"),
    JSON.stringify({
      extends: path.join(ROOT, "tests/js/types/tsconfig.json"),
      files: [path.join(ROOT, "tests/js/types/usage.ts"), path.join(tsDir, "example.ts")],
      include: [],
    }),
  );
  try {
    await run(tsc, ["-p", tsDir], { encoding: "utf8", timeout: 120_000 });
    t.check("the types check (tsc --strict): index.d.ts, the API as used, the README example", true);
  } catch (err) {
    t.check("the types check (tsc --strict): index.d.ts, the API as used, the README example", false, `${err.stdout}${err.stderr}`);
  }
  rmSync(tsDir, { recursive: true, force: true });
} else {
  t.check("TypeScript is installed (npm ci)", false, tsc);
}

const server = await startServer(path.join(ROOT, "dist"), {
  handler: (req, res) => {
    if (req.url === "/__example.mjs") {
      res.writeHead(200, { "Content-Type": "text/javascript" });
      res.end(example.replace(PLACEHOLDER_URL, new URL(MODEL_PATH, serverUrl).href));
      return true;
    }
    if (req.url.startsWith("/pkg/") || req.url.startsWith("/tests/js/harness.html")) {
      const file = path.join(ROOT, req.url.split("?")[0]);
      if (existsSync(file)) {
        res.writeHead(200, {
          "Content-Type": file.endsWith(".wasm") ? "application/wasm" : file.endsWith(".html") ? "text/html" : "text/javascript",
        });
        res.end(readFileSync(file));
        return true;
      }
    }
    return false;
  },
});
const serverUrl = server.url;
let browser = null;
const tmp = mkdtempSync(path.join(os.tmpdir(), "splade-npm-"));
try {
  if (example) {
    // Node: the example as an app with the package installed under node_modules/splade-wasm.
    mkdirSync(path.join(tmp, "node_modules"));
    symlinkSync(PKG, path.join(tmp, "node_modules", "splade-wasm"), "dir");
    writeFileSync(path.join(tmp, "package.json"), JSON.stringify({ type: "module", private: true }));
    writeFileSync(path.join(tmp, "example.mjs"), example.replace(PLACEHOLDER_URL, new URL(MODEL_PATH, serverUrl).href));
    let out = "";
    try {
      out = (await run(process.execPath, ["example.mjs"], { cwd: tmp, encoding: "utf8", timeout: 120_000 })).stdout;
    } catch (err) {
      t.check("Node: the example runs", false, `${err.stdout}\n${err.stderr}`);
    }
    t.info(`Node ${process.version}: ${out.split("\n").filter((l) => !l.startsWith("model:")).join(" | ")}`);
    const nodeBest = checkOutput("Node", out);

    // Node: a model folder read from disk, and loading errors.
    writeFileSync(
      path.join(tmp, "disk.mjs"),
      `import { SparseEncoder, createSearch } from "splade-wasm";
const search = await createSearch({ model: ${JSON.stringify(path.join(ROOT, "models/splade-tiny") + "/")} });
await search.add([{ id: "a", text: "Mars is the red planet." }, { id: "b", text: "Bread needs flour." }]);
console.log(search.search("red planet")[0].id);
try { await SparseEncoder.load(${JSON.stringify(new URL("nope.gguf", serverUrl).href)}); } catch (err) { console.log(err.message); }
search.close();`,
    );
    let disk = "";
    try {
      disk = (await run(process.execPath, ["disk.mjs"], { cwd: tmp, encoding: "utf8", timeout: 120_000 })).stdout;
    } catch (err) {
      disk = `${err.stdout}\n${err.stderr}`;
    }
    t.check("Node: a model folder from disk", disk.split("\n")[0] === "a", disk);
    t.check("Node: a 404 gives a clear error", /HTTP 404/.test(disk), disk);

    // The static-site runtime through the package's exports ("splade-wasm/site"): its declared
    // exports are there, and its tokenizer runs (no DOM, no wasm needed).
    const siteDts = readFileSync(path.join(PKG, "site/index.d.ts"), "utf8");
    const siteDeclared = [...siteDts.matchAll(/^export (?:declare )?(?:class|function) (\w+)/gm)].map((m) => m[1]);
    writeFileSync(
      path.join(tmp, "site.mjs"),
      `import * as site from "splade-wasm/site";
const tokenizer = new site.WordPieceTokenizer({ vocab: ["[UNK]", "static", "search", "##es"], unkId: 0, continuingSubwordPrefix: "##", maxInputCharsPerWord: 100, normalizer: { clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: true }, addedTokens: [], maxTokens: 512 });
console.log(JSON.stringify({ exports: Object.keys(site).sort(), ids: tokenizer.encode("Static searches") }));`,
    );
    let siteOut = "";
    try {
      siteOut = (await run(process.execPath, ["site.mjs"], { cwd: tmp, encoding: "utf8", timeout: 60_000 })).stdout;
    } catch (err) {
      siteOut = `${err.stdout}\n${err.stderr}`;
    }
    let siteResult = null;
    try {
      siteResult = JSON.parse(siteOut);
    } catch {
      // reported below
    }
    t.check(
      'Node: "splade-wasm/site" exports what site/index.d.ts declares',
      siteResult != null && siteDeclared.length > 0 && siteDeclared.every((n) => siteResult.exports.includes(n)) && siteResult.exports.includes("createStaticSearch"),
      `${siteOut} vs ${siteDeclared}`,
    );
    t.check('Node: "splade-wasm/site" tokenizes', JSON.stringify(siteResult?.ids) === "[1,2,3]", siteOut);

    // Chromium, no bundler: the same code as a module script, "splade-wasm" mapped by an import map.
    browser = await launchChromium();
    const page = await browser.newPage();
    const lines = [];
    const errors = [];
    page.on("console", (msg) => (msg.type() === "error" ? errors.push(msg.text()) : lines.push(msg.text())));
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(new URL("tests/js/harness.html", serverUrl).href);
    await page.addScriptTag({ url: "/__example.mjs", type: "module" });
    await page.waitForFunction(() => true, null, { timeout: 1000 });
    const deadline = Date.now() + 120_000;
    while (!lines.some((l) => l.startsWith("saved ")) && errors.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    t.check("Chromium: the example runs without errors", errors.length === 0, errors.join(" | "));
    t.info(`Chromium ${browser.version()}: ${lines.filter((l) => !l.startsWith("model:")).join(" | ")}`);
    const browserBest = checkOutput("Chromium", lines.join("\n"));
    t.check("Node and Chromium agree", nodeBest != null && nodeBest === browserBest, `${nodeBest} vs ${browserBest}`);
  }
} catch (err) {
  t.check("package harness", false, err?.stack ?? String(err));
} finally {
  await browser?.close();
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
}
cancelWatchdog();
t.finish();

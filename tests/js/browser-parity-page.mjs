// Browser side of the parity suite; the Node runner injects window.__fixtureFiles = {dir: [relpath]}.
import init, { SparseEncoder } from "../../pkg/splade_wasm.js";
import { runAll } from "./parity.mjs";

const root = new URL("../../", import.meta.url);
const logEl = document.getElementById("log");

function log(line) {
  console.log(line);
  logEl.append(line + "\n");
}

async function fetchBytes(path) {
  const res = await fetch(new URL(path, root));
  if (!res.ok) {
    throw new Error(`GET ${path}: ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

function filesOf(dir) {
  const list = window.__fixtureFiles?.[dir];
  if (!list) {
    throw new Error(`no file list for ${dir}`);
  }
  return list;
}

async function loadFolder(dir) {
  const rels = filesOf(dir);
  const bytes = await Promise.all(rels.map((rel) => fetchBytes(`${dir}/${rel}`)));
  return Object.fromEntries(rels.map((rel, i) => [rel, bytes[i]]));
}

async function hasFile(dir, rel) {
  return window.__fixtureFiles?.[dir]?.includes(rel) ?? false;
}

async function main() {
  try {
    await init({ module_or_path: new URL("pkg/splade_wasm_bg.wasm", root) });
    window.__result = await runAll({ SparseEncoder, loadFolder, hasFile, log });
  } catch (err) {
    log(`harness error: ${err?.stack ?? err}`);
    window.__result = { passed: 0, failed: 1, failures: [{ name: "harness", message: String(err) }] };
  }
}

main();

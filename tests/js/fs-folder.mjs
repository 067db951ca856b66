// Node-side helpers to read a model folder (relative to the repo root) as {relpath: Uint8Array}.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function listFiles(dir) {
  const base = path.join(ROOT, dir);
  const out = [];
  const walk = (sub) => {
    for (const entry of readdirSync(path.join(base, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        walk(rel);
      } else if (entry.isFile()) {
        out.push(rel);
      }
    }
  };
  walk("");
  return out.sort();
}

export function readBytes(file) {
  const buf = readFileSync(path.join(ROOT, file));
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export async function loadFolder(dir) {
  return Object.fromEntries(listFiles(dir).map((rel) => [rel, readBytes(`${dir}/${rel}`)]));
}

export async function hasFile(dir, rel) {
  return existsSync(path.join(ROOT, dir, rel));
}

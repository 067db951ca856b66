// Joins js/site/'s ES modules into one module file, so a page loads the static-search runtime in one
// request: modules in dependency order, their relative imports and re-exports dropped, comment lines
// removed; only the names the entry re-exports stay exported. Fails when two modules declare the
// same top-level name (they would clash in one scope).
// Usage: node tools/site-bundle-js.mjs ENTRY.js OUT.js   (e.g. js/site/splade-search.js dist/site/splade-search.js)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [entry, out] = process.argv.slice(2);
if (!entry || !out) {
  console.error("usage: node tools/site-bundle-js.mjs ENTRY.js OUT.js");
  process.exit(2);
}

const IMPORT = /^(?:import|export)\s[^;]*?\sfrom\s+"(\.[^"]+)";\s*$/;
const order = [];
const seen = new Set();
function visit(file) {
  if (seen.has(file)) return;
  seen.add(file);
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = IMPORT.exec(line);
    if (m) visit(path.resolve(path.dirname(file), m[1]));
  }
  order.push(file);
}
visit(path.resolve(entry));

const exported = new Set();
for (const line of readFileSync(entry, "utf8").split("\n")) {
  const m = /^export\s*\{([^}]*)\}\s*from/.exec(line);
  for (const name of m ? m[1].split(",") : []) {
    exported.add(name.trim());
  }
}

const declared = new Map();
const parts = [];
for (const file of order) {
  const kept = [];
  for (let line of readFileSync(file, "utf8").split("\n")) {
    const trimmed = line.trim();
    if (IMPORT.test(line) || trimmed.startsWith("//") || trimmed.startsWith("/**") || trimmed.startsWith("* ") || trimmed === "*" || trimmed === "*/") {
      continue;
    }
    if (/^\s*import\s/.test(line) || /from\s+"\.\//.test(line)) {
      throw new Error(`${file}: an import this tool cannot join: ${line}`);
    }
    const decl = /^(?:export\s+)?(?:async\s+)?(?:const|let|class|function\*?)\s+([A-Za-z_$][\w$]*)/.exec(line);
    if (decl) {
      if (declared.has(decl[1])) {
        throw new Error(`${decl[1]} is declared in both ${declared.get(decl[1])} and ${file}`);
      }
      declared.set(decl[1], file);
      if (!exported.has(decl[1])) {
        line = line.replace(/^export\s+/, "");
      }
    }
    kept.push(line);
  }
  parts.push(kept.join("\n"));
}
mkdirSync(path.dirname(out), { recursive: true });
const banner = `// splade-wasm static search runtime: ${order.map((f) => path.basename(f)).join(", ")} joined by tools/site-bundle-js.mjs\n`;
writeFileSync(out, banner + parts.join("\n"));
console.log(`${out}: ${order.length} modules`);

// Summarises a V8 .cpuprofile (from `node --cpu-prof` or Chromium's DevTools): the functions with
// the most self time, wasm ones by their names from the name section; with a REGEX, also the
// inclusive time of the functions whose names match it (e.g. "splade_wasm|candle" for our layers).
//   node bench/profile-summary.mjs FILE.cpuprofile [TOP] [REGEX]
import { readFileSync } from "node:fs";

const [file, topArg, pattern] = process.argv.slice(2);
if (!file) {
  console.error("usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP]");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) {
  for (const c of n.children ?? []) parent.set(c, n.id);
}
const keyOf = (id) => {
  const { functionName, url } = byId.get(id).callFrame;
  const name = functionName || "(anonymous)";
  const where = url.startsWith("wasm://") ? "wasm" : url ? url.split("/").pop() : "";
  return `${name}\t${where}`;
};
const self = new Map();
const inclusive = new Map();
const re = pattern ? new RegExp(pattern) : null;
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const key = keyOf(id);
  self.set(key, (self.get(key) ?? 0) + dt);
  if (re) {
    const seen = new Set();
    for (let n = id; n != null; n = parent.get(n)) {
      const k = keyOf(n);
      if (!seen.has(k) && re.test(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
      }
    }
  }
});

// Demangles Rust legacy symbols (`_ZN4core3ptr...17h<hash>E`) enough to read them.
function demangle(name) {
  const m = name.match(/^_ZN(.*)E$/);
  if (!m) return name.replace(/::h[0-9a-f]{16}$/, "");
  const parts = [];
  let s = m[1];
  while (s.length) {
    const len = s.match(/^\d+/);
    if (!len) break;
    const n = Number(len[0]);
    parts.push(s.slice(len[0].length, len[0].length + n));
    s = s.slice(len[0].length + n);
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? "")) parts.pop();
  return parts.join("::").replace(/\$LT\$/g, "<").replace(/\$GT\$/g, ">").replace(/\$u20\$/g, " ")
    .replace(/\$RF\$/g, "&").replace(/\$C\$/g, ",").replace(/\.\./g, "::");
}

const print = (map) => {
  for (const [key, us] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [name, where] = key.split("\t");
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${where.padEnd(6)} ${demangle(name)}`);
  }
};
console.log(`total ${(total / 1e6).toFixed(2)} s sampled; self time:`);
print(self);
if (re) {
  console.log(`\ninclusive time of functions matching /${pattern}/:`);
  print(inclusive);
}

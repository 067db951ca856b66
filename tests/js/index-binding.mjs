// The SparseIndex wasm binding in Node: conversions, validation errors, save/load.
//   node tests/js/index-binding.mjs   (needs pkg/, built by ./build.sh wasm)
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { default: init, SparseIndex } = await import("../../pkg/splade_wasm.js");
await init({ module_or_path: readFileSync(path.join(ROOT, "pkg/splade_wasm_bg.wasm")) });

let passed = 0;
const failures = [];
function check(name, fn) {
  try {
    fn();
    passed++;
  } catch (err) {
    failures.push(`${name}: ${err?.message ?? err}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
function throws(fn, pattern) {
  try {
    fn();
  } catch (err) {
    assert(err instanceof Error, `threw a non-Error: ${err}`);
    assert(pattern.test(err.message), `message "${err.message}" does not match ${pattern}`);
    return;
  }
  throw new Error(`did not throw (expected ${pattern})`);
}
const json = (x) => JSON.stringify(x);

const u32 = (a) => Uint32Array.from(a);
const f32 = (a) => Float32Array.from(a);

check("add, has, size, ids, update, remove", () => {
  const index = new SparseIndex();
  index.add("a", u32([10, 20]), f32([1, 2]));
  index.add("b", u32([30, 20]), f32([1, 0.5])); // unsorted indices are fine
  index.add("c", u32([]), f32([]));
  assert(index.size === 3, `size ${index.size}`);
  assert(index.has("b") && !index.has("z"), "has");
  assert(json(index.ids()) === json(["a", "b", "c"]), json(index.ids()));
  index.add("a", u32([30]), f32([4])); // update
  assert(json(index.ids()) === json(["b", "c", "a"]), json(index.ids()));
  assert(index.remove("c") === true && index.remove("c") === false, "remove");
  assert(index.size === 2, `size ${index.size}`);
  index.free();
});

check("search returns plain {id, score} objects, best first", () => {
  const index = new SparseIndex();
  index.add("a", u32([10, 20]), f32([1, 2]));
  index.add("b", u32([20, 30]), f32([0.5, 1]));
  index.add("c", u32([40]), f32([1]));
  const hits = index.search(u32([20, 30]), f32([1, 3]), 10);
  assert(json(hits) === json([{ id: "b", score: 3.5 }, { id: "a", score: 2 }]), json(hits));
  assert(index.search(u32([20, 30]), f32([1, 3]), 1).length === 1, "k = 1");
  assert(index.search(u32([99]), f32([1]), 5).length === 0, "no match");
  assert(index.search(u32([20]), f32([1]), 0).length === 0, "k = 0");
  index.free();
});

check("explain lists contributions, largest first", () => {
  const index = new SparseIndex();
  index.add("mars", u32([100, 200, 500]), f32([2, 1, 0.5]));
  const terms = index.explain("mars", u32([100, 500, 900]), f32([1, 6, 3]));
  const want = [
    { tokenId: 500, queryWeight: 6, documentWeight: 0.5, contribution: 3 },
    { tokenId: 100, queryWeight: 1, documentWeight: 2, contribution: 2 },
  ];
  assert(json(terms) === json(want), json(terms));
  throws(() => index.explain("venus", u32([100]), f32([1])), /no document with id `venus`/);
  index.free();
});

check("invalid vectors and k are rejected with clear Errors", () => {
  const index = new SparseIndex();
  throws(() => index.add("x", u32([1, 2]), f32([1])), /2 indices and 1 values/);
  throws(() => index.add("x", u32([3, 3]), f32([1, 1])), /token 3 appears more than once/);
  throws(() => index.add("x", u32([4]), f32([NaN])), /token 4 is NaN.*finite/);
  throws(() => index.search(u32([1]), f32([Infinity]), 3), /finite/);
  throws(() => index.search(u32([1]), f32([1]), -1), /k must be a non-negative integer/);
  throws(() => index.search(u32([1]), f32([1]), 2.5), /k must be a non-negative integer/);
  assert(index.size === 0, "nothing added");
  index.free();
});

check("save / load round trip, corrupt input throws", () => {
  const index = new SparseIndex();
  for (let i = 0; i < 50; i++) {
    index.add(`notes/${i}.md#0`, u32([i % 7, 100 + i]), f32([1 + i, 0.5]));
  }
  index.remove("notes/3.md#0");
  const bytes = index.save();
  assert(bytes instanceof Uint8Array && bytes.length > 24, "save returns bytes");
  const loaded = SparseIndex.load(bytes);
  const q = [u32([3, 105]), f32([1, 2])];
  assert(json(loaded.search(...q, 5)) === json(index.search(...q, 5)), "same results");
  assert(json(loaded.ids()) === json(index.ids()), "same ids");
  throws(() => SparseIndex.load(bytes.slice(0, bytes.length - 3)), /truncated/);
  const flipped = bytes.slice();
  flipped[40] ^= 0x10;
  throws(() => SparseIndex.load(flipped), /corrupt/);
  throws(() => SparseIndex.load(new TextEncoder().encode("hello world, not an index")), /not a splade-wasm index/);
  const stats = loaded.stats();
  assert(stats.documents === 49 && stats.memoryBytes > 0, json(stats));
  loaded.free();
  index.free();
});

for (const f of failures) console.log(`  FAILED ${f}`);
console.log(`index-binding: ${passed} passed, ${failures.length} failed`);
process.exitCode = failures.length > 0 ? 1 : 0;

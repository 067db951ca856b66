// Runs the wasm parity suite in Node: node tests/js/node-parity.mjs
import { hasFile, loadFolder, readBytes } from "./fs-folder.mjs";
import { runAll } from "./parity.mjs";

const TIMEOUT_MS = 20 * 60 * 1000;

const watchdog = setTimeout(() => {
  console.error(`node: timed out after ${TIMEOUT_MS / 1000} s`);
  console.log("node: 0 passed, 1 failed");
  process.exit(1);
}, TIMEOUT_MS);

const started = Date.now();
let summary;
try {
  const { default: init, SparseEncoder } = await import("../../pkg/splade_wasm.js");
  await init({ module_or_path: readBytes("pkg/splade_wasm_bg.wasm") });
  summary = await runAll({ SparseEncoder, loadFolder, hasFile, log: (line) => console.log(line) });
} catch (err) {
  console.error(err);
  summary = { passed: 0, failed: 1, failures: [{ name: "harness", message: String(err) }] };
}
clearTimeout(watchdog);

if (summary.failures.length > 0) {
  console.log(`\n${summary.failures.length} failed checks:`);
  for (const { name } of summary.failures) {
    console.log(`  ${name}`);
  }
}
console.log(`node parity suite took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`node: ${summary.passed} passed, ${summary.failed} failed`);
process.exitCode = summary.failed > 0 ? 1 : 0;

// The static-site search stage (issue 12): node tests/js/site.mjs
// Tokenizer identity, runtime = native `splade site search`, broken bundles, the UI in Chromium.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { checker } from "./check.mjs";
import { watchdog } from "./browser.mjs";
import { browserChecks } from "./site-browser.mjs";
import { runtimeChecks, scratch } from "./site-runtime.mjs";
import { ROOT } from "./fs-folder.mjs";
import { tokenizerChecks } from "./site-tokenizer.mjs";

function typeChecks(c) {
  const tsc = path.join(ROOT, "node_modules/.bin/tsc");
  let out = "";
  try {
    execFileSync(tsc, ["-p", "tests/js/site-types/tsconfig.json"], { cwd: ROOT, encoding: "utf8" });
  } catch (err) {
    out = `${err.stdout ?? ""}${err.message}`;
  }
  c.check("types: js/site/*.d.ts check under tsc --strict (tests/js/site-types/usage.ts)", out === "", out);
}

const cancel = watchdog("site", 15 * 60 * 1000);
const c = checker("site");
const work = scratch();
const parts = [
  ["types", () => typeChecks(c)],
  ["tokenizer", () => tokenizerChecks(c)],
  ["runtime", () => runtimeChecks(c, work)],
  ["browser", () => browserChecks(c, work, `${work}/bundle`)],
];
for (const [name, run] of parts) {
  const started = Date.now();
  try {
    await run();
  } catch (err) {
    c.check(`${name}: ran to the end`, false, err?.stack ?? err);
  }
  c.info(`${name} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
rmSync(work, { recursive: true, force: true });
cancel();
c.finish();

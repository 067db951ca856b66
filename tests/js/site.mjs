// The static-site search stage (issue 12): node tests/js/site.mjs
// Tokenizer identity, runtime = native `splade site search`, broken bundles, the UI in Chromium.
import { rmSync } from "node:fs";
import { checker } from "./check.mjs";
import { watchdog } from "./browser.mjs";
import { browserChecks } from "./site-browser.mjs";
import { runtimeChecks, scratch } from "./site-runtime.mjs";
import { tokenizerChecks } from "./site-tokenizer.mjs";

const cancel = watchdog("site", 15 * 60 * 1000);
const c = checker("site");
const work = scratch();
const parts = [
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

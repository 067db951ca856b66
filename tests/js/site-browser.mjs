// The <splade-search> element in headless Chromium under the demo's strict CSP: results equal the
// API's, hostile titles/text/URLs stay text, keyboard use, dark mode, and a broken bundle's error.
import { cpSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { createStaticSearch } from "../../js/site/index.js";
import { launchChromium } from "./browser.mjs";
import { ROOT } from "./fs-folder.mjs";
import { startServer } from "../../tools/serve.mjs";

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

const page = (bundle, csp) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
${csp ? `<meta http-equiv="Content-Security-Policy" content="${csp}">` : ""}
<title>site test</title>
<script type="module" src="site/splade-search.js"></script>
</head><body>
<p>A docs page.</p>
<splade-search bundle="${bundle}" k="5" shortcut></splade-search>
</body></html>`;

export async function browserChecks(c, work, bundle) {
  const site = path.join(work, "www");
  mkdirSync(site, { recursive: true });
  execFileSync(process.execPath, ["tools/site-bundle-js.mjs", "js/site/splade-search.js", path.join(site, "site/splade-search.js")], { cwd: ROOT, stdio: "ignore" });
  cpSync(bundle, path.join(site, "bundle"), { recursive: true });
  cpSync(bundle, path.join(site, "broken"), { recursive: true });
  const { fragments } = JSON.parse(readFileSync(path.join(bundle, "manifest.json"), "utf8"));
  for (let n = 0; n < fragments.count; n++) {
    unlinkSync(path.join(site, "broken", fragments.path.replace("{n}", n)));
  }
  writeFileSync(path.join(site, "favicon.ico"), ""); // Chromium asks for it; a 404 would log an error
  writeFileSync(path.join(site, "csp.html"), page("bundle/", CSP));
  writeFileSync(path.join(site, "nocsp.html"), page("bundle/", null));
  writeFileSync(path.join(site, "broken.html"), page("broken/", CSP));

  const server = await startServer(site);
  const browser = await launchChromium();
  try {
    const api = await createStaticSearch(`${server.url}bundle/`);
    for (const [name, csp] of [["csp.html", true], ["nocsp.html", false]]) {
      const tab = await browser.newPage();
      const problems = [];
      tab.on("console", (m) => m.type() === "error" && problems.push(m.text()));
      tab.on("pageerror", (e) => problems.push(String(e)));
      tab.on("dialog", (d) => {
        problems.push(`dialog: ${d.message()}`);
        d.dismiss();
      });
      await tab.goto(`${server.url}${name}`);
      const label = csp ? "under the CSP" : "without a CSP";

      // "/" focuses the box; typing searches (wait for the results of the whole query).
      const query = "decorators <img src=x onerror=alert(1)>";
      await tab.evaluate((q) => {
        window.searched = new Promise((resolve) => {
          document.querySelector("splade-search").addEventListener("splade-results", (e) => e.detail.query === q && resolve());
        });
      }, query);
      await tab.keyboard.press("/");
      await tab.keyboard.type(query);
      await tab.evaluate(() => window.searched);
      const shown = await tab.evaluate(() => {
        const root = document.querySelector("splade-search").shadowRoot;
        return {
          titles: [...root.querySelectorAll("ol > li")].map((li) => (li.querySelector("a, .title")?.textContent ?? "")),
          hrefs: [...root.querySelectorAll("a")].map((a) => a.getAttribute("href")),
          injected: root.querySelectorAll("img, script, b").length + document.querySelectorAll("img, script:not([src])").length,
          marks: root.querySelectorAll("mark").length,
          focused: root.activeElement?.tagName,
          title: document.title,
        };
      });
      const want = (await api.search(query, { k: 5 })).hits.map((h) => h.title || h.id);
      c.check(`ui ${label}: results equal the API's`, JSON.stringify(shown.titles) === JSON.stringify(want), `${JSON.stringify(shown.titles)} vs ${JSON.stringify(want)}`);
      c.check(`ui ${label}: "/" focused the search box`, shown.focused === "INPUT", shown.focused);
      c.check(
        `ui ${label}: hostile titles and text render as text`,
        shown.titles.some((t) => t.includes("<img src=x")) && shown.injected === 0 && shown.title === "site test",
        JSON.stringify(shown),
      );
      c.check(`ui ${label}: only http(s) links`, shown.hrefs.every((h) => /^https?:/.test(h)), JSON.stringify(shown.hrefs));
      c.check(`ui ${label}: query words highlighted`, shown.marks > 0);

      // Keyboard: down into the results (a link, or "why" for a result without a safe link), down
      // again to the next one, Escape back to the box.
      const focused = () =>
        tab.evaluate(() => {
          const active = document.querySelector("splade-search").shadowRoot.activeElement;
          return active ? `${active.tagName}:${active.textContent}` : "none";
        });
      await tab.keyboard.press("ArrowDown");
      const firstFocus = await focused();
      await tab.keyboard.press("ArrowDown");
      const secondFocus = await focused();
      await tab.keyboard.press("Escape");
      const back = await focused();
      c.check(
        `ui ${label}: arrow keys move through results, Escape returns`,
        /^(A|SUMMARY):/.test(firstFocus) && /^(A|SUMMARY):/.test(secondFocus) && firstFocus !== secondFocus && back.startsWith("INPUT"),
        `${firstFocus} | ${secondFocus} | ${back}`,
      );
      c.check(`ui ${label}: no errors, CSP violations or dialogs`, problems.length === 0, problems.join("; "));
      await tab.close();
    }

    const dark = await browser.newPage({ colorScheme: "dark" });
    await dark.goto(`${server.url}csp.html`);
    const light = await browser.newPage({ colorScheme: "light" });
    await light.goto(`${server.url}csp.html`);
    const color = (tab) => tab.evaluate(() => getComputedStyle(document.querySelector("splade-search").shadowRoot.querySelector("input")).backgroundColor);
    const [darkBg, lightBg] = [await color(dark), await color(light)];
    c.check("ui: follows the dark color scheme", darkBg !== lightBg, `${darkBg} / ${lightBg}`);
    await dark.close();
    await light.close();

    const tab = await browser.newPage();
    await tab.goto(`${server.url}broken.html`);
    await tab.locator("splade-search input").fill("python");
    const alert = await tab
      .waitForFunction(() => {
        const s = document.querySelector("splade-search").shadowRoot.querySelector("[role=alert]");
        return s && s.textContent;
      }, null, { timeout: 20_000 })
      .then((h) => h.jsonValue(), (e) => `no alert: ${e.message}`);
    c.check("ui: a broken bundle shows a clear error", /unavailable: .*fragment \d+ .*missing/.test(alert), alert);
    await tab.close();
  } finally {
    await browser.close();
    await server.close();
  }
}

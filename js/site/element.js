// <splade-search bundle="search/"> : a drop-in search box for a static site. Everything from the
// bundle is untrusted and rendered as text (textContent, never HTML); links only for http(s) URLs.
// Styles are a constructable stylesheet in a shadow root, so a strict CSP (style-src 'self', no
// inline scripts) is enough. The bundle loads on first focus, or at once with the `preload` attribute.
import { createStaticSearch } from "./search.js";

const CSS = `
:host { --splade-fg: #1b2230; --splade-muted: #5d6878; --splade-bg: #ffffff; --splade-line: #dde2e9;
  --splade-accent: #2459c4; --splade-mark: #fff1a8; --splade-bad: #b3261e; --splade-hover: #f1f4f9;
  display: block; font: inherit; color: var(--splade-fg); max-width: 48rem; }
@media (prefers-color-scheme: dark) {
  :host(:not([theme=light])) { --splade-fg: #e4e8ef; --splade-muted: #9aa5b5; --splade-bg: #1b212b;
    --splade-line: #2c3542; --splade-accent: #7aa2ff; --splade-mark: #5b4d10; --splade-bad: #ff8a80; --splade-hover: #232b37; }
}
:host([theme=dark]) { --splade-fg: #e4e8ef; --splade-muted: #9aa5b5; --splade-bg: #1b212b; --splade-line: #2c3542;
  --splade-accent: #7aa2ff; --splade-mark: #5b4d10; --splade-bad: #ff8a80; --splade-hover: #232b37; }
.box { position: relative; }
input { width: 100%; box-sizing: border-box; font: inherit; font-size: 1.05em; padding: .6em .8em; color: var(--splade-fg);
  background: var(--splade-bg); border: 1px solid var(--splade-line); border-radius: 8px; }
input:focus-visible, a:focus-visible, summary:focus-visible { outline: 2px solid var(--splade-accent); outline-offset: 2px; }
.status { color: var(--splade-muted); font-size: .85em; margin: .4em .2em; min-height: 1.3em; }
.status.error { color: var(--splade-bad); }
ol { list-style: none; margin: 0; padding: 0; }
li { padding: .6em .7em; border-bottom: 1px solid var(--splade-line); border-radius: 6px; }
li:hover, li:focus-within { background: var(--splade-hover); }
a { color: var(--splade-accent); font-weight: 600; text-decoration: none; }
a:hover { text-decoration: underline; }
.title { font-weight: 600; }
.excerpt { margin: .25em 0; line-height: 1.45; overflow-wrap: anywhere; }
mark { background: var(--splade-mark); color: inherit; border-radius: 2px; padding: 0 .1em; }
details { font-size: .85em; color: var(--splade-muted); }
summary { cursor: pointer; width: fit-content; }
.terms { margin: .3em 0 0; padding-left: 1.2em; }
.score { float: right; font-size: .8em; color: var(--splade-muted); font-variant-numeric: tabular-nums; }
`;

let sheet = null;
function styles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** An http(s) URL for a result link, or null (javascript:, data: and the like are never linked). */
export function safeUrl(url, base) {
  if (!url) return null;
  try {
    const resolved = new URL(url, base);
    return resolved.protocol === "https:" || resolved.protocol === "http:" ? resolved.href : null;
  } catch {
    return null;
  }
}

export class SpladeSearchElement extends HTMLElement {
  #root;
  #input;
  #status;
  #list;
  #search = null;
  #loading = null;
  #timer = 0;
  #sequence = 0;

  connectedCallback() {
    if (this.#root) return;
    this.#root = this.attachShadow({ mode: "open" });
    this.#root.adoptedStyleSheets = [styles()];
    const box = el("div", "box");
    this.#input = el("input");
    Object.assign(this.#input, { type: "search", autocomplete: "off", spellcheck: false });
    this.#input.placeholder = this.getAttribute("placeholder") ?? "Search";
    this.#input.setAttribute("aria-label", this.getAttribute("label") ?? "Search this site");
    this.#status = el("p", "status");
    this.#status.setAttribute("role", "status");
    this.#status.setAttribute("aria-live", "polite");
    this.#list = el("ol");
    this.#list.setAttribute("aria-label", "Search results");
    box.append(this.#input);
    this.#root.append(box, this.#status, this.#list);

    this.#input.addEventListener("focus", () => this.#load());
    this.#input.addEventListener("input", () => this.#schedule());
    this.#input.addEventListener("keydown", (e) => this.#onInputKey(e));
    this.#list.addEventListener("keydown", (e) => this.#onListKey(e));
    if (this.hasAttribute("shortcut")) {
      document.addEventListener("keydown", (e) => {
        const target = e.composedPath()[0];
        const typing = target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
        if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
          e.preventDefault();
          this.#input.focus();
        }
      });
    }
    if (this.hasAttribute("preload")) this.#load();
  }

  /** The open search (the JS API), once loaded. */
  get search() {
    return this.#search;
  }

  focus() {
    this.#input?.focus();
  }

  #load() {
    if (!this.#loading) {
      const bundle = this.getAttribute("bundle");
      if (!bundle) {
        this.#error(new Error("the element has no bundle attribute"));
        this.#loading = Promise.resolve(null);
        return this.#loading;
      }
      this.#status.textContent = "Loading the search index…";
      this.#loading = createStaticSearch(new URL(bundle, document.baseURI).href).then(
        (search) => {
          this.#search = search;
          if (this.#status.textContent.startsWith("Loading")) this.#status.textContent = "";
          return search;
        },
        (err) => {
          this.#loading = null; // the next focus retries
          this.#error(err);
          return null;
        },
      );
    }
    return this.#loading;
  }

  #schedule() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#run(), 80);
  }

  async #run() {
    const query = this.#input.value;
    const sequence = ++this.#sequence;
    if (!query.trim()) {
      this.#list.replaceChildren();
      this.#status.textContent = "";
      return;
    }
    const search = await this.#load();
    if (!search || sequence !== this.#sequence) return;
    const k = Math.min(50, Math.max(1, Number(this.getAttribute("k")) || 10));
    let result;
    try {
      result = await search.search(query, { k });
    } catch (err) {
      if (sequence === this.#sequence) this.#error(err);
      return;
    }
    if (sequence !== this.#sequence) return;
    this.#render(result);
    this.dispatchEvent(new CustomEvent("splade-results", { detail: result }));
  }

  #error(err) {
    this.#status.className = "status error";
    this.#status.setAttribute("role", "alert");
    this.#status.textContent = `Search is unavailable: ${err?.message ?? err}`;
    this.#list.replaceChildren();
  }

  #render({ hits }) {
    this.#status.className = "status";
    this.#status.setAttribute("role", "status");
    this.#status.textContent = hits.length === 0 ? "No results." : `${hits.length} result${hits.length === 1 ? "" : "s"}`;
    const base = new URL(this.getAttribute("bundle") ?? "", document.baseURI);
    this.#list.replaceChildren(...hits.map((hit) => this.#item(hit, base)));
  }

  #item(hit, base) {
    const li = el("li");
    li.append(el("span", "score", hit.score.toFixed(2)));
    const href = safeUrl(hit.url, base);
    const title = hit.title || hit.id;
    if (href) {
      const a = el("a", null, title);
      a.href = href;
      li.append(a);
    } else {
      li.append(el("span", "title", title));
    }
    const p = el("p", "excerpt");
    const { text, highlights, clippedStart, clippedEnd } = hit.excerpt;
    if (clippedStart) p.append("… ");
    let at = 0;
    for (const [s, e] of highlights) {
      p.append(text.slice(at, s), el("mark", null, text.slice(s, e)));
      at = e;
    }
    p.append(text.slice(at));
    if (clippedEnd) p.append(" …");
    li.append(p);
    if (hit.terms.length > 0) {
      const details = el("details");
      details.append(el("summary", null, "Why this result"));
      const ul = el("ul", "terms");
      for (const t of hit.terms.slice(0, 8)) {
        const line = `${t.token}: query ${t.queryWeight.toFixed(2)} × passage ${t.documentWeight.toFixed(2)} = ${t.contribution.toFixed(2)}`;
        ul.append(el("li", null, line));
      }
      details.append(ul);
      li.append(details);
    }
    return li;
  }

  #onInputKey(e) {
    if (e.key === "ArrowDown") {
      const first = this.#list.querySelector("a, summary");
      if (first) {
        e.preventDefault();
        first.focus();
      }
    } else if (e.key === "Escape") {
      this.#input.value = "";
      this.#schedule();
    } else if (e.key === "Enter") {
      clearTimeout(this.#timer);
      this.#run();
    }
  }

  #onListKey(e) {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp" && e.key !== "Escape") return;
    e.preventDefault();
    if (e.key === "Escape") {
      this.#input.focus();
      return;
    }
    const focusables = [...this.#list.querySelectorAll("a, summary")];
    const at = focusables.indexOf(this.#root.activeElement);
    const next = at + (e.key === "ArrowDown" ? 1 : -1);
    if (next < 0) this.#input.focus();
    else focusables[Math.min(next, focusables.length - 1)]?.focus();
  }
}

if (!customElements.get("splade-search")) {
  customElements.define("splade-search", SpladeSearchElement);
}

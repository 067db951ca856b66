// Markdown and HTML reduced to the text a reader sees: no "##" or link syntax in passages and snippets,
// and in HTML the page's main content rather than its navigation, header and footer.

const BLOCK_TAGS =
  "p,div,section,article,header,footer,main,aside,nav,h1,h2,h3,h4,h5,h6,li,dt,dd,blockquote,pre,table,tr,figure,figcaption,address,hr,br";
// Page chrome: left out when the page does not mark its main content.
const CHROME = "nav,aside,[role=navigation],[role=banner],[role=contentinfo],[role=search],[aria-hidden=true],body>header,body>footer";
// Main content shorter than this share of the page's text is probably not the main content.
const MAIN_SHARE = 0.2;

/** Collapses spaces inside lines and runs of blank lines; keeps paragraph breaks. */
export function tidy(text) {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t\f\v\u00a0]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

function blockText(doc, root) {
  // textContent runs block elements together: give each one a paragraph break first.
  for (const el of root.querySelectorAll(BLOCK_TAGS)) {
    el.before(doc.createTextNode("\n\n"));
    el.after(doc.createTextNode("\n\n"));
  }
  return tidy(root.textContent ?? "");
}

/**
 * The text of an HTML document and its title, via DOMParser (inert: no scripts, no loads). The page's
 * `<main>` (or its one `<article>`) when it has one, else the body without navigation, asides, the
 * page header and footer.
 */
export function htmlToText(html) {
  if (typeof DOMParser === "undefined") {
    throw new Error("reading HTML needs DOMParser (a browser)");
  }
  const doc = new DOMParser().parseFromString(html, "text/html");
  const title = doc.querySelector("title")?.textContent?.trim() ?? "";
  for (const el of doc.querySelectorAll("script,style,noscript,template,head,svg,iframe,object")) {
    el.remove();
  }
  const body = doc.body;
  if (!body) {
    return { title, text: "" };
  }
  const whole = (body.textContent ?? "").trim().length;
  const articles = doc.querySelectorAll("article");
  const main = doc.querySelector("main,[role=main]") ?? (articles.length === 1 ? articles[0] : null);
  if (main && (main.textContent ?? "").trim().length >= MAIN_SHARE * whole) {
    return { title, text: blockText(doc, main) };
  }
  for (const el of body.querySelectorAll(CHROME)) {
    el.remove();
  }
  return { title, text: blockText(doc, body) };
}

/**
 * Markdown as plain text: headings, emphasis, code marks, link and image syntax, quotes, list markers,
 * rules and table pipes removed; the words stay, one paragraph per block.
 */
export function markdownToText(markdown) {
  const lines = [];
  let fenced = false;
  for (let line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      lines.push(line);
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line) || /^\s*=+\s*$/.test(line) || /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line)) {
      lines.push("");
      continue;
    }
    if (/^\s*\[[^\]]+\]:\s*\S+/.test(line)) {
      continue; // a link reference definition
    }
    line = line
      .replace(/^\s{0,3}#{1,6}\s+/, "")
      .replace(/\s+#+\s*$/, "")
      .replace(/^(\s*>)+\s?/, "")
      .replace(/^\s*(?:[-*+]|\d+[.)])\s+(\[[ xX]\]\s+)?/, "")
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
      .replace(/\[([^\]]+)\]\[[^\]]*\]/g, "$1")
      .replace(/<(https?:[^>\s]+)>/g, "$1")
      .replace(/<!--.*?-->/g, "")
      .replace(/`([^`]+)`/g, "$1")
      .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, "$2")
      .replace(/(^|[\s(])([*_])(?=\S)(.+?)(?<=\S)\2(?=$|[\s).,;:!?])/g, "$1$3")
      .replace(/~~(.+?)~~/g, "$1");
    if (line.includes("|") && /^\s*\|.*\|\s*$/.test(line)) {
      line = line.replace(/^\s*\||\|\s*$/g, "").replace(/\s*\|\s*/g, " · ");
    }
    lines.push(line);
  }
  return tidy(lines.join("\n"));
}

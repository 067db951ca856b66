// Files to text and queries to words, in Node: node tests/js/text-and-queries.mjs
//
// Decoding (UTF-8, UTF-16, windows-1252/Latin-1; binary refused), every skipped file with its reason,
// Markdown reduced to text, queries without searchable words (emoji, CJK the vocabulary cannot spell,
// punctuation), explanations by word, and snippets centred on the words that contributed most.
// HTML needs DOMParser: the demo's end-to-end test covers it in Chromium.
import { checker } from "./check.mjs";
import { loadFolder } from "./fs-folder.mjs";

const { SparseEncoder, createSearch, decodeText, documentsFromFiles, markdownToText } = await import("../../pkg/index.js");

const t = checker("text");

// ---- decoding ----
const latin1 = Buffer.from("Caf\xe9 cr\xe8me br\xfbl\xe9e, a na\xefve fa\xe7ade in M\xfcnchen", "latin1");
const decoded = decodeText(latin1);
t.check("Latin-1 bytes decode as windows-1252, not U+FFFD", decoded.text === "Café crème brûlée, a naïve façade in München" && decoded.encoding === "windows-1252", JSON.stringify(decoded));
t.check("UTF-8 stays UTF-8", decodeText(Buffer.from("naïve ☃ 東京", "utf8")).text === "naïve ☃ 東京");
const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("Hello, wörld", "utf16le")]);
t.check("UTF-16 with a BOM decodes", decodeText(utf16).text === "Hello, wörld");
let seed = 7;
const random = Uint8Array.from({ length: 20_000 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
const refused = (bytes) => {
  try {
    decodeText(bytes);
    return null;
  } catch (err) {
    return err.message;
  }
};
t.check("random bytes are refused as binary", /binary/.test(refused(random) ?? ""), refused(random));
const noNul = random.map((b) => b || 1);
t.check("control characters without NUL are refused too", /binary/.test(refused(noNul) ?? ""), refused(noNul));
t.check("a PDF is named whatever it is called", /PDF/.test(refused(Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "latin1")) ?? ""));

// ---- files: each one indexed or listed with its reason ----
const files = [
  new File(["Plain notes about the harvest."], "notes.txt"),
  new File([""], "empty.txt"),
  new File(["   \n\n  "], "blank.md"),
  new File([random], "random.txt"),
  new File(["%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"], "report.pdf"),
  new File([Buffer.from("PK\x03\x04\x14\x00\x06\x00", "latin1")], "sheet.xlsx"),
  new File([Buffer.from("PK\x03\x04\x14\x00\x06\x00\x00\x00", "latin1")], "renamed.txt"),
  new File(['{"text": "broken'], "broken.json"),
  new File(['{"text": "one"}\n{"text": '], "broken.jsonl"),
  new File([latin1], "latin1.txt"),
  new File(["# Heading\n\nSome **bold** words and a [link](https://example.com)."], "readme.md"),
];
const { documents, skipped } = await documentsFromFiles(files);
const reasons = Object.fromEntries(skipped.map((s) => [s.name, s.reason]));
t.check("every file is indexed or skipped", documents.length + skipped.length === files.length, `${documents.length} + ${skipped.length}`);
t.check("an empty file is listed", /empty/.test(reasons["empty.txt"] ?? ""), reasons["empty.txt"]);
t.check("a blank file is listed", /no text/.test(reasons["blank.md"] ?? ""), reasons["blank.md"]);
t.check("random bytes named .txt are listed as binary", /binary/.test(reasons["random.txt"] ?? ""), reasons["random.txt"]);
t.check("a PDF is listed as unsupported", /PDF/.test(reasons["report.pdf"] ?? ""), reasons["report.pdf"]);
t.check("a spreadsheet is listed as unsupported", /spreadsheet/.test(reasons["sheet.xlsx"] ?? ""), reasons["sheet.xlsx"]);
t.check("a ZIP named .txt is listed", /ZIP/.test(reasons["renamed.txt"] ?? ""), reasons["renamed.txt"]);
t.check("broken JSON is listed with its error", /not valid JSON/.test(reasons["broken.json"] ?? "") && /line 2/.test(reasons["broken.jsonl"] ?? ""), JSON.stringify(reasons));
const latinDoc = documents.find((d) => d.id === "latin1.txt");
t.check("the Latin-1 file has its accents", latinDoc?.text.includes("Café crème") && !documents.some((d) => d.text.includes("\ufffd")), latinDoc?.text);
const md = documents.find((d) => d.id === "readme.md");
t.check("Markdown is indexed as readable text", md?.text === "Heading\n\nSome bold words and a link." && md.title === "Heading", JSON.stringify(md));
t.check(
  "Markdown lists, quotes, code and tables lose their marks",
  markdownToText("- one\n- two\n\n> quoted `code`\n\n| a | b |\n|---|---|\n\n```\nx = 1\n```\n\nsnake_case stays") ===
    "one\ntwo\n\nquoted code\n\na · b\n\nx = 1\n\nsnake_case stays",
  markdownToText("- one\n- two\n\n> quoted `code`\n\n| a | b |\n|---|---|\n\n```\nx = 1\n```\n\nsnake_case stays"),
);

// ---- queries ----
const encoder = await SparseEncoder.fromFiles(await loadFolder("models/splade-tiny"));
const search = await createSearch({ model: encoder, workers: 0 });
const longPassage =
  "The session opened with remarks on the weather and the harvest, and on the roads and canals of the interior. " +
  "Trade with the nations of Europe continued to grow, and the ports were busy. ".repeat(4) +
  "Above all, the Congress must provide for paying the national debt, which stands at a high figure and weighs on every citizen. " +
  "The rest of the message turned to the army and the navy and their officers.";
await search.add([
  { id: "debt", title: "Debt", text: longPassage },
  { id: "mars", title: "Mars", text: "Mars is often called the Red Planet because of its reddish appearance. Hijacking a rocket is a crime." },
  { id: "cjk", title: "CJK", text: "東京の天気は晴れ。Emoji 🚀🎉 and words about rockets and parties." },
]);
for (const query of ["🚀🎉", "東京の天気", "!!!", "?", "... !!"]) {
  const analysis = search.analyzeQuery(query);
  t.check(`"${query}" has no searchable words and no results`, !analysis.searchable && search.search(query).length === 0, JSON.stringify(analysis));
}
t.check("an ordinary query is searchable", search.analyzeQuery("red planet!").searchable && search.search("red planet!")[0]?.id === "mars");
t.check(
  "punctuation and unknown words are left out of a query",
  search.queryTerms("red planet! 🚀").every((q) => /^[a-z#]+$/.test(q.token)),
  JSON.stringify(search.queryTerms("red planet! 🚀")),
);
t.check("a word with an unknown piece is not searched by fragments", !search.analyzeQuery("東京の天気 mars").words.find((w) => w.text === "東京の天気").known);

// ---- explanations by word; snippets centred on the contributions ----
const why = search.explain("mars", "hijacked appearance");
const hijacked = why.words.find((w) => w.word === "hijacked");
t.check("explanations merge word pieces into the query's words", hijacked?.pieces.length >= 2 && why.words.every((w) => !w.word.startsWith("##")), JSON.stringify(why.words.map((w) => [w.word, w.pieces.map((p) => p.token)])));
t.check("word contributions add up to the score", Math.abs(why.words.reduce((s, w) => s + w.contribution, 0) - why.score) < 1e-4);
const snip = search.snippet("debt", "paying off the national debt", { maxChars: 160 });
const marked = snip.highlights.map(([s, e]) => snip.text.slice(s, e).toLowerCase());
const top = search.explain("debt", "paying off the national debt").words.find((w) => !w.related);
t.check("the snippet holds the top contributing word", marked.includes(top?.word), `${top?.word}: ${snip.text}`);
t.check("words without a real contribution are not marked", !marked.includes("off") && !marked.includes("the"), marked.join(", "));
t.check("the window moved to it", snip.clippedStart, snip.text);

search.close();
t.finish();

// A folder as people have them, written for tests/js/hostile.mjs: notes, an HTML page with site chrome,
// a 2 MB text, JSON and JSON lines (one broken), CJK and emoji, an empty file, random bytes named .txt,
// a PDF, an xlsx-like ZIP, Latin-1 text, and the same file twice. Deterministic (seeded bytes).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const TOPICS = [
  "The harbour froze early that winter and the fishing boats stayed in port until March.",
  "Volcanic ash fell over the island for three days; the farmers covered their wells with canvas.",
  "The railway reached the valley in 1871, and the price of flour fell by half within a year.",
  "A committee proposed paying off the national debt by selling public land in the west.",
  "Beekeepers reported that the clover bloom was late and the honey darker than usual.",
  "The observatory recorded a comet with two tails, visible to the naked eye before dawn.",
];

function bigText(bytes) {
  const parts = [];
  let n = 0;
  let size = 0;
  while (size < bytes) {
    const para = `Chapter note ${n}. ${TOPICS[n % TOPICS.length]} ${TOPICS[(n * 5 + 2) % TOPICS.length]} ${TOPICS[(n * 7 + 1) % TOPICS.length]}`;
    parts.push(para);
    size += para.length + 2;
    n++;
  }
  return parts.join("\n\n");
}

/** Writes the folder under `dir` (emptied first); returns `{dir, files: {name: expectation}}`. */
export function writeHostileFolder(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "copies"), { recursive: true });
  let seed = 12345;
  const random = Buffer.from(Array.from({ length: 30_000 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
  const notes = "Garden notes\n\nThe tomatoes ripened in August. The beans climbed the fence and the squash took over the path.";
  const files = {
    "garden-notes.txt": { indexed: true },
    "copies/garden-notes.txt": { duplicate: true },
    "meeting.md": {
      text: "# Budget meeting\n\n## Decisions\n\n- **Repair** the [bridge](https://example.com/bridge) before winter\n- Hire two teachers\n\n> Minutes taken by the clerk.\n",
      indexed: true,
    },
    "page.html": {
      text:
        "<!doctype html><html><head><title>Lighthouse keepers</title></head><body>" +
        "<header><nav><a href='/'>Home</a> <a href='/shop'>Shop the gift store</a> <a href='/login'>Sign in</a></nav></header>" +
        "<main><h1>Lighthouse keepers</h1><p>The keeper trimmed the wick every four hours and logged passing ships.</p></main>" +
        "<footer>Copyright notice, cookie settings, newsletter signup</footer></body></html>",
      indexed: true,
    },
    "big.txt": { text: bigText(2_000_000), indexed: true },
    "records.json": { text: JSON.stringify([{ id: "r1", title: "Ferry timetable", text: "The ferry leaves at seven and returns at noon." }]), indexed: true },
    "lines.jsonl": { text: '{"id": "a", "text": "Owls hunt at dusk over the meadow."}\n{"id": "b", "text": "Herons wait motionless in the shallows."}\n', indexed: true },
    "broken.json": { text: '{"text": "this never closes', reason: /not valid JSON/ },
    "cjk-emoji.txt": { text: "東京の天気は晴れです。\n\n🚀🎉 Launch party notes: the rocket model was painted red and white.", indexed: true },
    "empty.txt": { text: "", reason: /empty/ },
    "random.txt": { bytes: random, reason: /binary/ },
    "report.pdf": { bytes: Buffer.concat([Buffer.from("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "latin1"), random.subarray(0, 2000)]), reason: /PDF/ },
    "budget.xlsx": { bytes: Buffer.concat([Buffer.from("PK\x03\x04\x14\x00\x06\x00\x08\x00", "latin1"), random.subarray(0, 3000)]), reason: /spreadsheet/ },
    "latin1.txt": { bytes: Buffer.from("Menu du caf\xe9: cr\xe8me br\xfbl\xe9e, tarte \xe0 la rhubarbe, salade ni\xe7oise.", "latin1"), indexed: true },
  };
  for (const [name, spec] of Object.entries(files)) {
    const content = spec.bytes ?? spec.text ?? notes;
    writeFileSync(path.join(dir, name), content);
  }
  return { dir, files };
}

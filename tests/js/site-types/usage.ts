// Type-checked (tsc --strict, in tests/js/site.mjs) against js/site/*.d.ts: the static search API as a page uses it.
import { createStaticSearch, type StaticSearchHit } from "../../../js/site/index.js";
import { SpladeSearchElement } from "../../../js/site/splade-search.js";

export async function demo(): Promise<string[]> {
  const search = await createStaticSearch("/search/", { timeoutMs: 10_000 });
  const tokens: { id: number; token: string; weight: number }[] = search.encode("decorators");
  const { hits, fetched, searchMs } = await search.search("how do decorators work", { k: 5 });
  const lines = hits.map((hit: StaticSearchHit) => {
    const why = hit.terms.map((t) => `${t.token} ${t.queryWeight * t.documentWeight} ${t.contribution}`).join(", ");
    const marked = hit.excerpt.highlights.map(([s, e]) => hit.excerpt.text.slice(s, e));
    return `${hit.score.toFixed(2)} ${hit.title} ${hit.url} ${marked.join(" ")} ${why}`;
  });
  lines.push(`${tokens.length} tokens, ${fetched.files} files, ${fetched.bytes} bytes, ${searchMs} ms, ${search.transfer.requests} requests`);
  lines.push(`${search.manifest.passages} passages, ${search.tokenizer.encode("x", { limit: false }).length}`);
  const element = document.querySelector("splade-search");
  if (element instanceof SpladeSearchElement && element.search) {
    lines.push(String(element.search.manifest.build));
  }
  return lines;
}

// Static-site search with no model in the browser: tokenize the query, look up one weight per token,
// fetch only the posting shards of the query's tokens (each once), exact integer top-k over the stored
// impacts (as `splade site search` does, src/site/FORMAT.md "Scoring"), then the hits' fragments.
import { BundleReader } from "./bundle.js";
import { excerpt, highlighter } from "./highlight.js";
import { Shard, bound, byRank, lowerBound, settled, topK } from "./postings.js";

function checkManifest(m) {
  const bad = (why) => new Error(`static search: the manifest is invalid: ${why}`);
  for (const key of ["passages", "vocabSize", "scoreUnit"]) {
    if (!(typeof m[key] === "number" && m[key] >= 0)) {
      throw bad(`${key} is missing`);
    }
  }
  const { shards, fragments } = m;
  if (!shards?.path || !Array.isArray(shards.firstToken) || shards.firstToken.length !== shards.count || shards.firstToken[0] !== 0) {
    throw bad("shards.firstToken does not match shards.count");
  }
  if (!(Number.isInteger(shards.tails) && shards.tails >= 0)) {
    throw bad("shards.tails is missing");
  }
  for (let i = 1; i < shards.count; i++) {
    if (!(shards.firstToken[i] > shards.firstToken[i - 1])) {
      throw bad("shards.firstToken is not increasing");
    }
  }
  if (!fragments?.path || !(fragments.passagesPerFragment >= 1)) {
    throw bad("fragments.passagesPerFragment is missing");
  }
}

export class StaticSearch {
  #reader;
  #tokenizer;
  #weights;
  #shards = new Map();
  #fragments = new Map();
  #acc;

  constructor(reader, manifest, tokenizer, weights) {
    this.#reader = reader;
    this.manifest = manifest;
    this.#tokenizer = tokenizer;
    this.#weights = weights;
    this.#acc = new Float64Array(manifest.passages);
  }

  get tokenizer() {
    return this.#tokenizer;
  }

  /** All requests and stored bytes fetched so far, manifest and tokenizer included. */
  get transfer() {
    return { requests: this.#reader.requests, bytes: this.#reader.bytes };
  }

  /** The query's distinct tokens with a non-zero weight, by id: `[{id, token, weight}]`. */
  encode(text) {
    const ids = [...new Set(this.#tokenizer.encode(text))].sort((a, b) => a - b);
    return ids
      .map((id) => ({ id, token: this.#tokenizer.token(id), weight: this.#weights[id] ?? 0 }))
      .filter((t) => t.weight !== 0);
  }

  #shardOf(token) {
    const first = this.manifest.shards.firstToken;
    let lo = 0;
    let hi = first.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (first[mid] <= token) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  // A cached load shared by every search; a failed one is forgotten so that a later search retries.
  // `load` gives `{value, stored}`; the search that starts a load counts its file and stored bytes.
  #cached(cache, n, load, fetched) {
    let entry = cache.get(n);
    if (!entry) {
      entry = load().then(({ value, stored }) => {
        fetched.bytes += stored;
        return value;
      });
      fetched.files += 1;
      entry.catch(() => cache.delete(n));
      cache.set(n, entry);
    }
    return entry;
  }

  // Posting file `n`: a token-range shard (`tailOf` null) or a tail of that token's list.
  #shard(n, tailOf, fetched) {
    return this.#cached(this.#shards, n, async () => {
      const { shards, vocabSize, passages } = this.manifest;
      const path = shards.path.replace("{n}", n);
      const { body, stored } = await this.#reader.file("shard", n, path);
      const range =
        tailOf === null
          ? { firstToken: shards.firstToken[n], endToken: n + 1 < shards.count ? shards.firstToken[n + 1] : vocabSize }
          : { firstToken: tailOf, endToken: tailOf + 1 };
      const tailFiles = [shards.count, shards.count + shards.tails];
      return { value: new Shard(body, { ...range, passages, tailFiles, what: `shard ${n} (${path})` }), stored };
    }, fetched);
  }

  // The tail segment `{file, max}` of a query list, checked against its head.
  async #tail(list, { file, max }, fetched) {
    const shard = await this.#shard(file, list.id, fetched);
    const segment = shard.list(list.id);
    const bad = (why) => new Error(`static search: ${shard.what} is malformed: ${why} (tail of token ${list.id})`);
    if (!segment) {
      throw bad("no list of this token");
    }
    if (segment.factor !== list.factor || segment.scale !== list.scale) {
      throw bad("factor or scale differs from the head's");
    }
    if (segment.impacts.some((q) => q > max)) {
      throw bad("an impact above the bound its head announced");
    }
    return segment;
  }

  #fragment(n, fetched) {
    return this.#cached(this.#fragments, n, async () => {
      const { fragments, passages } = this.manifest;
      const path = fragments.path.replace("{n}", n);
      const { body, stored } = await this.#reader.file("fragment", n, path);
      let records;
      try {
        records = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
      } catch {
        throw new Error(`static search: fragment ${n} (${path}) is not valid JSON`);
      }
      const per = fragments.passagesPerFragment;
      const expected = Math.min(per, passages - n * per);
      if (!Array.isArray(records) || records.length !== expected) {
        throw new Error(`static search: fragment ${n} (${path}) holds ${records?.length} passages, expected ${expected}`);
      }
      if (!records.every((r) => r.tail === undefined || (Array.isArray(r.tail) && r.tail.every((e) => Array.isArray(e) && e.length === 2)))) {
        throw new Error(`static search: fragment ${n} (${path}) has a malformed tail list`);
      }
      return { value: records, stored };
    }, fetched);
  }

  /**
   * The `k` best passages for `text`: `{query, tokens, hits, fetched: {files, bytes}, searchMs}`.
   * `fetched` counts the shards and fragments this search downloaded (cached ones cost nothing).
   * Split lists: heads first, then tails only while the upper bounds leave the top k open; the
   * hits' postings in tails never fetched come from their fragments (FORMAT.md, "Split lists").
   */
  async search(text, { k = 10 } = {}) {
    k = Math.max(0, Math.floor(k));
    const tokens = this.encode(text);
    const fetched = { files: 0, bytes: 0 };
    const shardNumbers = [...new Set(tokens.map((t) => this.#shardOf(t.id)))];
    const loaded = await Promise.all(shardNumbers.map((n) => this.#shard(n, null, fetched)));
    const shards = new Map(shardNumbers.map((n, i) => [n, loaded[i]]));

    let searchMs = 0;
    let started = performance.now();
    const acc = this.#acc;
    const touched = [];
    const lists = [];
    let best;
    const add = (list, segment) => {
      const { ordinals, impacts } = segment;
      for (let i = 0; i < ordinals.length; i++) {
        const p = ordinals[i];
        if (acc[p] === 0) {
          touched.push(p);
        }
        acc[p] += list.factor * impacts[i];
      }
      list.segments.push(segment);
    };
    try {
      for (const t of tokens) {
        const head = shards.get(this.#shardOf(t.id)).list(t.id);
        if (head) {
          const list = { ...t, factor: head.factor, scale: head.scale, segments: [], pending: [...head.tails] };
          lists.push(list);
          add(list, head);
        }
      }
      for (;;) {
        const rest = lists.reduce((sum, l) => sum + bound(l), 0);
        if (k === 0 || rest === 0 || settled(lists, acc, touched, rest, k)) {
          break;
        }
        let next = null;
        for (const l of lists) {
          if (bound(l) > (next ? bound(next) : 0)) next = l;
        }
        searchMs += performance.now() - started;
        const segment = await this.#tail(next, next.pending.shift(), fetched);
        started = performance.now();
        add(next, segment);
      }
      best = topK(acc, touched, k).map((p) => [acc[p], p]);
    } finally {
      for (const p of touched) {
        acc[p] = 0;
      }
    }
    searchMs += performance.now() - started;

    const per = this.manifest.fragments.passagesPerFragment;
    const fragmentNumbers = [...new Set(best.map(([, p]) => Math.floor(p / per)))];
    const fragments = await Promise.all(fragmentNumbers.map((n) => this.#fragment(n, fetched)));
    const byNumber = new Map(fragmentNumbers.map((n, i) => [n, fragments[i]]));
    const recordOf = (p) => byNumber.get(Math.floor(p / per))[p % per];
    // A hit's impact in each query list: from the fetched segments, or its fragment's tail list.
    const impactsOf = (p) =>
      lists.map((list) => {
        for (const s of list.segments) {
          const at = lowerBound(s.ordinals, p);
          if (s.ordinals[at] === p) return s.impacts[at];
        }
        if (list.pending.length === 0) return 0;
        const tail = recordOf(p).tail ?? [];
        const entry = tail[lowerBound(tail.map((e) => e[0]), list.id)];
        if (!entry || entry[0] !== list.id) return 0;
        if (!(Number.isInteger(entry[1]) && entry[1] >= 1 && entry[1] <= list.pending[0].max)) {
          throw new Error(`static search: the fragment of passage ${p} is malformed: impact ${entry[1]} of token ${list.id} breaks its list's bound`);
        }
        return entry[1];
      });
    const impacts = new Map(best.map(([, p]) => [p, impactsOf(p)]));
    if (lists.some((l) => l.pending.length > 0)) {
      best = best.map(([, p]) => [lists.reduce((sum, l, i) => sum + l.factor * impacts.get(p)[i], 0), p]).sort(byRank);
    }
    const mark = highlighter(this.#tokenizer, text);
    const unit = this.manifest.scoreUnit;
    const hits = best.map(([score, p]) => {
      const record = recordOf(p);
      const terms = [];
      lists.forEach(({ id, token, weight, factor, scale }, i) => {
        const impact = impacts.get(p)[i];
        if (impact > 0) {
          terms.push({ id, token, queryWeight: weight, documentWeight: impact * scale, contribution: factor * impact * unit });
        }
      });
      terms.sort((a, b) => b.contribution - a.contribution || a.id - b.id);
      const passageText = String(record.text ?? "");
      return {
        ordinal: p,
        id: String(record.id),
        n: record.n,
        score: score * unit,
        title: String(record.title ?? ""),
        url: String(record.url ?? ""),
        text: passageText,
        excerpt: excerpt(passageText, mark(passageText, terms)),
        terms,
      };
    });
    return { query: text, tokens, hits, fetched, searchMs };
  }
}

/**
 * Opens the bundle at `bundleUrl` (a folder URL): its manifest and tokenizer. Options: `fetch`
 * (a fetch implementation), `timeoutMs` (per request, default 30 s).
 */
export async function createStaticSearch(bundleUrl, options = {}) {
  const reader = new BundleReader(bundleUrl, options);
  const early = reader.prefetchTokenizer();
  const manifest = await reader.manifest();
  checkManifest(manifest);
  const { tokenizer, weights } = await reader.tokenizer(manifest, early);
  if (tokenizer.vocabSize !== manifest.vocabSize) {
    throw new Error(`static search: the tokenizer has ${tokenizer.vocabSize} tokens, the manifest says ${manifest.vocabSize}`);
  }
  return new StaticSearch(reader, manifest, tokenizer, weights);
}

// Static-site search with no model in the browser: tokenize the query, look up one weight per token,
// fetch only the posting shards of the query's tokens (each once), exact integer top-k over the stored
// impacts (as `splade site search` does, src/site/FORMAT.md "Scoring"), then the hits' fragments.
import { BundleReader, VarintReader } from "./bundle.js";
import { excerpt, highlighter } from "./highlight.js";

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
  for (let i = 1; i < shards.count; i++) {
    if (!(shards.firstToken[i] > shards.firstToken[i - 1])) {
      throw bad("shards.firstToken is not increasing");
    }
  }
  if (!fragments?.path || !(fragments.passagesPerFragment >= 1)) {
    throw bad("fragments.passagesPerFragment is missing");
  }
}

/** One posting shard: a directory of token lists whose postings are decoded when first asked for. */
class Shard {
  #body;
  #lists = new Map();
  #passages;

  constructor(body, firstToken, endToken, passages, what) {
    this.#body = body;
    this.#passages = passages;
    this.what = what;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    try {
      const r = new VarintReader(body);
      const count = r.next();
      const entries = [];
      let token = firstToken;
      for (let i = 0; i < count; i++) {
        const gap = r.next();
        if (i > 0 && gap < 1) {
          throw new RangeError("token ids not increasing");
        }
        token += gap;
        const postings = r.next();
        const factor = r.next();
        if (r.offset + 4 > body.length) {
          throw new RangeError("directory runs past the end");
        }
        const scale = view.getFloat32(r.offset, true);
        r.offset += 4;
        const idBytes = r.next();
        if (token >= endToken || postings < 1 || factor < 1) {
          throw new RangeError(`bad directory entry for token ${token}`);
        }
        entries.push({ token, postings, factor, scale, idBytes });
      }
      let offset = r.offset;
      for (const e of entries) {
        e.idStart = offset;
        e.impactStart = offset + e.idBytes;
        offset = e.impactStart + e.postings;
        this.#lists.set(e.token, e);
      }
      if (offset !== body.length) {
        throw new RangeError(`lists end at byte ${offset} of ${body.length}`);
      }
    } catch (err) {
      throw new Error(`static search: ${what} is malformed: ${err.message}`);
    }
  }

  /** `{factor, scale, ordinals: Uint32Array, impacts: Uint8Array}` of `token`, or null. */
  list(token) {
    const e = this.#lists.get(token);
    if (!e) {
      return null;
    }
    if (!e.ordinals) {
      const r = new VarintReader(this.#body, e.idStart, e.impactStart);
      const ordinals = new Uint32Array(e.postings);
      let ordinal = -1;
      try {
        for (let i = 0; i < e.postings; i++) {
          const step = r.next();
          ordinal = i === 0 ? step : ordinal + step;
          if ((i > 0 && step < 1) || ordinal >= this.#passages) {
            throw new RangeError("passage ordinal out of order or out of range");
          }
          ordinals[i] = ordinal;
        }
        if (r.offset !== e.impactStart) {
          throw new RangeError("document ids do not fill their bytes");
        }
      } catch (err) {
        throw new Error(`static search: ${this.what} is malformed (token ${token}): ${err.message}`);
      }
      const impacts = this.#body.subarray(e.impactStart, e.impactStart + e.postings);
      if (impacts.includes(0)) {
        throw new Error(`static search: ${this.what} is malformed (token ${token}): impact 0`);
      }
      e.ordinals = ordinals;
      e.impacts = impacts;
    }
    return e;
  }
}

// Better first: a larger accumulator, then the smaller ordinal.
const better = (accA, ordA, accB, ordB) => accA > accB || (accA === accB && ordA < ordB);

/** The `k` best of `touched` by `acc`, best first (a bounded heap: the worst kept hit on top). */
function topK(acc, touched, k) {
  const heap = [];
  const worse = (i, j) => better(acc[heap[j]], heap[j], acc[heap[i]], heap[i]);
  const swap = (i, j) => ([heap[i], heap[j]] = [heap[j], heap[i]]);
  for (const p of touched) {
    if (heap.length < k) {
      heap.push(p);
      for (let i = heap.length - 1; i > 0 && worse(i, (i - 1) >> 1); i = (i - 1) >> 1) {
        swap(i, (i - 1) >> 1);
      }
    } else if (k > 0 && better(acc[p], p, acc[heap[0]], heap[0])) {
      heap[0] = p;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let w = i;
        if (l < heap.length && worse(l, w)) w = l;
        if (r < heap.length && worse(r, w)) w = r;
        if (w === i) break;
        swap(i, w);
        i = w;
      }
    }
  }
  return heap.sort((a, b) => (better(acc[a], a, acc[b], b) ? -1 : 1));
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

  #shard(n, fetched) {
    return this.#cached(this.#shards, n, async () => {
      const { shards, vocabSize, passages } = this.manifest;
      const path = shards.path.replace("{n}", n);
      const { body, stored } = await this.#reader.file("shard", n, path);
      const end = n + 1 < shards.count ? shards.firstToken[n + 1] : vocabSize;
      return { value: new Shard(body, shards.firstToken[n], end, passages, `shard ${n} (${path})`), stored };
    }, fetched);
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
      return { value: records, stored };
    }, fetched);
  }

  /**
   * The `k` best passages for `text`: `{query, tokens, hits, fetched: {files, bytes}, searchMs}`.
   * `fetched` counts the shards and fragments this search downloaded (cached ones cost nothing).
   */
  async search(text, { k = 10 } = {}) {
    const tokens = this.encode(text);
    const fetched = { files: 0, bytes: 0 };
    const shardNumbers = [...new Set(tokens.map((t) => this.#shardOf(t.id)))];
    const loaded = await Promise.all(shardNumbers.map((n) => this.#shard(n, fetched)));
    const shards = new Map(shardNumbers.map((n, i) => [n, loaded[i]]));

    const started = performance.now();
    const lists = [];
    for (const t of tokens) {
      const list = shards.get(this.#shardOf(t.id)).list(t.id);
      if (list) {
        lists.push({ ...t, list });
      }
    }
    const acc = this.#acc;
    const touched = [];
    for (const { list } of lists) {
      const { factor, ordinals, impacts } = list;
      for (let i = 0; i < ordinals.length; i++) {
        const p = ordinals[i];
        if (acc[p] === 0) {
          touched.push(p);
        }
        acc[p] += factor * impacts[i];
      }
    }
    const best = topK(acc, touched, Math.max(0, Math.floor(k)));
    const accs = best.map((p) => acc[p]);
    for (const p of touched) {
      acc[p] = 0;
    }
    const searchMs = performance.now() - started;

    const per = this.manifest.fragments.passagesPerFragment;
    const fragmentNumbers = [...new Set(best.map((p) => Math.floor(p / per)))];
    const fragments = await Promise.all(fragmentNumbers.map((n) => this.#fragment(n, fetched)));
    const byNumber = new Map(fragmentNumbers.map((n, i) => [n, fragments[i]]));
    const mark = highlighter(this.#tokenizer, text);
    const unit = this.manifest.scoreUnit;
    const hits = best.map((p, i) => {
      const record = byNumber.get(Math.floor(p / per))[p % per];
      const terms = [];
      for (const { id, token, weight, list } of lists) {
        const at = lowerBound(list.ordinals, p);
        if (list.ordinals[at] === p) {
          const impact = list.impacts[at];
          terms.push({
            id,
            token,
            queryWeight: weight,
            documentWeight: impact * list.scale,
            contribution: list.factor * impact * unit,
          });
        }
      }
      terms.sort((a, b) => b.contribution - a.contribution || a.id - b.id);
      const passageText = String(record.text ?? "");
      return {
        ordinal: p,
        id: String(record.id),
        n: record.n,
        score: accs[i] * unit,
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

function lowerBound(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Opens the bundle at `bundleUrl` (a folder URL): its manifest and tokenizer. Options: `fetch`
 * (a fetch implementation), `timeoutMs` (per request, default 30 s).
 */
export async function createStaticSearch(bundleUrl, options = {}) {
  const reader = new BundleReader(bundleUrl, options);
  const manifest = await reader.manifest();
  checkManifest(manifest);
  const { tokenizer, weights } = await reader.tokenizer(manifest);
  if (tokenizer.vocabSize !== manifest.vocabSize) {
    throw new Error(`static search: the tokenizer has ${tokenizer.vocabSize} tokens, the manifest says ${manifest.vocabSize}`);
  }
  return new StaticSearch(reader, manifest, tokenizer, weights);
}

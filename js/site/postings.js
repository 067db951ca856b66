// Posting shards and the exact top-k over them (src/site/FORMAT.md, "Posting shard body", "Scoring"
// and "Split lists"), mirrored by src/site/reader.rs: both must fetch the same files for a query.
import { VarintReader } from "./bundle.js";

/** One posting file: a directory of token lists whose postings are decoded when first asked for. */
export class Shard {
  #body;
  #lists = new Map();
  #passages;

  /**
   * `firstToken..endToken`: the token ids it may hold; `tailFiles`: `[start, end)` of the file
   * numbers that are tails (what a split list's head may name).
   */
  constructor(body, { firstToken, endToken, passages, tailFiles, what }) {
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
        const tails = [];
        for (let n = r.next(); n > 0; n--) {
          const file = r.next();
          const max = r.next();
          if (file < tailFiles[0] || file >= tailFiles[1] || max < 1 || max > 255 || (tails.length > 0 && max > tails.at(-1).max)) {
            throw new RangeError(`bad tail of token ${token}`);
          }
          tails.push({ file, max });
        }
        entries.push({ token, postings, factor, scale, idBytes, tails });
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

  /** `{factor, scale, tails, ordinals: Uint32Array, impacts: Uint8Array}` of `token`, or null. */
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
export function topK(acc, touched, k) {
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

/** `(accA, ordA)` before `(accB, ordB)` in the ranking, as a sort comparator over `[acc, ordinal]`. */
export const byRank = (a, b) => (better(a[0], a[1], b[0], b[1]) ? -1 : 1);

/** The most a query list's pending tails can add to one passage's accumulator. */
export const bound = (list) => (list.pending.length > 0 ? list.factor * list.pending[0].max : 0);

/**
 * Whether the fetched segments settle the top `k` (as `settled` in src/site/reader.rs): the k-th
 * best partial sum beats the bound `rest` of any passage not seen yet, and exactly k seen passages
 * can still reach it (partial sum plus the bounds of the lists whose fetched segments lack them).
 */
export function settled(lists, acc, touched, rest, k) {
  if (touched.length < k) {
    return false;
  }
  const kth = touched.map((p) => acc[p]).sort((a, b) => b - a)[k - 1];
  if (rest >= kth) {
    return false;
  }
  const credit = new Map();
  for (const list of lists) {
    const b = bound(list);
    if (b > 0) {
      for (const s of list.segments) {
        for (const p of s.ordinals) {
          credit.set(p, (credit.get(p) ?? 0) + b);
        }
      }
    }
  }
  let reachable = 0;
  for (const p of touched) {
    if (acc[p] + rest - (credit.get(p) ?? 0) >= kth) {
      reachable += 1;
    }
  }
  return reachable === k;
}

export function lowerBound(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Small helpers shared by the benchmark's Node and browser sides (no Node or DOM APIs here).

export function median(xs) {
  if (xs.length === 0) {
    return null;
  }
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function chunk(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

/** Times `fn` once per repetition; returns seconds per repetition. */
export async function timeRepeats(reps, fn) {
  const seconds = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn(r);
    seconds.push((performance.now() - t0) / 1000);
  }
  return seconds;
}

/**
 * Throughput figures from per-repetition seconds: docs/s and tokens/s as medians and bests
 * (the best repetition is the least disturbed by the shared machine).
 */
export function throughput(seconds, docs, tokens) {
  const med = median(seconds);
  const best = Math.min(...seconds);
  return {
    repeats: seconds.length,
    seconds,
    docs_per_s: docs / med,
    docs_per_s_best: docs / best,
    tokens_per_s: tokens / med,
    tokens_per_s_best: tokens / best,
  };
}

export function latency(seconds) {
  return {
    repeats: seconds.length,
    seconds,
    ms: median(seconds) * 1000,
    ms_best: Math.min(...seconds) * 1000,
  };
}

/**
 * Query latency: `blocks` blocks of `perBlock` calls each, timed per block (browsers coarsen
 * performance.now() to 100 µs without cross-origin isolation, so single calls cannot be timed
 * there). Reports the median and best block mean, in µs.
 */
export function queryLatency(encodeQuery, text, blocks = 100, perBlock = 100) {
  for (let i = 0; i < 1000; i++) {
    encodeQuery(text);
  }
  const perCall = [];
  for (let b = 0; b < blocks; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBlock; i++) {
      encodeQuery(text);
    }
    perCall.push(((performance.now() - t0) * 1000) / perBlock);
  }
  return { calls: blocks * perBlock, us_median: median(perCall), us_best: Math.min(...perCall) };
}

/** A dense SPLADE row to sparse indices/values, as a developer using onnxruntime-web would. */
export function denseRowToSparse(data, offset, width) {
  let n = 0;
  for (let j = 0; j < width; j++) {
    if (data[offset + j] > 0) {
      n++;
    }
  }
  const indices = new Uint32Array(n);
  const values = new Float32Array(n);
  let k = 0;
  for (let j = 0; j < width; j++) {
    const v = data[offset + j];
    if (v > 0) {
      indices[k] = j;
      values[k++] = v;
    }
  }
  return { indices, values };
}

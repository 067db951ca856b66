//! `splade bench-index`: builds an index of synthetic passages and times exact top-k search.
//!
//! The corpus generator is specified exactly so that `bench/index-bench.mjs` reproduces it in
//! JavaScript (same PRNG, same draws, same order), and both measure the same index:
//!
//! - PRNG: mulberry32 (`next_u32`), and `next_f64 = next_u32 / 2^32`.
//! - Token ids: Zipf (exponent 1) over the 30,522 ids of the BERT vocabulary, id `r` having
//!   weight `1 / (r + 1)`; a draw is the first id whose cumulative weight exceeds
//!   `next_f64 × total`.
//! - Passage: `nnz = 120 + next_u32 % 61` (mean 150), then draw ids until `nnz` distinct ones are
//!   chosen; each new id takes the weight `3 × (next_u32 + 0.5) / 2^32`, in (0, 3).
//! - Query: `nnz = 5 + next_u32 % 7` (mean 8) distinct ids the same way, weights
//!   `1 + 7 × next_f64`, in [1, 8).
//! - Passages use the seed, queries the seed XOR `0x9E3779B9`.

use std::time::Instant;

use serde_json::json;

use crate::error::{Error, Result};
use crate::index::SparseIndex;
use crate::sparse::SparseVector;

pub const VOCAB_SIZE: usize = 30_522;

/// The mulberry32 generator (32-bit state), easy to mirror bit-exactly in JavaScript.
pub struct Mulberry32(u32);

impl Mulberry32 {
    pub fn new(seed: u32) -> Self {
        Self(seed)
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x6D2B_79F5);
        let mut t = self.0;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        t ^ (t >> 14)
    }

    pub fn next_f64(&mut self) -> f64 {
        f64::from(self.next_u32()) / 4_294_967_296.0
    }
}

/// Synthetic SPLADE-like passages and queries; see the module documentation.
pub struct SyntheticCorpus {
    rng: Mulberry32,
    cumulative: Vec<f64>,
    /// `stamp` marks the ids already drawn for the current vector.
    seen: Vec<u32>,
    stamp: u32,
}

impl SyntheticCorpus {
    pub fn new(seed: u32) -> Self {
        let mut total = 0.0;
        let cumulative = (0..VOCAB_SIZE)
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect();
        Self {
            rng: Mulberry32::new(seed),
            cumulative,
            seen: vec![0; VOCAB_SIZE],
            stamp: 0,
        }
    }

    fn token(&mut self) -> u32 {
        let u = self.rng.next_f64() * self.cumulative[VOCAB_SIZE - 1];
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(VOCAB_SIZE - 1) as u32
    }

    fn vector(
        &mut self,
        nnz: usize,
        mut weight: impl FnMut(&mut Mulberry32) -> f32,
    ) -> SparseVector {
        self.stamp += 1;
        let mut pairs = Vec::with_capacity(nnz);
        while pairs.len() < nnz {
            let id = self.token();
            if self.seen[id as usize] != self.stamp {
                self.seen[id as usize] = self.stamp;
                pairs.push((id, weight(&mut self.rng)));
            }
        }
        SparseVector::from_pairs(pairs)
    }

    pub fn passage(&mut self) -> SparseVector {
        let nnz = 120 + (self.rng.next_u32() % 61) as usize;
        self.vector(nnz, |rng| {
            (3.0 * (f64::from(rng.next_u32()) + 0.5) / 4_294_967_296.0) as f32
        })
    }

    pub fn query(&mut self) -> SparseVector {
        let nnz = 5 + (self.rng.next_u32() % 7) as usize;
        self.vector(nnz, |rng| (1.0 + 7.0 * rng.next_f64()) as f32)
    }
}

/// The id of synthetic passage `i`: eight passages per note, as a notes app would split them.
pub fn passage_id(i: usize) -> String {
    format!("notes/{:05}.md#{}", i / 8, i % 8)
}

#[derive(Debug, Clone, Copy)]
pub struct IndexBenchConfig {
    pub passages: usize,
    pub queries: usize,
    pub k: usize,
    pub seed: u32,
}

/// FNV-1a (32-bit) over every query's hits (id bytes, a zero byte, the score's f32 bits
/// little-endian), so that the JavaScript benchmark can show it ranked exactly the same.
pub fn hits_digest<'a>(hits: impl IntoIterator<Item = &'a crate::index::Hit>) -> u32 {
    let mut h = 0x811C_9DC5u32;
    for hit in hits {
        let bytes = hit
            .id
            .bytes()
            .chain([0])
            .chain(hit.score.to_bits().to_le_bytes());
        for b in bytes {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Builds the index, times the queries, and returns one JSON report.
pub fn run(config: &IndexBenchConfig) -> Result<serde_json::Value> {
    if config.passages == 0 || config.queries == 0 {
        return Err(Error::input(
            "bench-index needs at least one passage and one query",
        ));
    }
    let start = Instant::now();
    let mut generator = SyntheticCorpus::new(config.seed);
    let passages: Vec<SparseVector> = (0..config.passages).map(|_| generator.passage()).collect();
    let mut generator = SyntheticCorpus::new(config.seed ^ 0x9E37_79B9);
    let queries: Vec<SparseVector> = (0..config.queries).map(|_| generator.query()).collect();
    let generate_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut index = SparseIndex::new();
    for (i, v) in passages.iter().enumerate() {
        index.add(&passage_id(i), v)?;
    }
    let build_s = start.elapsed().as_secs_f64();

    // Exactness spot check against brute force, which also warms the caches.
    for q in queries.iter().take(5) {
        let hits = index.search(q, config.k);
        let mut brute: Vec<(f32, String)> = passages
            .iter()
            .enumerate()
            .map(|(i, v)| (q.dot(v), passage_id(i)))
            .filter(|(s, _)| *s > 0.0)
            .collect();
        brute.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        brute.truncate(config.k);
        let got: Vec<(f32, String)> = hits.into_iter().map(|h| (h.score, h.id)).collect();
        if got != brute {
            return Err(Error::input(
                "bench-index: search disagrees with brute force",
            ));
        }
    }

    let mut latencies_ms = Vec::with_capacity(queries.len());
    let mut all_hits = Vec::with_capacity(queries.len() * config.k.min(config.passages));
    for q in &queries {
        let start = Instant::now();
        let hits = std::hint::black_box(index.search(std::hint::black_box(q), config.k));
        latencies_ms.push(start.elapsed().as_secs_f64() * 1e3);
        all_hits.extend(hits);
    }
    let mean_ms = latencies_ms.iter().sum::<f64>() / latencies_ms.len() as f64;
    latencies_ms.sort_by(f64::total_cmp);
    let postings_per_query = queries
        .iter()
        .map(|q| {
            q.indices()
                .iter()
                .map(|&t| index.posting_count(t))
                .sum::<usize>()
        })
        .sum::<usize>() as f64
        / queries.len() as f64;

    let stats = index.stats();
    let start = Instant::now();
    let bytes = index.save();
    let save_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let loaded = SparseIndex::load(&bytes)?;
    let load_s = start.elapsed().as_secs_f64();
    if queries
        .iter()
        .take(20)
        .any(|q| loaded.search(q, config.k) != index.search(q, config.k))
    {
        return Err(Error::input(
            "bench-index: the loaded index answers differently",
        ));
    }

    Ok(json!({
        "bench": "index",
        "passages": config.passages,
        "nnz_per_passage": stats.postings as f64 / config.passages as f64,
        "tokens": stats.tokens,
        "queries": config.queries,
        "nnz_per_query": queries.iter().map(SparseVector::len).sum::<usize>() as f64 / queries.len() as f64,
        "postings_per_query": postings_per_query,
        "k": config.k,
        "hits_per_query": all_hits.len() as f64 / queries.len() as f64,
        "hits_digest": format!("{:08x}", hits_digest(&all_hits)),
        "generate_s": generate_s,
        "build_s": build_s,
        "search_ms_p50": percentile(&latencies_ms, 0.50),
        "search_ms_p95": percentile(&latencies_ms, 0.95),
        "search_ms_mean": mean_ms,
        "search_ms_max": latencies_ms[latencies_ms.len() - 1],
        "memory_bytes": stats.memory_bytes,
        "memory_bytes_loaded": loaded.stats().memory_bytes,
        "postings_bytes": stats.postings_bytes,
        "documents_bytes": stats.documents_bytes,
        "scratch_bytes": stats.scratch_bytes,
        "serialized_bytes": bytes.len(),
        "save_s": save_s,
        "load_s": load_s,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mulberry32_matches_its_reference_sequence() {
        // From the JavaScript reference implementation with seed 1.
        let mut rng = Mulberry32::new(1);
        let got: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(got, [2_693_262_067, 11_749_833, 2_265_367_787]);
    }

    #[test]
    fn synthetic_vectors_have_the_documented_shape() {
        let mut corpus = SyntheticCorpus::new(7);
        for _ in 0..20 {
            let p = corpus.passage();
            assert!((120..=180).contains(&p.len()));
            assert!(p.values().iter().all(|&w| w > 0.0 && w <= 3.0));
            assert!(p.indices().iter().all(|&t| (t as usize) < VOCAB_SIZE));
            let q = corpus.query();
            assert!((5..=11).contains(&q.len()));
            assert!(q.values().iter().all(|&w| (1.0..8.0).contains(&w)));
        }
    }

    #[test]
    fn hits_digest_is_fnv1a() {
        let hit = crate::index::Hit {
            id: "a".into(),
            score: 1.0,
        };
        // FNV-1a of the bytes 61 00 00 00 80 3f.
        let mut h = 0x811C_9DC5u32;
        for b in [0x61u8, 0, 0, 0, 0x80, 0x3f] {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        assert_eq!(hits_digest([&hit]), h);
        assert_eq!(hits_digest([]), 0x811C_9DC5);
    }

    #[test]
    fn small_bench_runs() {
        let report = run(&IndexBenchConfig {
            passages: 300,
            queries: 20,
            k: 10,
            seed: 1,
        })
        .unwrap();
        assert_eq!(report["passages"], 300);
        assert!(report["serialized_bytes"].as_u64().unwrap() > 0);
    }
}

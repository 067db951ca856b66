//! The search index: add/remove/update, exact top-k against brute force on random data, term
//! explanations, bounded memory under churn, and the binary format (round trip, corrupt input).

mod common;

use std::collections::BTreeMap;

use splade_wasm::index::{vector_from_parts, SparseIndex};
use splade_wasm::{Hit, SparseVector};

/// xorshift64*: a tiny deterministic generator, enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A random vector over `vocab` ids. Weights are multiples of 0.25 so that equal scores (and
    /// with them the tie-breaking rule) occur often.
    fn vector(&mut self, vocab: u64, max_nnz: u64) -> SparseVector {
        let nnz = self.below(max_nnz + 1);
        let pairs = (0..nnz)
            .map(|_| (self.below(vocab) as u32, (1 + self.below(12)) as f32 * 0.25))
            .collect();
        SparseVector::from_pairs(pairs)
    }
}

fn v(pairs: &[(u32, f32)]) -> SparseVector {
    SparseVector::from_pairs(pairs.to_vec())
}

fn hit(id: &str, score: f32) -> Hit {
    Hit {
        id: id.to_string(),
        score,
    }
}

/// The reference ranking: dot product with every stored vector, positive scores only, best first,
/// equal scores by id.
fn brute_force(docs: &BTreeMap<String, SparseVector>, query: &SparseVector, k: usize) -> Vec<Hit> {
    let mut hits: Vec<Hit> = docs
        .iter()
        .map(|(id, d)| hit(id, query.dot(d)))
        .filter(|h| h.score > 0.0)
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    hits.truncate(k);
    hits
}

fn assert_matches_brute_force(
    index: &SparseIndex,
    docs: &BTreeMap<String, SparseVector>,
    rng: &mut Rng,
    vocab: u64,
) {
    assert_eq!(index.len(), docs.len());
    for _ in 0..40 {
        let query = rng.vector(vocab, 8);
        for k in [1, 3, 10, 1000] {
            assert_eq!(
                index.search(&query, k),
                brute_force(docs, &query, k),
                "query {query:?}, k = {k}"
            );
        }
    }
}

#[test]
fn add_remove_update_and_lookups() {
    let mut index = SparseIndex::new();
    assert!(index.is_empty());
    index
        .add("notes/a.md#0", &v(&[(10, 1.0), (20, 2.0)]))
        .unwrap();
    index
        .add("notes/a.md#1", &v(&[(20, 0.5), (30, 1.0)]))
        .unwrap();
    index.add("notes/b.md#0", &v(&[])).unwrap();
    assert_eq!(index.len(), 3);
    assert!(index.contains("notes/a.md#1"));
    assert!(!index.contains("notes/c.md#0"));
    assert_eq!(
        index.ids().collect::<Vec<_>>(),
        ["notes/a.md#0", "notes/a.md#1", "notes/b.md#0"]
    );
    assert_eq!(index.get("notes/a.md#0"), Some(v(&[(10, 1.0), (20, 2.0)])));
    assert_eq!(index.get("notes/b.md#0"), Some(v(&[])));
    assert_eq!(index.get("nope"), None);

    let query = v(&[(20, 1.0), (30, 3.0)]);
    assert_eq!(
        index.search(&query, 10),
        [hit("notes/a.md#1", 3.5), hit("notes/a.md#0", 2.0)]
    );
    assert_eq!(index.search(&query, 1), [hit("notes/a.md#1", 3.5)]);
    assert!(index.search(&query, 0).is_empty());
    assert!(index.search(&v(&[]), 10).is_empty());
    assert!(index.search(&v(&[(99, 1.0)]), 10).is_empty());

    // Update: the new vector replaces the old one entirely.
    index.add("notes/a.md#1", &v(&[(10, 4.0)])).unwrap();
    assert_eq!(index.len(), 3);
    assert_eq!(index.search(&query, 10), [hit("notes/a.md#0", 2.0)]);
    assert_eq!(
        index.search(&v(&[(10, 1.0)]), 10),
        [hit("notes/a.md#1", 4.0), hit("notes/a.md#0", 1.0)]
    );

    assert!(index.remove("notes/a.md#0"));
    assert!(!index.remove("notes/a.md#0"));
    assert!(!index.contains("notes/a.md#0"));
    assert_eq!(index.get("notes/a.md#0"), None);
    assert_eq!(index.explain("notes/a.md#0", &query), None);
    assert!(index.search(&query, 10).is_empty());
    assert_eq!(
        index.search(&v(&[(10, 1.0)]), 10),
        [hit("notes/a.md#1", 4.0)]
    );
    assert_eq!(index.len(), 2);
}

#[test]
fn negative_and_zero_scores_are_not_hits() {
    let mut index = SparseIndex::new();
    index.add("pos", &v(&[(1, 1.0)])).unwrap();
    index.add("neg", &v(&[(1, -1.0)])).unwrap();
    index.add("zero", &v(&[(1, 1.0), (2, -1.0)])).unwrap();
    assert_eq!(
        index.search(&v(&[(1, 1.0), (2, 1.0)]), 10),
        [hit("pos", 1.0)]
    );
}

#[test]
fn equal_scores_are_ordered_by_id() {
    let mut index = SparseIndex::new();
    for id in ["c", "a", "d", "b"] {
        index.add(id, &v(&[(7, 1.0)])).unwrap();
    }
    let hits = index.search(&v(&[(7, 2.0)]), 3);
    assert_eq!(hits, [hit("a", 2.0), hit("b", 2.0), hit("c", 2.0)]);
}

#[test]
fn top_k_equals_brute_force_on_random_data_through_churn() {
    let mut rng = Rng(0x5EED_1DE4);
    let vocab = 60;
    let mut index = SparseIndex::new();
    let mut docs = BTreeMap::new();
    for i in 0..300 {
        let vector = rng.vector(vocab, 12);
        let id = format!("doc-{i}");
        index.add(&id, &vector).unwrap();
        docs.insert(id, vector);
    }
    assert_matches_brute_force(&index, &docs, &mut rng, vocab);

    // Random updates, removals and re-adds, checking after each batch (compactions happen along
    // the way).
    for _ in 0..6 {
        for _ in 0..150 {
            let id = format!("doc-{}", rng.below(400));
            match rng.below(3) {
                0 => assert_eq!(index.remove(&id), docs.remove(&id).is_some()),
                _ => {
                    let vector = rng.vector(vocab, 12);
                    index.add(&id, &vector).unwrap();
                    docs.insert(id, vector);
                }
            }
        }
        assert_matches_brute_force(&index, &docs, &mut rng, vocab);
        for (id, vector) in &docs {
            assert_eq!(index.get(id).as_ref(), Some(vector));
        }
    }
}

#[test]
fn scores_equal_the_dot_product_exactly() {
    let mut rng = Rng(99);
    let mut index = SparseIndex::new();
    let mut docs = BTreeMap::new();
    for i in 0..200 {
        // Irregular weights: exactness must not rely on representable sums.
        let pairs = (0..30)
            .map(|_| {
                (
                    rng.below(500) as u32,
                    (rng.below(1 << 20) as f32 + 1.0) / 3e5,
                )
            })
            .collect();
        let vector = SparseVector::from_pairs(pairs);
        index.add(&i.to_string(), &vector).unwrap();
        docs.insert(i.to_string(), vector);
    }
    for _ in 0..50 {
        let pairs = (0..10)
            .map(|_| {
                (
                    rng.below(500) as u32,
                    (rng.below(1 << 20) as f32 + 1.0) / 1e5,
                )
            })
            .collect();
        let query = SparseVector::from_pairs(pairs);
        for h in index.search(&query, 20) {
            assert_eq!(h.score.to_bits(), query.dot(&docs[&h.id]).to_bits());
        }
        assert_eq!(index.search(&query, 20), brute_force(&docs, &query, 20));
    }
}

#[test]
fn explanations_list_shared_terms_and_sum_to_the_score() {
    let mut rng = Rng(7);
    let mut index = SparseIndex::new();
    for i in 0..100 {
        index.add(&format!("p{i}"), &rng.vector(40, 15)).unwrap();
    }
    for _ in 0..30 {
        let query = rng.vector(40, 6);
        for h in index.search(&query, 5) {
            let terms = index.explain(&h.id, &query).unwrap();
            let doc = index.get(&h.id).unwrap();
            assert!(!terms.is_empty());
            for t in &terms {
                assert_eq!(Some(t.query_weight), query.get(t.token_id));
                assert_eq!(Some(t.document_weight), doc.get(t.token_id));
                assert_eq!(t.contribution, t.query_weight * t.document_weight);
            }
            let shared = query
                .indices()
                .iter()
                .filter(|&&id| doc.get(id).is_some())
                .count();
            assert_eq!(terms.len(), shared);
            assert!(terms
                .windows(2)
                .all(|w| w[0].contribution >= w[1].contribution));
            let sum: f32 = terms.iter().map(|t| t.contribution).sum();
            assert!(
                (sum - h.score).abs() <= 1e-5 * h.score.abs(),
                "{sum} vs {}",
                h.score
            );
        }
    }
    // A document that shares nothing with the query has an empty explanation.
    index.add("lonely", &v(&[(1000, 1.0)])).unwrap();
    assert_eq!(index.explain("lonely", &v(&[(1, 1.0)])), Some(vec![]));
}

#[test]
fn explanation_shows_expansion_terms_in_order() {
    let mut index = SparseIndex::new();
    // A document about Mars whose expansion added token 500 ("planet") with a small weight.
    index
        .add("mars", &v(&[(100, 2.0), (200, 1.0), (500, 0.5)]))
        .unwrap();
    let query = v(&[(100, 1.0), (500, 6.0), (900, 3.0)]);
    let terms = index.explain("mars", &query).unwrap();
    let tokens: Vec<(u32, f32)> = terms.iter().map(|t| (t.token_id, t.contribution)).collect();
    assert_eq!(tokens, [(500, 3.0), (100, 2.0)]);
    assert_eq!(index.search(&query, 1), [hit("mars", 5.0)]);
}

#[test]
fn memory_stays_bounded_under_churn() {
    let mut rng = Rng(42);
    let mut index = SparseIndex::new();
    let n = 400;
    for i in 0..n {
        index.add(&format!("d{i}"), &rng.vector(2000, 40)).unwrap();
    }
    index.search(&rng.vector(2000, 8), 10);
    let baseline = index.stats().memory_bytes;
    let mut peak = 0;
    for round in 0..30 {
        for i in 0..n {
            let id = format!("d{i}");
            if (i + round) % 5 == 0 {
                index.remove(&id);
            }
            index.add(&id, &rng.vector(2000, 40)).unwrap();
        }
        index.search(&rng.vector(2000, 8), 10);
        let stats = index.stats();
        assert_eq!(stats.documents, n);
        assert!(stats.tombstones <= n, "{stats:?}");
        peak = peak.max(stats.memory_bytes);
    }
    assert!(
        peak <= 4 * baseline,
        "memory grew from {baseline} to {peak} bytes under churn"
    );
    // Removing everything releases the postings.
    for i in 0..n {
        assert!(index.remove(&format!("d{i}")));
    }
    let stats = index.stats();
    assert_eq!((stats.documents, stats.tokens, stats.postings), (0, 0, 0));
    assert!(stats.memory_bytes < baseline / 4, "{stats:?}");
}

fn small_index() -> SparseIndex {
    let mut rng = Rng(2024);
    let mut index = SparseIndex::new();
    for i in 0..12 {
        index
            .add(&format!("notes/ünïcode-{i}.md#0"), &rng.vector(300, 10))
            .unwrap();
    }
    index.remove("notes/ünïcode-3.md#0");
    index
        .add("notes/ünïcode-5.md#0", &rng.vector(300, 10))
        .unwrap();
    index
}

#[test]
fn save_load_round_trip_gives_identical_results() {
    let mut rng = Rng(31337);
    let mut index = SparseIndex::new();
    let mut docs = BTreeMap::new();
    for i in 0..500 {
        let vector = rng.vector(1000, 30);
        index.add(&format!("doc/{i}"), &vector).unwrap();
        docs.insert(format!("doc/{i}"), vector);
    }
    // Leave tombstones in the saved index: save must skip them.
    for i in (0..500).step_by(7) {
        index.remove(&format!("doc/{i}"));
        docs.remove(&format!("doc/{i}"));
    }
    assert!(index.stats().tombstones > 0);
    let bytes = index.save();
    let loaded = SparseIndex::load(&bytes).unwrap();
    assert_eq!(loaded.len(), index.len());
    assert_eq!(
        loaded.ids().collect::<Vec<_>>(),
        index.ids().collect::<Vec<_>>()
    );
    assert_eq!(loaded.stats().tombstones, 0);
    assert_eq!(loaded.stats().postings, index.stats().postings);
    for (id, vector) in &docs {
        assert_eq!(loaded.get(id).as_ref(), Some(vector));
    }
    for _ in 0..50 {
        let query = rng.vector(1000, 8);
        let hits = index.search(&query, 10);
        assert_eq!(loaded.search(&query, 10), hits);
        for h in &hits {
            assert_eq!(loaded.explain(&h.id, &query), index.explain(&h.id, &query));
        }
    }
    // Saving is deterministic and stable across a round trip.
    assert_eq!(loaded.save(), bytes);
    assert_eq!(SparseIndex::load(&loaded.save()).unwrap().save(), bytes);

    // The loaded index keeps working as a normal index.
    let mut loaded = loaded;
    loaded.add("doc/new", &v(&[(1, 9.0)])).unwrap();
    assert!(loaded.remove("doc/1"));
    assert_eq!(loaded.search(&v(&[(1, 1.0)]), 1)[0], hit("doc/new", 9.0));

    let empty = SparseIndex::new().save();
    assert!(SparseIndex::load(&empty).unwrap().is_empty());
}

#[test]
fn every_truncation_is_rejected_as_truncated() {
    let bytes = small_index().save();
    assert!(SparseIndex::load(&bytes).is_ok());
    for len in 0..bytes.len() {
        let err = SparseIndex::load(&bytes[..len]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "length {len}: {err}");
    }
}

#[test]
fn byte_flips_are_rejected() {
    let bytes = small_index().save();
    let mut rng = Rng(5);
    // Every position with a random non-zero XOR, then random multi-byte damage.
    for pos in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[pos] ^= 1 + rng.below(255) as u8;
        assert!(
            SparseIndex::load(&damaged).is_err(),
            "flip at {pos} accepted"
        );
    }
    for _ in 0..2000 {
        let mut damaged = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let pos = rng.below(bytes.len() as u64) as usize;
            damaged[pos] ^= 1 + rng.below(255) as u8;
        }
        if damaged != bytes {
            assert!(SparseIndex::load(&damaged).is_err());
        }
    }
}

#[test]
fn bad_files_give_clear_messages() {
    let bytes = small_index().save();
    let load_err = |b: &[u8]| SparseIndex::load(b).unwrap_err().to_string();

    let err = load_err(b"{\"not\": \"an index\"}");
    assert!(err.contains("not a splade-wasm index file"), "{err}");
    let err = load_err(&[]);
    assert!(err.contains("truncated"), "{err}");

    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(load_err(&wrong_magic).contains("magic"));

    let mut future = bytes.clone();
    future[8..12].copy_from_slice(&2u32.to_le_bytes());
    let err = load_err(&future);
    assert!(
        err.contains("version 2 is not supported") && err.contains("reads version 1"),
        "{err}"
    );

    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk");
    assert!(load_err(&longer).contains("4 unexpected bytes after its end"));

    let mut flipped = bytes.clone();
    let last_body_byte = bytes.len() - 5;
    flipped[last_body_byte] ^= 0x40;
    let err = load_err(&flipped);
    assert!(err.contains("corrupt") && err.contains("checksum"), "{err}");
}

#[test]
fn vectors_from_untrusted_parts_are_validated() {
    assert_eq!(
        vector_from_parts(&[9, 2, 5], &[1.0, 2.0, 0.0]).unwrap(),
        v(&[(2, 2.0), (9, 1.0)])
    );
    assert!(vector_from_parts(&[1, 1], &[1.0, 2.0]).is_err());
    assert!(vector_from_parts(&[1], &[f32::NEG_INFINITY]).is_err());
    assert!(vector_from_parts(&[1, 2], &[1.0]).is_err());
}

#[test]
fn the_index_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SparseIndex>();
    let mut index = SparseIndex::new();
    let mut rng = Rng(3);
    for i in 0..200 {
        index.add(&i.to_string(), &rng.vector(100, 20)).unwrap();
    }
    let queries: Vec<SparseVector> = (0..20).map(|_| rng.vector(100, 6)).collect();
    let expected: Vec<Vec<Hit>> = queries.iter().map(|q| index.search(q, 5)).collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    for (q, e) in queries.iter().zip(&expected) {
                        assert_eq!(&index.search(q, 5), e);
                    }
                }
            });
        }
    });
}

#[test]
fn bench_index_cli_prints_one_json_report() {
    let out = common::splade(&[
        "bench-index",
        "--passages",
        "300",
        "--queries",
        "20",
        "-k",
        "5",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passages"], 300);
    assert_eq!(report["k"], 5);
    for key in [
        "search_ms_p50",
        "search_ms_p95",
        "build_s",
        "memory_bytes",
        "serialized_bytes",
    ] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key}: {report}");
    }
}

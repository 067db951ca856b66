//! The search index: an inverted index of [`SparseVector`]s keyed by string document ids, with
//! exact top-k by sparse dot product, per-hit term explanations, removal and update, and a compact
//! checksummed binary format ([`SparseIndex::save`] / [`SparseIndex::load`]).
//!
//! Layout: every document gets a *slot* (a `u32`, in insertion order). Each token id owns one
//! posting list, a contiguous array of `(slot, weight)` sorted by slot. The postings are the only
//! copy of the vectors (a stored vector is read back from them by [`SparseIndex::get`]), so the
//! index costs about 8 bytes per non-zero plus the ids.
//!
//! Removal (and update, which is removal plus a new add) leaves a *tombstone*: the slot's id is
//! dropped at once, so the document can never be returned or explained again, but its postings stay
//! until the next compaction. Compaction rewrites the lists in place without the dead slots; it
//! runs automatically when the dead slots or dead postings outnumber the live ones, so memory stays
//! within about twice what the live documents need, and its cost is amortised over the removals
//! that caused it.
//!
//! Search accumulates `query weight × document weight` per slot in a dense `f32` array reused across
//! queries, visiting the query's tokens in increasing id order. That is the order in which
//! [`SparseVector::dot`] adds its products, so a hit's score equals `query.dot(document)` exactly.

mod format;

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::sparse::SparseVector;

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub score: f32,
}

/// One token's share of a hit's score: `contribution = query_weight * document_weight`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TermContribution {
    pub token_id: u32,
    pub query_weight: f32,
    pub document_weight: f32,
    pub contribution: f32,
}

/// Sizes of the index, for benchmarks and for a UI that wants to show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexStats {
    /// Live documents.
    pub documents: usize,
    /// Removed documents whose postings await compaction.
    pub tombstones: usize,
    /// Distinct token ids with a posting list.
    pub tokens: usize,
    /// Postings of live documents (their total number of non-zeros).
    pub postings: usize,
    /// Heap bytes of the posting lists and their token table (allocated capacity).
    pub postings_bytes: usize,
    /// Heap bytes of the ids, the id → slot table and the per-slot lengths.
    pub documents_bytes: usize,
    /// Heap bytes of the reusable score accumulator (4 per slot once a search has run).
    pub scratch_bytes: usize,
    /// The sum of the three above.
    pub memory_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
struct Posting {
    slot: u32,
    weight: f32,
}

/// Multiplicative (Fibonacci) hashing for `u32` token ids: much cheaper than SipHash on the hot
/// build path, and the keys are vocabulary ids, not attacker-chosen strings.
#[derive(Default)]
struct TokenHasher(u64);

impl Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type TokenMap<V> = HashMap<u32, V, BuildHasherDefault<TokenHasher>>;

/// An inverted index of sparse vectors; see the module documentation.
#[derive(Debug, Default)]
pub struct SparseIndex {
    /// Per slot, the document id; `None` is a tombstone.
    slots: Vec<Option<Box<str>>>,
    /// Per slot, the number of postings the document has in the lists.
    lens: Vec<u32>,
    by_id: HashMap<Box<str>, u32>,
    postings: TokenMap<Vec<Posting>>,
    dead_slots: usize,
    dead_postings: usize,
    /// All postings in the lists, tombstoned ones included.
    total_postings: usize,
    /// The score accumulator, all zeros between searches. Behind a mutex only so that `search`
    /// can take `&self`; a search that finds it busy uses a fresh one.
    scratch: Mutex<Vec<f32>>,
}

impl Clone for SparseIndex {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
            lens: self.lens.clone(),
            by_id: self.by_id.clone(),
            postings: self.postings.clone(),
            dead_slots: self.dead_slots,
            dead_postings: self.dead_postings,
            total_postings: self.total_postings,
            scratch: Mutex::default(),
        }
    }
}

/// Builds a vector from parallel arrays as they arrive from JavaScript or a file: the lengths must
/// match, every weight must be finite, and the ids must be distinct (any order; they are sorted).
/// Zero weights are dropped.
pub fn vector_from_parts(indices: &[u32], values: &[f32]) -> Result<SparseVector> {
    if indices.len() != values.len() {
        return Err(Error::input(format!(
            "a sparse vector needs as many values as indices (got {} indices and {} values)",
            indices.len(),
            values.len()
        )));
    }
    let mut pairs = Vec::with_capacity(indices.len());
    for (&id, &v) in indices.iter().zip(values) {
        if !v.is_finite() {
            return Err(Error::input(format!(
                "the weight of token {id} is {v}; weights must be finite numbers"
            )));
        }
        pairs.push((id, v));
    }
    pairs.sort_unstable_by_key(|&(id, _)| id);
    if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::input(format!(
            "token {} appears more than once in a sparse vector; indices must be distinct",
            w[0].0
        )));
    }
    Ok(SparseVector::from_pairs(pairs))
}

/// A top-k candidate. Ordered so that the *worse* candidate is the greater one (lower score, then
/// larger id): the root of a max-heap of candidates is the one to evict.
struct Candidate<'a> {
    score: f32,
    id: &'a str,
}

impl Ord for Candidate<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then_with(|| self.id.cmp(other.id))
    }
}

impl PartialOrd for Candidate<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate<'_> {}

impl SparseIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of (live) documents.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Document ids in insertion order (an updated document counts as inserted at its update).
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.slots.iter().filter_map(|id| id.as_deref())
    }

    /// Adds a document, or replaces the one with the same id. Rejects non-finite weights (they
    /// would make scores meaningless and the file format refuses them).
    pub fn add(&mut self, id: &str, vector: &SparseVector) -> Result<()> {
        if let Some((&token, &w)) = vector
            .indices()
            .iter()
            .zip(vector.values())
            .find(|(_, w)| !w.is_finite())
        {
            return Err(Error::input(format!(
                "document `{id}`: the weight of token {token} is {w}; weights must be finite numbers"
            )));
        }
        let slot = u32::try_from(self.slots.len())
            .ok()
            .filter(|&s| s < u32::MAX)
            .ok_or_else(|| Error::input("the index is full (2^32 - 1 document slots)"))?;
        self.tombstone(id);
        let id: Box<str> = id.into();
        for (&token, &weight) in vector.indices().iter().zip(vector.values()) {
            self.postings
                .entry(token)
                .or_default()
                .push(Posting { slot, weight });
        }
        self.slots.push(Some(id.clone()));
        self.lens.push(vector.len() as u32);
        self.by_id.insert(id, slot);
        self.total_postings += vector.len();
        self.compact_if_worthwhile();
        Ok(())
    }

    /// Removes a document; returns whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        let existed = self.tombstone(id);
        if existed {
            self.compact_if_worthwhile();
        }
        existed
    }

    /// Marks `id`'s slot dead, leaving its postings for the next compaction.
    fn tombstone(&mut self, id: &str) -> bool {
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        self.slots[slot as usize] = None;
        self.dead_slots += 1;
        self.dead_postings += self.lens[slot as usize] as usize;
        true
    }

    fn compact_if_worthwhile(&mut self) {
        let live_slots = self.slots.len() - self.dead_slots;
        let live_postings = self.total_postings - self.dead_postings;
        if self.dead_slots > live_slots || self.dead_postings > live_postings {
            self.compact();
        }
    }

    /// Drops the postings of removed documents and renumbers the slots densely (keeping their
    /// order). Runs automatically; calling it directly is only useful to release memory early.
    pub fn compact(&mut self) {
        if self.dead_slots == 0 {
            return;
        }
        const DEAD: u32 = u32::MAX;
        let mut remap = Vec::with_capacity(self.slots.len());
        let mut next = 0u32;
        for id in &self.slots {
            if id.is_some() {
                remap.push(next);
                next += 1;
            } else {
                remap.push(DEAD);
            }
        }
        self.postings.retain(|_, list| {
            let mut kept = 0;
            for i in 0..list.len() {
                let p = list[i];
                let slot = remap[p.slot as usize];
                if slot != DEAD {
                    list[kept] = Posting { slot, ..p };
                    kept += 1;
                }
            }
            list.truncate(kept);
            if list.capacity() > 2 * kept + 4 {
                list.shrink_to_fit();
            }
            kept > 0
        });
        if self.postings.capacity() > 2 * self.postings.len() + 16 {
            self.postings.shrink_to_fit();
        }
        let mut slot = 0;
        self.lens.retain(|_| {
            slot += 1;
            remap[slot - 1] != DEAD
        });
        self.slots.retain(Option::is_some);
        for (slot, id) in self.slots.iter().enumerate() {
            let id = id.as_deref().expect("only live slots remain");
            *self.by_id.get_mut(id).expect("every live slot has an id") = slot as u32;
        }
        if self.slots.capacity() > 2 * self.slots.len() + 16 {
            self.slots.shrink_to_fit();
            self.lens.shrink_to_fit();
        }
        if self.by_id.capacity() > 2 * self.by_id.len() + 16 {
            self.by_id.shrink_to_fit();
        }
        self.total_postings -= self.dead_postings;
        self.dead_slots = 0;
        self.dead_postings = 0;
        if let Ok(scratch) = self.scratch.get_mut() {
            scratch.truncate(self.slots.len());
            scratch.shrink_to_fit();
        }
    }

    /// Compacts and trims every allocation to its length. Posting lists grow by doubling while
    /// documents are added, so after a bulk load this typically frees a third of the memory;
    /// [`SparseIndex::load`] already gives exact sizes.
    pub fn shrink_to_fit(&mut self) {
        self.compact();
        for list in self.postings.values_mut() {
            list.shrink_to_fit();
        }
        self.postings.shrink_to_fit();
        self.slots.shrink_to_fit();
        self.lens.shrink_to_fit();
        self.by_id.shrink_to_fit();
    }

    fn weight_at(&self, token: u32, slot: u32) -> Option<f32> {
        let list = self.postings.get(&token)?;
        list.binary_search_by_key(&slot, |p| p.slot)
            .ok()
            .map(|pos| list[pos].weight)
    }

    /// The stored vector of a document, read back from the posting lists (a scan over every
    /// token's list, so meant for occasional use, not per search).
    pub fn get(&self, id: &str) -> Option<SparseVector> {
        let slot = *self.by_id.get(id)?;
        let pairs = self
            .postings
            .iter()
            .filter_map(|(&token, _)| self.weight_at(token, slot).map(|w| (token, w)))
            .collect();
        Some(SparseVector::from_pairs(pairs))
    }

    /// Every live document with its stored vector, in insertion order, from one pass over the
    /// posting lists (for exporting a whole index; [`SparseIndex::get`] is per document).
    pub fn documents(&self) -> Vec<(String, SparseVector)> {
        let mut pairs: Vec<Vec<(u32, f32)>> = vec![Vec::new(); self.slots.len()];
        for (&token, list) in &self.postings {
            for p in list {
                if self.slots[p.slot as usize].is_some() {
                    pairs[p.slot as usize].push((token, p.weight));
                }
            }
        }
        self.slots
            .iter()
            .zip(pairs)
            .filter_map(|(id, pairs)| {
                let id = id.as_deref()?;
                Some((id.to_string(), SparseVector::from_pairs(pairs)))
            })
            .collect()
    }

    /// The `k` documents with the highest dot product with `query`, best first. Only documents
    /// with a positive score are hits; equal scores are ordered by id. Each score equals
    /// `query.dot(&stored_vector)` exactly.
    pub fn search(&self, query: &SparseVector, k: usize) -> Vec<Hit> {
        if k == 0 || self.is_empty() || query.is_empty() {
            return Vec::new();
        }
        let mut guard = self.scratch.try_lock().ok();
        let mut fresh = Vec::new();
        let scores = match guard.as_deref_mut() {
            Some(scratch) => scratch,
            None => &mut fresh,
        };
        scores.resize(self.slots.len(), 0.0);
        for (token, &qw) in query.indices().iter().zip(query.values()) {
            if let Some(list) = self.postings.get(token) {
                for p in list {
                    scores[p.slot as usize] += qw * p.weight;
                }
            }
        }
        self.select_top_k(scores, k)
    }

    /// Picks the best `k` live slots from `scores` and resets every score to zero.
    fn select_top_k(&self, scores: &mut [f32], k: usize) -> Vec<Hit> {
        let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k.min(self.len()));
        // Once the heap is full, a candidate must score at least the worst kept one.
        let mut floor = 0.0f32;
        for (score, id) in scores.iter_mut().zip(&self.slots) {
            let score = std::mem::take(score);
            if !(score > 0.0 && score >= floor) {
                continue;
            }
            let Some(id) = id.as_deref() else {
                continue;
            };
            let candidate = Candidate { score, id };
            if heap.len() < k {
                heap.push(candidate);
                if heap.len() == k {
                    floor = heap.peek().map_or(0.0, |c| c.score);
                }
            } else {
                let replaced = match heap.peek_mut() {
                    Some(mut worst) if candidate < *worst => {
                        *worst = candidate;
                        true
                    }
                    _ => false,
                };
                if replaced {
                    floor = heap.peek().map_or(0.0, |c| c.score);
                }
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .map(|c| Hit {
                id: c.id.to_string(),
                score: c.score,
            })
            .collect()
    }

    /// Why `id` matches `query`: every token the two share, with both weights and their product,
    /// largest contribution first (ties by token id). `None` if the index has no such document.
    /// The contributions add up to the search score (up to f32 rounding, as the order differs).
    pub fn explain(&self, id: &str, query: &SparseVector) -> Option<Vec<TermContribution>> {
        let slot = *self.by_id.get(id)?;
        let mut terms: Vec<TermContribution> = query
            .indices()
            .iter()
            .zip(query.values())
            .filter_map(|(&token_id, &query_weight)| {
                let document_weight = self.weight_at(token_id, slot)?;
                Some(TermContribution {
                    token_id,
                    query_weight,
                    document_weight,
                    contribution: query_weight * document_weight,
                })
            })
            .collect();
        terms.sort_by(|a, b| {
            b.contribution
                .total_cmp(&a.contribution)
                .then(a.token_id.cmp(&b.token_id))
        });
        Some(terms)
    }

    /// How many postings token `token` has (removed documents' included until compaction): the
    /// work one query term costs.
    pub fn posting_count(&self, token: u32) -> usize {
        self.postings.get(&token).map_or(0, Vec::len)
    }

    /// Sizes and heap memory (allocated capacities, so what the process actually holds).
    pub fn stats(&self) -> IndexStats {
        use std::mem::size_of;
        let postings_bytes = self
            .postings
            .values()
            .map(|list| list.capacity() * size_of::<Posting>())
            .sum::<usize>()
            + self.postings.capacity() * (size_of::<(u32, Vec<Posting>)>() + 1);
        let id_bytes: usize = self.by_id.keys().map(|id| id.len()).sum();
        let documents_bytes = self.slots.capacity() * size_of::<Option<Box<str>>>()
            + self.lens.capacity() * size_of::<u32>()
            + self.by_id.capacity() * (size_of::<(Box<str>, u32)>() + 1)
            + 2 * id_bytes;
        let scratch_bytes = self
            .scratch
            .try_lock()
            .map_or(0, |s| s.capacity() * size_of::<f32>());
        IndexStats {
            documents: self.len(),
            tombstones: self.dead_slots,
            tokens: self.postings.len(),
            postings: self.total_postings - self.dead_postings,
            postings_bytes,
            documents_bytes,
            scratch_bytes,
            memory_bytes: postings_bytes + documents_bytes + scratch_bytes,
        }
    }

    /// Slots in use, tombstones included (for tests of the compaction policy).
    #[cfg(test)]
    fn slot_count(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(pairs: &[(u32, f32)]) -> SparseVector {
        SparseVector::from_pairs(pairs.to_vec())
    }

    #[test]
    fn update_moves_the_document_and_leaves_no_trace_of_the_old_vector() {
        let mut index = SparseIndex::new();
        index.add("a", &v(&[(1, 1.0), (2, 2.0)])).unwrap();
        index.add("b", &v(&[(2, 1.0)])).unwrap();
        index.add("a", &v(&[(3, 5.0)])).unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(index.ids().collect::<Vec<_>>(), ["b", "a"]);
        let hits = index.search(&v(&[(1, 1.0), (2, 1.0)]), 10);
        assert_eq!(
            hits,
            [Hit {
                id: "b".into(),
                score: 1.0
            }]
        );
        assert_eq!(index.get("a"), Some(v(&[(3, 5.0)])));
        assert_eq!(index.explain("a", &v(&[(1, 1.0), (2, 1.0)])), Some(vec![]));
    }

    #[test]
    fn compaction_bounds_tombstones_and_keeps_results() {
        let mut index = SparseIndex::new();
        for i in 0..100u32 {
            index
                .add(
                    &format!("d{i}"),
                    &v(&[(i % 7, 1.0 + i as f32), (100 + i, 1.0)]),
                )
                .unwrap();
        }
        for round in 0..50u32 {
            for i in 0..100u32 {
                let w = 1.0 + ((i + round) % 13) as f32;
                index
                    .add(&format!("d{i}"), &v(&[(i % 7, w), (100 + i, 1.0)]))
                    .unwrap();
                assert!(index.slot_count() <= 2 * index.len() + 1);
                assert!(index.dead_postings <= index.total_postings - index.dead_postings + 2);
            }
        }
        index.compact();
        assert_eq!(index.slot_count(), 100);
        assert_eq!(index.stats().tombstones, 0);
        assert_eq!(index.stats().postings, 200);
        assert_eq!(index.postings.len(), 107);
        let hits = index.search(&v(&[(105, 1.0)]), 3);
        assert_eq!(
            hits,
            [Hit {
                id: "d5".into(),
                score: 1.0
            }]
        );
    }

    #[test]
    fn removing_everything_releases_the_lists() {
        let mut index = SparseIndex::new();
        for i in 0..50u32 {
            index.add(&i.to_string(), &v(&[(i, 1.0)])).unwrap();
        }
        for i in 0..50u32 {
            assert!(index.remove(&i.to_string()));
            assert!(!index.remove(&i.to_string()));
        }
        assert!(index.is_empty());
        assert_eq!(index.slot_count(), 0);
        assert!(index.postings.is_empty());
        assert!(index.search(&v(&[(3, 1.0)]), 5).is_empty());
    }

    #[test]
    fn shrink_to_fit_frees_growth_slack_and_keeps_results() {
        let mut index = SparseIndex::new();
        for i in 0..300u32 {
            index
                .add(&format!("d{i}"), &v(&[(i % 5, 1.0 + i as f32), (7, 0.5)]))
                .unwrap();
        }
        index.remove("d3");
        let query = v(&[(3, 1.0), (7, 2.0)]);
        let before = (index.search(&query, 5), index.stats());
        index.shrink_to_fit();
        let after = index.stats();
        assert_eq!(index.search(&query, 5), before.0);
        assert!(after.postings_bytes < before.1.postings_bytes);
        assert_eq!(after.postings, before.1.postings);
        assert_eq!(after.tombstones, 0);
    }

    #[test]
    fn busy_scratch_falls_back_to_a_fresh_accumulator() {
        let mut index = SparseIndex::new();
        index.add("a", &v(&[(1, 2.0)])).unwrap();
        let _held = index.scratch.lock().unwrap();
        let hits = index.search(&v(&[(1, 3.0)]), 1);
        assert_eq!(
            hits,
            [Hit {
                id: "a".into(),
                score: 6.0
            }]
        );
    }

    #[test]
    fn vector_from_parts_validates() {
        assert_eq!(
            vector_from_parts(&[5, 1], &[2.0, 0.5]).unwrap(),
            v(&[(1, 0.5), (5, 2.0)])
        );
        let e = vector_from_parts(&[1, 2], &[1.0]).unwrap_err().to_string();
        assert!(e.contains("2 indices and 1 values"), "{e}");
        let e = vector_from_parts(&[3, 1, 3], &[1.0, 1.0, 1.0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("token 3 appears more than once"), "{e}");
        let e = vector_from_parts(&[4], &[f32::NAN])
            .unwrap_err()
            .to_string();
        assert!(e.contains("token 4") && e.contains("finite"), "{e}");
    }

    #[test]
    fn add_rejects_non_finite_weights() {
        let mut index = SparseIndex::new();
        let bad = v(&[(1, f32::INFINITY)]);
        let e = index.add("x", &bad).unwrap_err().to_string();
        assert!(e.contains("document `x`") && e.contains("finite"), "{e}");
        assert!(index.is_empty());
    }
}

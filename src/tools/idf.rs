//! Building an inference-free query side from a corpus: inverse document frequencies over token
//! ids, the way OpenSearch built doc-v1's `idf.json`: `ln(N / df)` for tokens seen in the corpus,
//! 1.0 for special tokens, `[unusedN]` slots and tokens never seen.

use std::collections::BTreeMap;

use crate::tokenizer::TextTokenizer;

/// Counts, for each token id, how many documents contain it.
pub struct DocumentFrequencies {
    documents: u64,
    counts: Vec<u64>,
    seen: Vec<u32>,
}

impl DocumentFrequencies {
    pub fn new(vocab_size: usize) -> Self {
        Self {
            documents: 0,
            counts: vec![0; vocab_size],
            seen: Vec::new(),
        }
    }

    /// Adds one document given its token ids (tokenized without special tokens, untruncated).
    pub fn add(&mut self, ids: &[u32]) {
        self.seen.clear();
        self.seen.extend_from_slice(ids);
        self.seen.sort_unstable();
        self.seen.dedup();
        for &id in &self.seen {
            if let Some(c) = self.counts.get_mut(id as usize) {
                *c += 1;
            }
        }
        self.documents += 1;
    }

    pub fn documents(&self) -> u64 {
        self.documents
    }

    /// One weight per vocabulary id.
    pub fn weights(&self, special_ids: &[u32], unused_ids: &[u32]) -> Vec<f32> {
        let n = self.documents as f64;
        let mut weights: Vec<f32> = self
            .counts
            .iter()
            .map(|&df| {
                if df == 0 {
                    1.0
                } else {
                    (n / df as f64).ln() as f32
                }
            })
            .collect();
        for &id in special_ids.iter().chain(unused_ids) {
            if let Some(w) = weights.get_mut(id as usize) {
                *w = 1.0;
            }
        }
        weights
    }
}

/// The `{token: weight}` table for every vocabulary entry, as `idf.json` stores it.
pub fn idf_table(tokenizer: &TextTokenizer, df: &DocumentFrequencies) -> BTreeMap<String, f32> {
    let vocab = tokenizer.vocab_size() as u32;
    let unused: Vec<u32> = (0..vocab)
        .filter(|&id| {
            tokenizer
                .token(id)
                .is_some_and(|t| t.starts_with("[unused") && t.ends_with(']'))
        })
        .collect();
    let weights = df.weights(&tokenizer.special_token_ids(), &unused);
    (0..vocab)
        .filter_map(|id| Some((tokenizer.token(id)?, weights[id as usize])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_log_inverse_document_frequency() {
        let mut df = DocumentFrequencies::new(6);
        df.add(&[1, 2, 2]);
        df.add(&[2, 3]);
        df.add(&[2]);
        df.add(&[4]);
        let w = df.weights(&[0], &[5]);
        assert_eq!(df.documents(), 4);
        assert_eq!(w[0], 1.0); // special
        assert_eq!(w[1], (4.0f64).ln() as f32);
        assert_eq!(w[2], (4.0f64 / 3.0).ln() as f32); // counted once per document
        assert_eq!(w[5], 1.0); // unused slot, never seen
    }

    #[test]
    fn a_token_in_every_document_gets_zero() {
        let mut df = DocumentFrequencies::new(2);
        df.add(&[1]);
        df.add(&[1]);
        assert_eq!(df.weights(&[], &[])[1], 0.0);
    }
}

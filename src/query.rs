//! The inference-free query side (sentence-transformers `SparseStaticEmbedding`): tokenize without
//! special tokens, keep each distinct token id once, and look up one stored weight per id.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::sparse::SparseVector;
use crate::tokenizer::TextTokenizer;

#[derive(Clone)]
pub struct QueryEncoder {
    tokenizer: TextTokenizer,
    weights: Vec<f32>,
}

impl QueryEncoder {
    pub fn new(tokenizer: TextTokenizer, weights: Vec<f32>) -> Result<Self> {
        if let Some((id, w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            return Err(Error::model(format!(
                "query weight of token id {id} is not finite ({w})"
            )));
        }
        Ok(Self { tokenizer, weights })
    }

    /// Weights from an OpenSearch `idf.json` (`{token: weight}`), mapped through the tokenizer's
    /// vocabulary; tokens the file does not name get 0, as in `SparseStaticEmbedding.from_json`.
    pub fn from_idf_json(tokenizer: TextTokenizer, json: &[u8]) -> Result<Self> {
        let table: HashMap<String, f64> = serde_json::from_slice(json).map_err(|e| {
            Error::model(format!(
                "`idf.json` must be a JSON object of token → number: {e}"
            ))
        })?;
        let mut weights = vec![0.0f32; tokenizer.vocab_size()];
        for (token, weight) in table {
            if let Some(id) = tokenizer.token_id(&token) {
                if let Some(slot) = weights.get_mut(id as usize) {
                    *slot = weight as f32;
                }
            }
        }
        Self::new(tokenizer, weights)
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text)
    }

    /// Empty or whitespace-only text has no tokens and gives the empty vector.
    pub fn encode(&self, text: &str) -> Result<SparseVector> {
        let mut ids = self.token_ids(text)?;
        ids.sort_unstable();
        ids.dedup();
        let pairs = ids
            .into_iter()
            .map(|id| (id, self.weights.get(id as usize).copied().unwrap_or(0.0)))
            .collect();
        Ok(SparseVector::from_pairs(pairs))
    }
}

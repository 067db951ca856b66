//! The document side: tokenize, run the masked-LM transformer, SPLADE-pool.

use candle_core::{Device, Tensor};

use crate::error::Result;
use crate::models::MaskedLanguageModel;
use crate::pooling::SpladePooling;
use crate::sparse::SparseVector;
use crate::tokenizer::TextTokenizer;

/// Padded tokens per forward pass: large enough for efficient matrix products, small enough that a
/// batch's activations stay in the tens of megabytes for base-sized models.
const DEFAULT_BATCH_TOKENS: usize = 4096;
const MAX_BATCH_SIZE: usize = 32;

pub struct DocumentEncoder {
    tokenizer: TextTokenizer,
    model: Box<dyn MaskedLanguageModel>,
    pooling: SpladePooling,
    batch_tokens: usize,
}

impl DocumentEncoder {
    pub fn new(
        tokenizer: TextTokenizer,
        model: Box<dyn MaskedLanguageModel>,
        pooling: SpladePooling,
    ) -> Self {
        Self {
            tokenizer,
            model,
            pooling,
            batch_tokens: DEFAULT_BATCH_TOKENS,
        }
    }

    /// Sets how many padded tokens one forward pass may hold (at least one document always goes
    /// through): more is faster for small models, less bounds memory for large ones.
    pub fn set_batch_tokens(&mut self, tokens: usize) {
        self.batch_tokens = tokens.max(1);
    }

    /// Lowers (or restores) the truncation length, e.g. to benchmark at a fixed length; it cannot
    /// exceed what the model can position.
    pub fn set_max_tokens(&mut self, max_tokens: usize) -> Result<()> {
        let limit = self.model.info().max_positions;
        if max_tokens > limit {
            return Err(crate::Error::input(format!(
                "maximum sequence length {max_tokens} exceeds the model's {limit} positions"
            )));
        }
        self.tokenizer.set_max_length(max_tokens)
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    pub fn model(&self) -> &dyn MaskedLanguageModel {
        self.model.as_ref()
    }

    pub fn pooling(&self) -> SpladePooling {
        self.pooling
    }

    /// Token ids with `[CLS]`/`[SEP]`, truncated to the maximum sequence length.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text)
    }

    pub fn encode(&self, text: &str) -> Result<SparseVector> {
        let ids = self.token_ids(text)?;
        Ok(self.encode_token_batch(&[ids.as_slice()])?.remove(0))
    }

    /// Encodes many texts. They are sorted by length and grouped into padded batches, so little
    /// compute goes to padding; the output is in input order and equals one-by-one encoding up to
    /// float rounding.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<Vec<SparseVector>> {
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| self.token_ids(t))
            .collect::<Result<_>>()?;
        let mut out = vec![SparseVector::default(); ids.len()];
        for batch in length_sorted_batches(&ids, self.batch_tokens, MAX_BATCH_SIZE) {
            let tokens: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            for (&i, vector) in batch.iter().zip(self.encode_token_batch(&tokens)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    /// One forward pass over right-padded token sequences.
    fn encode_token_batch(&self, batch: &[&[u32]]) -> Result<Vec<SparseVector>> {
        let len = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        if len == 0 {
            // Only possible with a tokenizer that adds no special tokens, on empty text.
            return Ok(vec![SparseVector::default(); batch.len()]);
        }
        let mut input_ids = vec![0u32; batch.len() * len];
        let mut mask = vec![0f32; batch.len() * len];
        for (row, ids) in batch.iter().enumerate() {
            input_ids[row * len..row * len + ids.len()].copy_from_slice(ids);
            mask[row * len..row * len + ids.len()].fill(1.0);
        }
        let input_ids = Tensor::from_vec(input_ids, (batch.len(), len), &Device::Cpu)?;
        let mask = Tensor::from_vec(mask, (batch.len(), len), &Device::Cpu)?;
        let hidden = self.model.hidden_states(&input_ids, &mask)?;
        batch
            .iter()
            .enumerate()
            .map(|(row, ids)| {
                let rows = hidden.get(row)?.narrow(0, 0, ids.len())?;
                let dense = self.pooling.pool(self.model.head(), &rows)?;
                Ok(SparseVector::from_dense(&dense))
            })
            .collect()
    }
}

/// Indices of `ids` in padded batches: sorted longest first, so that a batch's first item sets its
/// padded length and little compute goes to padding; each batch holds at most `batch_tokens` padded
/// tokens and `max_batch` items, and at least one item.
pub(crate) fn length_sorted_batches(
    ids: &[Vec<u32>],
    batch_tokens: usize,
    max_batch: usize,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
    let mut batches = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let padded = ids[order[start]].len().max(1);
        let end = (start + (batch_tokens / padded).clamp(1, max_batch)).min(order.len());
        batches.push(order[start..end].to_vec());
        start = end;
    }
    batches
}

//! Tokenization for both sides, with the reference's truncation rules:
//! - documents: `[CLS] … [SEP]`, truncated on the right to `max_seq_length` counting the specials;
//! - queries: no special tokens, truncated on the right to the tokenizer's `model_max_length`.
//!
//! `tokenizer.json` files saved by transformers have `truncation: null`, so the limits come from the
//! configs and are applied here rather than trusted from the file.

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{Error, Result};

/// `model_max_length` values above this are transformers' "unset" sentinel (1e30).
const UNSET_MAX_LENGTH: u64 = 1 << 40;

#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    max_length: usize,
    add_special_tokens: bool,
}

impl TextTokenizer {
    pub fn from_bytes(
        json: &[u8],
        max_length: usize,
        add_special_tokens: bool,
        source: &str,
    ) -> Result<Self> {
        let mut inner = Tokenizer::from_bytes(json)
            .map_err(|e| Error::model(format!("cannot parse tokenizer `{source}`: {e}")))?;
        inner.with_padding(None);
        let mut tokenizer = Self {
            inner,
            max_length,
            add_special_tokens,
        };
        tokenizer.set_max_length(max_length)?;
        Ok(tokenizer)
    }

    /// Truncates to `max_length` tokens, special tokens included.
    pub fn set_max_length(&mut self, max_length: usize) -> Result<()> {
        let min = if self.add_special_tokens { 2 } else { 1 };
        if max_length < min {
            return Err(Error::input(format!(
                "maximum sequence length must be at least {min}, got {max_length}"
            )));
        }
        self.inner
            .with_truncation(Some(TruncationParams {
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| Error::input(format!("cannot set truncation to {max_length}: {e}")))?;
        self.max_length = max_length;
        Ok(())
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids after truncation (and special tokens on the document side).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, self.add_special_tokens)
            .map_err(|e| Error::input(format!("tokenization failed: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The tokenizer as `tokenizer.json` text (e.g. to ship a lean copy of its vocabulary).
    pub fn to_json(&self) -> Result<String> {
        self.inner
            .to_string(false)
            .map_err(|e| Error::model(format!("cannot serialise the tokenizer: {e}")))
    }

    /// The vocabulary string of a token id, e.g. `"##ing"` or `"[CLS]"`.
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Ids of the tokens the tokenizer marks special (`[PAD]`, `[UNK]`, `[CLS]`, …).
    pub fn special_token_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, token)| token.special)
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// Reads `model_max_length` from a `tokenizer_config.json`, `None` when absent or unset.
pub fn model_max_length(tokenizer_config: Option<&serde_json::Value>) -> Option<usize> {
    let value = tokenizer_config?.get("model_max_length")?;
    let n = value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))?;
    (n > 0 && n < UNSET_MAX_LENGTH).then_some(n as usize)
}

//! SPLADE pooling (sentence-transformers `SpladePooling`) fused with the masked-LM vocabulary
//! projection, so that a tokens × vocabulary logits matrix is never held in memory.

use candle_core::Tensor;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::MlmHead;

/// Logits held at once: token rows per block are chosen so a block stays below this many bytes
/// (64 rows for a 30,522-token vocabulary).
const LOGITS_BLOCK_BYTES: usize = 8 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolingStrategy {
    Max,
    Sum,
}

/// ST naming trap: `"relu"` already means log(1 + relu(x)); `"log1p_relu"` applies log1p twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpladeActivation {
    Relu,
    Log1pRelu,
}

impl SpladeActivation {
    pub fn apply(self, x: f32) -> f32 {
        let once = x.max(0.0).ln_1p();
        match self {
            SpladeActivation::Relu => once,
            SpladeActivation::Log1pRelu => once.ln_1p(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SpladePooling {
    pub strategy: PoolingStrategy,
    pub activation: SpladeActivation,
}

impl Default for SpladePooling {
    /// What OpenSearch's doc-v1/v2 models apply: max over tokens of log(1 + relu(logit)).
    fn default() -> Self {
        Self {
            strategy: PoolingStrategy::Max,
            activation: SpladeActivation::Relu,
        }
    }
}

impl SpladePooling {
    /// Parses a `SpladePooling/config.json`; `vocab_size` checks `word_embedding_dimension`.
    pub fn from_config(config: &Value, vocab_size: usize) -> Result<Self> {
        let strategy = match config.get("pooling_strategy").and_then(Value::as_str) {
            Some("max") | None => PoolingStrategy::Max,
            Some("sum") => PoolingStrategy::Sum,
            Some(other) => {
                return Err(Error::unsupported(
                    "pooling_strategy",
                    format!("\"{other}\""),
                ))
            }
        };
        let activation = match config.get("activation_function").and_then(Value::as_str) {
            Some("relu") | None => SpladeActivation::Relu,
            Some("log1p_relu") => SpladeActivation::Log1pRelu,
            Some(other) => {
                return Err(Error::unsupported(
                    "activation_function",
                    format!("\"{other}\""),
                ))
            }
        };
        match config.get("word_embedding_dimension") {
            None | Some(Value::Null) => {}
            Some(v) if v.as_u64() == Some(vocab_size as u64) => {}
            Some(v) => {
                return Err(Error::model(format!(
                    "SpladePooling `word_embedding_dimension` is {v} but the model's vocabulary has {vocab_size} entries"
                )))
            }
        }
        Ok(Self {
            strategy,
            activation,
        })
    }

    /// The dense document vector `[vocab]` for one text's real (unpadded) hidden states
    /// `[tokens, hidden]`, without ever holding a tokens × vocabulary logits matrix.
    pub fn pool(&self, head: &MlmHead, hidden_rows: &Tensor) -> Result<Vec<f32>> {
        let transformed = head.transform(hidden_rows)?;
        let bias = head.decoder_bias().to_vec1::<f32>()?;
        let mut acc = match self.strategy {
            PoolingStrategy::Max => max_logits(head, &transformed, &bias)?,
            PoolingStrategy::Sum => self.sum_activations(head, &transformed, &bias)?,
        };
        if self.strategy == PoolingStrategy::Max {
            for (a, b) in acc.iter_mut().zip(&bias) {
                // Entries that cannot be positive hold -inf, which the activation maps to 0.
                *a = self.activation.apply(*a + b);
            }
        }
        Ok(acc)
    }

    /// `Σ_t act(h_t·w_v + b_v)`, over the full product.
    fn sum_activations(
        &self,
        head: &MlmHead,
        transformed: &Tensor,
        bias: &[f32],
    ) -> Result<Vec<f32>> {
        let mut acc = vec![0.0f32; head.vocab_size()];
        for_each_logits_row(head, transformed, |row| {
            for ((a, &logit), b) in acc.iter_mut().zip(row).zip(bias) {
                *a += self.activation.apply(logit + b);
            }
        })?;
        Ok(acc)
    }
}

/// `max_t h_t·w_v` for every vocabulary entry whose `max + b_v` can be positive, `-inf` for the
/// others. Bias and activation are applied by the caller: both are monotone, so max-then-activate
/// equals activate-then-max exactly. The screen picks the entries (about 275 of 30,522 for a
/// 128-token passage and splade-tiny); their maxima come from the f32 product of their decoder
/// rows only, in blocks of at most `LOGITS_BLOCK_BYTES` of logits. Where the screen does not pay,
/// from the full product.
fn max_logits(head: &MlmHead, transformed: &Tensor, bias: &[f32]) -> Result<Vec<f32>> {
    let tokens = transformed.dim(0)?;
    let rows = transformed.flatten_all()?.to_vec1::<f32>()?;
    let mut maxima = vec![f32::NEG_INFINITY; head.vocab_size()];
    let Some(candidates) = head.screen()?.candidates(&rows, bias) else {
        for_each_logits_row(head, transformed, |row| fold_max(&mut maxima, row))?;
        return Ok(maxima);
    };
    let block = (LOGITS_BLOCK_BYTES / (tokens.max(1) * std::mem::size_of::<f32>())).max(1);
    for ids in candidates.chunks(block) {
        let weights = head
            .decoder()
            .rows(&Tensor::new(ids, transformed.device())?)?;
        let logits = transformed
            .matmul(&weights.t()?)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let mut block_max = vec![f32::NEG_INFINITY; ids.len()];
        for row in logits.chunks_exact(ids.len()) {
            fold_max(&mut block_max, row);
        }
        for (&v, m) in ids.iter().zip(block_max) {
            maxima[v as usize] = m;
        }
    }
    Ok(maxima)
}

/// Row by row over contiguous memory (a strided max over tokens was slow in wasm). A comparison
/// rather than `f32::max`, which is a libm `fmaxf` call per element in wasm (3% of a dense
/// model's time); NaN logits are skipped either way.
fn fold_max(maxima: &mut [f32], row: &[f32]) {
    for (m, &x) in maxima.iter_mut().zip(row) {
        if x > *m {
            *m = x;
        }
    }
}

/// Calls `f` with each token's logits `[vocab]` (without the bias), computed over token blocks so
/// that at most `LOGITS_BLOCK_BYTES` of logits exist at once.
fn for_each_logits_row(
    head: &MlmHead,
    transformed: &Tensor,
    mut f: impl FnMut(&[f32]),
) -> Result<()> {
    let (tokens, vocab) = (transformed.dim(0)?, head.vocab_size());
    let decoder = head.full_product_decoder()?;
    let block = (LOGITS_BLOCK_BYTES / (vocab * std::mem::size_of::<f32>())).max(1);
    for start in (0..tokens).step_by(block) {
        let n = block.min(tokens - start);
        let logits = decoder
            .matmul_t(&transformed.narrow(0, start, n)?)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        logits.chunks_exact(vocab).for_each(&mut f);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn activations_follow_sentence_transformers_names() {
        let x = 2.0f32;
        assert_eq!(SpladeActivation::Relu.apply(x), x.ln_1p());
        assert_eq!(SpladeActivation::Log1pRelu.apply(x), x.ln_1p().ln_1p());
        assert_eq!(SpladeActivation::Relu.apply(-3.0), 0.0);
        assert_eq!(SpladeActivation::Log1pRelu.apply(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn config_parsing_accepts_null_and_matching_dimension() {
        let p = SpladePooling::from_config(
            &json!({"pooling_strategy": "max", "activation_function": "log1p_relu", "word_embedding_dimension": null}),
            30522,
        )
        .unwrap();
        assert_eq!(p.activation, SpladeActivation::Log1pRelu);
        assert!(
            SpladePooling::from_config(&json!({"word_embedding_dimension": 30522}), 30522).is_ok()
        );
        assert!(
            SpladePooling::from_config(&json!({"word_embedding_dimension": 5}), 30522).is_err()
        );
        let err = SpladePooling::from_config(&json!({"activation_function": "softplus"}), 30522)
            .unwrap_err()
            .to_string();
        assert!(err.contains("activation_function"), "{err}");
    }
}

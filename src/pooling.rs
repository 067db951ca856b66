//! SPLADE pooling (sentence-transformers `SpladePooling`): the strategy (a maximum or a sum over
//! tokens), the activation, and their configuration. The vocabulary product they reduce belongs
//! to the MLM head (`models/head.rs`).

use std::fmt;
use std::str::FromStr;

use candle_core::Tensor;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::MlmHead;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolingStrategy {
    Max,
    Sum,
}

/// ST naming trap: `"relu"` already means log(1 + relu(x)); `"log1p_relu"` applies log1p twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpladeActivation {
    Relu,
    Log1pRelu,
}

/// The sentence-transformers names, the only spelling of them: configs, packs and `info()` all
/// read and write these.
impl PoolingStrategy {
    const ALL: [Self; 2] = [Self::Max, Self::Sum];

    fn name(self) -> &'static str {
        match self {
            Self::Max => "max",
            Self::Sum => "sum",
        }
    }
}

impl SpladeActivation {
    const ALL: [Self; 2] = [Self::Relu, Self::Log1pRelu];

    fn name(self) -> &'static str {
        match self {
            Self::Relu => "relu",
            Self::Log1pRelu => "log1p_relu",
        }
    }

    pub fn apply(self, x: f32) -> f32 {
        let once = x.max(0.0).ln_1p();
        match self {
            SpladeActivation::Relu => once,
            SpladeActivation::Log1pRelu => once.ln_1p(),
        }
    }
}

/// Display, FromStr (refusing other names by their config key) and Serialize from `name`.
macro_rules! named {
    ($type:ty, $key:literal) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $type {
            type Err = Error;

            fn from_str(name: &str) -> Result<Self> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.name() == name)
                    .ok_or_else(|| Error::unsupported($key, format!("\"{name}\"")))
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

named!(PoolingStrategy, "pooling_strategy");
named!(SpladeActivation, "activation_function");

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

/// A `SpladePooling/config.json` read before the model is: the pooling, and the vocabulary size
/// it declares (checked once the model's is known).
#[derive(Debug, Clone)]
pub struct PoolingConfig {
    pub pooling: SpladePooling,
    word_embedding_dimension: Option<Value>,
}

impl From<SpladePooling> for PoolingConfig {
    fn from(pooling: SpladePooling) -> Self {
        Self {
            pooling,
            word_embedding_dimension: None,
        }
    }
}

impl PoolingConfig {
    /// Parses a `SpladePooling/config.json`; absent names take the defaults.
    pub fn parse(config: &Value) -> Result<Self> {
        let name = |key: &str| config.get(key).and_then(Value::as_str);
        let defaults = SpladePooling::default();
        Ok(Self {
            pooling: SpladePooling {
                strategy: name("pooling_strategy").map_or(Ok(defaults.strategy), str::parse)?,
                activation: name("activation_function")
                    .map_or(Ok(defaults.activation), str::parse)?,
            },
            word_embedding_dimension: config
                .get("word_embedding_dimension")
                .filter(|v| !v.is_null())
                .cloned(),
        })
    }

    /// The pooling, once `word_embedding_dimension` (if given) is checked to be `vocab_size`.
    pub fn for_vocabulary(self, vocab_size: usize) -> Result<SpladePooling> {
        match self.word_embedding_dimension {
            Some(v) if v.as_u64() != Some(vocab_size as u64) => Err(Error::model(format!(
                "SpladePooling `word_embedding_dimension` is {v} but the model's vocabulary has {vocab_size} entries"
            ))),
            _ => Ok(self.pooling),
        }
    }
}

impl SpladePooling {
    /// Parses a `SpladePooling/config.json`; `vocab_size` checks `word_embedding_dimension`.
    pub fn from_config(config: &Value, vocab_size: usize) -> Result<Self> {
        PoolingConfig::parse(config)?.for_vocabulary(vocab_size)
    }

    /// The dense document vector `[vocab]` for one text's real (unpadded) hidden states
    /// `[tokens, hidden]`, without ever holding a tokens × vocabulary logits matrix.
    pub fn pool(&self, head: &MlmHead, hidden_rows: &Tensor) -> Result<Vec<f32>> {
        let logits = head.logits(hidden_rows)?;
        let bias = logits.bias();
        match self.strategy {
            PoolingStrategy::Max => {
                // Bias and activation are both monotone, so max-then-activate equals
                // activate-then-max exactly. Entries that cannot be positive hold -inf, which the
                // activation maps to 0.
                let mut acc = logits.max_without_bias()?;
                for (a, b) in acc.iter_mut().zip(bias) {
                    *a = self.activation.apply(*a + b);
                }
                Ok(acc)
            }
            PoolingStrategy::Sum => {
                // `Σ_t act(h_t·w_v + b_v)`, over the full product.
                let mut acc = vec![0.0f32; head.vocab_size()];
                logits.for_each_row(|row| {
                    for ((a, &logit), b) in acc.iter_mut().zip(row).zip(bias) {
                        *a += self.activation.apply(logit + b);
                    }
                })?;
                Ok(acc)
            }
        }
    }
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
    fn names_read_back_as_written() {
        for strategy in PoolingStrategy::ALL {
            assert_eq!(
                strategy.to_string().parse::<PoolingStrategy>().unwrap(),
                strategy
            );
        }
        for activation in SpladeActivation::ALL {
            assert_eq!(
                activation.to_string().parse::<SpladeActivation>().unwrap(),
                activation
            );
        }
        assert_eq!(
            serde_json::to_string(&SpladePooling::default()).unwrap(),
            r#"{"strategy":"max","activation":"relu"}"#
        );
        let err = "mean".parse::<PoolingStrategy>().unwrap_err().to_string();
        assert!(
            err.contains("pooling_strategy") && err.contains("mean"),
            "{err}"
        );
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

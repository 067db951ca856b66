//! Masked-language-model document encoders, one file per architecture, dispatched on the
//! `model_type` of a transformers `config.json`.

pub mod bert;
pub mod distilbert;
pub mod f32_matmul;
pub mod gelu;
pub mod gte;
pub mod layers;
pub mod plan;
pub mod q8_matrix;
pub mod weights;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::vocabulary_screen::VocabularyScreen;
use layers::{Activation, Embedding, LayerNorm, Linear, Matrix};
use q8_matrix::Q8Matrix;
pub use weights::{StoredTensor, TensorRole, TensorSource, Weights};

/// What a person (or `splade inspect`) wants to know about a loaded transformer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub architecture: String,
    pub model_type: String,
    pub hidden_size: usize,
    pub layers: usize,
    pub attention_heads: usize,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    /// The longest input the model can position (for GTE, the RoPE cache length).
    pub max_positions: usize,
    pub parameters: usize,
}

pub trait MaskedLanguageModel: Send + Sync {
    /// Last hidden states `[batch, len, hidden]` for right-padded `input_ids` (`[batch, len]`, u32)
    /// with a 0/1 float `attention_mask` of the same shape.
    fn hidden_states(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor>;

    fn head(&self) -> &MlmHead;

    fn info(&self) -> &ModelInfo;

    /// The layers and weights of [`MaskedLanguageModel::hidden_states`], as data.
    fn plan(&self) -> plan::TransformerPlan<'_>;
}

/// The masked-LM head shared by BERT, DistilBERT and GTE: `LayerNorm(act(dense(h)))·Wᵀ + b`, with
/// `W` usually tied to the word embeddings.
pub struct MlmHead {
    dense: Linear,
    activation: Activation,
    norm: LayerNorm,
    decoder: Matrix,
    decoder_bias: Tensor,
    /// Built on first use: only max pooling needs it.
    screen: OnceLock<VocabularyScreen>,
    /// A q8_0 decoder laid out for integer products, built the first time the full vocabulary
    /// product is taken (sum pooling, or a model the screen does not help).
    integer_decoder: OnceLock<Matrix>,
}

impl MlmHead {
    /// `vb_dense` and `vb_norm` point at the transform's parameters; the decoder weight is
    /// `decoder_weight` when the checkpoint stores it, else the tied word embeddings.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        vb: &TensorSource,
        dense: &str,
        norm: &str,
        decoder_weight: &str,
        decoder_bias: &[&str],
        word_embeddings: &Embedding,
        hidden: usize,
        eps: f64,
        activation: Activation,
    ) -> Result<Self> {
        let vocab = word_embeddings.vocab_size()?;
        let decoder = if vb.contains_tensor(decoder_weight) {
            vb.vocabulary_matrix((vocab, hidden), decoder_weight)?
        } else {
            word_embeddings.matrix().clone()
        };
        let bias_name = decoder_bias
            .iter()
            .find(|name| vb.contains_tensor(name))
            .ok_or_else(|| Error::model(format!("missing tensor `{}`", decoder_bias[0])))?;
        Ok(Self {
            dense: Linear::load(&vb.pp(dense), hidden, hidden, true)?,
            activation,
            norm: LayerNorm::load(&vb.pp(norm), hidden, eps)?,
            decoder,
            decoder_bias: vb.get(vocab, bias_name)?,
            screen: OnceLock::new(),
            integer_decoder: OnceLock::new(),
        })
    }

    /// The head up to (not including) the vocabulary projection, for rows `[n, hidden]`.
    pub fn transform(&self, hidden_rows: &Tensor) -> Result<Tensor> {
        self.norm
            .forward(&self.activation.forward(&self.dense.forward(hidden_rows)?)?)
    }

    /// The transform's dense layer, activation and LayerNorm (what [`MlmHead::transform`] applies).
    pub fn transform_parts(&self) -> (&Linear, Activation, &LayerNorm) {
        (&self.dense, self.activation, &self.norm)
    }

    /// The vocabulary projection `W`, `[vocab, hidden]` (without the bias).
    pub fn decoder(&self) -> &Matrix {
        &self.decoder
    }

    /// The decoder for the full vocabulary product: a q8_0 one laid out for integer products once
    /// and kept (a copy per document would grow wasm memory, which never shrinks, just as much),
    /// other block formats widened to f32 for the borrow.
    pub fn full_product_decoder(&self) -> Result<Cow<'_, Matrix>> {
        match &self.decoder {
            Matrix::Blocks(q) if q.dtype() == GgmlDType::Q8_0 => {
                if self.integer_decoder.get().is_none() {
                    let _ = self
                        .integer_decoder
                        .set(Matrix::Q8(Arc::new(Q8Matrix::new(q)?)));
                }
                Ok(Cow::Borrowed(
                    self.integer_decoder.get().expect("set just above"),
                ))
            }
            decoder => decoder.for_repeated_use(),
        }
    }

    /// The decoder in 16-bit integers, which tells which vocabulary entries max pooling can keep.
    pub fn screen(&self) -> Result<&VocabularyScreen> {
        if let Some(screen) = self.screen.get() {
            return Ok(screen);
        }
        let (vocab, hidden) = self.decoder.dims()?;
        let screen = VocabularyScreen::new(vocab, hidden, |start, n| {
            let ids = Tensor::arange(start as u32, (start + n) as u32, &Device::Cpu)?;
            Ok(self.decoder.rows(&ids)?.flatten_all()?.to_vec1::<f32>()?)
        })?;
        Ok(self.screen.get_or_init(|| screen))
    }

    /// `[vocab]`
    pub fn decoder_bias(&self) -> &Tensor {
        &self.decoder_bias
    }

    pub fn vocab_size(&self) -> usize {
        self.decoder_bias.dims()[0]
    }
}

/// Builds the document transformer named by `config.json`'s `model_type`.
pub fn load_model(config: &Value, weights: &Weights) -> Result<Box<dyn MaskedLanguageModel>> {
    let model_type = config
        .get("model_type")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::model("`config.json` has no `model_type`"))?;
    match model_type {
        "bert" => Ok(Box::new(bert::Bert::load(config, weights)?)),
        "distilbert" => Ok(Box::new(distilbert::DistilBert::load(config, weights)?)),
        "new" => Ok(Box::new(gte::Gte::load(config, weights)?)),
        other => Err(Error::unsupported(
            "model_type",
            format!("\"{other}\" (supported: \"bert\", \"distilbert\", \"new\" i.e. GTE)"),
        )),
    }
}

/// Typed access to `config.json` values with the architecture's defaults for missing keys.
pub struct Config<'a>(pub &'a Value);

impl Config<'_> {
    pub fn usize(&self, key: &str, default: Option<usize>) -> Result<usize> {
        match self.0.get(key) {
            None | Some(Value::Null) => {
                default.ok_or_else(|| Error::model(format!("`config.json` has no `{key}`")))
            }
            Some(v) => v
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| Error::unsupported(key, v)),
        }
    }

    pub fn f64(&self, key: &str, default: f64) -> Result<f64> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| Error::unsupported(key, v)),
        }
    }

    pub fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| Error::unsupported(key, v)),
        }
    }

    pub fn str<'b>(&'b self, key: &str, default: &'b str) -> Result<&'b str> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_str().ok_or_else(|| Error::unsupported(key, v)),
        }
    }

    /// Requires `key` to have one of `allowed` values (or be absent when its default is allowed).
    pub fn require_str(&self, key: &str, default: &str, allowed: &[&str]) -> Result<()> {
        let value = self.str(key, default)?;
        if allowed.contains(&value) {
            Ok(())
        } else {
            Err(Error::unsupported(key, format!("\"{value}\"")))
        }
    }
}

//! `DistilBertForMaskedLM` (the doc-v2/v3-distill architecture): post-LayerNorm encoder with
//! learned positions and no token types; queries are scaled by 1/√d before q·kᵀ.

use candle_core::Tensor;
use serde::Deserialize;
use serde_json::Value;

use super::config::{self, int};
use super::head::{HeadPaths, MlmHead};
use super::layers::{
    self, Activation, AttentionScaling, Embedding, LayerNorm, LayerShape, PostNormLayer,
    PostNormPaths,
};
use super::limits::{Declared, DeclaredShape, ADDRESSABLE_BYTES};
use super::model::{MaskedLanguageModel, ModelInfo};
use super::plan::TransformerPlan;
use super::weights::Weights;
use crate::error::Result;

/// DistilBERT hard-codes this epsilon for every LayerNorm.
const LAYER_NORM_EPS: f64 = 1e-12;

/// `DistilBertConfig`'s keys this model reads, with transformers' defaults.
#[derive(Deserialize)]
struct DistilBertConfig {
    #[serde(default = "int::<768>")]
    dim: usize,
    #[serde(default = "int::<6>")]
    n_layers: usize,
    #[serde(default = "int::<12>")]
    n_heads: usize,
    #[serde(default = "int::<3072>")]
    hidden_dim: usize,
    #[serde(default = "int::<30522>")]
    vocab_size: usize,
    #[serde(default = "int::<512>")]
    max_position_embeddings: usize,
    #[serde(default = "config::gelu")]
    activation: String,
}

const LAYER: PostNormPaths = PostNormPaths {
    query: "attention.q_lin",
    key: "attention.k_lin",
    value: "attention.v_lin",
    attention_output: "attention.out_lin",
    attention_norm: "sa_layer_norm",
    intermediate: "ffn.lin1",
    output: "ffn.lin2",
    output_norm: "output_layer_norm",
};

const HEAD: HeadPaths = HeadPaths {
    dense: "vocab_transform",
    norm: "vocab_layer_norm",
    decoder_weight: "vocab_projector.weight",
    decoder_bias: &["vocab_projector.bias"],
};

pub struct DistilBert {
    word_embeddings: Embedding,
    position_embeddings: Tensor,
    embeddings_norm: LayerNorm,
    layers: Vec<PostNormLayer>,
    shape: LayerShape,
    head: MlmHead,
    info: ModelInfo,
}

impl DistilBert {
    pub fn load(config: &Value, weights: &Weights) -> Result<Self> {
        let c: DistilBertConfig = config::parse(config)?;
        let dim = c.dim;
        let activation = Activation::from_config("activation", &c.activation)?;
        let declared = |key, value| Declared { key, value };
        DeclaredShape {
            hidden: declared("dim", dim),
            layers: declared("n_layers", c.n_layers),
            heads: declared("n_heads", c.n_heads),
            intermediate: declared("hidden_dim", c.hidden_dim),
            vocabulary: declared("vocab_size", c.vocab_size),
            positions: declared("max_position_embeddings", c.max_position_embeddings),
            rotary: false,
        }
        .check(ADDRESSABLE_BYTES)?;
        let shape = LayerShape {
            hidden: dim,
            intermediate: c.hidden_dim,
            heads: c.n_heads,
            eps: LAYER_NORM_EPS,
            activation,
            scaling: AttentionScaling::Queries,
        };

        let vb = &weights.vb;
        let emb = vb.pp("distilbert.embeddings");
        let word_embeddings = Embedding::load(&emb, (c.vocab_size, dim), "word_embeddings.weight")?;
        let encoder_layers = (0..c.n_layers)
            .map(|i| {
                let l = vb.pp(format!("distilbert.transformer.layer.{i}"));
                PostNormLayer::load(&l, &LAYER, &shape)
            })
            .collect::<Result<Vec<_>>>()?;
        let head = MlmHead::load(vb, &HEAD, &word_embeddings, dim, LAYER_NORM_EPS, activation)?;
        Ok(Self {
            position_embeddings: emb.get(
                (c.max_position_embeddings, dim),
                "position_embeddings.weight",
            )?,
            embeddings_norm: LayerNorm::load(&emb.pp("LayerNorm"), dim, LAYER_NORM_EPS)?,
            word_embeddings,
            layers: encoder_layers,
            shape,
            head,
            info: ModelInfo {
                architecture: "DistilBertForMaskedLM".into(),
                model_type: "distilbert".into(),
                hidden_size: dim,
                layers: c.n_layers,
                attention_heads: c.n_heads,
                intermediate_size: c.hidden_dim,
                vocab_size: c.vocab_size,
                max_positions: c.max_position_embeddings,
                parameters: weights.parameters,
            },
        })
    }
}

impl MaskedLanguageModel for DistilBert {
    fn hidden_states(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let (b, len) = input_ids.dims2()?;
        let dim = self.info.hidden_size;
        let x = self
            .word_embeddings
            .forward(&input_ids.flatten_all()?)?
            .reshape((b, len, dim))?
            .broadcast_add(&self.position_embeddings.narrow(0, 0, len)?)?;
        let mut x = self.embeddings_norm.forward(&x)?;

        let keys = layers::key_lengths(attention_mask)?;
        for layer in &self.layers {
            x = layer.forward(&x, &keys, &self.shape)?;
        }
        Ok(x)
    }

    fn head(&self) -> &MlmHead {
        &self.head
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn plan(&self) -> TransformerPlan<'_> {
        let heads = self.shape.heads;
        let head_dim = self.shape.hidden / heads;
        TransformerPlan {
            word_embeddings: &self.word_embeddings,
            token_type_embedding: None,
            position_embeddings: Some(&self.position_embeddings),
            embeddings_norm: &self.embeddings_norm,
            layers: self.layers.iter().map(PostNormLayer::plan).collect(),
            heads,
            head_dim,
            attention_scale: 1.0 / (head_dim as f64).sqrt(),
            rotary: None,
            activation: self.shape.activation,
            head: &self.head,
        }
    }
}

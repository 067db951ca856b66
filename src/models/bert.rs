//! `BertForMaskedLM`: post-LayerNorm encoder with learned absolute positions (transformers
//! `modeling_bert.py`). Token type ids are all 0, so row 0 of `token_type_embeddings` is added.

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

/// `BertConfig`'s keys this model reads, with transformers' defaults.
#[derive(Deserialize)]
struct BertConfig {
    #[serde(default = "absolute")]
    position_embedding_type: String,
    #[serde(default = "int::<768>")]
    hidden_size: usize,
    #[serde(default = "int::<12>")]
    num_hidden_layers: usize,
    #[serde(default = "int::<12>")]
    num_attention_heads: usize,
    #[serde(default = "int::<3072>")]
    intermediate_size: usize,
    #[serde(default = "int::<30522>")]
    vocab_size: usize,
    #[serde(default = "int::<512>")]
    max_position_embeddings: usize,
    #[serde(default = "int::<2>")]
    type_vocab_size: usize,
    #[serde(default = "config::layer_norm_eps")]
    layer_norm_eps: f64,
    #[serde(default = "config::gelu")]
    hidden_act: String,
}

fn absolute() -> String {
    "absolute".into()
}

const LAYER: PostNormPaths = PostNormPaths {
    query: "attention.self.query",
    key: "attention.self.key",
    value: "attention.self.value",
    attention_output: "attention.output.dense",
    attention_norm: "attention.output.LayerNorm",
    intermediate: "intermediate.dense",
    output: "output.dense",
    output_norm: "output.LayerNorm",
};

const HEAD: HeadPaths = HeadPaths {
    dense: "cls.predictions.transform.dense",
    norm: "cls.predictions.transform.LayerNorm",
    decoder_weight: "cls.predictions.decoder.weight",
    decoder_bias: &["cls.predictions.bias", "cls.predictions.decoder.bias"],
};

pub struct Bert {
    word_embeddings: Embedding,
    position_embeddings: Tensor,
    token_type_embedding: Option<Tensor>,
    embeddings_norm: LayerNorm,
    layers: Vec<PostNormLayer>,
    shape: LayerShape,
    head: MlmHead,
    info: ModelInfo,
}

impl Bert {
    pub fn load(config: &Value, weights: &Weights) -> Result<Self> {
        let c: BertConfig = config::parse(config)?;
        config::require(
            "position_embedding_type",
            &c.position_embedding_type,
            &["absolute"],
        )?;
        let hidden = c.hidden_size;
        let eps = c.layer_norm_eps;
        let activation = Activation::from_config("hidden_act", &c.hidden_act)?;
        let declared = |key, value| Declared { key, value };
        DeclaredShape {
            hidden: declared("hidden_size", hidden),
            layers: declared("num_hidden_layers", c.num_hidden_layers),
            heads: declared("num_attention_heads", c.num_attention_heads),
            intermediate: declared("intermediate_size", c.intermediate_size),
            vocabulary: declared("vocab_size", c.vocab_size),
            positions: declared("max_position_embeddings", c.max_position_embeddings),
            rotary: false,
        }
        .check(ADDRESSABLE_BYTES)?;
        let shape = LayerShape {
            hidden,
            intermediate: c.intermediate_size,
            heads: c.num_attention_heads,
            eps,
            activation,
            scaling: AttentionScaling::Scores,
        };

        let vb = &weights.vb;
        let emb = vb.pp("bert.embeddings");
        let word_embeddings =
            Embedding::load(&emb, (c.vocab_size, hidden), "word_embeddings.weight")?;
        let token_type_embedding = if c.type_vocab_size > 0 {
            Some(
                emb.get((c.type_vocab_size, hidden), "token_type_embeddings.weight")?
                    .get(0)?,
            )
        } else {
            None
        };
        let encoder_layers = (0..c.num_hidden_layers)
            .map(|i| PostNormLayer::load(&vb.pp(format!("bert.encoder.layer.{i}")), &LAYER, &shape))
            .collect::<Result<Vec<_>>>()?;
        let head = MlmHead::load(vb, &HEAD, &word_embeddings, hidden, eps, activation)?;
        Ok(Self {
            position_embeddings: emb.get(
                (c.max_position_embeddings, hidden),
                "position_embeddings.weight",
            )?,
            embeddings_norm: LayerNorm::load(&emb.pp("LayerNorm"), hidden, eps)?,
            word_embeddings,
            token_type_embedding,
            layers: encoder_layers,
            shape,
            head,
            info: ModelInfo {
                architecture: "BertForMaskedLM".into(),
                model_type: "bert".into(),
                hidden_size: hidden,
                layers: c.num_hidden_layers,
                attention_heads: c.num_attention_heads,
                intermediate_size: c.intermediate_size,
                vocab_size: c.vocab_size,
                max_positions: c.max_position_embeddings,
                parameters: weights.parameters,
            },
        })
    }
}

impl MaskedLanguageModel for Bert {
    fn hidden_states(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let (b, len) = input_ids.dims2()?;
        let hidden = self.info.hidden_size;
        let mut x = self
            .word_embeddings
            .forward(&input_ids.flatten_all()?)?
            .reshape((b, len, hidden))?;
        if let Some(tt) = &self.token_type_embedding {
            x = x.broadcast_add(tt)?;
        }
        x = x.broadcast_add(&self.position_embeddings.narrow(0, 0, len)?)?;
        x = self.embeddings_norm.forward(&x)?;

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
            token_type_embedding: self.token_type_embedding.as_ref(),
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

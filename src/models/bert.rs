//! `BertForMaskedLM`: post-LayerNorm encoder with learned absolute positions (transformers
//! `modeling_bert.py`). Token type ids are all 0, so row 0 of `token_type_embeddings` is added.

use candle_core::Tensor;
use serde_json::Value;

use super::layers::{self, Activation, Embedding, LayerNorm, Linear};
use super::plan::{LayerPlan, Mlp, Qkv, TransformerPlan};
use super::{Config, MaskedLanguageModel, MlmHead, ModelInfo, Weights};
use crate::error::Result;

struct BertLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

pub struct Bert {
    word_embeddings: Embedding,
    position_embeddings: Tensor,
    token_type_embedding: Option<Tensor>,
    embeddings_norm: LayerNorm,
    layers: Vec<BertLayer>,
    heads: usize,
    head_dim: usize,
    activation: Activation,
    head: MlmHead,
    info: ModelInfo,
}

impl Bert {
    pub fn load(config: &Value, weights: &Weights) -> Result<Self> {
        let c = Config(config);
        c.require_str("position_embedding_type", "absolute", &["absolute"])?;
        let hidden = c.usize("hidden_size", Some(768))?;
        let n_layers = c.usize("num_hidden_layers", Some(12))?;
        let heads = c.usize("num_attention_heads", Some(12))?;
        let intermediate = c.usize("intermediate_size", Some(3072))?;
        let vocab = c.usize("vocab_size", Some(30522))?;
        let max_positions = c.usize("max_position_embeddings", Some(512))?;
        let type_vocab = c.usize("type_vocab_size", Some(2))?;
        let eps = c.f64("layer_norm_eps", 1e-12)?;
        let activation = Activation::from_config("hidden_act", c.str("hidden_act", "gelu")?)?;
        let head_dim = layers::check_heads(hidden, heads, "num_attention_heads")?;

        let vb = &weights.vb;
        let emb = vb.pp("bert.embeddings");
        let word_embeddings = emb.embedding((vocab, hidden), "word_embeddings.weight")?;
        let token_type_embedding = if type_vocab > 0 {
            Some(
                emb.get((type_vocab, hidden), "token_type_embeddings.weight")?
                    .get(0)?,
            )
        } else {
            None
        };
        let mut encoder_layers = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let l = vb.pp(format!("bert.encoder.layer.{i}"));
            encoder_layers.push(BertLayer {
                query: Linear::load(&l.pp("attention.self.query"), hidden, hidden, true)?,
                key: Linear::load(&l.pp("attention.self.key"), hidden, hidden, true)?,
                value: Linear::load(&l.pp("attention.self.value"), hidden, hidden, true)?,
                attention_output: Linear::load(
                    &l.pp("attention.output.dense"),
                    hidden,
                    hidden,
                    true,
                )?,
                attention_norm: LayerNorm::load(&l.pp("attention.output.LayerNorm"), hidden, eps)?,
                intermediate: Linear::load(
                    &l.pp("intermediate.dense"),
                    hidden,
                    intermediate,
                    true,
                )?,
                output: Linear::load(&l.pp("output.dense"), intermediate, hidden, true)?,
                output_norm: LayerNorm::load(&l.pp("output.LayerNorm"), hidden, eps)?,
            });
        }
        let head = MlmHead::load(
            vb,
            "cls.predictions.transform.dense",
            "cls.predictions.transform.LayerNorm",
            "cls.predictions.decoder.weight",
            &["cls.predictions.bias", "cls.predictions.decoder.bias"],
            &word_embeddings,
            hidden,
            eps,
            activation,
        )?;
        Ok(Self {
            position_embeddings: emb.get((max_positions, hidden), "position_embeddings.weight")?,
            embeddings_norm: LayerNorm::load(&emb.pp("LayerNorm"), hidden, eps)?,
            word_embeddings,
            token_type_embedding,
            layers: encoder_layers,
            heads,
            head_dim,
            activation,
            head,
            info: ModelInfo {
                architecture: "BertForMaskedLM".into(),
                model_type: "bert".into(),
                hidden_size: hidden,
                layers: n_layers,
                attention_heads: heads,
                intermediate_size: intermediate,
                vocab_size: vocab,
                max_positions,
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

        let key_bias = layers::key_padding_bias(attention_mask)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        for layer in &self.layers {
            let q = layers::split_heads(&layer.query.forward(&x)?, self.heads)?;
            let k = layers::split_heads(&layer.key.forward(&x)?, self.heads)?;
            let v = layers::split_heads(&layer.value.forward(&x)?, self.heads)?;
            let context =
                layers::merge_heads(&layers::attention(&q, &k, &v, &key_bias, Some(scale))?)?;
            let attended = layer
                .attention_norm
                .forward(&(layer.attention_output.forward(&context)? + &x)?)?;
            x = layers::map_rows(&attended, |rows| {
                let inner = self
                    .activation
                    .forward(&layer.intermediate.forward(rows)?)?;
                layer
                    .output_norm
                    .forward(&(layer.output.forward(&inner)? + rows)?)
            })?;
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
        TransformerPlan {
            word_embeddings: &self.word_embeddings,
            token_type_embedding: self.token_type_embedding.as_ref(),
            position_embeddings: Some(&self.position_embeddings),
            embeddings_norm: &self.embeddings_norm,
            layers: self
                .layers
                .iter()
                .map(|l| LayerPlan {
                    qkv: Qkv::Separate {
                        query: &l.query,
                        key: &l.key,
                        value: &l.value,
                    },
                    attention_output: &l.attention_output,
                    attention_norm: &l.attention_norm,
                    mlp: Mlp::Plain {
                        up: &l.intermediate,
                        down: &l.output,
                    },
                    mlp_norm: &l.output_norm,
                })
                .collect(),
            heads: self.heads,
            head_dim: self.head_dim,
            attention_scale: 1.0 / (self.head_dim as f64).sqrt(),
            rotary: None,
            activation: self.activation,
            head: &self.head,
        }
    }
}

//! `DistilBertForMaskedLM` (the doc-v2/v3-distill architecture): post-LayerNorm encoder with
//! learned positions and no token types; queries are scaled by 1/√d before q·kᵀ.

use candle_core::Tensor;
use serde_json::Value;

use super::layers::{self, Activation, Embedding, LayerNorm, Linear};
use super::plan::{LayerPlan, Mlp, Qkv, TransformerPlan};
use super::{Config, MaskedLanguageModel, MlmHead, ModelInfo, Weights};
use crate::error::Result;

/// DistilBERT hard-codes this epsilon for every LayerNorm.
const LAYER_NORM_EPS: f64 = 1e-12;

struct DistilBertLayer {
    q_lin: Linear,
    k_lin: Linear,
    v_lin: Linear,
    out_lin: Linear,
    sa_layer_norm: LayerNorm,
    lin1: Linear,
    lin2: Linear,
    output_layer_norm: LayerNorm,
}

pub struct DistilBert {
    word_embeddings: Embedding,
    position_embeddings: Tensor,
    embeddings_norm: LayerNorm,
    layers: Vec<DistilBertLayer>,
    heads: usize,
    head_dim: usize,
    activation: Activation,
    head: MlmHead,
    info: ModelInfo,
}

impl DistilBert {
    pub fn load(config: &Value, weights: &Weights) -> Result<Self> {
        let c = Config(config);
        let dim = c.usize("dim", Some(768))?;
        let n_layers = c.usize("n_layers", Some(6))?;
        let heads = c.usize("n_heads", Some(12))?;
        let hidden_dim = c.usize("hidden_dim", Some(3072))?;
        let vocab = c.usize("vocab_size", Some(30522))?;
        let max_positions = c.usize("max_position_embeddings", Some(512))?;
        let activation = Activation::from_config("activation", c.str("activation", "gelu")?)?;
        let head_dim = layers::check_heads(dim, heads, "n_heads")?;

        let vb = &weights.vb;
        let emb = vb.pp("distilbert.embeddings");
        let word_embeddings = emb.embedding((vocab, dim), "word_embeddings.weight")?;
        let mut encoder_layers = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let l = vb.pp(format!("distilbert.transformer.layer.{i}"));
            encoder_layers.push(DistilBertLayer {
                q_lin: Linear::load(&l.pp("attention.q_lin"), dim, dim, true)?,
                k_lin: Linear::load(&l.pp("attention.k_lin"), dim, dim, true)?,
                v_lin: Linear::load(&l.pp("attention.v_lin"), dim, dim, true)?,
                out_lin: Linear::load(&l.pp("attention.out_lin"), dim, dim, true)?,
                sa_layer_norm: LayerNorm::load(&l.pp("sa_layer_norm"), dim, LAYER_NORM_EPS)?,
                lin1: Linear::load(&l.pp("ffn.lin1"), dim, hidden_dim, true)?,
                lin2: Linear::load(&l.pp("ffn.lin2"), hidden_dim, dim, true)?,
                output_layer_norm: LayerNorm::load(
                    &l.pp("output_layer_norm"),
                    dim,
                    LAYER_NORM_EPS,
                )?,
            });
        }
        let head = MlmHead::load(
            vb,
            "vocab_transform",
            "vocab_layer_norm",
            "vocab_projector.weight",
            &["vocab_projector.bias"],
            &word_embeddings,
            dim,
            LAYER_NORM_EPS,
            activation,
        )?;
        Ok(Self {
            position_embeddings: emb.get((max_positions, dim), "position_embeddings.weight")?,
            embeddings_norm: LayerNorm::load(&emb.pp("LayerNorm"), dim, LAYER_NORM_EPS)?,
            word_embeddings,
            layers: encoder_layers,
            heads,
            head_dim,
            activation,
            head,
            info: ModelInfo {
                architecture: "DistilBertForMaskedLM".into(),
                model_type: "distilbert".into(),
                hidden_size: dim,
                layers: n_layers,
                attention_heads: heads,
                intermediate_size: hidden_dim,
                vocab_size: vocab,
                max_positions,
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

        let key_bias = layers::key_padding_bias(attention_mask)?;
        let q_scale = 1.0 / (self.head_dim as f64).sqrt();
        for layer in &self.layers {
            let q = (layers::split_heads(&layer.q_lin.forward(&x)?, self.heads)? * q_scale)?;
            let k = layers::split_heads(&layer.k_lin.forward(&x)?, self.heads)?;
            let v = layers::split_heads(&layer.v_lin.forward(&x)?, self.heads)?;
            let context = layers::merge_heads(&layers::attention(&q, &k, &v, &key_bias, None)?)?;
            let attended = layer
                .sa_layer_norm
                .forward(&(layer.out_lin.forward(&context)? + &x)?)?;
            x = layers::map_rows(&attended, |rows| {
                let inner = self.activation.forward(&layer.lin1.forward(rows)?)?;
                layer
                    .output_layer_norm
                    .forward(&(layer.lin2.forward(&inner)? + rows)?)
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
            token_type_embedding: None,
            position_embeddings: Some(&self.position_embeddings),
            embeddings_norm: &self.embeddings_norm,
            layers: self
                .layers
                .iter()
                .map(|l| LayerPlan {
                    qkv: Qkv::Separate {
                        query: &l.q_lin,
                        key: &l.k_lin,
                        value: &l.v_lin,
                    },
                    attention_output: &l.out_lin,
                    attention_norm: &l.sa_layer_norm,
                    mlp: Mlp::Plain {
                        up: &l.lin1,
                        down: &l.lin2,
                    },
                    mlp_norm: &l.output_layer_norm,
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

//! `NewForMaskedLM` (model_type `new`, Alibaba's GTE v1.5 code, the architecture of
//! opensearch-neural-sparse-encoding-doc-v3-gte): no position embeddings, RoPE with static NTK
//! scaling, fused qkv projection, gated MLP, post-LayerNorm, tied decoder. Missing config keys take
//! `NewConfig`'s defaults; options whose maths this file does not implement are refused by name.

use candle_core::{Device, Tensor};
use serde_json::Value;

use super::layers::{self, Activation, Embedding, LayerNorm, Linear};
use super::plan::{LayerPlan, Mlp, Qkv, TransformerPlan};
use super::{Config, MaskedLanguageModel, MlmHead, ModelInfo, Weights};
use crate::error::{Error, Result};

struct GteLayer {
    qkv_proj: Linear,
    o_proj: Linear,
    attn_ln: LayerNorm,
    up_gate_proj: Linear,
    down_proj: Linear,
    mlp_ln: LayerNorm,
}

pub struct Gte {
    word_embeddings: Embedding,
    token_type_embedding: Option<Tensor>,
    embeddings_norm: LayerNorm,
    layers: Vec<GteLayer>,
    rope: RotaryTables,
    heads: usize,
    head_dim: usize,
    intermediate: usize,
    activation: Activation,
    head: MlmHead,
    info: ModelInfo,
}

/// cos/sin tables `[positions, head_dim / 2]`, computed once at load.
struct RotaryTables {
    cos: Tensor,
    sin: Tensor,
}

/// RoPE inverse frequencies as the reference computes them in float32. With NTK scaling (factor
/// f > 1) the base becomes θ·f and every frequency is further divided by f^(2/d), so the first
/// one is not 1 (0.917 for d = 16, f = 2).
pub fn rope_inverse_frequencies(head_dim: usize, theta: f64, ntk_factor: Option<f64>) -> Vec<f32> {
    let scaled = ntk_factor.filter(|f| *f > 1.0);
    let base = (theta * scaled.unwrap_or(1.0)) as f32;
    let divisor = scaled.map(|f| f.powf(2.0 / head_dim as f64) as f32);
    (0..head_dim)
        .step_by(2)
        .map(|k| {
            let exponent = k as f32 / head_dim as f32;
            let inv = 1.0f32 / base.powf(exponent);
            match divisor {
                Some(d) => inv / d,
                None => inv,
            }
        })
        .collect()
}

impl RotaryTables {
    /// Angles are `f32(position) · f32(inv_freq)` rounded to float32 before cos/sin, as torch does;
    /// computing them in float64 moves long documents by up to 1.5e-4.
    fn new(inv_freq: &[f32], positions: usize) -> Result<Self> {
        let half = inv_freq.len();
        let mut cos = Vec::with_capacity(positions * half);
        let mut sin = Vec::with_capacity(positions * half);
        for p in 0..positions {
            for &f in inv_freq {
                let angle = p as f32 * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        Ok(Self {
            cos: Tensor::from_vec(cos, (positions, half), &Device::Cpu)?,
            sin: Tensor::from_vec(sin, (positions, half), &Device::Cpu)?,
        })
    }

    /// Rotate-half (non-interleaved) RoPE on `[batch, heads, len, head_dim]`.
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let len = x.dim(2)?;
        let cos = self.cos.narrow(0, 0, len)?;
        let sin = self.sin.narrow(0, 0, len)?;
        Ok(candle_nn::rotary_emb::rope(x, &cos, &sin)?)
    }
}

/// The RoPE settings of a config: (theta, NTK factor).
fn rope_settings(c: &Config) -> Result<(f64, Option<f64>)> {
    let theta = c.f64("rope_theta", 10000.0)?;
    let factor = match c.0.get("rope_scaling") {
        None | Some(Value::Null) => None,
        Some(scaling) => {
            let kind = scaling
                .get("type")
                .or_else(|| scaling.get("rope_type"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if kind != "ntk" {
                return Err(Error::unsupported(
                    "rope_scaling.type",
                    format!("\"{kind}\""),
                ));
            }
            if let Some(mixed_b) = scaling.get("mixed_b").filter(|v| !v.is_null()) {
                return Err(Error::unsupported("rope_scaling.mixed_b", mixed_b));
            }
            let factor = scaling
                .get("factor")
                .and_then(Value::as_f64)
                .ok_or_else(|| Error::unsupported("rope_scaling.factor", "missing"))?;
            Some(factor)
        }
    };
    Ok((theta, factor))
}

impl Gte {
    /// The longest input the RoPE cache covers: `max_position_embeddings × factor` with NTK.
    pub fn max_positions(config: &Value) -> Result<usize> {
        let c = Config(config);
        let max_positions = c.usize("max_position_embeddings", Some(512))?;
        let (_, factor) = rope_settings(&c)?;
        Ok(match factor {
            Some(f) if f > 1.0 => (max_positions as f64 * f) as usize,
            _ => max_positions,
        })
    }

    pub fn load(config: &Value, weights: &Weights) -> Result<Self> {
        let c = Config(config);
        c.require_str("position_embedding_type", "rope", &["rope"])?;
        c.require_str("layer_norm_type", "layer_norm", &["layer_norm"])?;
        if c.bool("logn_attention_scale", false)? {
            return Err(Error::unsupported("logn_attention_scale", true));
        }
        if !c.bool("pack_qkv", true)? {
            return Err(Error::unsupported("pack_qkv", false));
        }
        let hidden = c.usize("hidden_size", Some(768))?;
        let n_layers = c.usize("num_hidden_layers", Some(12))?;
        let heads = c.usize("num_attention_heads", Some(12))?;
        let intermediate = c.usize("intermediate_size", Some(3072))?;
        let vocab = c.usize("vocab_size", Some(30528))?;
        let type_vocab = c.usize("type_vocab_size", Some(0))?;
        let eps = c.f64("layer_norm_eps", 1e-12)?;
        let activation = Activation::from_config("hidden_act", c.str("hidden_act", "gelu")?)?;
        let head_dim = layers::check_heads(hidden, heads, "num_attention_heads")?;
        let (theta, factor) = rope_settings(&c)?;
        let inv_freq = rope_inverse_frequencies(head_dim, theta, factor);
        let rope = RotaryTables::new(&inv_freq, Self::max_positions(config)?)?;

        let vb = &weights.vb;
        let emb = vb.pp("new.embeddings");
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
            let l = vb.pp(format!("new.encoder.layer.{i}"));
            encoder_layers.push(GteLayer {
                qkv_proj: Linear::load(&l.pp("attention.qkv_proj"), hidden, 3 * hidden, true)?,
                o_proj: Linear::load(&l.pp("attention.o_proj"), hidden, hidden, true)?,
                attn_ln: LayerNorm::load(&l.pp("attn_ln"), hidden, eps)?,
                up_gate_proj: Linear::load(
                    &l.pp("mlp.up_gate_proj"),
                    hidden,
                    2 * intermediate,
                    false,
                )?,
                down_proj: Linear::load(&l.pp("mlp.down_proj"), intermediate, hidden, true)?,
                mlp_ln: LayerNorm::load(&l.pp("mlp_ln"), hidden, eps)?,
            });
        }
        let head = MlmHead::load(
            vb,
            "lm_head.dense",
            "lm_head.norm",
            "lm_head.decoder.weight",
            &["lm_head.decoder.bias"],
            &word_embeddings,
            hidden,
            eps,
            activation,
        )?;
        Ok(Self {
            embeddings_norm: LayerNorm::load(&emb.pp("LayerNorm"), hidden, eps)?,
            word_embeddings,
            token_type_embedding,
            layers: encoder_layers,
            rope,
            heads,
            head_dim,
            intermediate,
            activation,
            head,
            info: ModelInfo {
                architecture: "NewForMaskedLM".into(),
                model_type: "new".into(),
                hidden_size: hidden,
                layers: n_layers,
                attention_heads: heads,
                intermediate_size: intermediate,
                vocab_size: vocab,
                max_positions: Self::max_positions(config)?,
                parameters: weights.parameters,
            },
        })
    }
}

impl MaskedLanguageModel for Gte {
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
        let mut x = self.embeddings_norm.forward(&x)?;

        let key_bias = layers::key_padding_bias(attention_mask)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        for layer in &self.layers {
            let qkv = layer.qkv_proj.forward(&x)?;
            let q = layers::split_heads(&qkv.narrow(2, 0, hidden)?, self.heads)?;
            let k = layers::split_heads(&qkv.narrow(2, hidden, hidden)?, self.heads)?;
            let v = layers::split_heads(&qkv.narrow(2, 2 * hidden, hidden)?, self.heads)?;
            let (q, k) = (self.rope.apply(&q)?, self.rope.apply(&k)?);
            let context =
                layers::merge_heads(&layers::attention(&q, &k, &v, &key_bias, Some(scale))?)?;
            let attended = layer
                .attn_ln
                .forward(&(layer.o_proj.forward(&context)? + &x)?)?;
            x = layers::map_rows(&attended, |rows| {
                let up_gate = layer.up_gate_proj.forward(rows)?;
                let last = up_gate.rank() - 1;
                let up = up_gate.narrow(last, 0, self.intermediate)?;
                let gate = up_gate.narrow(last, self.intermediate, self.intermediate)?;
                let gated = (self.activation.forward(&gate)? * up)?;
                layer
                    .mlp_ln
                    .forward(&(layer.down_proj.forward(&gated)? + rows)?)
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
            position_embeddings: None,
            embeddings_norm: &self.embeddings_norm,
            layers: self
                .layers
                .iter()
                .map(|l| LayerPlan {
                    qkv: Qkv::Fused(&l.qkv_proj),
                    attention_output: &l.o_proj,
                    attention_norm: &l.attn_ln,
                    mlp: Mlp::Gated {
                        up_gate: &l.up_gate_proj,
                        down: &l.down_proj,
                    },
                    mlp_norm: &l.mlp_ln,
                })
                .collect(),
            heads: self.heads,
            head_dim: self.head_dim,
            attention_scale: 1.0 / (self.head_dim as f64).sqrt(),
            rotary: Some((&self.rope.cos, &self.rope.sin)),
            activation: self.activation,
            head: &self.head,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntk_inverse_frequencies_match_torch_float32() {
        // tiny-gte-asym/meta.json `rope.inv_freq` (torch float32, head_dim 16, θ 500000, NTK 2.0).
        let expected: Vec<f32> = [
            0.9170040488243103f64,
            0.16306893527507782,
            0.02899821475148201,
            0.005156692583113909,
            0.0009170040721073747,
            0.00016306893667206168,
            2.8998210837016813e-05,
            5.156692623131676e-06,
        ]
        .iter()
        .map(|&v| v as f32)
        .collect();
        let got = rope_inverse_frequencies(16, 500000.0, Some(2.0));
        assert_eq!(got, expected);
    }

    #[test]
    fn without_scaling_the_first_frequency_is_one() {
        let got = rope_inverse_frequencies(64, 10000.0, None);
        assert_eq!(got[0], 1.0);
        assert_eq!(got.len(), 32);
    }
}

//! `NewForMaskedLM` (model_type `new`, Alibaba's GTE v1.5 code, the architecture of
//! opensearch-neural-sparse-encoding-doc-v3-gte): no position embeddings, RoPE with static NTK
//! scaling, fused qkv projection, gated MLP, post-LayerNorm, tied decoder. Missing config keys take
//! `NewConfig`'s defaults; options whose maths this file does not implement are refused by name.

use candle_core::Tensor;
use serde::Deserialize;
use serde_json::Value;

use super::config::{self, int};
use super::head::{HeadPaths, MlmHead};
use super::layers::{self, Activation, Embedding, LayerNorm, Linear};
use super::limits::{Declared, DeclaredShape, ADDRESSABLE_BYTES};
use super::model::{MaskedLanguageModel, ModelInfo};
use super::plan::{LayerPlan, Mlp, Qkv, TransformerPlan};
use super::weights::Weights;
use crate::error::{Error, Result};
use crate::kernels::attention::{self, Rows, Shape};

/// `NewConfig`'s keys this model reads, with its defaults.
#[derive(Deserialize)]
struct GteConfig {
    #[serde(default = "rope")]
    position_embedding_type: String,
    #[serde(default = "layer_norm")]
    layer_norm_type: String,
    #[serde(default)]
    logn_attention_scale: bool,
    #[serde(default = "yes")]
    pack_qkv: bool,
    #[serde(default = "int::<768>")]
    hidden_size: usize,
    #[serde(default = "int::<12>")]
    num_hidden_layers: usize,
    #[serde(default = "int::<12>")]
    num_attention_heads: usize,
    #[serde(default = "int::<3072>")]
    intermediate_size: usize,
    #[serde(default = "int::<30528>")]
    vocab_size: usize,
    #[serde(default = "int::<0>")]
    type_vocab_size: usize,
    #[serde(default = "config::layer_norm_eps")]
    layer_norm_eps: f64,
    #[serde(default = "config::gelu")]
    hidden_act: String,
    #[serde(default = "int::<512>")]
    max_position_embeddings: usize,
    #[serde(default = "rope_theta")]
    rope_theta: f64,
    rope_scaling: Option<RopeScaling>,
}

#[derive(Deserialize)]
struct RopeScaling {
    #[serde(rename = "type", alias = "rope_type", default)]
    kind: Option<Value>,
    mixed_b: Option<Value>,
    factor: Option<Value>,
}

fn rope() -> String {
    "rope".into()
}

fn layer_norm() -> String {
    "layer_norm".into()
}

fn yes() -> bool {
    true
}

fn rope_theta() -> f64 {
    10000.0
}

impl GteConfig {
    /// The NTK factor of `rope_scaling`, if any; other scalings are refused by key.
    fn ntk_factor(&self) -> Result<Option<f64>> {
        let Some(scaling) = &self.rope_scaling else {
            return Ok(None);
        };
        let kind = scaling.kind.as_ref().and_then(Value::as_str).unwrap_or("");
        if kind != "ntk" {
            return Err(Error::unsupported(
                "rope_scaling.type",
                format!("\"{kind}\""),
            ));
        }
        if let Some(mixed_b) = scaling.mixed_b.as_ref().filter(|v| !v.is_null()) {
            return Err(Error::unsupported("rope_scaling.mixed_b", mixed_b));
        }
        let factor = scaling
            .factor
            .as_ref()
            .and_then(Value::as_f64)
            .ok_or_else(|| Error::unsupported("rope_scaling.factor", "missing"))?;
        Ok(Some(factor))
    }

    /// The longest input the RoPE cache covers: `max_position_embeddings × factor` with NTK.
    fn max_positions(&self) -> Result<usize> {
        Ok(match self.ntk_factor()? {
            Some(f) if f > 1.0 => (self.max_position_embeddings as f64 * f) as usize,
            _ => self.max_position_embeddings,
        })
    }
}

const HEAD: HeadPaths = HeadPaths {
    dense: "lm_head.dense",
    norm: "lm_head.norm",
    decoder_weight: "lm_head.decoder.weight",
    decoder_bias: &["lm_head.decoder.bias"],
};

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
    cos: Vec<f32>,
    sin: Vec<f32>,
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
    fn new(inv_freq: &[f32], positions: usize) -> Self {
        let angles = || (0..positions).flat_map(|p| inv_freq.iter().map(move |&f| p as f32 * f));
        Self {
            cos: angles().map(f32::cos).collect(),
            sin: angles().map(f32::sin).collect(),
        }
    }
}

impl Gte {
    pub fn load(config: &Value, weights: &Weights) -> Result<Self> {
        let c: GteConfig = config::parse(config)?;
        config::require(
            "position_embedding_type",
            &c.position_embedding_type,
            &["rope"],
        )?;
        config::require("layer_norm_type", &c.layer_norm_type, &["layer_norm"])?;
        if c.logn_attention_scale {
            return Err(Error::unsupported("logn_attention_scale", true));
        }
        if !c.pack_qkv {
            return Err(Error::unsupported("pack_qkv", false));
        }
        let hidden = c.hidden_size;
        let (n_layers, heads, intermediate) = (
            c.num_hidden_layers,
            c.num_attention_heads,
            c.intermediate_size,
        );
        let eps = c.layer_norm_eps;
        let activation = Activation::from_config("hidden_act", &c.hidden_act)?;
        let max_positions = c.max_positions()?;
        let declared = |key, value| Declared { key, value };
        let head_dim = DeclaredShape {
            hidden: declared("hidden_size", hidden),
            layers: declared("num_hidden_layers", n_layers),
            heads: declared("num_attention_heads", heads),
            intermediate: declared("intermediate_size", intermediate),
            vocabulary: declared("vocab_size", c.vocab_size),
            positions: declared(
                "max_position_embeddings (× rope_scaling.factor)",
                max_positions,
            ),
            rotary: true,
        }
        .check(ADDRESSABLE_BYTES)?;
        let inv_freq = rope_inverse_frequencies(head_dim, c.rope_theta, c.ntk_factor()?);
        let rope = RotaryTables::new(&inv_freq, max_positions);

        let vb = &weights.vb;
        let emb = vb.pp("new.embeddings");
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
        let head = MlmHead::load(vb, &HEAD, &word_embeddings, hidden, eps, activation)?;
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
                vocab_size: c.vocab_size,
                max_positions,
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

        let keys = layers::key_lengths(attention_mask)?;
        let scale = (1.0 / (self.head_dim as f64).sqrt()) as f32;
        let shape = Shape {
            batch: b,
            len,
            heads: self.heads,
            head_dim: self.head_dim,
        };
        let (cos, sin) = (&self.rope.cos[..], &self.rope.sin[..]);
        let stride = 3 * hidden;
        for layer in &self.layers {
            // q, k and v stay in the fused projection's rows; RoPE turns q and k where they lie.
            let mut qkv = layers::flat(&layer.qkv_proj.forward(&x)?)?;
            attention::rope_in_place(&mut qkv, stride, 0, shape, cos, sin);
            attention::rope_in_place(&mut qkv, stride, hidden, shape, cos, sin);
            let rows = |offset| Rows {
                data: &qkv,
                stride,
                offset,
            };
            let context =
                attention::attention(rows(0), rows(hidden), rows(2 * hidden), shape, &keys, scale);
            let context = Tensor::from_vec(context, (b, len, hidden), x.device())?;
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

//! A loaded transformer described as data: which layers, in which order, with which weights. The
//! CPU forward passes in bert.rs, distilbert.rs and gte.rs run the same computation directly; other
//! backends (the WebGPU encoder in `crate::gpu`) read this description instead of re-loading the
//! checkpoint, so both run exactly the same weights.

use candle_core::Tensor;

use super::head::MlmHead;
use super::layers::{Activation, Embedding, LayerNorm, Linear, PostNormLayer};

pub struct TransformerPlan<'a> {
    pub word_embeddings: &'a Embedding,
    /// Row 0 of the token type embeddings, added to every token (token types are all 0).
    pub token_type_embedding: Option<&'a Tensor>,
    /// Learned absolute positions `[max_positions, hidden]` (BERT, DistilBERT), added after the
    /// token types.
    pub position_embeddings: Option<&'a Tensor>,
    pub embeddings_norm: &'a LayerNorm,
    pub layers: Vec<LayerPlan<'a>>,
    pub heads: usize,
    pub head_dim: usize,
    /// Scale of the attention scores, `1/√head_dim` in all three architectures (DistilBERT applies
    /// it to the queries before the product, the others to the scores after it; the two differ
    /// only in rounding).
    pub attention_scale: f64,
    /// GTE's rotary tables `cos`, `sin` `[positions, head_dim / 2]`, applied to queries and keys.
    pub rotary: Option<(&'a [f32], &'a [f32])>,
    pub activation: Activation,
    pub head: &'a MlmHead,
}

/// A post-LayerNorm encoder layer:
/// `x = norm1(out(attention(qkv(x))) + x)`, then `x = norm2(mlp(x) + x)`.
pub struct LayerPlan<'a> {
    pub qkv: Qkv<'a>,
    pub attention_output: &'a Linear,
    pub attention_norm: &'a LayerNorm,
    pub mlp: Mlp<'a>,
    pub mlp_norm: &'a LayerNorm,
}

pub enum Qkv<'a> {
    /// One projection to `[q | k | v]` (GTE's `qkv_proj`).
    Fused(&'a Linear),
    /// Three projections (BERT, DistilBERT).
    Separate {
        query: &'a Linear,
        key: &'a Linear,
        value: &'a Linear,
    },
}

pub enum Mlp<'a> {
    /// `down(act(up(x)))`
    Plain { up: &'a Linear, down: &'a Linear },
    /// GTE: `down(act(gate) · up)` with `[up | gate] = up_gate(x)`.
    Gated {
        up_gate: &'a Linear,
        down: &'a Linear,
    },
}

impl PostNormLayer {
    /// The layer as data (BERT and DistilBERT share this layer).
    pub fn plan(&self) -> LayerPlan<'_> {
        LayerPlan {
            qkv: Qkv::Separate {
                query: &self.query,
                key: &self.key,
                value: &self.value,
            },
            attention_output: &self.attention_output,
            attention_norm: &self.attention_norm,
            mlp: Mlp::Plain {
                up: &self.intermediate,
                down: &self.output,
            },
            mlp_norm: &self.output_norm,
        }
    }
}

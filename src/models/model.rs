//! What every architecture provides: hidden states for token ids, its MLM head, and a summary.

use candle_core::Tensor;
use serde::Serialize;

use super::head::MlmHead;
use super::plan::TransformerPlan;
use crate::error::Result;

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

    /// The layers and weights of [`MaskedLanguageModel::hidden_states`], as data (for the GPU).
    fn plan(&self) -> TransformerPlan<'_>;
}

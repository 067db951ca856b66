//! Masked-language-model document encoders, one file per architecture, dispatched on the
//! `model_type` of a transformers `config.json`; the layers they share, the MLM head (which owns
//! the vocabulary product), and the weights they are built from.

mod bert;
mod config;
mod distilbert;
mod gte;
mod head;
mod layers;
mod limits;
mod matrix;
mod model;
mod plan;
mod weights;

use serde_json::Value;

use crate::error::{Error, Result};
pub use head::MlmHead;
pub use layers::{Activation, LayerNorm, Linear};
pub use matrix::Matrix;
pub use model::{MaskedLanguageModel, ModelInfo};
pub use plan::{Mlp, Qkv, TransformerPlan};
pub use weights::{format_name, StoredTensor, TensorRole, TensorSource, Weights};

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

//! Reading a transformers `config.json` into an architecture's typed configuration: missing keys
//! (and `null` ones, as transformers reads them) take the architecture's defaults, declared on its
//! config struct; values whose maths this crate does not implement are refused by key.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

/// `config` as the typed configuration `T`.
pub fn parse<T: DeserializeOwned>(config: &Value) -> Result<T> {
    let mut config = config.clone();
    if let Some(entries) = config.as_object_mut() {
        entries.retain(|_, value| !value.is_null());
    }
    serde_json::from_value(config).map_err(|e| Error::model(format!("`config.json`: {e}")))
}

/// Refuses `value` of `key` unless it is one of `allowed`.
pub fn require(key: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Error::unsupported(key, format!("\"{value}\"")))
    }
}

/// A default for an integer key: `#[serde(default = "config::int::<768>")]`.
pub const fn int<const N: usize>() -> usize {
    N
}

/// transformers' default LayerNorm epsilon for BERT-like models.
pub const fn layer_norm_eps() -> f64 {
    1e-12
}

/// transformers' default activation name, the exact GELU.
pub fn gelu() -> String {
    "gelu".into()
}

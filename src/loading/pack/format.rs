//! What pack readers and writers agree on: the format version, the metadata keys, the storage
//! format names and where the content hash lies.

use std::ops::Range;

use candle_core::quantized::GgmlDType;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The pack layout this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Metadata keys. All strings are UTF-8; integers are GGUF `u32`.
pub mod keys {
    /// string, 64 lowercase hex digits; always the first metadata entry (see the module docs).
    pub const CONTENT_SHA256: &str = "splade.content_sha256";
    /// string `"splade"`: the GGUF convention for naming what a file holds.
    pub const ARCHITECTURE: &str = "general.architecture";
    /// u32, [`super::FORMAT_VERSION`].
    pub const FORMAT_VERSION: &str = "splade.format_version";
    /// string: where the weights came from (folder name, layout, architecture).
    pub const SOURCE: &str = "splade.source";
    /// string: the `--dtype` the pack was converted with (`f32`, `f16`, `q8_0`, `q4_k`).
    pub const DTYPE: &str = "splade.dtype";
    /// string: what was stored in which format and why (fallbacks included), for people.
    pub const QUANTIZATION: &str = "splade.quantization";
    /// string: the transformer's `config.json`.
    pub const CONFIG: &str = "splade.transformer.config";
    /// string: the document-side `tokenizer.json` (also the query side's unless the next key is set).
    pub const TOKENIZER: &str = "splade.tokenizer";
    /// string, optional: the query side's `tokenizer.json` when it differs from the document one.
    pub const QUERY_TOKENIZER: &str = "splade.query.tokenizer";
    /// string: `"max"` or `"sum"` (sentence-transformers `pooling_strategy`).
    pub const POOLING_STRATEGY: &str = "splade.pooling.strategy";
    /// string: `"relu"` (log(1 + relu(x))) or `"log1p_relu"` (sentence-transformers names).
    pub const POOLING_ACTIVATION: &str = "splade.pooling.activation";
    /// u32: document truncation length, special tokens included.
    pub const DOCUMENT_MAX_TOKENS: &str = "splade.document.max_tokens";
    /// u32: query truncation length; 0 means no limit.
    pub const QUERY_MAX_TOKENS: &str = "splade.query.max_tokens";
}

/// The query weights tensor: float32 `[query vocabulary]`.
pub const QUERY_WEIGHTS: &str = "query.weight";

pub(super) const GGUF_MAGIC: &[u8; 4] = b"GGUF";
/// magic, version, tensor count, metadata count.
const GGUF_HEADER_BYTES: usize = 24;
const GGUF_STRING_TYPE: u32 = 8;
pub(super) const HASH_HEX_LEN: usize = 64;

/// The storage formats `--dtype` offers.
pub const PACK_DTYPES: [&str; 4] = ["f32", "f16", "q8_0", "q4_k"];

/// Parses a storage format name: `f32`, `f16`, `q8_0`, `q4_k`, and the other GGUF block formats
/// candle can produce (`q4_0`, `q4_1`, `q5_0`, `q5_1`, `q2_k`, `q3_k`, `q5_k`, `q6_k`).
pub fn parse_format(name: &str) -> Result<GgmlDType> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "f32" => GgmlDType::F32,
        "f16" => GgmlDType::F16,
        "q4_0" => GgmlDType::Q4_0,
        "q4_1" => GgmlDType::Q4_1,
        "q5_0" => GgmlDType::Q5_0,
        "q5_1" => GgmlDType::Q5_1,
        "q8_0" => GgmlDType::Q8_0,
        "q2_k" => GgmlDType::Q2K,
        "q3_k" => GgmlDType::Q3K,
        "q4_k" => GgmlDType::Q4K,
        "q5_k" => GgmlDType::Q5K,
        "q6_k" => GgmlDType::Q6K,
        _ => {
            return Err(Error::input(format!(
                "unknown storage format `{name}` (expected one of f32, f16, q8_0, q4_k, q4_0, \
                 q4_1, q5_0, q5_1, q2_k, q3_k, q5_k, q6_k)"
            )))
        }
    })
}

/// Where the content hash's 64 characters are in a pack, checking that it is the first entry.
pub(super) fn hash_range(bytes: &[u8]) -> Result<Range<usize>> {
    let missing = || {
        Error::model(format!(
            "model pack has no content hash: its first metadata entry must be \
             `{}` (a {HASH_HEX_LEN}-character hex string)",
            keys::CONTENT_SHA256
        ))
    };
    let key = keys::CONTENT_SHA256.as_bytes();
    let key_at = GGUF_HEADER_BYTES + 8;
    let value_at = key_at + key.len() + 4 + 8;
    let end = value_at + HASH_HEX_LEN;
    if bytes.len() < end {
        return Err(missing());
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    if u64_at(GGUF_HEADER_BYTES) != key.len() as u64
        || &bytes[key_at..key_at + key.len()] != key
        || u32_at(key_at + key.len()) != GGUF_STRING_TYPE
        || u64_at(key_at + key.len() + 4) != HASH_HEX_LEN as u64
    {
        return Err(missing());
    }
    Ok(value_at..end)
}

/// The content hash a pack should carry: SHA-256 of the file with the hash's 64 characters read
/// as ASCII `'0'`s, in lowercase hex.
pub fn content_hash(bytes: &[u8]) -> Result<String> {
    let range = hash_range(bytes)?;
    let mut hasher = Sha256::new();
    hasher.update(&bytes[..range.start]);
    hasher.update([b'0'; HASH_HEX_LEN]);
    hasher.update(&bytes[range.end..]);
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

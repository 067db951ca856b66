//! Writing a pack: a model folder is read and built once, which validates it, tells each
//! tensor's role (and so its storage format), and gives the lengths, pooling and query weights the
//! folder-loaded encoder uses; then everything is written as GGUF with its content hash.

use std::collections::BTreeMap;
use std::io::Cursor;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::format::{content_hash, hash_range, keys, FORMAT_VERSION, HASH_HEX_LEN, QUERY_WEIGHTS};
use crate::error::{Error, Result};
use crate::loading::build::{build, TokenizerFile};
use crate::loading::files::ModelFiles;
use crate::loading::folder;
use crate::models::{format_name, TensorRole};

/// The vocabulary table's format when not given: float formats and q8_0 as requested; for the
/// 4-bit and lower formats, q8_0 (see the README's quality table: the vocabulary projection is
/// where SPLADE's term weights come from, and 4-bit vocabulary rows cost retrieval quality).
pub fn default_vocabulary_format(requested: GgmlDType) -> GgmlDType {
    match requested {
        GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16 | GgmlDType::Q8_0 => requested,
        _ => GgmlDType::Q8_0,
    }
}

/// The format for a matrix whose rows do not split into the requested format's blocks (q4_k with
/// hidden size 128): q8_0, the 32-value-block format that measured close to float32.
pub fn default_fallback_format(_requested: GgmlDType) -> GgmlDType {
    GgmlDType::Q8_0
}

/// How to convert a model folder into a pack.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The format for linear-layer matrices (`--dtype`).
    pub dtype: GgmlDType,
    /// The word embeddings' (vocabulary table's) format; `None`: [`default_vocabulary_format`].
    pub vocabulary: Option<GgmlDType>,
    /// The format for matrices whose rows do not fit `dtype`'s blocks; `None`:
    /// [`default_fallback_format`].
    pub fallback: Option<GgmlDType>,
    /// A description of the source, stored as `splade.source`.
    pub source: String,
}

impl ConvertOptions {
    pub fn new(dtype: GgmlDType, source: impl Into<String>) -> Self {
        Self {
            dtype,
            vocabulary: None,
            fallback: None,
            source: source.into(),
        }
    }
}

/// Converts a model folder (any layout [`crate::SparseEncoder::load`] reads) into pack bytes.
pub fn convert(files: &dyn ModelFiles, options: &ConvertOptions) -> Result<Vec<u8>> {
    let parts = folder::read(files)?;
    let config_text = parts.config_text.clone();
    let tokenizer = parts.tokenizer.clone();
    let query_tokenizer = parts.query_tokenizer.clone();
    // The model's reads, recorded with their roles, say which tensors to store and how.
    let source = parts.weights.vb.clone();
    // Building validates the folder and resolves the lengths, pooling and query weights exactly
    // as the folder-loaded encoder uses them.
    let (query, document) = build(parts)?;
    let tokenizer = utf8(tokenizer)?;
    let query_tokenizer = match query_tokenizer {
        Some(file) => Some(utf8(file)?).filter(|q| *q != tokenizer),
        None => None,
    };

    let mut plan = StoragePlan::new(options);
    let all = source.all();
    let mut stored: Vec<(String, QTensor)> = Vec::new();
    for (name, role) in source.used() {
        let tensor = all[&name].to_f32()?;
        let format = plan.choose(role, tensor.dims());
        stored.push((name, QTensor::quantize(&tensor, format)?));
    }
    let query_weights = Tensor::from_slice(query.weights(), query.weights().len(), &Device::Cpu)?;
    stored.push((
        QUERY_WEIGHTS.to_string(),
        QTensor::quantize(&query_weights, GgmlDType::F32)?,
    ));

    let pooling = document.pooling();
    let max_query = match query.tokenizer().max_length() {
        usize::MAX => 0,
        n => n,
    };
    let max_document = document.tokenizer().max_length();
    let mut metadata = vec![
        (keys::ARCHITECTURE, Value::String("splade".into())),
        (keys::FORMAT_VERSION, Value::U32(FORMAT_VERSION)),
        (keys::SOURCE, Value::String(options.source.clone())),
        (
            keys::DTYPE,
            Value::String(format_name(options.dtype).into()),
        ),
        (keys::QUANTIZATION, Value::String(plan.summary())),
        (
            keys::POOLING_STRATEGY,
            Value::String(pooling.strategy.to_string()),
        ),
        (
            keys::POOLING_ACTIVATION,
            Value::String(pooling.activation.to_string()),
        ),
        (
            keys::DOCUMENT_MAX_TOKENS,
            Value::U32(u32_value(max_document, "document length")?),
        ),
        (
            keys::QUERY_MAX_TOKENS,
            Value::U32(u32_value(max_query, "query length")?),
        ),
        (keys::CONFIG, Value::String(config_text)),
        (keys::TOKENIZER, Value::String(tokenizer)),
    ];
    if let Some(q) = query_tokenizer {
        metadata.push((keys::QUERY_TOKENIZER, Value::String(q)));
    }
    let tensors: Vec<(&str, &QTensor)> = stored.iter().map(|(n, t)| (n.as_str(), t)).collect();
    write_pack(&metadata, &tensors)
}

fn u32_value(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::model(format!("{what} {n} does not fit a model pack")))
}

fn utf8(file: TokenizerFile) -> Result<String> {
    String::from_utf8(file.json)
        .map_err(|_| Error::model(format!("`{}` is not valid UTF-8", file.source)))
}

/// Chooses each tensor's storage format and remembers the choices for `splade.quantization`.
struct StoragePlan {
    requested: GgmlDType,
    vocabulary: GgmlDType,
    fallback: GgmlDType,
    /// (role, format, reason) → tensor count
    counts: BTreeMap<(TensorRole, &'static str, String), usize>,
}

impl StoragePlan {
    fn new(options: &ConvertOptions) -> Self {
        Self {
            requested: options.dtype,
            vocabulary: options
                .vocabulary
                .unwrap_or_else(|| default_vocabulary_format(options.dtype)),
            fallback: options
                .fallback
                .unwrap_or_else(|| default_fallback_format(options.dtype)),
            counts: BTreeMap::new(),
        }
    }

    fn choose(&mut self, role: TensorRole, dims: &[usize]) -> GgmlDType {
        let row = dims.last().copied().unwrap_or(1);
        let (format, reason) = match role {
            _ if dims.len() != 2 => (GgmlDType::F32, String::new()),
            TensorRole::Plain => (GgmlDType::F32, String::new()),
            TensorRole::Matrix | TensorRole::Vocabulary => {
                let wanted = if role == TensorRole::Matrix {
                    self.requested
                } else {
                    self.vocabulary
                };
                let fits = |f: GgmlDType| row.is_multiple_of(f.block_size());
                if fits(wanted) {
                    (wanted, String::new())
                } else {
                    let reason = format!(
                        "rows of {row} values do not split into {}-value {} blocks",
                        wanted.block_size(),
                        format_name(wanted)
                    );
                    let format = [self.fallback, GgmlDType::Q8_0, GgmlDType::F16]
                        .into_iter()
                        .find(|&f| fits(f))
                        .unwrap_or(GgmlDType::F32);
                    (format, reason)
                }
            }
        };
        *self
            .counts
            .entry((role, format_name(format), reason))
            .or_default() += 1;
        format
    }

    /// E.g. `requested q4_k; linear-layer matrices: 2 in q4_k, 11 in q8_0 (rows of 128 values do
    /// not split into 256-value q4_k blocks); vocabulary table (…): 1 in q8_0; plain tensors (…): 28 in f32`.
    fn summary(&self) -> String {
        let mut parts = vec![format!("requested {}", format_name(self.requested))];
        let roles = [
            (TensorRole::Matrix, "linear-layer matrices"),
            (
                TensorRole::Vocabulary,
                "vocabulary table (word embeddings, tied MLM decoder)",
            ),
            (
                TensorRole::Plain,
                "plain tensors (norms, biases, position/token-type embeddings)",
            ),
        ];
        for (role, what) in roles {
            let groups: Vec<String> = self
                .counts
                .iter()
                .filter(|((r, _, _), _)| *r == role)
                .map(|((_, format, reason), n)| {
                    if reason.is_empty() {
                        format!("{n} in {format}")
                    } else {
                        format!("{n} in {format} ({reason})")
                    }
                })
                .collect();
            if !groups.is_empty() {
                parts.push(format!("{what}: {}", groups.join(", ")));
            }
        }
        parts.join("; ")
    }
}

/// Writes a pack: `metadata` (any `splade.content_sha256` entry in it is ignored) and `tensors`,
/// with the content hash as the first metadata entry.
pub fn write_pack(metadata: &[(&str, Value)], tensors: &[(&str, &QTensor)]) -> Result<Vec<u8>> {
    let placeholder = Value::String("0".repeat(HASH_HEX_LEN));
    let mut entries: Vec<(&str, &Value)> = vec![(keys::CONTENT_SHA256, &placeholder)];
    entries.extend(
        metadata
            .iter()
            .filter(|(k, _)| *k != keys::CONTENT_SHA256)
            .map(|(k, v)| (*k, v)),
    );
    let mut cursor = Cursor::new(Vec::new());
    gguf_file::write(&mut cursor, &entries, tensors)?;
    let mut bytes = cursor.into_inner();
    let hash = content_hash(&bytes)?;
    let range = hash_range(&bytes)?;
    bytes[range].copy_from_slice(hash.as_bytes());
    Ok(bytes)
}

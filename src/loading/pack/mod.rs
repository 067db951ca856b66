//! Model packs: one GGUF file with everything needed to encode, optionally quantized.
//!
//! A pack holds the document transformer's tensors (named as in the transformers checkpoint), the
//! query weights (`query.weight`, float32), and metadata under `splade.`: the format version, the
//! transformer `config.json` and `tokenizer.json` as strings, the pooling, the maximum lengths, a
//! description of the source, and a SHA-256 content hash. The README's "Model packs" section lists
//! every key.
//!
//! **Content hash.** `splade.content_sha256` is always the first metadata entry. Its value is the
//! lowercase hex SHA-256 of the whole file in which those 64 characters are replaced by 64 ASCII
//! `'0'`s. Writing a pack writes the zeros, hashes, and patches the hash in place; reading checks it
//! before using any tensor. With the hash first, its bytes sit at a fixed place (after the 24-byte
//! GGUF header and the key), so any reader can verify a pack without parsing the rest.
//!
//! **What is quantized.** A tensor's storage follows from the role the model reads it in (see
//! [`crate::models::TensorRole`]): plain tensors (norms, biases, position and token-type
//! embeddings, every 1-D tensor) stay float32; linear-layer matrices take the requested format;
//! the vocabulary table (word embeddings, which are also the tied MLM decoder) takes
//! [`default_vocabulary_format`] unless told otherwise. A block format needs rows that split into
//! whole blocks (q4_k: 256 values); a matrix whose rows do not takes the fallback format
//! ([`default_fallback_format`]), and the pack's `splade.quantization` says so.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::ops::Range;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::document::DocumentEncoder;
use crate::encoder::SparseEncoder;
use crate::error::{Error, Result};
use crate::files::{join, ModelFiles};
use crate::models::weights::format_name;
use crate::models::{self, StoredTensor, TensorRole, TensorSource, Weights};
use crate::pooling::{PoolingStrategy, SpladeActivation, SpladePooling};
use crate::query::QueryEncoder;
use crate::tokenizer::TextTokenizer;

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

const GGUF_MAGIC: &[u8; 4] = b"GGUF";
/// magic, version, tensor count, metadata count.
const GGUF_HEADER_BYTES: usize = 24;
const GGUF_STRING_TYPE: u32 = 8;
const HASH_HEX_LEN: usize = 64;

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

/// Converts a model folder (any layout [`SparseEncoder::load`] reads) into pack bytes.
pub fn convert(files: &dyn ModelFiles, options: &ConvertOptions) -> Result<Vec<u8>> {
    // Loading the folder validates it and resolves the lengths, pooling and query weights exactly
    // as the folder-loaded encoder uses them.
    let encoder = crate::folder::load(files)?;
    let dirs = crate::folder::module_dirs(files)?;
    let config_path = join(&dirs.document, "config.json");
    let config_text = utf8(files.require(&config_path)?, &config_path)?;
    let config: serde_json::Value = serde_json::from_str(&config_text)
        .map_err(|e| Error::model(format!("`{config_path}` is not valid JSON: {e}")))?;
    let weights_path = join(&dirs.document, "model.safetensors");
    let tensors = models::layers::read_safetensors(&files.require(&weights_path)?, &weights_path)?;
    let tokenizer_path = join(&dirs.document, "tokenizer.json");
    let tokenizer = utf8(files.require(&tokenizer_path)?, &tokenizer_path)?;
    let query_tokenizer = match &dirs.query {
        Some(dir) => {
            let path = join(dir, "tokenizer.json");
            Some(utf8(files.require(&path)?, &path)?).filter(|q| *q != tokenizer)
        }
        None => None,
    };

    // Build the model once more from the raw tensors to learn which it reads, and in which role.
    let source = TensorSource::from_float(tensors);
    models::load_model(
        &config,
        &Weights {
            vb: source.clone(),
            parameters: 0,
        },
    )?;
    let mut plan = StoragePlan::new(options);
    let all = source.all();
    let mut stored: Vec<(String, QTensor)> = Vec::new();
    for (name, role) in source.used() {
        let tensor = all[&name].to_f32()?;
        let format = plan.choose(role, tensor.dims());
        stored.push((name, QTensor::quantize(&tensor, format)?));
    }
    let query_weights = Tensor::from_slice(
        encoder.query_encoder().weights(),
        encoder.query_encoder().weights().len(),
        &Device::Cpu,
    )?;
    stored.push((
        QUERY_WEIGHTS.to_string(),
        QTensor::quantize(&query_weights, GgmlDType::F32)?,
    ));

    let info = encoder.info();
    let pooling = info.pooling;
    let max_query = match info.max_query_tokens {
        usize::MAX => 0,
        n => n,
    };
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
            Value::String(
                match pooling.strategy {
                    PoolingStrategy::Max => "max",
                    PoolingStrategy::Sum => "sum",
                }
                .into(),
            ),
        ),
        (
            keys::POOLING_ACTIVATION,
            Value::String(
                match pooling.activation {
                    SpladeActivation::Relu => "relu",
                    SpladeActivation::Log1pRelu => "log1p_relu",
                }
                .into(),
            ),
        ),
        (
            keys::DOCUMENT_MAX_TOKENS,
            Value::U32(u32_value(info.max_document_tokens, "document length")?),
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

fn utf8(bytes: Cow<'_, [u8]>, path: &str) -> Result<String> {
    String::from_utf8(bytes.into_owned())
        .map_err(|_| Error::model(format!("`{path}` is not valid UTF-8")))
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

/// Where the content hash's 64 characters are in a pack, checking that it is the first entry.
fn hash_range(bytes: &[u8]) -> Result<Range<usize>> {
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

/// A parsed and verified pack: magic, GGUF header, format version, tensor extents and content
/// hash have been checked.
struct Pack<'a> {
    bytes: &'a [u8],
    content: gguf_file::Content,
}

/// What `splade inspect` shows about a pack beyond the model itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackSummary {
    pub format_version: u32,
    pub dtype: String,
    pub source: String,
    pub quantization: String,
    pub content_sha256: String,
    pub file_bytes: usize,
    /// storage format → (tensors, bytes), query weights included.
    pub formats: BTreeMap<String, (usize, usize)>,
}

impl<'a> Pack<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self> {
        check_magic(bytes)?;
        let content = gguf_file::Content::read(&mut Cursor::new(bytes)).map_err(|e| {
            Error::model(format!(
                "model pack is truncated or corrupt: cannot read its GGUF header ({e})"
            ))
        })?;
        let pack = Self { bytes, content };
        // An unknown version is reported before anything else: a later format may lay out or
        // hash the file differently.
        let version = pack.content.metadata.get(keys::FORMAT_VERSION);
        if let Some(v) = version {
            let v = v.to_u32().map_err(|_| {
                Error::model(format!(
                    "model pack `{}` must be a u32, found {v:?}",
                    keys::FORMAT_VERSION
                ))
            })?;
            if v != FORMAT_VERSION {
                return Err(Error::model(format!(
                    "model pack format version {v} is not supported: this build reads version \
                     {FORMAT_VERSION} (convert the model again with this build's `splade convert`, \
                     or use a build that reads version {v})"
                )));
            }
        }
        let not_ours = || {
            Error::model(format!(
                "not a splade model pack: this GGUF file has no `{}`",
                keys::FORMAT_VERSION
            ))
        };
        for name in pack.tensor_names() {
            pack.tensor_bytes(name)?;
        }
        let computed = content_hash(bytes).map_err(|e| match version {
            None => not_ours(),
            Some(_) => e,
        })?;
        let stored = pack.string(keys::CONTENT_SHA256)?;
        if stored != computed && bytes.len() < pack.padded_end() {
            // Every tensor fits but the file ends before the padding that follows the last one.
            return Err(Error::model(format!(
                "model pack is truncated: it has {} bytes, a complete one has {}",
                bytes.len(),
                pack.padded_end()
            )));
        }
        if stored != computed {
            return Err(Error::model(format!(
                "model pack content hash mismatch: the file is corrupt or was modified \
                 (stored {stored}, computed {computed})"
            )));
        }
        if version.is_none() {
            return Err(not_ours());
        }
        Ok(pack)
    }

    /// Where the data section ends once the last tensor is padded to the GGUF alignment (32).
    fn padded_end(&self) -> usize {
        let base = self.content.tensor_data_offset as usize;
        self.tensor_names()
            .iter()
            .filter_map(|name| Some(self.tensor_range(name).ok()?.end))
            .max()
            .map_or(base, |end| {
                end.next_multiple_of(gguf_file::DEFAULT_ALIGNMENT as usize)
            })
    }

    fn tensor_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .content
            .tensor_infos
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names
    }

    /// A tensor's stored bytes, checked to lie inside the file.
    fn tensor_bytes(&self, name: &str) -> Result<&'a [u8]> {
        Ok(&self.bytes[self.tensor_range(name)?])
    }

    /// Where a tensor's bytes are in the file, checked to lie inside it.
    fn tensor_range(&self, name: &str) -> Result<Range<usize>> {
        let info = &self.content.tensor_infos[name];
        let corrupt = |what: String| Error::model(format!("model pack is corrupt: {what}"));
        let elems = info
            .shape
            .dims()
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| corrupt(format!("tensor `{name}` has an impossible shape")))?;
        let block = info.ggml_dtype.block_size();
        if !elems.is_multiple_of(block) {
            return Err(corrupt(format!(
                "tensor `{name}` has {elems} values, not a multiple of the {}-value {} block",
                block,
                format_name(info.ggml_dtype)
            )));
        }
        let size = elems / block * info.ggml_dtype.type_size();
        let start = usize::try_from(self.content.tensor_data_offset)
            .ok()
            .and_then(|base| base.checked_add(usize::try_from(info.offset).ok()?));
        let range = start.and_then(|s| Some(s..s.checked_add(size)?));
        match range {
            Some(r) if r.end <= self.bytes.len() => Ok(r),
            _ => Err(Error::model(format!(
                "model pack is truncated or corrupt: it has {} bytes, but tensor `{name}` \
                 ({size} bytes at offset {} of the data section) does not fit",
                self.bytes.len(),
                info.offset
            ))),
        }
    }

    fn tensor(&self, name: &str) -> Result<StoredTensor> {
        let info = &self.content.tensor_infos[name];
        let data = self.tensor_bytes(name)?;
        let dims = info.shape.dims().to_vec();
        if info.ggml_dtype == GgmlDType::F32 {
            let values: Vec<f32> = data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            return Ok(StoredTensor::Float(Tensor::from_vec(
                values,
                dims,
                &Device::Cpu,
            )?));
        }
        // candle reads blocks in place and requires them aligned as their Rust type; the caller's
        // buffer may start anywhere, so a misaligned tensor is first copied to an aligned buffer.
        let aligned;
        let data = if (data.as_ptr() as usize).is_multiple_of(16) {
            data
        } else {
            aligned = AlignedBytes::copy(data);
            aligned.as_bytes()
        };
        let storage = QStorage::from_data(Cow::Borrowed(data), &Device::Cpu, info.ggml_dtype)?;
        let q = QTensor::new(storage, dims)
            .map_err(|e| Error::model(format!("model pack tensor `{name}` cannot be read: {e}")))?;
        Ok(StoredTensor::Blocks(Arc::new(q)))
    }

    fn value(&self, key: &str) -> Result<&Value> {
        self.content
            .metadata
            .get(key)
            .ok_or_else(|| Error::model(format!("model pack is missing metadata `{key}`")))
    }

    fn string(&self, key: &str) -> Result<&str> {
        match self.value(key)? {
            Value::String(s) => Ok(s),
            other => Err(Error::model(format!(
                "model pack metadata `{key}` must be a string, found {:?}",
                other.value_type()
            ))),
        }
    }

    fn u32(&self, key: &str) -> Result<u32> {
        self.value(key)?
            .to_u32()
            .map_err(|_| Error::model(format!("model pack metadata `{key}` must be a u32")))
    }

    fn encoder(&self) -> Result<SparseEncoder> {
        let config: serde_json::Value =
            serde_json::from_str(self.string(keys::CONFIG)?).map_err(|e| {
                Error::model(format!(
                    "model pack metadata `{}` is not valid JSON: {e}",
                    keys::CONFIG
                ))
            })?;
        let mut tensors = HashMap::new();
        for name in self.tensor_names() {
            if name != QUERY_WEIGHTS {
                tensors.insert(name.to_string(), self.tensor(name)?);
            }
        }
        let parameters = tensors.values().map(|t| t.shape().elem_count()).sum();
        let weights = Weights {
            vb: TensorSource::new(tensors).handing_over_matrices(),
            parameters,
        };
        let model = models::load_model(&config, &weights).map_err(|e| match e {
            Error::Tensor(msg) => Error::model(format!("model pack tensors: {msg}")),
            other => other,
        })?;
        drop(weights);
        let vocab = model.head().vocab_size();

        let max_document = self.u32(keys::DOCUMENT_MAX_TOKENS)? as usize;
        let positions = model.info().max_positions;
        if max_document < 2 || max_document > positions {
            return Err(Error::model(format!(
                "model pack `{}` = {max_document} is outside 2..={positions} (the model's positions)",
                keys::DOCUMENT_MAX_TOKENS
            )));
        }
        let tokenizer_json = self.string(keys::TOKENIZER)?;
        let document_tokenizer = TextTokenizer::from_bytes(
            tokenizer_json.as_bytes(),
            max_document,
            true,
            &format!("model pack `{}`", keys::TOKENIZER),
        )?;
        if document_tokenizer.vocab_size() > vocab {
            return Err(Error::model(format!(
                "model pack tokenizer has {} tokens but the model's vocabulary has only {vocab}",
                document_tokenizer.vocab_size()
            )));
        }
        let (query_json, query_source) = match self.content.metadata.get(keys::QUERY_TOKENIZER) {
            Some(_) => (self.string(keys::QUERY_TOKENIZER)?, keys::QUERY_TOKENIZER),
            None => (tokenizer_json, keys::TOKENIZER),
        };
        let max_query = match self.u32(keys::QUERY_MAX_TOKENS)? {
            0 => usize::MAX,
            n => n as usize,
        };
        let query_tokenizer = TextTokenizer::from_bytes(
            query_json.as_bytes(),
            max_query,
            false,
            &format!("model pack `{query_source}`"),
        )?;
        let pooling = SpladePooling::from_config(
            &serde_json::json!({
                "pooling_strategy": self.string(keys::POOLING_STRATEGY)?,
                "activation_function": self.string(keys::POOLING_ACTIVATION)?,
            }),
            vocab,
        )?;

        if !self.content.tensor_infos.contains_key(QUERY_WEIGHTS) {
            return Err(Error::model(format!(
                "model pack has no `{QUERY_WEIGHTS}` tensor (the query weights)"
            )));
        }
        let query_weights = match self.tensor(QUERY_WEIGHTS)? {
            StoredTensor::Float(t) if t.rank() == 1 => t.to_vec1::<f32>()?,
            _ => {
                return Err(Error::model(format!(
                    "model pack tensor `{QUERY_WEIGHTS}` must be a float32 vector"
                )))
            }
        };
        Ok(SparseEncoder::new(
            QueryEncoder::new(query_tokenizer, query_weights)?,
            DocumentEncoder::new(document_tokenizer, model, pooling),
        ))
    }

    fn summary(&self) -> Result<PackSummary> {
        let mut formats: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for name in self.tensor_names() {
            let info = &self.content.tensor_infos[name];
            let entry = formats
                .entry(format_name(info.ggml_dtype).to_string())
                .or_default();
            entry.0 += 1;
            entry.1 += self.tensor_bytes(name)?.len();
        }
        Ok(PackSummary {
            format_version: self.u32(keys::FORMAT_VERSION)?,
            dtype: self.string(keys::DTYPE)?.to_string(),
            source: self.string(keys::SOURCE)?.to_string(),
            quantization: self.string(keys::QUANTIZATION)?.to_string(),
            content_sha256: self.string(keys::CONTENT_SHA256)?.to_string(),
            file_bytes: self.bytes.len(),
            formats,
        })
    }
}

/// Rejects what is not a GGUF file with a message that says what it looks like instead.
fn check_magic(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(Error::model("model pack is empty (0 bytes)"));
    }
    if bytes.len() < GGUF_MAGIC.len() {
        return Err(Error::model(format!(
            "model pack is truncated: {} bytes",
            bytes.len()
        )));
    }
    if &bytes[..4] == GGUF_MAGIC {
        return Ok(());
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]);
    let trimmed = head.trim_start();
    let looks_like = if trimmed.starts_with('<') {
        " It looks like HTML (an error page, or a wrong URL?)."
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        " It looks like JSON (a model folder's file rather than a pack?)."
    } else {
        ""
    };
    Err(Error::model(format!(
        "not a model pack: a pack is a GGUF file starting with `GGUF`, this starts with {:?}.{looks_like}",
        String::from_utf8_lossy(&bytes[..4])
    )))
}

/// A byte buffer with 8-byte alignment.
struct AlignedBytes {
    words: Vec<u64>,
    len: usize,
}

impl AlignedBytes {
    fn copy(data: &[u8]) -> Self {
        let mut words = vec![0u64; data.len().div_ceil(8)];
        for (word, chunk) in words.iter_mut().zip(data.chunks(8)) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            *word = u64::from_ne_bytes(buf);
        }
        Self {
            words,
            len: data.len(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        // SAFETY: any initialised u64 memory is valid as bytes, and `len` ≤ 8 × words.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

/// Loads an encoder from pack bytes (see [`SparseEncoder::from_pack`]).
pub fn load(bytes: &[u8]) -> Result<SparseEncoder> {
    Pack::parse(bytes)?.encoder()
}

/// Verifies a pack and describes it (format version, storage formats, source, hash).
pub fn summary(bytes: &[u8]) -> Result<PackSummary> {
    Pack::parse(bytes)?.summary()
}

/// Whether bytes start like a pack (GGUF magic), to choose between a pack and a folder.
pub fn looks_like_pack(bytes: &[u8]) -> bool {
    bytes.starts_with(GGUF_MAGIC)
}

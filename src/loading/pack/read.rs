//! Reading a pack: verify it (magic, header, version, tensor extents, content hash), then read its
//! metadata and tensors into the parts an encoder is built from.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::ops::Range;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};
use serde::Serialize;

use super::format::{content_hash, keys, FORMAT_VERSION, GGUF_MAGIC, QUERY_WEIGHTS};
use crate::error::{Error, Result};
use crate::loading::build::{DocumentTokens, ModelParts, QueryWeights, TokenizerFile};
use crate::models::{format_name, StoredTensor, TensorSource, Weights};
use crate::pooling::{PoolingConfig, SpladePooling};

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

    fn parts(&self) -> Result<ModelParts> {
        let config_text = self.string(keys::CONFIG)?.to_string();
        let config = serde_json::from_str(&config_text).map_err(|e| {
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
        let tokenizer = self.tokenizer(keys::TOKENIZER)?;
        let query_tokenizer = match self.content.metadata.get(keys::QUERY_TOKENIZER) {
            Some(_) => Some(self.tokenizer(keys::QUERY_TOKENIZER)?),
            None => None,
        };
        let max_document_tokens = DocumentTokens::Stored {
            tokens: self.u32(keys::DOCUMENT_MAX_TOKENS)? as usize,
            key: keys::DOCUMENT_MAX_TOKENS,
        };
        let max_query_tokens = match self.u32(keys::QUERY_MAX_TOKENS)? {
            0 => usize::MAX,
            n => n as usize,
        };
        let pooling = SpladePooling {
            strategy: self.string(keys::POOLING_STRATEGY)?.parse()?,
            activation: self.string(keys::POOLING_ACTIVATION)?.parse()?,
        };

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
        Ok(ModelParts {
            config,
            config_text,
            weights,
            tensors_source: "model pack tensors".into(),
            tokenizer,
            query_tokenizer,
            max_document_tokens,
            max_query_tokens: Some(max_query_tokens),
            pooling: PoolingConfig::from(pooling),
            query_weights: QueryWeights::Vector(query_weights),
        })
    }

    fn tokenizer(&self, key: &str) -> Result<TokenizerFile> {
        Ok(TokenizerFile {
            json: self.string(key)?.as_bytes().to_vec(),
            source: format!("model pack `{key}`"),
        })
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

/// Verifies a pack and reads it into the parts an encoder is built from.
pub fn read(bytes: &[u8]) -> Result<ModelParts> {
    Pack::parse(bytes)?.parts()
}

/// Verifies a pack and describes it (format version, storage formats, source, hash).
pub fn summary(bytes: &[u8]) -> Result<PackSummary> {
    Pack::parse(bytes)?.summary()
}

/// Whether bytes start like a pack (GGUF magic), to choose between a pack and a folder.
pub fn looks_like_pack(bytes: &[u8]) -> bool {
    bytes.starts_with(GGUF_MAGIC)
}

//! The tensors a model is built from, whether they come from a safetensors checkpoint (all float)
//! or from a model pack (matrices possibly in GGUF block formats such as q8_0 or q4_k).
//!
//! Paths work like candle's `VarBuilder`: `pp` pushes a name prefix. What differs is that a model
//! asks for each tensor by the role it plays: a plain tensor (`get`, always float32: norms, biases,
//! position embeddings), a weight matrix (`Matrix::load_linear`, multiplied by activations, may
//! stay quantized) or the vocabulary table (`Matrix::load_vocabulary`, `Embedding::load`: looked up
//! by token id and used as the MLM decoder). The roles asked for are recorded, which is how
//! `splade convert` knows which tensors a model reads and which of them may be quantized.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Shape, Tensor};

use crate::error::{Error, Result};

/// The conventional name of a GGUF storage format: `f32`, `f16`, `q8_0`, `q4_k`, …
pub fn format_name(dtype: GgmlDType) -> &'static str {
    match dtype {
        GgmlDType::F32 => "f32",
        GgmlDType::F16 => "f16",
        GgmlDType::BF16 => "bf16",
        GgmlDType::Q4_0 => "q4_0",
        GgmlDType::Q4_1 => "q4_1",
        GgmlDType::Q5_0 => "q5_0",
        GgmlDType::Q5_1 => "q5_1",
        GgmlDType::Q8_0 => "q8_0",
        GgmlDType::Q8_1 => "q8_1",
        GgmlDType::Q2K => "q2_k",
        GgmlDType::Q3K => "q3_k",
        GgmlDType::Q4K => "q4_k",
        GgmlDType::Q5K => "q5_k",
        GgmlDType::Q6K => "q6_k",
        GgmlDType::Q8K => "q8_k",
    }
}

/// One stored tensor: a float tensor, or a block-format tensor kept as candle stores GGUF data.
#[derive(Clone)]
pub enum StoredTensor {
    Float(Tensor),
    Blocks(Arc<QTensor>),
}

impl StoredTensor {
    pub fn shape(&self) -> &Shape {
        match self {
            StoredTensor::Float(t) => t.shape(),
            StoredTensor::Blocks(q) => q.shape(),
        }
    }

    /// The tensor in float32 (block formats are dequantized).
    pub fn to_f32(&self) -> Result<Tensor> {
        Ok(match self {
            StoredTensor::Float(t) => t.to_dtype(DType::F32)?,
            StoredTensor::Blocks(q) => q.dequantize(&Device::Cpu)?,
        })
    }
}

/// How a model uses a tensor; decides how `splade convert` may store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TensorRole {
    /// Read as float32 as it is: norms, biases, position and token-type embeddings.
    Plain,
    /// A linear layer's `[out, in]` weight, multiplied by activations.
    Matrix,
    /// The `[vocab, hidden]` word embeddings (looked up by id), also the tied MLM decoder.
    Vocabulary,
}

/// The tensors of a checkpoint and how many parameters it stores (tied weights counted once).
pub struct Weights {
    pub vb: TensorSource,
    pub parameters: usize,
}

/// Named tensors with a path prefix, the subset of candle's `VarBuilder` the models use plus
/// role-specific getters.
#[derive(Clone)]
pub struct TensorSource {
    tensors: Arc<Mutex<HashMap<String, StoredTensor>>>,
    prefix: String,
    used: Arc<Mutex<BTreeMap<String, TensorRole>>>,
    /// Whether linear-layer matrices leave the source when read (see [`Self::handing_over_matrices`]).
    hand_over_matrices: bool,
}

impl TensorSource {
    pub fn new(tensors: HashMap<String, StoredTensor>) -> Self {
        Self {
            tensors: Arc::new(Mutex::new(tensors)),
            prefix: String::new(),
            used: Arc::default(),
            hand_over_matrices: false,
        }
    }

    /// A source whose linear-layer matrices are moved out when a model reads them, for loading
    /// only: a layer that re-lays its weights out (q8_0 for integer products) then frees the
    /// loaded copy before the next layer is read, instead of every copy living until the model is
    /// built (which raised a q8_0 pack's peak wasm memory, see
    /// `bench/results/code-measurements.md`).
    pub fn handing_over_matrices(mut self) -> Self {
        self.hand_over_matrices = true;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredTensor>> {
        self.tensors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Float tensors, e.g. a safetensors checkpoint.
    pub fn from_float(tensors: HashMap<String, Tensor>) -> Self {
        Self::new(
            tensors
                .into_iter()
                .map(|(name, t)| (name, StoredTensor::Float(t)))
                .collect(),
        )
    }

    /// The same tensors under `prefix.s`.
    pub fn pp(&self, s: impl ToString) -> Self {
        Self {
            tensors: self.tensors.clone(),
            prefix: self.path(&s.to_string()),
            used: self.used.clone(),
            hand_over_matrices: self.hand_over_matrices,
        }
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub fn contains_tensor(&self, name: &str) -> bool {
        self.lock().contains_key(&self.path(name))
    }

    /// Every tensor read so far, by full name, with the role it was read in (the strongest role if
    /// read more than once).
    pub fn used(&self) -> BTreeMap<String, TensorRole> {
        self.used.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// All stored tensors by full name, whether read or not (tensors are shared, not copied).
    pub fn all(&self) -> HashMap<String, StoredTensor> {
        self.lock().clone()
    }

    /// The tensor `name` (checked to have `shape` if given), recorded as read in `role`; the
    /// layers' constructors ask for their matrices through this (see `Matrix::load_linear`).
    pub fn fetch(
        &self,
        shape: Option<Shape>,
        name: &str,
        role: TensorRole,
    ) -> Result<StoredTensor> {
        let path = self.path(name);
        let mut tensors = self.lock();
        let stored = tensors.get(&path).ok_or_else(|| {
            Error::from(candle_core::Error::CannotFindTensor { path: path.clone() })
        })?;
        if let Some(expected) = shape {
            if stored.shape() != &expected {
                return Err(candle_core::Error::UnexpectedShape {
                    msg: format!("shape mismatch for {path}"),
                    expected,
                    got: stored.shape().clone(),
                }
                .into());
            }
        }
        if let Ok(mut used) = self.used.lock() {
            let entry = used.entry(path.clone()).or_insert(role);
            *entry = (*entry).max(role);
        }
        if self.hand_over_matrices && role == TensorRole::Matrix {
            Ok(tensors.remove(&path).expect("found above"))
        } else {
            Ok(stored.clone())
        }
    }

    /// A plain float32 tensor of the given shape.
    pub fn get(&self, shape: impl Into<Shape>, name: &str) -> Result<Tensor> {
        self.fetch(Some(shape.into()), name, TensorRole::Plain)?
            .to_f32()
    }

    /// A plain float32 tensor of any shape.
    pub fn get_unchecked(&self, name: &str) -> Result<Tensor> {
        self.fetch(None, name, TensorRole::Plain)?.to_f32()
    }
}

/// Reads a safetensors buffer into named tensors (in their stored dtype). Old checkpoints name
/// LayerNorm parameters `gamma`/`beta`; transformers renames them to `weight`/`bias` on load, and so
/// do we.
pub fn read_safetensors(bytes: &[u8], source: &str) -> Result<HashMap<String, Tensor>> {
    let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| {
        Error::model(format!(
            "`{source}` is not a valid safetensors file (truncated or corrupt?): {e}"
        ))
    })?;
    Ok(tensors
        .into_iter()
        .map(|(name, t)| {
            let name = if let Some(stem) = name.strip_suffix(".gamma") {
                format!("{stem}.weight")
            } else if let Some(stem) = name.strip_suffix(".beta") {
                format!("{stem}.bias")
            } else {
                name
            };
            (name, t)
        })
        .collect())
}

impl Weights {
    /// A safetensors buffer as a model's weights (see [`read_safetensors`]).
    pub fn from_safetensors(bytes: &[u8], source: &str) -> Result<Self> {
        let tensors = read_safetensors(bytes, source)?;
        let parameters = tensors.values().map(Tensor::elem_count).sum();
        Ok(Self {
            vb: TensorSource::from_float(tensors),
            parameters,
        })
    }
}

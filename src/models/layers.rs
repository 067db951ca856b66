//! Building blocks shared by the architectures, written for parity with PyTorch float32 rather than
//! taken from candle-nn where candle-nn differs (see each item).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};

use super::q8_matrix::Q8Matrix;
use super::weights::{StoredTensor, TensorSource};
use crate::error::{Error, Result};

/// Rows processed at once by position-wise layers (the MLP): bounds the intermediate activations of
/// long documents (8,192 tokens × 6,144 gated-MLP columns would be 200 MB in one piece).
const MAX_ROWS_PER_CHUNK: usize = 1024;

/// Bytes of attention scores held at once: query rows are processed in blocks so that an
/// 8,192-token document never materialises every head's tokens × tokens matrix (3.2 GB for GTE).
const ATTENTION_SCORE_BUDGET: usize = 32 << 20;

/// A weight matrix `[out, in]`: float32 (multiplied by candle's GEMM natively and by
/// [`super::f32_matmul`] in wasm, as the checkpoint stores it); a linear layer's q8_0 weights, multiplied in integers
/// ([`Q8Matrix`]); or another GGUF block format (f16, q4_k, …, and the vocabulary table in any
/// format), which stays in that format in memory and is widened to f32 one matrix at a time for
/// each product. Measured on splade-tiny, candle's block-format kernels were slower than widening:
/// f16 (a scalar dot product) 20× slower than f32 natively; q8_0 (which also rounds the
/// activations to 8 bits) 0.8× the speed of f32 in wasm and 0.9× natively.
#[derive(Clone)]
pub enum Matrix {
    F32(Tensor),
    Q8(Arc<Q8Matrix>),
    Blocks(Arc<QTensor>),
}

impl Matrix {
    pub fn new(stored: StoredTensor) -> Result<Self> {
        match stored {
            StoredTensor::Float(t) => Ok(Matrix::F32(t.to_dtype(DType::F32)?)),
            StoredTensor::Blocks(q) if q.dtype() == GgmlDType::F32 => {
                Ok(Matrix::F32(q.dequantize(&Device::Cpu)?))
            }
            StoredTensor::Blocks(q) => {
                q.shape().dims2()?;
                Ok(Matrix::Blocks(q))
            }
        }
    }

    /// A linear layer's weight: as [`Matrix::new`], but q8_0 is laid out for integer products
    /// (the vocabulary table is not: it is looked up by rows and screened).
    pub fn for_linear(stored: StoredTensor) -> Result<Self> {
        match stored {
            StoredTensor::Blocks(q) if q.dtype() == GgmlDType::Q8_0 => {
                Ok(Matrix::Q8(Arc::new(Q8Matrix::new(&q)?)))
            }
            stored => Self::new(stored),
        }
    }

    /// `(out, in)`
    pub fn dims(&self) -> Result<(usize, usize)> {
        Ok(match self {
            Matrix::F32(w) => w.dims2()?,
            Matrix::Q8(q) => q.dims(),
            Matrix::Blocks(q) => q.shape().dims2()?,
        })
    }

    /// `x · Wᵀ` for rows `x` `[n, in]`, giving `[n, out]`.
    pub fn matmul_t(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Matrix::F32(w) => matmul_f32(x, w)?,
            Matrix::Q8(q) => {
                let n = x.dim(0)?;
                let y = q.matmul_t(&x.flatten_all()?.to_vec1::<f32>()?);
                Tensor::from_vec(y, (n, q.dims().0), x.device())?
            }
            Matrix::Blocks(q) => x.matmul(&q.dequantize(&Device::Cpu)?.t()?)?,
        })
    }

    fn to_f32(&self) -> Result<Tensor> {
        Ok(match self {
            Matrix::F32(w) => w.clone(),
            Matrix::Q8(q) => Tensor::from_vec(q.dequantize(), q.dims(), &Device::Cpu)?,
            Matrix::Blocks(q) => q.dequantize(&Device::Cpu)?,
        })
    }

    /// The matrix for many products in a row (the MLM decoder over a document's token blocks):
    /// block formats widened to f32 once, for the duration of the borrow.
    pub fn for_repeated_use(&self) -> Result<Cow<'_, Matrix>> {
        Ok(match self {
            Matrix::F32(_) | Matrix::Q8(_) => Cow::Borrowed(self),
            Matrix::Blocks(_) => Cow::Owned(Matrix::F32(self.to_f32()?)),
        })
    }

    /// Rows `[n, in]` for row indices `[n]` (u32), in f32; block formats are dequantized only for
    /// the rows asked for (a linear layer's integer layout, which nothing looks up by rows, whole).
    pub fn rows(&self, ids: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Matrix::F32(t) => t.index_select(ids, 0)?,
            Matrix::Q8(_) => self.to_f32()?.index_select(ids, 0)?,
            Matrix::Blocks(q) => q.embedding(ids)?,
        })
    }
}

/// `x · wᵀ` for an f32 `w` `[out, in]`: candle's GEMM natively, [`f32_matmul`] in wasm (see
/// there why), reading `w` where it lies.
fn matmul_f32(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    #[cfg(target_arch = "wasm32")]
    {
        use candle_core::{CpuStorage, Storage};
        let (rows, columns) = w.dims2()?;
        let xs = x.flatten_all()?.to_vec1::<f32>()?;
        let (storage, layout) = w.storage_and_layout();
        let y = match (&*storage, layout.contiguous_offsets()) {
            (Storage::Cpu(CpuStorage::F32(v)), Some((start, end))) => {
                super::f32_matmul::matmul_t(&xs, &v[start..end], columns)
            }
            _ => super::f32_matmul::matmul_t(&xs, &w.flatten_all()?.to_vec1::<f32>()?, columns),
        };
        Ok(Tensor::from_vec(y, (x.dim(0)?, rows), x.device())?)
    }
    #[cfg(not(target_arch = "wasm32"))]
    Ok(x.matmul(&w.t()?)?)
}

pub struct Linear {
    weight: Matrix,
    bias: Option<Tensor>,
    out_dim: usize,
}

impl Linear {
    pub fn load(vb: &TensorSource, in_dim: usize, out_dim: usize, bias: bool) -> Result<Self> {
        let weight = vb.matrix((out_dim, in_dim), "weight")?;
        let bias = if bias {
            Some(vb.get(out_dim, "bias")?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            out_dim,
        })
    }

    /// `[out, in]`
    pub fn weight(&self) -> &Matrix {
        &self.weight
    }

    /// `[out]`, when the layer has one.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let in_dim = *dims.last().expect("linear input has a last dimension");
        let rows = x.elem_count() / in_dim.max(1);
        let y = self.weight.matmul_t(&x.reshape((rows, in_dim))?)?;
        let y = match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let mut out_dims = dims;
        *out_dims.last_mut().expect("non-empty") = self.out_dim;
        Ok(y.reshape(out_dims)?)
    }
}

/// The word embeddings `[vocab, hidden]`: rows looked up by token id (a block-format table is
/// dequantized row by row, only for the ids asked for) and, when tied, the MLM decoder matrix.
#[derive(Clone)]
pub struct Embedding {
    table: Matrix,
}

impl Embedding {
    pub fn new(table: Matrix) -> Self {
        Self { table }
    }

    /// Rows `[n, hidden]` for token ids `[n]` (u32).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.table.rows(ids)
    }

    pub fn matrix(&self) -> &Matrix {
        &self.table
    }

    pub fn vocab_size(&self) -> Result<usize> {
        Ok(self.table.dims()?.0)
    }
}

/// LayerNorm with PyTorch's two-pass variance. candle-nn's fused kernel uses E[x²] − E[x]², which
/// loses precision when the mean is large relative to the spread.
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    pub fn load(vb: &TensorSource, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get(dim, "weight")?,
            bias: vb.get(dim, "bias")?,
            eps: eps as f32,
        })
    }

    /// `(weight, bias, eps)`
    pub fn parameters(&self) -> (&Tensor, &Tensor, f32) {
        (&self.weight, &self.bias, self.eps)
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::layer_norm_slow(
            x,
            &self.weight,
            &self.bias,
            self.eps,
        )?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// The exact erf form: transformers' `"gelu"`.
    Gelu,
    /// The tanh approximation: `"gelu_new"`, `"gelu_pytorch_tanh"`, `"gelu_fast"`.
    GeluTanh,
    Relu,
    Silu,
}

impl Activation {
    /// Parses a transformers activation name; `key` names the config entry in the error.
    pub fn from_config(key: &str, name: &str) -> Result<Self> {
        match name {
            "gelu" => Ok(Self::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Self::GeluTanh),
            "relu" => Ok(Self::Relu),
            "silu" | "swish" => Ok(Self::Silu),
            other => Err(Error::unsupported(key, format!("\"{other}\""))),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Gelu => super::gelu::gelu_erf(x)?,
            Self::GeluTanh => x.gelu()?,
            Self::Relu => x.relu()?,
            Self::Silu => x.silu()?,
        })
    }
}

/// Applies a position-wise function to `x` ([..., hidden]) in chunks of rows.
pub fn map_rows(x: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let hidden = *dims.last().expect("non-empty");
    let rows = x.elem_count() / hidden.max(1);
    if rows <= MAX_ROWS_PER_CHUNK {
        return f(x);
    }
    let flat = x.reshape((rows, hidden))?;
    let mut outs = Vec::with_capacity(rows.div_ceil(MAX_ROWS_PER_CHUNK));
    for start in (0..rows).step_by(MAX_ROWS_PER_CHUNK) {
        let n = MAX_ROWS_PER_CHUNK.min(rows - start);
        outs.push(f(&flat.narrow(0, start, n)?)?);
    }
    let out = Tensor::cat(&outs, 0)?;
    let mut out_dims = dims;
    *out_dims.last_mut().expect("non-empty") = out.dim(1)?;
    Ok(out.reshape(out_dims)?)
}

/// `[batch, len, hidden]` → `[batch, heads, len, head_dim]`, contiguous.
pub fn split_heads(x: &Tensor, heads: usize) -> Result<Tensor> {
    let (b, l, h) = x.dims3()?;
    Ok(x.reshape((b, l, heads, h / heads))?
        .transpose(1, 2)?
        .contiguous()?)
}

/// `[batch, heads, len, head_dim]` → `[batch, len, hidden]`.
pub fn merge_heads(x: &Tensor) -> Result<Tensor> {
    let (b, heads, l, d) = x.dims4()?;
    Ok(x.transpose(1, 2)?.reshape((b, l, heads * d))?)
}

/// Additive key mask `[batch, 1, 1, len]` from a 0/1 attention mask `[batch, len]`: 0 for real keys
/// and float32-min for padding, as transformers' `get_extended_attention_mask`.
pub fn key_padding_bias(mask: &Tensor) -> Result<Tensor> {
    let (b, l) = mask.dims2()?;
    Ok(((mask - 1.0)? * f32::MAX as f64)?.reshape((b, 1, 1, l))?)
}

/// Scaled dot-product attention, `softmax(q·kᵀ·scale + bias)·v`, over blocks of query rows. Every
/// row still sees all keys, so the softmax is exactly the unblocked one.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    key_bias: &Tensor,
    scale: Option<f64>,
) -> Result<Tensor> {
    let (b, heads, len, _) = q.dims4()?;
    let k_t = k.transpose(2, 3)?.contiguous()?;
    let bytes_per_query_row = b * heads * len * std::mem::size_of::<f32>();
    let block = (ATTENTION_SCORE_BUDGET / bytes_per_query_row.max(1)).clamp(1, len.max(1));
    let mut outs = Vec::with_capacity(len.div_ceil(block));
    for start in (0..len).step_by(block) {
        let n = block.min(len - start);
        let q_block = q.narrow(2, start, n)?.contiguous()?;
        let mut scores = q_block.matmul(&k_t)?;
        if let Some(scale) = scale {
            scores = (scores * scale)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(key_bias)?)?;
        outs.push(probs.matmul(v)?);
    }
    Ok(Tensor::cat(&outs, 2)?)
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

/// Reads a safetensors buffer as a model's weights (see [`read_safetensors`]).
pub fn load_safetensors(bytes: &[u8], source: &str) -> Result<super::Weights> {
    let tensors = read_safetensors(bytes, source)?;
    let parameters = tensors.values().map(Tensor::elem_count).sum();
    Ok(super::Weights {
        vb: TensorSource::from_float(tensors),
        parameters,
    })
}

/// Checks that the last dimension of `x` splits into `heads` heads.
pub fn check_heads(hidden: usize, heads: usize, key: &str) -> Result<usize> {
    if heads == 0 || !hidden.is_multiple_of(heads) {
        return Err(Error::model(format!(
            "hidden size {hidden} is not divisible by `{key}` = {heads}"
        )));
    }
    Ok(hidden / heads)
}

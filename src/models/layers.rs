//! Building blocks shared by the architectures, written for parity with PyTorch float32 rather than
//! taken from candle-nn where candle-nn differs (see each item).

use candle_core::{Shape, Tensor};

use super::matrix::Matrix;
use super::weights::TensorSource;
use crate::error::{Error, Result};
use crate::kernels::attention::{self, Rows, Shape as AttentionShape};

/// Rows processed at once by position-wise layers (the MLP): bounds the intermediate activations of
/// long documents (8,192 tokens × 6,144 gated-MLP columns would be 200 MB in one piece).
const MAX_ROWS_PER_CHUNK: usize = 1024;

pub struct Linear {
    weight: Matrix,
    bias: Option<Tensor>,
    out_dim: usize,
}

impl Linear {
    pub fn load(vb: &TensorSource, in_dim: usize, out_dim: usize, bias: bool) -> Result<Self> {
        let weight = Matrix::load_linear(vb, (out_dim, in_dim), "weight")?;
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
    /// The table `name`, `[vocab, hidden]`.
    pub fn load(vb: &TensorSource, shape: impl Into<Shape>, name: &str) -> Result<Self> {
        Ok(Self {
            table: Matrix::load_vocabulary(vb, shape, name)?,
        })
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
            Self::Gelu => crate::kernels::gelu::gelu_erf(x)?,
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

/// The number of real tokens of each sequence of a right-padded 0/1 `attention_mask`
/// `[batch, len]`: the keys each sequence attends to.
pub fn key_lengths(mask: &Tensor) -> Result<Vec<usize>> {
    let (batch, len) = mask.dims2()?;
    attention::key_lengths(&flat(mask)?, batch, len)
}

/// Self-attention context `[batch, len, hidden]` for projections `q`, `k`, `v` `[batch, len,
/// hidden]` split into `heads` heads: `softmax(q·kᵀ·scale)·v` over each sequence's real keys, by
/// [`attention::attention`].
pub fn self_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    heads: usize,
    key_lengths: &[usize],
    scale: f32,
) -> Result<Tensor> {
    let (batch, len, hidden) = q.dims3()?;
    let shape = AttentionShape {
        batch,
        len,
        heads,
        head_dim: hidden / heads,
    };
    let (qs, ks, vs) = (flat(q)?, flat(k)?, flat(v)?);
    let rows = |data| Rows {
        data,
        stride: hidden,
        offset: 0,
    };
    let context = attention::attention(rows(&qs), rows(&ks), rows(&vs), shape, key_lengths, scale);
    Ok(Tensor::from_vec(context, (batch, len, hidden), q.device())?)
}

/// A tensor's values in row-major order.
pub fn flat(x: &Tensor) -> Result<Vec<f32>> {
    Ok(x.flatten_all()?.to_vec1::<f32>()?)
}

/// A post-LayerNorm encoder layer, as BERT and DistilBERT have it: self-attention, residual,
/// LayerNorm; then the MLP over chunks of rows, residual, LayerNorm.
/// (Fields visible to `plan.rs`, which describes the layer for the GPU.)
pub struct PostNormLayer {
    pub(super) query: Linear,
    pub(super) key: Linear,
    pub(super) value: Linear,
    pub(super) attention_output: Linear,
    pub(super) attention_norm: LayerNorm,
    pub(super) intermediate: Linear,
    pub(super) output: Linear,
    pub(super) output_norm: LayerNorm,
}

/// Where a checkpoint keeps a [`PostNormLayer`]'s parameters, relative to the layer's prefix.
pub struct PostNormPaths {
    pub query: &'static str,
    pub key: &'static str,
    pub value: &'static str,
    pub attention_output: &'static str,
    pub attention_norm: &'static str,
    pub intermediate: &'static str,
    pub output: &'static str,
    pub output_norm: &'static str,
}

/// Where the attention's `1/√head_dim` is applied. The two are equal in exact arithmetic, not in
/// float32, and each architecture's reference does one of them.
#[derive(Clone, Copy)]
pub enum AttentionScaling {
    /// To the scores `q·kᵀ` (BERT).
    Scores,
    /// To the queries before `q·kᵀ` (DistilBERT).
    Queries,
}

/// The settings every layer of a model shares.
#[derive(Clone, Copy)]
pub struct LayerShape {
    pub hidden: usize,
    pub intermediate: usize,
    pub heads: usize,
    pub eps: f64,
    pub activation: Activation,
    pub scaling: AttentionScaling,
}

impl PostNormLayer {
    pub fn load(vb: &TensorSource, paths: &PostNormPaths, shape: &LayerShape) -> Result<Self> {
        let (hidden, intermediate, eps) = (shape.hidden, shape.intermediate, shape.eps);
        Ok(Self {
            query: Linear::load(&vb.pp(paths.query), hidden, hidden, true)?,
            key: Linear::load(&vb.pp(paths.key), hidden, hidden, true)?,
            value: Linear::load(&vb.pp(paths.value), hidden, hidden, true)?,
            attention_output: Linear::load(&vb.pp(paths.attention_output), hidden, hidden, true)?,
            attention_norm: LayerNorm::load(&vb.pp(paths.attention_norm), hidden, eps)?,
            intermediate: Linear::load(&vb.pp(paths.intermediate), hidden, intermediate, true)?,
            output: Linear::load(&vb.pp(paths.output), intermediate, hidden, true)?,
            output_norm: LayerNorm::load(&vb.pp(paths.output_norm), hidden, eps)?,
        })
    }

    /// `x` `[batch, len, hidden]` through the layer; `key_lengths` from [`key_lengths`].
    pub fn forward(&self, x: &Tensor, key_lengths: &[usize], shape: &LayerShape) -> Result<Tensor> {
        let heads = shape.heads;
        let scale = 1.0 / ((shape.hidden / heads) as f64).sqrt();
        let q = self.query.forward(x)?;
        let k = self.key.forward(x)?;
        let v = self.value.forward(x)?;
        // Scaling the queries, then the scores by 1 (which multiplies exactly), is DistilBERT's order.
        let context = match shape.scaling {
            AttentionScaling::Scores => {
                self_attention(&q, &k, &v, heads, key_lengths, scale as f32)?
            }
            AttentionScaling::Queries => {
                self_attention(&(q * scale)?, &k, &v, heads, key_lengths, 1.0)?
            }
        };
        let attended = self
            .attention_norm
            .forward(&(self.attention_output.forward(&context)? + x)?)?;
        map_rows(&attended, |rows| {
            let inner = shape
                .activation
                .forward(&self.intermediate.forward(rows)?)?;
            self.output_norm
                .forward(&(self.output.forward(&inner)? + rows)?)
        })
    }
}

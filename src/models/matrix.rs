//! The weight matrices of linear layers and of the vocabulary table, in whichever format they are
//! stored, and the products taken with them.

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Shape, Tensor};

use super::weights::{StoredTensor, TensorRole, TensorSource};
use crate::error::Result;
use crate::kernels::q8_matrix::Q8Matrix;

/// A weight matrix `[out, in]`: float32 (multiplied by candle's GEMM natively and by
/// [`crate::kernels::f32_matmul`] in wasm, as the checkpoint stores it); a linear layer's q8_0 weights, multiplied in integers
/// ([`Q8Matrix`]); or another GGUF block format (f16, q4_k, …, and the vocabulary table in any
/// format), which stays in that format in memory and is widened to f32 one matrix at a time for
/// each product: candle's block-format kernels were slower than widening, f16 (a scalar dot
/// product) by far, q8_0 (which also rounds the activations to 8 bits) a little (measured in
/// `bench/results/code-measurements.md`).
#[derive(Clone)]
pub enum Matrix {
    F32(Tensor),
    Q8(Arc<Q8Matrix>),
    Blocks(Arc<QTensor>),
}

impl Matrix {
    /// A linear layer's weight `name`: float32, or left in its block format for quantized
    /// products.
    pub fn load_linear(vb: &TensorSource, shape: impl Into<Shape>, name: &str) -> Result<Self> {
        Self::for_linear(vb.fetch(Some(shape.into()), name, TensorRole::Matrix)?)
    }

    /// The vocabulary table `name` (`[vocab, hidden]`): the word embeddings, or a vocabulary
    /// projection stored apart from them.
    pub fn load_vocabulary(vb: &TensorSource, shape: impl Into<Shape>, name: &str) -> Result<Self> {
        Self::new(vb.fetch(Some(shape.into()), name, TensorRole::Vocabulary)?)
    }

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
    fn for_linear(stored: StoredTensor) -> Result<Self> {
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
                crate::kernels::f32_matmul::matmul_t(&xs, &v[start..end], columns)
            }
            _ => crate::kernels::f32_matmul::matmul_t(
                &xs,
                &w.flatten_all()?.to_vec1::<f32>()?,
                columns,
            ),
        };
        Ok(Tensor::from_vec(y, (x.dim(0)?, rows), x.device())?)
    }
    #[cfg(not(target_arch = "wasm32"))]
    Ok(x.matmul(&w.t()?)?)
}

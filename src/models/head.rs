//! The masked-LM head shared by BERT, DistilBERT and GTE, `LayerNorm(act(dense(h)))·Wᵀ + b` with
//! `W` usually tied to the word embeddings, and the vocabulary product it owns: the products of a
//! document's rows with `W` are only ever reduced (a maximum or a sum per vocabulary entry), in
//! blocks, so that a tokens × vocabulary logits matrix is never held in memory.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor};

use super::layers::{Activation, Embedding, LayerNorm, Linear};
use super::matrix::Matrix;
use super::weights::TensorSource;
use crate::error::{Error, Result};
use crate::kernels::q8_matrix::Q8Matrix;
use crate::kernels::vocabulary_screen::VocabularyScreen;

/// Logits held at once: token rows per block are chosen so a block stays below this many bytes
/// (64 rows for a 30,522-token vocabulary).
const LOGITS_BLOCK_BYTES: usize = 8 << 20;

/// Where a checkpoint keeps the head's parameters.
pub struct HeadPaths {
    /// The transform's dense layer and LayerNorm (prefixes).
    pub dense: &'static str,
    pub norm: &'static str,
    /// The vocabulary projection, when stored apart from the word embeddings.
    pub decoder_weight: &'static str,
    /// The decoder bias, under the first of these names the checkpoint has.
    pub decoder_bias: &'static [&'static str],
}

pub struct MlmHead {
    dense: Linear,
    activation: Activation,
    norm: LayerNorm,
    decoder: Matrix,
    decoder_bias: Tensor,
    /// Built on first use: only max pooling needs it.
    screen: OnceLock<VocabularyScreen>,
    /// A q8_0 decoder laid out for integer products, built the first time the full vocabulary
    /// product is taken (sum pooling, or a model the screen does not help).
    integer_decoder: OnceLock<Matrix>,
}

impl MlmHead {
    /// The decoder weight is `paths.decoder_weight` when the checkpoint stores it, else the tied
    /// word embeddings.
    pub fn load(
        vb: &TensorSource,
        paths: &HeadPaths,
        word_embeddings: &Embedding,
        hidden: usize,
        eps: f64,
        activation: Activation,
    ) -> Result<Self> {
        let vocab = word_embeddings.vocab_size()?;
        let decoder = if vb.contains_tensor(paths.decoder_weight) {
            Matrix::load_vocabulary(vb, (vocab, hidden), paths.decoder_weight)?
        } else {
            word_embeddings.matrix().clone()
        };
        let bias_name = paths
            .decoder_bias
            .iter()
            .find(|name| vb.contains_tensor(name))
            .ok_or_else(|| Error::model(format!("missing tensor `{}`", paths.decoder_bias[0])))?;
        Ok(Self {
            dense: Linear::load(&vb.pp(paths.dense), hidden, hidden, true)?,
            activation,
            norm: LayerNorm::load(&vb.pp(paths.norm), hidden, eps)?,
            decoder,
            decoder_bias: vb.get(vocab, bias_name)?,
            screen: OnceLock::new(),
            integer_decoder: OnceLock::new(),
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.decoder_bias.dims()[0]
    }

    /// The transform's dense layer, activation and LayerNorm (what [`MlmHead::logits`] applies
    /// before the vocabulary product).
    pub fn transform_parts(&self) -> (&Linear, Activation, &LayerNorm) {
        (&self.dense, self.activation, &self.norm)
    }

    /// The vocabulary projection `W`, `[vocab, hidden]`, and its bias `[vocab]`.
    pub fn decoder(&self) -> (&Matrix, &Tensor) {
        (&self.decoder, &self.decoder_bias)
    }

    /// The logits of one text's real (unpadded) hidden states `[tokens, hidden]`, ready to be
    /// reduced per vocabulary entry.
    pub fn logits(&self, hidden_rows: &Tensor) -> Result<VocabularyLogits<'_>> {
        let transformed = self
            .norm
            .forward(&self.activation.forward(&self.dense.forward(hidden_rows)?)?)?;
        Ok(VocabularyLogits {
            head: self,
            transformed,
            bias: self.decoder_bias.to_vec1::<f32>()?,
        })
    }

    /// The decoder for the full vocabulary product: a q8_0 one laid out for integer products once
    /// and kept (a copy per document would grow wasm memory, which never shrinks, just as much),
    /// other block formats widened to f32 for the borrow.
    fn full_product_decoder(&self) -> Result<Cow<'_, Matrix>> {
        match &self.decoder {
            Matrix::Blocks(q) if q.dtype() == GgmlDType::Q8_0 => {
                if self.integer_decoder.get().is_none() {
                    let _ = self
                        .integer_decoder
                        .set(Matrix::Q8(Arc::new(Q8Matrix::new(q)?)));
                }
                Ok(Cow::Borrowed(
                    self.integer_decoder.get().expect("set just above"),
                ))
            }
            decoder => decoder.for_repeated_use(),
        }
    }

    /// The decoder in 8-bit integers, which tells which vocabulary entries max pooling can keep.
    fn screen(&self) -> Result<&VocabularyScreen> {
        if let Some(screen) = self.screen.get() {
            return Ok(screen);
        }
        let (vocab, hidden) = self.decoder.dims()?;
        let screen = VocabularyScreen::new(vocab, hidden, |start, n| {
            let ids = Tensor::arange(start as u32, (start + n) as u32, &Device::Cpu)?;
            Ok(self.decoder.rows(&ids)?.flatten_all()?.to_vec1::<f32>()?)
        })?;
        Ok(self.screen.get_or_init(|| screen))
    }
}

/// A text's logits `h_t·w_v + b_v` as a product not yet taken: the head's transform of its rows
/// and the decoder bias.
pub struct VocabularyLogits<'a> {
    head: &'a MlmHead,
    /// `[tokens, hidden]`
    transformed: Tensor,
    bias: Vec<f32>,
}

impl VocabularyLogits<'_> {
    /// `b_v`, `[vocab]`.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// `max_t h_t·w_v` for every vocabulary entry whose `max + b_v` can be positive, `-inf` for
    /// the others; without the bias. The screen picks the entries (about 275 of 30,522 for a
    /// 128-token passage and splade-tiny); their maxima come from the f32 product of their decoder
    /// rows only, in blocks of at most `LOGITS_BLOCK_BYTES` of logits. Where the screen does not
    /// pay, from the full product.
    pub fn max_without_bias(&self) -> Result<Vec<f32>> {
        let transformed = &self.transformed;
        let tokens = transformed.dim(0)?;
        let rows = transformed.flatten_all()?.to_vec1::<f32>()?;
        let mut maxima = vec![f32::NEG_INFINITY; self.head.vocab_size()];
        let Some(candidates) = self.head.screen()?.candidates(&rows, &self.bias) else {
            self.for_each_row(|row| fold_max(&mut maxima, row))?;
            return Ok(maxima);
        };
        let block = (LOGITS_BLOCK_BYTES / (tokens.max(1) * std::mem::size_of::<f32>())).max(1);
        for ids in candidates.chunks(block) {
            let weights = self
                .head
                .decoder
                .rows(&Tensor::new(ids, transformed.device())?)?;
            let logits = transformed
                .matmul(&weights.t()?)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let mut block_max = vec![f32::NEG_INFINITY; ids.len()];
            for row in logits.chunks_exact(ids.len()) {
                fold_max(&mut block_max, row);
            }
            for (&v, m) in ids.iter().zip(block_max) {
                maxima[v as usize] = m;
            }
        }
        Ok(maxima)
    }

    /// Calls `f` with each token's logits `[vocab]` (without the bias), computed over token blocks
    /// so that at most `LOGITS_BLOCK_BYTES` of logits exist at once.
    pub fn for_each_row(&self, mut f: impl FnMut(&[f32])) -> Result<()> {
        let (tokens, vocab) = (self.transformed.dim(0)?, self.head.vocab_size());
        let decoder = self.head.full_product_decoder()?;
        let block = (LOGITS_BLOCK_BYTES / (vocab * std::mem::size_of::<f32>())).max(1);
        for start in (0..tokens).step_by(block) {
            let n = block.min(tokens - start);
            let logits = decoder
                .matmul_t(&self.transformed.narrow(0, start, n)?)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            logits.chunks_exact(vocab).for_each(&mut f);
        }
        Ok(())
    }
}

/// Row by row over contiguous memory (a strided max over tokens was slow in wasm). A comparison
/// rather than `f32::max`, which is a libm `fmaxf` call per element in wasm; NaN logits are
/// skipped either way.
fn fold_max(maxima: &mut [f32], row: &[f32]) {
    for (m, &x) in maxima.iter_mut().zip(row) {
        if x > *m {
            *m = x;
        }
    }
}

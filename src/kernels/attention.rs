//! Scaled dot-product attention on plain f32 rows, for every architecture: `softmax(q·kᵀ·scale)·v`
//! over a sequence's real keys, one head and one block of query rows at a time.
//!
//! candle's path (split heads, a batched GEMM, a softmax over padded keys, another GEMM, merge
//! heads) copies every projection twice, multiplies padding, and in wasm runs the `gemm` crate's
//! spilling micro-kernel (see [`f32_matmul`]). Here both products are [`f32_matmul::matmul_t`]'s
//! SIMD dot products: scores are `Q_block · Kᵀ` with K as stored (token rows), and the context is
//! `P · (Vᵀ)ᵀ` with V transposed once per head, so each output is a dot product of a row of
//! probabilities and a column of V. Memory is bounded by [`SCORE_BUDGET`]: an 8,192-token document
//! never holds a tokens × tokens matrix, only a block of query rows against all keys.
//!
//! The softmax is the one candle and PyTorch take: per row, subtract the maximum, exponentiate,
//! sum in order, divide ([`softmax_scaled`], whose `exp` is a polynomial wasm takes in SIMD). Padding keys (right padding) are left out rather than given a bias of
//! float32-min: their probability is exactly 0 either way, and a padded sequence then gives the
//! same bits as the sequence alone.

use super::f32_matmul;
use super::softmax::softmax_scaled;
use crate::error::{Error, Result};

/// Bytes of attention probabilities held at once: one block of query rows × the sequence's keys.
/// 2 MB keeps a block (and the transposed V it is multiplied with) near L2 while bounding an
/// 8,192-token document to 64 query rows at a time.
const SCORE_BUDGET: usize = 2 << 20;

/// Where one sequence batch's projections lie: token `t`'s head `h` is
/// `data[t * stride + offset + h * head_dim..][..head_dim]`. The fused `qkv` projection of GTE is
/// three of these over one buffer (offsets 0, hidden, 2·hidden; stride 3·hidden).
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    pub data: &'a [f32],
    pub stride: usize,
    pub offset: usize,
}

impl Rows<'_> {
    fn head(&self, token: usize, head: usize, head_dim: usize) -> &[f32] {
        &self.data[token * self.stride + self.offset + head * head_dim..][..head_dim]
    }
}

/// The shape of one attention call: `batch` sequences of `len` tokens (right-padded), each with
/// `heads` heads of `head_dim` columns.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub batch: usize,
    pub len: usize,
    pub heads: usize,
    pub head_dim: usize,
}

/// The number of real (leading) tokens of each sequence from a right-padded 0/1 mask
/// `[batch, len]`. A mask that is not ones-then-zeros, or a sequence with no token, is refused:
/// the encoder never builds one, and attention over no keys has no defined result.
pub fn key_lengths(mask: &[f32], batch: usize, len: usize) -> Result<Vec<usize>> {
    if mask.len() != batch * len {
        return Err(Error::model(format!(
            "attention mask has {} values for {batch} sequences of {len} tokens",
            mask.len()
        )));
    }
    mask.chunks(len.max(1))
        .take(batch)
        .enumerate()
        .map(|(b, row)| {
            let real = row.iter().take_while(|&&m| m == 1.0).count();
            if real == 0 || row[real..].iter().any(|&m| m != 0.0) {
                return Err(Error::model(format!(
                    "attention mask of sequence {b} is not right padding after at least one token"
                )));
            }
            Ok(real)
        })
        .collect()
}

/// Context rows `[batch · len, heads · head_dim]` for queries `q`, keys `k` and values `v`, where
/// sequence `b` attends to its first `key_lengths[b]` keys. Query rows of padding get a context
/// like any other row (later layers ignore them, as they do today).
pub fn attention(
    q: Rows,
    k: Rows,
    v: Rows,
    shape: Shape,
    key_lengths: &[usize],
    scale: f32,
) -> Vec<f32> {
    attention_in_blocks(q, k, v, shape, key_lengths, scale, SCORE_BUDGET)
}

/// [`attention`] holding at most `budget` bytes of probabilities (at least one row) at once.
fn attention_in_blocks(
    q: Rows,
    k: Rows,
    v: Rows,
    shape: Shape,
    key_lengths: &[usize],
    scale: f32,
    budget: usize,
) -> Vec<f32> {
    let Shape {
        batch,
        len,
        heads,
        head_dim,
    } = shape;
    let hidden = heads * head_dim;
    let mut out = vec![0f32; batch * len * hidden];
    let one = |(b, h): (usize, usize)| {
        head_context(q, k, v, shape, (b, h), key_lengths[b], scale, budget)
    };
    let pairs: Vec<(usize, usize)> = (0..batch)
        .flat_map(|b| (0..heads).map(move |h| (b, h)))
        .collect();
    #[cfg(not(target_arch = "wasm32"))]
    let contexts: Vec<Vec<f32>> = {
        use rayon::prelude::*;
        pairs.par_iter().copied().map(one).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let contexts: Vec<Vec<f32>> = pairs.iter().copied().map(one).collect();
    for ((b, h), context) in pairs.into_iter().zip(contexts) {
        for (t, row) in context.chunks_exact(head_dim).enumerate() {
            out[(b * len + t) * hidden + h * head_dim..][..head_dim].copy_from_slice(row);
        }
    }
    out
}

/// One head of one sequence: `[len, head_dim]`.
#[allow(clippy::too_many_arguments)]
fn head_context(
    q: Rows,
    k: Rows,
    v: Rows,
    shape: Shape,
    (b, h): (usize, usize),
    keys: usize,
    scale: f32,
    budget: usize,
) -> Vec<f32> {
    let Shape { len, head_dim, .. } = shape;
    let first = b * len;
    let mut keys_rows = Vec::with_capacity(keys * head_dim);
    for t in 0..keys {
        keys_rows.extend_from_slice(k.head(first + t, h, head_dim));
    }
    // Vᵀ `[head_dim, keys]`: each context column is then one dot product over the keys.
    let mut values_t = vec![0f32; head_dim * keys];
    for t in 0..keys {
        for (c, &x) in v.head(first + t, h, head_dim).iter().enumerate() {
            values_t[c * keys + t] = x;
        }
    }
    let block = (budget / (keys * std::mem::size_of::<f32>())).clamp(1, len.max(1));
    let mut context = Vec::with_capacity(len * head_dim);
    let mut queries = Vec::with_capacity(block * head_dim);
    for start in (0..len).step_by(block) {
        let n = block.min(len - start);
        queries.clear();
        for t in start..start + n {
            queries.extend_from_slice(q.head(first + t, h, head_dim));
        }
        let mut probabilities = f32_matmul::matmul_t(&queries, &keys_rows, head_dim);
        for row in probabilities.chunks_exact_mut(keys) {
            softmax_scaled(row, scale);
        }
        context.extend(f32_matmul::matmul_t(&probabilities, &values_t, keys));
    }
    context
}

/// Rotate-half RoPE (GTE's, candle's `rope`) applied in place to every head of `rows`
/// (`batch` sequences of `len` tokens): for position `p` and `i < head_dim / 2`,
/// `(x_i, x_{i+d/2}) ← (x_i·cos − x_{i+d/2}·sin, x_i·sin + x_{i+d/2}·cos)` with `cos`, `sin`
/// `[positions, head_dim / 2]`, as candle computes it (no fused multiply-add).
pub fn rope_in_place(
    data: &mut [f32],
    stride: usize,
    offset: usize,
    shape: Shape,
    cos: &[f32],
    sin: &[f32],
) {
    let half = shape.head_dim / 2;
    for b in 0..shape.batch {
        for p in 0..shape.len {
            let (cos, sin) = (&cos[p * half..][..half], &sin[p * half..][..half]);
            let token = &mut data[(b * shape.len + p) * stride + offset..];
            for head in token[..shape.heads * shape.head_dim].chunks_exact_mut(shape.head_dim) {
                let (x1, x2) = head.split_at_mut(half);
                for i in 0..half {
                    let (a, c) = (x1[i], x2[i]);
                    x1[i] = a * cos[i] - c * sin[i];
                    x2[i] = a * sin[i] + c * cos[i];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_noise::noise;
    use candle_core::{Device, Tensor};

    /// Summation order differs from candle's GEMM; outputs are averages of values in [-1, 1].
    const TOLERANCE: f32 = 1e-5;

    /// `[batch, len, heads · head_dim]` values → `[batch, heads, len, head_dim]`.
    fn split_heads(x: &[f32], shape: Shape) -> Tensor {
        let Shape {
            batch,
            len,
            heads,
            head_dim,
        } = shape;
        Tensor::from_vec(x.to_vec(), (batch, len, heads, head_dim), &Device::Cpu)
            .and_then(|t| t.transpose(1, 2)?.contiguous())
            .unwrap()
    }

    /// `[batch, heads, len, head_dim]` → `[batch, len, heads · head_dim]` values.
    fn merge_heads(x: &Tensor) -> Vec<f32> {
        x.transpose(1, 2)
            .and_then(|t| t.flatten_all()?.to_vec1())
            .unwrap()
    }

    /// The candle path this kernel replaced: every key scored, float32-min added to padding keys
    /// (transformers' extended attention mask), `softmax_last_dim`, then the product with v.
    fn candle_attention(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        shape: Shape,
        mask: &[f32],
        scale: f32,
    ) -> Vec<f32> {
        let (batch, len) = (shape.batch, shape.len);
        let mask = Tensor::from_vec(mask.to_vec(), (batch, 1, 1, len), &Device::Cpu).unwrap();
        let bias = ((mask - 1.0).unwrap() * f32::MAX as f64).unwrap();
        let (q, k, v) = (
            split_heads(q, shape),
            split_heads(k, shape),
            split_heads(v, shape),
        );
        let k_t = k.transpose(2, 3).unwrap().contiguous().unwrap();
        let scores = (q.matmul(&k_t).unwrap() * scale as f64).unwrap();
        let probs =
            candle_nn::ops::softmax_last_dim(&scores.broadcast_add(&bias).unwrap()).unwrap();
        merge_heads(&probs.matmul(&v).unwrap())
    }

    fn right_padding(lengths: &[usize], len: usize) -> Vec<f32> {
        lengths
            .iter()
            .flat_map(|&n| (0..len).map(move |t| if t < n { 1.0 } else { 0.0 }))
            .collect()
    }

    fn rows(data: &[f32], stride: usize, offset: usize) -> Rows<'_> {
        Rows {
            data,
            stride,
            offset,
        }
    }

    /// Real query rows match candle's blocked attention, for one block and for many (a budget of
    /// one probability row), with padding keys, head sizes not a multiple of 4, and projections
    /// read from one fused buffer as GTE's qkv.
    #[test]
    fn matches_candle_attention_on_real_rows() {
        for (batch, len, heads, head_dim, lengths) in [
            (1, 7, 2, 8, vec![7]),
            (3, 40, 4, 16, vec![40, 13, 1]),
            (2, 33, 3, 6, vec![20, 33]),
        ] {
            let shape = Shape {
                batch,
                len,
                heads,
                head_dim,
            };
            let hidden = heads * head_dim;
            let qkv = noise(len as u64, batch * len * 3 * hidden);
            let split = |part: usize| -> Vec<f32> {
                qkv.chunks_exact(3 * hidden)
                    .flat_map(|t| t[part * hidden..][..hidden].to_vec())
                    .collect()
            };
            let (q, k, v) = (split(0), split(1), split(2));
            let mask = right_padding(&lengths, len);
            let scale = 1.0 / (head_dim as f32).sqrt();
            let want = candle_attention(&q, &k, &v, shape, &mask, scale);
            let keys = key_lengths(&mask, batch, len).unwrap();
            assert_eq!(keys, lengths);
            let stride = 3 * hidden;
            for budget in [SCORE_BUDGET, 1] {
                let (q, k, v) = (
                    rows(&qkv, stride, 0),
                    rows(&qkv, stride, hidden),
                    rows(&qkv, stride, 2 * hidden),
                );
                let got = attention_in_blocks(q, k, v, shape, &keys, scale, budget);
                for (b, &n) in lengths.iter().enumerate() {
                    for t in 0..n {
                        let at = (b * len + t) * hidden;
                        for c in 0..hidden {
                            let (g, w) = (got[at + c], want[at + c]);
                            assert!((g - w).abs() <= TOLERANCE, "[{b}, {t}, {c}] {g} vs {w}");
                        }
                    }
                }
            }
        }
    }

    /// A sequence padded inside a batch gives the same bits as the sequence alone.
    #[test]
    fn padding_does_not_change_a_sequence() {
        let (heads, head_dim, hidden) = (2, 8, 16);
        let (short, long) = (9, 25);
        let data = noise(7, 2 * long * hidden);
        let shape = |batch, len| Shape {
            batch,
            len,
            heads,
            head_dim,
        };
        let batched = attention(
            rows(&data, hidden, 0),
            rows(&data, hidden, 0),
            rows(&data, hidden, 0),
            shape(2, long),
            &[short, long],
            0.3,
        );
        let alone_data = &data[..short * hidden];
        let alone = attention(
            rows(alone_data, hidden, 0),
            rows(alone_data, hidden, 0),
            rows(alone_data, hidden, 0),
            shape(1, short),
            &[short],
            0.3,
        );
        assert_eq!(batched[..short * hidden], alone[..]);
    }

    #[test]
    fn masks_that_are_not_right_padding_are_refused() {
        assert!(key_lengths(&[1.0, 0.0, 1.0], 1, 3).is_err());
        assert!(key_lengths(&[0.0, 0.0], 1, 2).is_err());
        assert!(key_lengths(&[1.0, 1.0], 1, 3).is_err());
        assert_eq!(
            key_lengths(&[1.0, 1.0, 1.0, 0.0], 2, 2).unwrap(),
            vec![2, 1]
        );
    }

    /// In-place RoPE on a fused buffer equals candle's `rope` on split heads, bit for bit.
    #[test]
    fn rope_in_place_matches_candle_rope() {
        let (batch, len, heads, head_dim) = (2, 11, 3, 8);
        let hidden = heads * head_dim;
        let half = head_dim / 2;
        let cos = noise(1, len * half);
        let sin = noise(2, len * half);
        let mut fused = noise(3, batch * len * 2 * hidden);
        let part: Vec<f32> = fused
            .chunks_exact(2 * hidden)
            .flat_map(|t| t[hidden..].to_vec())
            .collect();
        let shape = Shape {
            batch,
            len,
            heads,
            head_dim,
        };
        let x = split_heads(&part, shape);
        let cos_t = Tensor::from_vec(cos.clone(), (len, half), &Device::Cpu).unwrap();
        let sin_t = Tensor::from_vec(sin.clone(), (len, half), &Device::Cpu).unwrap();
        let want = candle_nn::rotary_emb::rope(&x, &cos_t, &sin_t).unwrap();
        let want = merge_heads(&want);
        rope_in_place(&mut fused, 2 * hidden, hidden, shape, &cos, &sin);
        let got: Vec<f32> = fused
            .chunks_exact(2 * hidden)
            .flat_map(|t| t[hidden..].to_vec())
            .collect();
        assert_eq!(got, want);
    }
}

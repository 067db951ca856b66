//! A q8_0 weight matrix multiplied in integers.
//!
//! q8_0 stores each run of 32 weights of a row as 8-bit integers with one f16 scale `d`. Widening
//! them to f32 for each product spends the f32 SIMD rate (two instructions per 4 multiply-adds in
//! baseline wasm SIMD, which has no FMA) on values that are integers. Here the activations are
//! rounded to 16 bits, one scale `s_t` per token row, and each block is an integer dot product
//! (`i32x4.dot_i16x8_s` in wasm, `pmaddwd` on x86-64: 8 multiply-adds per instruction; 16 with
//! AVX2's `vpmaddwd` where the processor has it) scaled
//! into an f32 sum once per 32 weights: `y_t,n = s_t · Σ_b d_n,b · (q_t,b · p_n,b)`.
//!
//! The only error added to the q8_0 weights' own is the activations' rounding, at most
//! `s_t/2 · ‖w_n‖₁` (`s_t = max_k |x_t,k| / 32767`), about 1e-5 of the product's scale. Integer sums
//! are exact and the f32 steps run in the same order everywhere, so native and wasm results are
//! identical.

use candle_core::quantized::{GgmlDType, QTensor};

use super::int_pairs::{pack_pair, tile_index, TILE};
use crate::error::{Error, Result};

/// Weights per q8_0 block, and so per f32 rescaling.
const BLOCK: usize = 32;

/// Bytes of a stored q8_0 block: an f16 scale, then 32 i8.
const STORED_BLOCK: usize = 2 + BLOCK;

/// Tokens per kernel call (as in the vocabulary screen: more spills registers in V8).
const STEP: usize = 2;

/// Tokens multiplied by the whole matrix at a time: their 16-bit activations (up to 384 KB for
/// 3,072 columns) stay in a 1 MB L2 cache while every tile of weights passes by. Without this a
/// batch of passages ran slower per token than one passage natively (see
/// `bench/results/code-measurements.md`).
const TOKENS_PER_PASS: usize = 64;

/// Largest activation magnitude: a block's 32 products of at most 127·32767 fit an i32 easily.
const ACTIVATION_LEVELS: f32 = i16::MAX as f32;

/// A q8_0 matrix `[out, in]` in tiles of `TILE` rows, each block `[pair][row][2]`.
pub struct Q8Matrix {
    rows: usize,
    columns: usize,
    /// `[tile][block][pair][row in tile][2]`; rows past `rows` are zero.
    packed: Vec<i8>,
    /// `[tile][block][row in tile]`: each block's scale `d`, as f32.
    scales: Vec<f32>,
}

impl Q8Matrix {
    /// Re-lays out a q8_0 `QTensor` `[out, in]`.
    pub fn new(q: &QTensor) -> Result<Self> {
        if q.dtype() != GgmlDType::Q8_0 {
            return Err(Error::model(format!(
                "expected a q8_0 matrix, got {:?}",
                q.dtype()
            )));
        }
        let (rows, columns) = q.shape().dims2()?;
        let blocks = columns / BLOCK;
        let data = q.data()?;
        if columns % BLOCK != 0 || data.len() != rows * blocks * STORED_BLOCK {
            return Err(Error::model(format!(
                "a q8_0 matrix [{rows}, {columns}] holds {} bytes",
                data.len()
            )));
        }
        let tiles = rows.div_ceil(TILE);
        let mut packed = vec![0i8; tiles * blocks * BLOCK * TILE];
        let mut scales = vec![0f32; tiles * blocks * TILE];
        for (n, row) in data.chunks_exact(blocks * STORED_BLOCK).enumerate() {
            let (tile, lane) = (n / TILE, n % TILE);
            for (b, block) in row.chunks_exact(STORED_BLOCK).enumerate() {
                let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
                scales[(tile * blocks + b) * TILE + lane] = d;
                let out = &mut packed[(tile * blocks + b) * BLOCK * TILE..][..BLOCK * TILE];
                for (k, &byte) in block[2..].iter().enumerate() {
                    out[tile_index(k, lane)] = byte as i8;
                }
            }
        }
        Ok(Self {
            rows,
            columns,
            packed,
            scales,
        })
    }

    /// `(out, in)`
    pub fn dims(&self) -> (usize, usize) {
        (self.rows, self.columns)
    }

    /// The stored q8_0 values row-major `[out, in]` and one scale per block of 32 along a row
    /// (`[out, in / 32]`), as a GGUF file holds them: what a GPU kernel dequantizes from.
    pub fn row_major(&self) -> (Vec<i8>, Vec<f32>) {
        let blocks = self.columns / BLOCK;
        let mut quants = vec![0i8; self.rows * self.columns];
        let mut scales = vec![0f32; self.rows * blocks];
        for (n, (row, row_scales)) in quants
            .chunks_exact_mut(self.columns.max(1))
            .zip(scales.chunks_exact_mut(blocks.max(1)))
            .enumerate()
        {
            let (tile, lane) = (n / TILE, n % TILE);
            for (b, (values, scale)) in row.chunks_exact_mut(BLOCK).zip(row_scales).enumerate() {
                *scale = self.scales[(tile * blocks + b) * TILE + lane];
                let block = &self.packed[(tile * blocks + b) * BLOCK * TILE..];
                for (k, v) in values.iter_mut().enumerate() {
                    *v = block[tile_index(k, lane)];
                }
            }
        }
        (quants, scales)
    }

    /// The stored weights as f32 `[out, in]`, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let blocks = self.columns / BLOCK;
        let mut out = vec![0f32; self.rows * self.columns];
        for (n, row) in out.chunks_exact_mut(self.columns.max(1)).enumerate() {
            let (tile, lane) = (n / TILE, n % TILE);
            for (b, values) in row.chunks_exact_mut(BLOCK).enumerate() {
                let d = self.scales[(tile * blocks + b) * TILE + lane];
                let block = &self.packed[(tile * blocks + b) * BLOCK * TILE..];
                for (k, v) in values.iter_mut().enumerate() {
                    *v = d * f32::from(block[tile_index(k, lane)]);
                }
            }
        }
        out
    }

    /// `x · Wᵀ` for rows `x` (`tokens × in`, row-major), giving `tokens × out`.
    pub fn matmul_t(&self, x: &[f32]) -> Vec<f32> {
        let tokens = x.len() / self.columns.max(1);
        let mut out = vec![0f32; tokens * self.rows];
        if self.rows == 0 || tokens == 0 {
            return out;
        }
        let work = |(x, out): (&[f32], &mut [f32])| self.multiply_rows(x, out);
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            // Token chunks per thread: each writes its own output rows.
            let chunk = tokens.div_ceil(rayon::current_num_threads()).max(STEP);
            x.par_chunks(chunk * self.columns)
                .zip(out.par_chunks_mut(chunk * self.rows))
                .for_each(work);
        }
        #[cfg(target_arch = "wasm32")]
        work((x, &mut out[..]));
        out
    }

    fn multiply_rows(&self, x: &[f32], out: &mut [f32]) {
        for (x, out) in x
            .chunks(TOKENS_PER_PASS * self.columns)
            .zip(out.chunks_mut(TOKENS_PER_PASS * self.rows))
        {
            self.multiply_pass(x, out);
        }
    }

    fn multiply_pass(&self, x: &[f32], out: &mut [f32]) {
        let tokens = x.len() / self.columns;
        let pairs = self.columns / 2;
        let blocks = self.columns / BLOCK;
        // Zero rows pad the tokens to a multiple of STEP; their sums are not written.
        let padded = tokens.next_multiple_of(STEP);
        let mut quantized = vec![0i32; padded * pairs];
        let token_scales: Vec<f32> = x
            .chunks_exact(self.columns)
            .zip(quantized.chunks_exact_mut(pairs))
            .map(|(row, q)| quantize_row(row, q))
            .collect();
        // One tile's sums `[token][row in tile]`. Blocks are the outer loop so that the sums of
        // finished blocks live in memory, not in registers the kernel needs.
        let mut totals = vec![0f32; padded * TILE];
        for tile in 0..self.rows.div_ceil(TILE) {
            totals.fill(0.0);
            for b in 0..blocks {
                let w = &self.packed[(tile * blocks + b) * BLOCK * TILE..][..BLOCK * TILE];
                let d = &self.scales[(tile * blocks + b) * TILE..][..TILE];
                for (first, sums) in (0..padded)
                    .step_by(STEP)
                    .zip(totals.chunks_exact_mut(STEP * TILE))
                {
                    let a = std::array::from_fn(|i| {
                        &quantized[(first + i) * pairs + b * BLOCK / 2..][..BLOCK / 2]
                    });
                    kernel::add_block(w, d, a, sums);
                }
            }
            let first_row = tile * TILE;
            let width = TILE.min(self.rows - first_row);
            for (t, &scale) in token_scales.iter().enumerate() {
                let out = &mut out[t * self.rows + first_row..][..width];
                for (o, &sum) in out.iter_mut().zip(&totals[t * TILE..]) {
                    *o = sum * scale;
                }
            }
        }
    }
}

/// Rounds `row` to 16-bit integers packed two per i32 (the first in the low half: the lane order
/// of `dot_i16x8`), returning the scale. A row with a non-finite value gets a NaN scale, so its
/// outputs are NaN as an f32 product's would be.
fn quantize_row(row: &[f32], packed: &mut [i32]) -> f32 {
    // A comparison, not `f32::max` (a libm `fmaxf` call per element in wasm); NaN is caught below.
    let largest = row
        .iter()
        .fold(0.0f32, |m, x| if x.abs() > m { x.abs() } else { m });
    if !largest.is_finite() || row.iter().any(|x| x.is_nan()) {
        packed.fill(0);
        return f32::NAN;
    }
    let scale = if largest > 0.0 {
        largest / ACTIVATION_LEVELS
    } else {
        1.0
    };
    let inverse = 1.0 / scale;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer, ties to even, for |v| < 2²²
    // (here |v| ≤ 32767): one vectorizable add where `round_ties_even` is a libm call on
    // baseline x86-64 (a noticeable share of a BERT-base-sized model's time).
    const ROUNDING: f32 = 12_582_912.0;
    let level = |x: f32| {
        let rounded = (x * inverse + ROUNDING) - ROUNDING;
        (rounded as i32).clamp(-(i16::MAX as i32), i16::MAX as i32) as i16
    };
    for (p, pair) in packed.iter_mut().zip(row.chunks_exact(2)) {
        *p = pack_pair(level(pair[0]), level(pair[1]));
    }
    scale
}

/// `totals[j·16 + r] += d[r] · (a_j · w_r)` over one block (16 pairs of columns) of one tile's 16
/// rows `w` (`[pair][row][2]`), for `STEP` tokens' packed pairs `a_j`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernel {
    use super::{BLOCK, STEP, TILE};
    use crate::kernels::int_pairs::tile_sums;
    use std::arch::wasm32::*;

    pub fn add_block(w: &[i8], d: &[f32], a: [&[i32]; STEP], totals: &mut [f32]) {
        assert!(a.iter().all(|a| a.len() == BLOCK / 2));
        assert!(w.len() == BLOCK * TILE && d.len() == TILE && totals.len() == STEP * TILE);
        let acc = tile_sums(w, a);
        for j in 0..4 {
            // SAFETY: `d` holds 16 floats and `totals` 16 per token, so 4 at `4 * j` and at
            // `i * 16 + 4 * j` are in bounds.
            unsafe {
                let dj = v128_load(d.as_ptr().add(4 * j) as *const v128);
                for (i, acc) in acc.iter().enumerate() {
                    let t = totals.as_mut_ptr().add(i * TILE + 4 * j) as *mut v128;
                    let sum = f32x4_mul(f32x4_convert_i32x4(acc[j]), dj);
                    v128_store(t, f32x4_add(v128_load(t), sum));
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use super::{BLOCK, STEP, TILE};
    use std::arch::x86_64::*;

    /// AVX2 where the processor has it (twice the multiply-adds per instruction), else SSE2; the
    /// same integer sums and f32 operations, so the same results.
    pub fn add_block(w: &[i8], d: &[f32], a: [&[i32]; STEP], totals: &mut [f32]) {
        assert!(a.iter().all(|a| a.len() == BLOCK / 2));
        assert!(w.len() == BLOCK * TILE && d.len() == TILE && totals.len() == STEP * TILE);
        // SAFETY: the lengths are checked above; AVX2 only where detected.
        unsafe {
            if is_x86_feature_detected!("avx2") {
                add_block_avx2(w, d, a, totals)
            } else {
                add_block_sse2(w, d, a, totals)
            }
        }
    }

    // Indices mirror the register tile (token i, vector j) more plainly than iterators would.
    #[allow(clippy::needless_range_loop)]
    #[target_feature(enable = "avx2")]
    unsafe fn add_block_avx2(w: &[i8], d: &[f32], a: [&[i32]; STEP], totals: &mut [f32]) {
        // SAFETY (caller): `w` holds 512 i8, so the 16 at `p * 32 + j * 16` are in bounds; `d`
        // holds 16 floats and `totals` 16 per token, so 8 at `8 * j` and `i * 16 + 8 * j` are.
        let mut acc = [[_mm256_setzero_si256(); 2]; STEP];
        for p in 0..BLOCK / 2 {
            let x: [__m256i; STEP] = std::array::from_fn(|i| _mm256_set1_epi32(a[i][p]));
            for j in 0..2 {
                let bytes = _mm_loadu_si128(w.as_ptr().add(p * 32 + j * 16) as *const __m128i);
                let wj = _mm256_cvtepi8_epi16(bytes);
                for i in 0..STEP {
                    acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(wj, x[i]));
                }
            }
        }
        for j in 0..2 {
            let dj = _mm256_loadu_ps(d.as_ptr().add(8 * j));
            for i in 0..STEP {
                let t = totals.as_mut_ptr().add(i * TILE + 8 * j);
                let sum = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][j]), dj);
                _mm256_storeu_ps(t, _mm256_add_ps(_mm256_loadu_ps(t), sum));
            }
        }
    }

    unsafe fn add_block_sse2(w: &[i8], d: &[f32], a: [&[i32]; STEP], totals: &mut [f32]) {
        // SAFETY (caller): `d` holds 16 floats and `totals` 16 per token, so 4 at `4 * j` and at
        // `i * 16 + 4 * j` are in bounds.
        let acc = crate::kernels::int_pairs::tile_sums(w, a);
        for j in 0..4 {
            let dj = _mm_loadu_ps(d.as_ptr().add(4 * j));
            for (i, acc) in acc.iter().enumerate() {
                let t = totals.as_mut_ptr().add(i * TILE + 4 * j);
                let sum = _mm_mul_ps(_mm_cvtepi32_ps(acc[j]), dj);
                _mm_storeu_ps(t, _mm_add_ps(_mm_loadu_ps(t), sum));
            }
        }
    }

    #[cfg(test)]
    pub fn add_block_sse2_only(w: &[i8], d: &[f32], a: [&[i32]; STEP], totals: &mut [f32]) {
        // SAFETY: as `add_block`.
        unsafe { add_block_sse2(w, d, a, totals) }
    }
}

/// The kernel's definition in plain arithmetic, with the SIMD kernels' f32 operations (the
/// reference they are tested against, and the kernel on other targets).
#[cfg(any(
    test,
    not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))
))]
mod scalar {
    use super::{STEP, TILE};
    use crate::kernels::int_pairs::pair_dot;

    pub fn add_block(w: &[i8], d: &[f32], a: [&[i32]; STEP], totals: &mut [f32]) {
        for (a, totals) in a.iter().zip(totals.chunks_exact_mut(TILE)) {
            for (r, total) in totals.iter_mut().enumerate() {
                *total += pair_dot(a, w, r) as f32 * d[r];
            }
        }
    }
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
use scalar as kernel;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_noise::noise;
    use candle_core::{Device, Tensor};

    fn random_q8(rows: usize, columns: usize, seed: u64) -> (QTensor, Vec<f32>) {
        let values: Vec<f32> = noise(seed, rows * columns)
            .iter()
            .map(|v| v * 0.1)
            .collect();
        let t = Tensor::from_vec(values, (rows, columns), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, GgmlDType::Q8_0).unwrap();
        let stored = q.dequantize(&Device::Cpu).unwrap();
        (q, stored.flatten_all().unwrap().to_vec1().unwrap())
    }

    #[test]
    fn simd_kernel_matches_its_scalar_definition_bit_for_bit() {
        let w: Vec<i8> = noise(7, BLOCK * TILE)
            .iter()
            .map(|v| (v * 127.0) as i8)
            .collect();
        let d: Vec<f32> = noise(8, TILE).iter().map(|v| v * 1e-3).collect();
        let a: Vec<Vec<i32>> = (0..STEP as u64)
            .map(|i| {
                noise(9 + i, BLOCK / 2)
                    .iter()
                    .map(|v| (v * i32::MAX as f32) as i32)
                    .collect()
            })
            .collect();
        let a: [&[i32]; STEP] = std::array::from_fn(|i| &a[i][..]);
        let start = noise(20, STEP * TILE);
        let mut reference = start.clone();
        let mut variants = vec![start.clone()];
        kernel::add_block(&w, &d, a, &mut variants[0]);
        #[cfg(target_arch = "x86_64")]
        {
            variants.push(start.clone());
            kernel::add_block_sse2_only(&w, &d, a, &mut variants[1]);
        }
        scalar::add_block(&w, &d, a, &mut reference);
        for simd in variants {
            assert_eq!(simd, reference);
        }
    }

    #[test]
    fn keeps_the_stored_weights() {
        let (q, stored) = random_q8(37, 96, 1);
        let m = Q8Matrix::new(&q).unwrap();
        assert_eq!(m.dims(), (37, 96));
        assert_eq!(m.dequantize(), stored);
    }

    /// Against the f32 product of the stored weights, within the activations' rounding bound
    /// `s_t/2 · ‖w_n‖₁` plus f32 rounding; rows that are not a multiple of the tile, and token
    /// counts that are odd, included.
    #[test]
    fn product_is_within_the_activation_rounding_bound() {
        for (rows, columns, tokens) in [(37, 96, 5), (16, 32, 1), (128, 512, 12)] {
            let (q, w) = random_q8(rows, columns, rows as u64);
            let x: Vec<f32> = noise(99, tokens * columns)
                .iter()
                .map(|v| v * 3.0)
                .collect();
            let got = Q8Matrix::new(&q).unwrap().matmul_t(&x);
            assert_eq!(got.len(), tokens * rows);
            for t in 0..tokens {
                let xt = &x[t * columns..][..columns];
                let scale = xt.iter().fold(0f32, |m, v| m.max(v.abs())) / ACTIVATION_LEVELS;
                for n in 0..rows {
                    let wn = &w[n * columns..][..columns];
                    let exact: f64 = xt.iter().zip(wn).map(|(a, b)| *a as f64 * *b as f64).sum();
                    let l1: f64 = wn.iter().map(|v| v.abs() as f64).sum();
                    let magnitude: f64 = xt.iter().zip(wn).map(|(a, b)| (a * b).abs() as f64).sum();
                    let bound = scale as f64 / 2.0 * l1 + 1e-6 * magnitude;
                    let diff = (got[t * rows + n] as f64 - exact).abs();
                    assert!(diff <= bound, "[{t}, {n}]: {diff:e} > {bound:e}");
                }
            }
        }
    }

    #[test]
    fn non_finite_activations_give_nan_rows() {
        let (q, _) = random_q8(16, 32, 3);
        let mut x = vec![0.5f32; 64];
        x[40] = f32::INFINITY;
        let y = Q8Matrix::new(&q).unwrap().matmul_t(&x);
        assert!(y[..16].iter().all(|v| v.is_finite()));
        assert!(y[16..].iter().all(|v| v.is_nan()));
    }

    #[test]
    fn rejects_other_formats() {
        let t = Tensor::zeros((16, 32), candle_core::DType::F32, &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, GgmlDType::F16).unwrap();
        assert!(Q8Matrix::new(&q).is_err());
    }
}

//! Which vocabulary entries can survive SPLADE max pooling, found without the f32 vocabulary
//! product.
//!
//! Max pooling keeps, for each vocabulary entry `v`, `act(max_t h_t·w_v + b_v)`, which is 0 unless
//! the maximum exceeds `-b_v`. For a trained SPLADE model only a few hundred of 30,522 entries do,
//! yet the f32 product over all of them was most of a document's encoding time. The screen
//! computes every `h_t·w_v` in integers instead, 8-bit weights times 16-bit activations
//! (`i32x4.dot_i16x8_s` in wasm, `pmaddwd` on x86-64: 8 multiply-adds per instruction where f32
//! SIMD needs two instructions for 4; the weights are sign-extended as they are loaded), with a
//! rigorous bound on the quantization error and on f32 rounding. Entries whose bound cannot reach
//! zero are exactly zero in the f32 result too; the others ("candidates") go to the exact f32
//! product, so pooling stays as exact as computing everything in f32.
//!
//! Error bound, with `h = s·q + e` (`q` integers, `|e_k| ≤ E`) and `w = r·p + f` (`|f_k| ≤ F`):
//! `|h·w − s·r·(q·p)| ≤ s‖q‖₁·F + r‖p‖₁·E + K·E·F` over `K` hidden dimensions.

use std::sync::atomic::{AtomicU32, Ordering};

use super::int_pairs::{pack_pair, tile_index, TILE};
use crate::error::{Error, Result};

/// Tokens per kernel call: `STEP × 4` accumulator vectors stay in registers (3 was slower in V8,
/// see `bench/results/code-measurements.md`).
const STEP: usize = 2;

/// Largest weight magnitude: weights are stored in 8 bits, half the memory of 16. That leaves more
/// entries to the exact product (275 per 128-token splade-tiny passage, of which 183 are nonzero;
/// 185 with 16-bit weights), a negligible cost next to the screen itself.
const WEIGHT_LEVELS: i32 = 127;

/// A screen that leaves more than 1/`DENSE_FRACTION` of the vocabulary as candidates (an untrained
/// model: nearly every entry is positive) saves nothing; the full product is then cheaper than
/// gathering the candidates' rows, and the next `SKIPPED_AFTER_DENSE` documents skip the screen.
const DENSE_FRACTION: usize = 4;
const SKIPPED_AFTER_DENSE: u32 = 32;

/// Unit roundoff of f32.
const F32_EPSILON: f64 = 1.0 / (1u64 << 24) as f64;

/// Per vocabulary entry: the weight scale `r`, the largest rounding error `F`, `r·‖p‖₁` and
/// `‖w‖₂` (for the f32 rounding of the exact product).
#[derive(Clone, Copy)]
struct EntryBounds {
    scale: f64,
    max_error: f64,
    scaled_l1: f64,
    l2: f64,
}

/// The MLM decoder `[vocab, hidden]` quantized to 8-bit integers (one scale per row), laid out
/// for the kernel.
pub struct VocabularyScreen {
    hidden: usize,
    /// Pairs of hidden dimensions (`ceil(hidden / 2)`): the kernel multiplies two at a time.
    pairs: usize,
    vocab: usize,
    /// Largest activation magnitude, chosen so a `hidden`-long sum of products fits in an i32.
    activation_levels: i32,
    /// Tiles of `TILE` entries, each `[pair][entry][2]`; the vocabulary is padded with zero rows.
    packed: Vec<i8>,
    bounds: Vec<EntryBounds>,
    /// Documents left to skip after a dense one.
    skips: AtomicU32,
}

impl VocabularyScreen {
    /// `rows(start, n)` gives decoder rows `start..start + n` as f32, row-major.
    pub fn new(
        vocab: usize,
        hidden: usize,
        mut rows: impl FnMut(usize, usize) -> Result<Vec<f32>>,
    ) -> Result<Self> {
        if hidden == 0 {
            return Err(Error::model("the MLM decoder has no hidden dimensions"));
        }
        let pairs = hidden.div_ceil(2);
        let activation_levels = activation_levels_for(2 * pairs);
        let tiles = vocab.div_ceil(TILE);
        let mut packed = vec![0i8; tiles * pairs * TILE * 2];
        let mut bounds = Vec::with_capacity(vocab);
        let chunk = (1 << 20) / hidden.max(1) + 1;
        let mut quantized = vec![0i32; hidden];
        for start in (0..vocab).step_by(chunk) {
            let n = chunk.min(vocab - start);
            let values = rows(start, n)?;
            for (i, row) in values.chunks_exact(hidden).enumerate() {
                let v = start + i;
                let entry = quantize(row, WEIGHT_LEVELS, &mut quantized);
                let entry = match entry {
                    Some(entry) => entry,
                    // A non-finite weight: no bound holds, the entry always goes to f32.
                    None => {
                        quantized.fill(0);
                        EntryBounds {
                            scale: 0.0,
                            max_error: f64::INFINITY,
                            scaled_l1: f64::INFINITY,
                            l2: f64::INFINITY,
                        }
                    }
                };
                bounds.push(entry);
                let tile = &mut packed[(v / TILE) * pairs * TILE * 2..][..pairs * TILE * 2];
                for (k, &q) in quantized.iter().enumerate() {
                    tile[tile_index(k, v % TILE)] = q as i8;
                }
            }
        }
        if bounds.len() != vocab {
            return Err(Error::model(
                "the MLM decoder has fewer rows than its vocabulary",
            ));
        }
        Ok(Self {
            hidden,
            pairs,
            vocab,
            activation_levels,
            packed,
            bounds,
            skips: AtomicU32::new(0),
        })
    }

    /// The vocabulary entries whose max-pooled logit `max_t h_t·w_v + b_v` may be positive, for
    /// `hidden_rows` (`tokens × hidden`, row-major) and the decoder bias; every entry left out is
    /// guaranteed to be ≤ 0 in f32 arithmetic. `None` when the screen does not pay (see
    /// `DENSE_FRACTION`): the caller computes the full product.
    pub fn candidates(&self, hidden_rows: &[f32], bias: &[f32]) -> Option<Vec<u32>> {
        let skip = self
            .skips
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if skip.is_ok() {
            return None;
        }
        let candidates = self.screen(hidden_rows, bias);
        if candidates.len() * DENSE_FRACTION > self.vocab {
            self.skips.store(SKIPPED_AFTER_DENSE, Ordering::Relaxed);
            return None;
        }
        Some(candidates)
    }

    fn screen(&self, hidden_rows: &[f32], bias: &[f32]) -> Vec<u32> {
        let tokens = hidden_rows.len() / self.hidden;
        if tokens == 0 {
            return Vec::new();
        }
        let Some(doc) =
            QuantizedRows::new(hidden_rows, self.hidden, self.pairs, self.activation_levels)
        else {
            // Non-finite hidden states: nothing can be bounded.
            return (0..self.vocab as u32).collect();
        };
        let mut out = Vec::new();
        let tile_len = self.pairs * TILE * 2;
        for (tile, weights) in self.packed.chunks_exact(tile_len).enumerate() {
            let mut maxima = [f32::NEG_INFINITY; TILE];
            for first in (0..tokens).step_by(STEP) {
                // Past the last token, the last one again: it leaves the maxima unchanged.
                let t: [usize; STEP] = std::array::from_fn(|i| (first + i).min(tokens - 1));
                kernel::tile_max(
                    weights,
                    t.map(|t| doc.row(t)),
                    t.map(|t| doc.scales[t]),
                    &mut maxima,
                );
            }
            for (i, &m) in maxima.iter().enumerate() {
                let v = tile * TILE + i;
                if v >= self.vocab {
                    break;
                }
                if doc.upper_bound(&self.bounds[v], m, self.hidden) + f64::from(bias[v]) > 0.0 {
                    out.push(v as u32);
                }
            }
        }
        out
    }
}

/// The largest activation magnitude for which `terms` products with weights of at most
/// `WEIGHT_LEVELS` sum within an i32.
fn activation_levels_for(terms: usize) -> i32 {
    let levels = i32::MAX as i64 / (terms as i64 * WEIGHT_LEVELS as i64);
    levels.clamp(1, i16::MAX as i64) as i32
}

/// Rounds `row` to `levels` integer steps of one scale; `None` if it holds a non-finite value.
fn quantize(row: &[f32], levels: i32, out: &mut [i32]) -> Option<EntryBounds> {
    let largest = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if !largest.is_finite() || row.iter().any(|x| x.is_nan()) {
        return None;
    }
    let scale = if largest > 0.0 {
        f64::from(largest) / f64::from(levels)
    } else {
        1.0
    };
    let (mut max_error, mut l1, mut l2) = (0.0f64, 0i64, 0.0f64);
    for (q, &x) in out.iter_mut().zip(row) {
        let x = f64::from(x);
        *q = ((x / scale).round() as i32).clamp(-levels, levels);
        max_error = max_error.max((x - scale * f64::from(*q)).abs());
        l1 += i64::from(q.abs());
        l2 += x * x;
    }
    Some(EntryBounds {
        scale,
        max_error,
        scaled_l1: scale * l1 as f64,
        l2: l2.sqrt(),
    })
}

/// A document's hidden rows quantized per token, with the document-wide error terms.
struct QuantizedRows {
    pairs: usize,
    /// `[tokens][pairs]`: two i16 per i32, the first in the low half (the lane order of
    /// `dot_i16x8`).
    packed: Vec<i32>,
    scales: Vec<f32>,
    /// Largest `s_t·‖q_t‖₁`, `E_t` and `‖h_t‖₂` over the tokens.
    scaled_l1: f64,
    max_error: f64,
    l2: f64,
}

impl QuantizedRows {
    fn new(rows: &[f32], hidden: usize, pairs: usize, levels: i32) -> Option<Self> {
        let tokens = rows.len() / hidden;
        let mut packed = vec![0i32; tokens * pairs];
        let mut scales = Vec::with_capacity(tokens);
        let (mut scaled_l1, mut max_error, mut l2) = (0.0f64, 0.0f64, 0.0f64);
        let mut quantized = vec![0i32; 2 * pairs];
        for (t, row) in rows.chunks_exact(hidden).enumerate() {
            let bounds = quantize(row, levels, &mut quantized[..hidden])?;
            // The kernel scales in f32: the error terms are those of the f32 scale.
            let scale = bounds.scale as f32;
            let (l1, error) = rescaled_error(row, scale, &quantized[..hidden]);
            scaled_l1 = scaled_l1.max(f64::from(scale) * l1);
            max_error = max_error.max(error);
            l2 = l2.max(bounds.l2);
            for (p, pair) in quantized.chunks_exact(2).enumerate() {
                packed[t * pairs + p] = pack_pair(pair[0] as i16, pair[1] as i16);
            }
            scales.push(scale);
        }
        Some(Self {
            pairs,
            packed,
            scales,
            scaled_l1,
            max_error,
            l2,
        })
    }

    fn row(&self, t: usize) -> &[i32] {
        &self.packed[t * self.pairs..][..self.pairs]
    }

    /// An upper bound of `max_t h_t·w_v` as f32 arithmetic computes it, from the kernel's maximum
    /// `m = max_t s_t·(q_t·p_v)` (itself computed in f32).
    fn upper_bound(&self, entry: &EntryBounds, m: f32, hidden: usize) -> f64 {
        let approx = entry.scale * f64::from(m);
        let quantization = entry.max_error * self.scaled_l1
            + entry.scaled_l1 * self.max_error
            + hidden as f64 * self.max_error * entry.max_error;
        // The kernel's i32→f32 conversion and scaling (2 roundings, relative), and the f32 dot
        // product's own rounding, at most K·ε·‖h‖‖w‖ (Higham, γ_K); both doubled for margin.
        let rounding = 4.0 * F32_EPSILON * approx.abs()
            + 2.0 * hidden as f64 * F32_EPSILON * self.l2 * entry.l2;
        let bound = approx + quantization + rounding;
        if bound.is_nan() {
            f64::INFINITY
        } else {
            bound
        }
    }
}

/// `‖q‖₁` and `max_k |x_k − s·q_k|` for the f32 scale `s` actually used.
fn rescaled_error(row: &[f32], scale: f32, quantized: &[i32]) -> (f64, f64) {
    let scale = f64::from(scale);
    row.iter()
        .zip(quantized)
        .fold((0.0, 0.0), |(l1, error), (&x, &q)| {
            let q = f64::from(q);
            (
                l1 + q.abs(),
                f64::max(error, (f64::from(x) - scale * q).abs()),
            )
        })
}

/// `maxima[i] = max(maxima[i], max_j s_j·(a_j·w_i))` over one tile's 16 entries, for `STEP`
/// tokens' packed pairs `a_j` and scales `s_j`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernel {
    use super::STEP;
    use crate::kernels::int_pairs::tile_sums;
    use std::arch::wasm32::*;

    pub fn tile_max(w: &[i8], a: [&[i32]; STEP], s: [f32; STEP], maxima: &mut [f32; 16]) {
        let acc = tile_sums(w, a);
        for j in 0..4 {
            let m = maxima.as_mut_ptr().wrapping_add(4 * j) as *mut v128;
            // SAFETY: `maxima` holds 16 floats, so 4 at `4 * j` are in bounds.
            let mut best = unsafe { v128_load(m) };
            for (acc, &s) in acc.iter().zip(&s) {
                let c = f32x4_mul(f32x4_convert_i32x4(acc[j]), f32x4_splat(s));
                best = f32x4_pmax(best, c);
            }
            // SAFETY: as above.
            unsafe { v128_store(m, best) };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use super::STEP;
    use crate::kernels::int_pairs::tile_sums;
    use std::arch::x86_64::*;

    pub fn tile_max(w: &[i8], a: [&[i32]; STEP], s: [f32; STEP], maxima: &mut [f32; 16]) {
        let acc = tile_sums(w, a);
        for j in 0..4 {
            // SAFETY: SSE2 is part of the x86-64 baseline; `maxima` holds 16 floats, so 4 at
            // `4 * j` are in bounds.
            unsafe {
                let m = maxima.as_mut_ptr().add(4 * j);
                let mut best = _mm_loadu_ps(m);
                for (acc, &s) in acc.iter().zip(&s) {
                    let c = _mm_mul_ps(_mm_cvtepi32_ps(acc[j]), _mm_set1_ps(s));
                    best = _mm_max_ps(best, c);
                }
                _mm_storeu_ps(m, best);
            }
        }
    }
}

/// The kernel's definition, in plain integer arithmetic (the reference the SIMD kernels are
/// tested against, and the kernel on other targets).
#[cfg(any(
    test,
    not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))
))]
mod scalar {
    use super::STEP;
    use crate::kernels::int_pairs::pair_dot;

    pub fn tile_max(w: &[i8], a: [&[i32]; STEP], s: [f32; STEP], maxima: &mut [f32; 16]) {
        for (e, m) in maxima.iter_mut().enumerate() {
            for (a, s) in a.iter().zip(s) {
                *m = m.max(pair_dot(a, w, e) as f32 * s);
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

    #[test]
    fn simd_kernel_equals_its_scalar_definition() {
        let pairs = 24;
        let levels = activation_levels_for(2 * pairs);
        let w: Vec<i8> = noise(1, pairs * 32)
            .iter()
            .map(|x| (x * WEIGHT_LEVELS as f32) as i8)
            .collect();
        let pack = |seed| -> Vec<i32> {
            noise(seed, pairs)
                .iter()
                .zip(noise(seed + 1, pairs))
                .map(|(a, b)| pack_pair((a * levels as f32) as i16, (b * levels as f32) as i16))
                .collect()
        };
        let rows: [Vec<i32>; STEP] = std::array::from_fn(|i| pack(5 + 2 * i as u64));
        let mut simd = [f32::NEG_INFINITY; 16];
        let mut reference = simd;
        for scale in [0.5, 1e-3] {
            let s: [f32; STEP] = std::array::from_fn(|i| scale * (i + 1) as f32);
            kernel::tile_max(&w, rows.each_ref().map(|r| &r[..]), s, &mut simd);
            scalar::tile_max(&w, rows.each_ref().map(|r| &r[..]), s, &mut reference);
            assert_eq!(simd, reference);
        }
    }

    #[test]
    fn candidates_contain_every_positive_entry_and_none_far_below_zero() {
        let (vocab, hidden, tokens) = (300, 48, 7);
        let weights: Vec<f32> = noise(11, vocab * hidden).iter().map(|x| x * 0.2).collect();
        let rows: Vec<f32> = noise(13, tokens * hidden).iter().map(|x| x * 3.0).collect();
        // Biases spread the exact maxima around zero, some within a hair of it.
        let exact: Vec<f32> = (0..vocab)
            .map(|v| {
                rows.chunks_exact(hidden)
                    .map(|h| {
                        h.iter()
                            .zip(&weights[v * hidden..][..hidden])
                            .map(|(a, b)| a * b)
                            .sum::<f32>()
                    })
                    .fold(f32::NEG_INFINITY, f32::max)
            })
            .collect();
        let bias: Vec<f32> = exact
            .iter()
            .enumerate()
            .map(|(v, m)| -m + (v as f32 - 150.0) * 1e-3)
            .collect();
        let screen = VocabularyScreen::new(vocab, hidden, |start, n| {
            Ok(weights[start * hidden..(start + n) * hidden].to_vec())
        })
        .unwrap();
        let candidates = screen.screen(&rows, &bias);
        for v in 0..vocab {
            if exact[v] + bias[v] > 0.0 {
                assert!(
                    candidates.contains(&(v as u32)),
                    "entry {v} was screened out"
                );
            }
        }
        // Entries far below zero (a sixth of them here) are screened out: the error bound is
        // about 0.06 (8-bit weights of ±0.2 against 48 activations of ±3).
        let lowest = candidates
            .iter()
            .map(|&v| exact[v as usize] + bias[v as usize])
            .fold(f32::INFINITY, f32::min);
        assert!(lowest > -0.1, "a candidate {lowest} below zero");
    }

    #[test]
    fn non_finite_hidden_states_leave_every_entry_to_the_exact_product() {
        let screen = VocabularyScreen::new(20, 4, |_, n| Ok(vec![0.5; n * 4])).unwrap();
        let rows = [1.0, f32::NAN, 0.0, 2.0];
        assert_eq!(screen.screen(&rows, &[-100.0; 20]).len(), 20);
        assert!(screen
            .screen(&[1.0, 1.0, 0.0, 2.0], &[-100.0; 20])
            .is_empty());
    }

    #[test]
    fn a_dense_document_turns_the_screen_off_for_a_while() {
        let screen = VocabularyScreen::new(20, 4, |_, n| Ok(vec![0.5; n * 4])).unwrap();
        let rows = [1.0, 1.0, 0.0, 2.0];
        assert_eq!(screen.candidates(&rows, &[-100.0; 20]), Some(vec![]));
        assert_eq!(screen.candidates(&rows, &[0.0; 20]), None);
        for _ in 0..SKIPPED_AFTER_DENSE {
            assert_eq!(screen.candidates(&rows, &[-100.0; 20]), None);
        }
        assert_eq!(screen.candidates(&rows, &[-100.0; 20]), Some(vec![]));
    }
}

//! `x · Wᵀ` in f32 for wasm: a linear layer's product without candle's GEMM.
//!
//! candle's CPU matmul runs the `gemm` crate, whose wasm micro-kernel keeps 12 accumulators
//! (3 vectors × 4 columns) and unrolls the depth loop twice: more live vectors than V8's 15
//! usable SIMD registers, so it spills and runs well below one core's 128-bit peak (measured in
//! `bench/results/code-measurements.md`). It also packs the weight matrix again for every product. This kernel reads `W` `[out, in]` as stored: for 2
//! tokens × 4 output rows it keeps 8 vectors of partial sums over runs of 4 input columns, plus 6
//! loaded vectors, in registers, and sums each vector's lanes at the end.
//!
//! Natively candle's GEMM (AVX2/AVX-512 with FMA) is faster, so models use this only in wasm; the
//! scalar kernel defines the arithmetic exactly and is what native tests check.

/// Tokens and output rows per kernel call.
const TOKENS: usize = 2;
const ROWS: usize = 4;

/// Tokens per pass over the whole matrix: their activations (up to 768 KB for 3,072 columns)
/// stay in L2 while the weight rows stream by.
const TOKENS_PER_PASS: usize = 64;

/// `x · Wᵀ` for rows `x` (`tokens × in`) and `w` (`out × in`), both row-major, giving
/// `tokens × out`. Each output depends on its own token and weight row only, in a fixed order
/// (see `scalar::dots`), so batching does not change results.
pub fn matmul_t(x: &[f32], w: &[f32], columns: usize) -> Vec<f32> {
    let rows = w.len() / columns.max(1);
    let tokens = x.len() / columns.max(1);
    let mut out = vec![0f32; tokens * rows];
    if rows == 0 || columns == 0 {
        return out;
    }
    for (pass, x) in x.chunks(TOKENS_PER_PASS * columns).enumerate() {
        let count = x.len() / columns;
        for first_row in (0..rows).step_by(ROWS) {
            // Past the last row or token, the last one again; its results are not written.
            let r: [usize; ROWS] = std::array::from_fn(|j| (first_row + j).min(rows - 1));
            let ws = r.map(|r| &w[r * columns..][..columns]);
            for first in (0..count).step_by(TOKENS) {
                let t: [usize; TOKENS] = std::array::from_fn(|i| (first + i).min(count - 1));
                let sums = kernel::dots(t.map(|t| &x[t * columns..][..columns]), ws);
                for (i, sums) in sums.iter().enumerate().take(count - first) {
                    let token = pass * TOKENS_PER_PASS + first + i;
                    let out = &mut out[token * rows + first_row..];
                    for (o, &s) in out.iter_mut().zip(sums).take(rows - first_row) {
                        *o = s;
                    }
                }
            }
        }
    }
    out
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernel {
    use super::{ROWS, TOKENS};
    use std::arch::wasm32::*;

    // Indices mirror the register tile (token i, row j) more plainly than iterators would.
    #[allow(clippy::needless_range_loop)]
    pub fn dots(x: [&[f32]; TOKENS], w: [&[f32]; ROWS]) -> [[f32; ROWS]; TOKENS] {
        let columns = x[0].len();
        assert!(x.iter().chain(&w).all(|v| v.len() == columns));
        let runs = columns / 4;
        let mut acc = [[f32x4_splat(0.0); ROWS]; TOKENS];
        for k in 0..runs {
            // SAFETY: every slice holds `columns` ≥ `4 * runs` floats.
            let xs: [v128; TOKENS] = std::array::from_fn(|i| unsafe {
                v128_load(x[i].as_ptr().add(4 * k) as *const v128)
            });
            for j in 0..ROWS {
                // SAFETY: as above.
                let wj = unsafe { v128_load(w[j].as_ptr().add(4 * k) as *const v128) };
                for i in 0..TOKENS {
                    acc[i][j] = f32x4_add(acc[i][j], f32x4_mul(xs[i], wj));
                }
            }
        }
        let mut out = [[0f32; ROWS]; TOKENS];
        for i in 0..TOKENS {
            for j in 0..ROWS {
                let mut lanes = [0f32; 4];
                // SAFETY: `lanes` holds 4 floats.
                unsafe { v128_store(lanes.as_mut_ptr() as *mut v128, acc[i][j]) };
                out[i][j] = super::reduce(lanes, &x[i][4 * runs..], &w[j][4 * runs..]);
            }
        }
        out
    }
}

/// The kernel's arithmetic: lane `l` sums `x_k·w_k` for `k ≡ l (mod 4)` in order over whole runs
/// of 4 columns; then [`reduce`] (the reference natively, and the kernel without wasm SIMD).
#[cfg(any(test, not(all(target_arch = "wasm32", target_feature = "simd128"))))]
mod scalar {
    use super::{ROWS, TOKENS};

    pub fn dots(x: [&[f32]; TOKENS], w: [&[f32]; ROWS]) -> [[f32; ROWS]; TOKENS] {
        let runs = x[0].len() / 4;
        std::array::from_fn(|i| {
            std::array::from_fn(|j| {
                let mut lanes = [0f32; 4];
                for k in 0..runs {
                    for (l, lane) in lanes.iter_mut().enumerate() {
                        *lane += x[i][4 * k + l] * w[j][4 * k + l];
                    }
                }
                super::reduce(lanes, &x[i][4 * runs..], &w[j][4 * runs..])
            })
        })
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use scalar as kernel;

/// `(l₀ + l₁) + (l₂ + l₃)`, then the columns past the last whole run, in order.
fn reduce(lanes: [f32; 4], x_tail: &[f32], w_tail: &[f32]) -> f32 {
    let mut sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (a, b) in x_tail.iter().zip(w_tail) {
        sum += a * b;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_noise::noise;

    /// Every output is its own token's and row's `scalar::dots`, whatever the shape: rows and
    /// tokens not multiples of the tile or of a pass, columns not a multiple of 4. And within
    /// f32 rounding of the f64 product.
    #[test]
    fn each_output_is_its_own_dot_product() {
        for (rows, columns, tokens) in [(13, 22, 5), (8, 600, 70), (1, 1, 1), (40, 256, 130)] {
            let w = noise(rows as u64, rows * columns);
            let x = noise(tokens as u64 + 1000, tokens * columns);
            let got = matmul_t(&x, &w, columns);
            assert_eq!(got.len(), tokens * rows);
            for t in 0..tokens {
                for n in 0..rows {
                    let (xt, wn) = (&x[t * columns..][..columns], &w[n * columns..][..columns]);
                    let want = scalar::dots([xt; TOKENS], [wn; ROWS])[0][0];
                    assert_eq!(got[t * rows + n].to_bits(), want.to_bits(), "[{t}, {n}]");
                    let exact: f64 = xt.iter().zip(wn).map(|(a, b)| *a as f64 * *b as f64).sum();
                    assert!((want as f64 - exact).abs() < 1e-4, "[{t}, {n}]");
                }
            }
        }
    }
}

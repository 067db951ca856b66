//! The softmax of attention rows: `exp(x·scale − max) / Σ`, with a polynomial `exp` that wasm can
//! take four lanes at a time.
//!
//! Attention spends `tokens² × heads × layers` exponentials: 9.7 billion for one 8,192-token
//! document on a doc-v3-gte-sized model. `f32::exp` is a libm call per value in wasm; this is
//! Cephes' `expf` (range reduction by ln 2 in two parts, a degree-6 polynomial, then the power of
//! two put in the exponent bits), within 2 ulp of the correctly rounded value over the softmax's
//! range, so probabilities move by parts in 10⁷. The scalar twin below performs the same
//! operations in the same order (wasm SIMD has no fused multiply-add), so wasm and native agree
//! bit for bit and native tests check the arithmetic.

/// Below this, `exp` is under f32's smallest normal: the result is 0 (as libm's, bar denormals).
const MIN_EXPONENT: f32 = -87.336_55;
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HIGH` is exact for the `n` that occur.
const LN2_HIGH: f32 = 0.693_359_4;
const LN2_LOW: f32 = -2.121_944_4e-4;
const P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];

/// `softmax(row · scale)` in place, as candle's `softmax_last_dim` orders it: the maximum, then
/// each exponential, then their sum in order, then a division by it.
pub fn softmax_scaled(row: &mut [f32], scale: f32) {
    let mut max = f32::NEG_INFINITY;
    for x in row.iter_mut() {
        *x *= scale;
        max = max.max(*x);
    }
    kernel::exp_shifted(row, max);
    let mut sum = 0f32;
    for &x in row.iter() {
        sum += x;
    }
    for x in row.iter_mut() {
        *x /= sum;
    }
}

/// `exp(x)` for `x ≤ 0`, by the steps of the SIMD kernel.
#[cfg(any(test, not(all(target_arch = "wasm32", target_feature = "simd128"))))]
fn exp_nonpositive(x: f32) -> f32 {
    let n = (x * LOG2_E + 0.5).floor();
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let mut p = P[0];
    for c in &P[1..] {
        p = p * r + *c;
    }
    let y = p * (r * r) + r + 1.0;
    let scaled = y * f32::from_bits(((n as i32 + 127) as u32) << 23);
    if x < MIN_EXPONENT {
        0.0
    } else {
        scaled
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod kernel {
    /// `row[i] ← exp(row[i] − max)`.
    pub fn exp_shifted(row: &mut [f32], max: f32) {
        for x in row.iter_mut() {
            *x = super::exp_nonpositive(*x - max);
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernel {
    use super::{LN2_HIGH, LN2_LOW, LOG2_E, MIN_EXPONENT, P};
    use std::arch::wasm32::*;

    /// `row[i] ← exp(row[i] − max)`, four lanes at a time, the tail by the scalar steps.
    pub fn exp_shifted(row: &mut [f32], max: f32) {
        let mut chunks = row.chunks_exact_mut(4);
        let m = f32x4_splat(max);
        for c in &mut chunks {
            // SAFETY: `c` holds 4 floats; v128 loads and stores need no alignment.
            unsafe {
                let x = f32x4_sub(v128_load(c.as_ptr() as *const v128), m);
                v128_store(c.as_mut_ptr() as *mut v128, exp4(x));
            }
        }
        for x in chunks.into_remainder() {
            let lanes = f32x4_replace_lane::<0>(f32x4_splat(0.0), *x - max);
            *x = f32x4_extract_lane::<0>(exp4(lanes));
        }
    }

    fn exp4(x: v128) -> v128 {
        let n = f32x4_floor(f32x4_add(
            f32x4_mul(x, f32x4_splat(LOG2_E)),
            f32x4_splat(0.5),
        ));
        let r = f32x4_sub(
            f32x4_sub(x, f32x4_mul(n, f32x4_splat(LN2_HIGH))),
            f32x4_mul(n, f32x4_splat(LN2_LOW)),
        );
        let mut p = f32x4_splat(P[0]);
        for c in &P[1..] {
            p = f32x4_add(f32x4_mul(p, r), f32x4_splat(*c));
        }
        let y = f32x4_add(
            f32x4_add(f32x4_mul(p, f32x4_mul(r, r)), r),
            f32x4_splat(1.0),
        );
        let exponent = i32x4_shl(i32x4_add(i32x4_trunc_sat_f32x4(n), i32x4_splat(127)), 23);
        let scaled = f32x4_mul(y, exponent);
        v128_andnot(scaled, f32x4_lt(x, f32x4_splat(MIN_EXPONENT)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within 2 ulp of libm's `expf` from 0 down to where f32 stops being normal, and 0 below.
    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut x = 0f32;
        while x > MIN_EXPONENT {
            let (got, want) = (exp_nonpositive(x), x.exp());
            let ulp = (got.to_bits() as i64 - want.to_bits() as i64).unsigned_abs();
            assert!(ulp <= 2, "exp({x}) = {got}, libm {want}");
            x -= 0.000_37;
        }
        assert_eq!(exp_nonpositive(-88.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpositive(0.0), 1.0);
    }

    /// Rows sum to 1 and match the libm softmax to a few parts in 10⁷.
    #[test]
    fn softmax_matches_the_libm_softmax() {
        let row: Vec<f32> = crate::kernels::test_noise::noise(3, 300)
            .iter()
            .map(|x| x * 40.0)
            .collect();
        let mut got = row.clone();
        softmax_scaled(&mut got, 0.125);
        let scaled: Vec<f32> = row.iter().map(|x| x * 0.125).collect();
        let max = scaled.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = scaled.iter().map(|x| (x - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        for (g, e) in got.iter().zip(&exps) {
            let want = e / sum;
            assert!(
                (g - want).abs() <= 4e-7 * want.max(1e-30) + 1e-12,
                "{g} vs {want}"
            );
        }
        let total: f32 = got.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
    }
}

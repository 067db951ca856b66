//! The exact (erf) GELU, `x·½·(1 + erf(x/√2))`, in a form the compiler vectorizes.
//!
//! candle's `gelu_erf` calls libm's `erff` once per element: a branchy scalar function that took a
//! large share of splade-tiny's encoding time in wasm (see `bench/results/code-measurements.md`). Here erf is a rational function of `x²` on
//! `[-4, 4]` (erf(±4) = ±(1 − 1.5e-8), so clamping there loses nothing in f32), the minimax
//! approximation used by Eigen's and XLA's vectorized `erf`; it has no branches and vectorizes
//! to four lanes in wasm SIMD. Its absolute error is 8.3e-8 in exact arithmetic and below 5e-7 as
//! evaluated in f32 (tested against an f64 erf; libm's `erff` is within 6e-8), so GELU moves by
//! under 3e-7·|x|: far inside the 1e-4 parity tolerance on document weights.

use candle_core::Tensor;

use crate::error::Result;

/// `erf(x)` for f32, absolute error below 5e-7.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    // Odd numerator x·P(x²) and even denominator Q(x²), highest degree first.
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_600_2e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329_2e-3;
    q = q * x2 - 1.426_473_9e-2;
    x * p / q
}

#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// GELU of every element of an f32 tensor.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    let mut values = x.flatten_all()?.to_vec1::<f32>()?;
    for v in values.iter_mut() {
        *v = gelu(*v);
    }
    Ok(Tensor::from_vec(values, x.shape(), x.device())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn erf_is_within_5e7_of_the_f64_erf() {
        let mut worst = 0f64;
        for i in -600_000..=600_000 {
            let x = i as f32 * 1e-5;
            let want = candle_core::cpu::erf::erf_f64(x as f64);
            worst = worst.max((erf(x) as f64 - want).abs());
        }
        for x in [8.0f32, 1e3, f32::MAX, f32::INFINITY] {
            assert_eq!(erf(x), erf(4.0));
            assert_eq!(erf(-x), -erf(4.0));
        }
        assert!(worst < 5e-7, "max |erf error| {worst:e}");
    }

    #[test]
    fn gelu_matches_candles_libm_gelu() {
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 5e-3).collect();
        let t = Tensor::from_vec(xs.clone(), (4001,), &Device::Cpu).unwrap();
        let ours = gelu_erf(&t).unwrap().to_vec1::<f32>().unwrap();
        let libm = t.gelu_erf().unwrap().to_vec1::<f32>().unwrap();
        for ((x, a), b) in xs.iter().zip(&ours).zip(&libm) {
            assert!(
                (a - b).abs() <= 3e-7 * x.abs().max(1.0),
                "gelu({x}): {a} vs {b}"
            );
        }
        assert!(gelu_erf(&Tensor::new(&[f32::NAN], &Device::Cpu).unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()[0]
            .is_nan());
    }
}

//! Each WGSL kernel against the CPU implementation it replaces, on whatever adapter wgpu finds
//! (lavapipe in CI). Without an adapter the tests print why and pass, unless
//! `SPLADE_REQUIRE_GPU=1` (set by `./build.sh test`) makes that a failure.
//!
//! Tolerances: f32 products differ from the CPU's only in summation order, so a dot product of
//! length k is held to the textbook bound `k·ε·Σ|xᵢ·wᵢ|` (ε = 2⁻²⁴) doubled (both sides round);
//! elementwise kernels to a few ulps, because WGSL lets `exp`, `log`, `tanh` and division be
//! that far from correctly rounded.

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::context::GpuContext;
use super::kernels::{self, AttentionShape, GpuMatrix, HeadPooling, Kernels, Recorder, Rows};
use crate::kernels::attention::{self as cpu_attention, Rows as CpuRows, Shape as CpuShape};
use crate::kernels::q8_matrix::Q8Matrix;
use crate::kernels::test_noise::noise;
use crate::models::{Activation, Matrix};

/// Successive draws of [`noise`], each scaled to `[-scale, scale)`.
struct Noise(u64);

impl Noise {
    fn new(seed: u64) -> Self {
        Self(seed * 1000)
    }

    fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
        self.0 += 1;
        noise(self.0, n).into_iter().map(|v| v * scale).collect()
    }
}

fn device() -> Option<(GpuContext, Kernels)> {
    match GpuContext::new_blocking() {
        Ok(ctx) => {
            let kernels = pollster::block_on(Kernels::new(&ctx)).expect("kernels compile");
            Some((ctx, kernels))
        }
        Err(e) => {
            assert!(
                std::env::var("SPLADE_REQUIRE_GPU").as_deref() != Ok("1"),
                "SPLADE_REQUIRE_GPU=1 but {e}"
            );
            eprintln!("skipped: {e}");
            None
        }
    }
}

fn upload(ctx: &GpuContext, values: &[f32]) -> wgpu::Buffer {
    kernels::storage_from(ctx, "test", kernels::bytes_of(values)).unwrap()
}

fn read(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Vec<f32> {
    pollster::block_on(ctx.read_f32(buffer, buffer.size())).unwrap()
}

fn tensor(values: &[f32], shape: impl Into<candle_core::Shape>) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape, &Device::Cpu).unwrap()
}

/// `|a − b| ≤ 2·k·ε·Σ|xᵢ·wᵢ|` for each output of `y = x·Wᵀ (+ b)`.
fn assert_products_close(got: &[f32], want: &[f32], x: &[f32], w: &[f32], inner: usize) {
    let outer = w.len() / inner;
    for (i, (g, e)) in got.iter().zip(want).enumerate() {
        let (r, o) = (i / outer, i % outer);
        let magnitude: f32 = (0..inner)
            .map(|k| (x[r * inner + k] * w[o * inner + k]).abs())
            .sum();
        // 2·k·u·Σ|xᵢwᵢ| with the unit roundoff u = ε/2, plus an absolute floor for exact zeros.
        let bound = inner as f32 * f32::EPSILON * magnitude + 1e-7;
        assert!(
            (g - e).abs() <= bound,
            "y[{r}][{o}]: gpu {g} vs cpu {e} (bound {bound:e})"
        );
    }
}

#[test]
fn matmul_f32_matches_candle() {
    let Some((ctx, kernels)) = device() else {
        return;
    };
    let mut noise = Noise::new(1);
    // Sizes off the 16-wide tiles, and rows taken from the middle of the buffers.
    let (rows, inner, outer, x_first, y_first) = (37, 70, 45, 3, 2);
    let x = noise.values((rows + x_first) * inner, 1.0);
    let w = noise.values(outer * inner, 0.5);
    let b = noise.values(outer, 0.1);
    let gx = upload(&ctx, &x);
    let gw = GpuMatrix::upload_f32(&ctx, "w", &w, outer, inner).unwrap();
    let gb = upload(&ctx, &b);
    let gy = upload(&ctx, &vec![0.0; (rows + y_first) * outer]);
    let mut rec = Recorder::new(&ctx, &kernels);
    let xs = Rows {
        buffer: &gx,
        first: x_first,
        rows,
        cols: inner,
    };
    let ys = Rows {
        buffer: &gy,
        first: y_first,
        rows,
        cols: outer,
    };
    rec.matmul(xs, &gw, &gb, ys);
    rec.finish();
    let got = read(&ctx, &gy);
    let x_rows = &x[x_first * inner..];
    let want = tensor(x_rows, (rows, inner))
        .matmul(&tensor(&w, (outer, inner)).t().unwrap())
        .unwrap()
        .broadcast_add(&tensor(&b, outer))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(
        got[..y_first * outer].iter().all(|&v| v == 0.0),
        "rows before the range untouched"
    );
    assert_products_close(&got[y_first * outer..], &want, x_rows, &w, inner);
}

#[test]
fn matmul_q8_matches_the_dequantized_cpu_product() {
    let Some((ctx, kernels)) = device() else {
        return;
    };
    let mut noise = Noise::new(2);
    let (rows, inner, outer) = (19, 96, 33);
    let x = noise.values(rows * inner, 1.0);
    let w = noise.values(outer * inner, 0.5);
    let b = noise.values(outer, 0.1);
    let q = QTensor::quantize(&tensor(&w, (outer, inner)), GgmlDType::Q8_0).unwrap();
    let q8 = Q8Matrix::new(&q).unwrap();
    let dequantized = q8.dequantize();
    let (quants, scales) = q8.row_major();
    let gw = GpuMatrix::upload_q8(&ctx, "w", &quants, &scales, outer, inner).unwrap();
    // The vocabulary-table path reads the GGUF blocks directly: it must give the same matrix.
    let from_blocks =
        GpuMatrix::upload(&ctx, "w", &Matrix::Blocks(std::sync::Arc::new(q))).unwrap();
    let (gx, gb) = (upload(&ctx, &x), upload(&ctx, &b));
    let want = tensor(&x, (rows, inner))
        .matmul(&tensor(&dequantized, (outer, inner)).t().unwrap())
        .unwrap()
        .broadcast_add(&tensor(&b, outer))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    for matrix in [&gw, &from_blocks] {
        let gy = upload(&ctx, &vec![0.0; rows * outer]);
        let mut rec = Recorder::new(&ctx, &kernels);
        rec.matmul(
            Rows::all(&gx, rows, inner),
            matrix,
            &gb,
            Rows::all(&gy, rows, outer),
        );
        rec.finish();
        assert_products_close(&read(&ctx, &gy), &want, &x, &dequantized, inner);
    }
    assert_eq!(gw.bytes(), (outer * inner + 4 * outer * inner / 32) as u64);
}

#[test]
fn layer_norm_matches_the_cpu_two_pass_norm() {
    let Some((ctx, kernels)) = device() else {
        return;
    };
    let mut noise = Noise::new(3);
    let (rows, cols, first) = (5, 100, 2);
    // A large common offset: where one-pass variance would lose digits.
    let a: Vec<f32> = noise
        .values(rows * cols, 1.0)
        .iter()
        .map(|v| v + 30.0)
        .collect();
    let y = noise.values((rows + first) * cols, 1.0);
    let gamma: Vec<f32> = noise.values(cols, 0.1).iter().map(|v| v + 1.0).collect();
    let beta = noise.values(cols, 0.1);
    let eps = 1e-12;
    let (ga, gg, gb, gy) = (
        upload(&ctx, &a),
        upload(&ctx, &gamma),
        upload(&ctx, &beta),
        upload(&ctx, &y),
    );
    let mut rec = Recorder::new(&ctx, &kernels);
    rec.layer_norm(
        Some(Rows::all(&ga, rows, cols)),
        &gg,
        &gb,
        eps,
        Rows {
            buffer: &gy,
            first,
            rows,
            cols,
        },
    );
    rec.finish();
    let got = read(&ctx, &gy);
    let sum: Vec<f32> = a
        .iter()
        .zip(&y[first * cols..])
        .map(|(a, y)| a + y)
        .collect();
    let want = candle_nn::ops::layer_norm_slow(
        &tensor(&sum, (rows, cols)),
        &tensor(&gamma, cols),
        &tensor(&beta, cols),
        eps,
    )
    .unwrap()
    .flatten_all()
    .unwrap()
    .to_vec1::<f32>()
    .unwrap();
    assert_eq!(
        &got[..first * cols],
        &y[..first * cols],
        "rows before the range untouched"
    );
    // The mean of 100 values near 30 depends on summation order by about √n·u·30 ≈ 2e-5 before the
    // division by n, so outputs may move by a few 1e-6 (2.2e-6 seen on lavapipe); a one-pass
    // E[x²] − E[x]² variance would be off by ~1e-4 here and fail.
    for (g, e) in got[first * cols..].iter().zip(&want) {
        assert!(
            (g - e).abs() <= 1e-5 * e.abs().max(1.0),
            "gpu {g} vs cpu {e}"
        );
    }
}

#[test]
fn activations_match_the_cpu_ones() {
    let Some((ctx, kernels)) = device() else {
        return;
    };
    let xs: Vec<f32> = (-1000..1000).map(|i| i as f32 * 6e-3).collect();
    for activation in [
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Relu,
        Activation::Silu,
    ] {
        let gx = upload(&ctx, &xs);
        let unused = upload(&ctx, &[0.0]);
        let mut rec = Recorder::new(&ctx, &kernels);
        rec.activation(activation, &gx, xs.len(), &unused);
        rec.finish();
        let got = read(&ctx, &gx);
        let want = activation
            .forward(&tensor(&xs, xs.len()))
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for ((x, g), e) in xs.iter().zip(&got).zip(&want) {
            assert!(
                (g - e).abs() <= 1e-6 * x.abs().max(1.0),
                "{activation:?}({x}): gpu {g} vs cpu {e}"
            );
        }
    }
}

#[test]
fn gated_mlp_activation_matches_gelu_of_gate_times_up() {
    let Some((ctx, kernels)) = device() else {
        return;
    };
    let mut noise = Noise::new(4);
    let (rows, cols) = (7, 40);
    let x = noise.values(rows * 2 * cols, 2.0);
    let (gx, gout) = (upload(&ctx, &x), upload(&ctx, &vec![0.0; rows * cols]));
    let mut rec = Recorder::new(&ctx, &kernels);
    rec.gated(Activation::Gelu, &gx, rows, cols, &gout);
    rec.finish();
    let got = read(&ctx, &gout);
    let t = tensor(&x, (rows, 2 * cols));
    let up = t.narrow(1, 0, cols).unwrap();
    let gate = t.narrow(1, cols, cols).unwrap();
    let want = (Activation::Gelu.forward(&gate).unwrap() * up)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    for (g, e) in got.iter().zip(&want) {
        assert!(
            (g - e).abs() <= 2e-6 * e.abs().max(1.0),
            "gpu {g} vs cpu {e}"
        );
    }
}

/// Random fused qkv rows `[sequences · len, 3 · heads · head_dim]`.
fn qkv_rows(noise: &mut Noise, sequences: usize, len: usize, hidden: usize) -> Vec<f32> {
    noise.values(sequences * len * 3 * hidden, 1.0)
}

fn cpu_shape(sequences: usize, len: usize, heads: usize, head_dim: usize) -> CpuShape {
    CpuShape {
        batch: sequences,
        len,
        heads,
        head_dim,
    }
}

#[test]
fn rope_matches_the_cpu_rotate_half() {
    let Some((ctx, kernels)) = device() else {
        return;
    };
    let mut noise = Noise::new(5);
    let (sequences, len, heads, head_dim) = (2, 9, 3, 8);
    let hidden = heads * head_dim;
    let qkv = qkv_rows(&mut noise, sequences, len, hidden);
    let angles: Vec<f32> = noise.values(len * head_dim / 2, 3.0);
    let cos: Vec<f32> = angles.iter().map(|a| a.cos()).collect();
    let sin: Vec<f32> = angles.iter().map(|a| a.sin()).collect();
    let (gqkv, gcos, gsin) = (upload(&ctx, &qkv), upload(&ctx, &cos), upload(&ctx, &sin));
    let mut rec = Recorder::new(&ctx, &kernels);
    rec.rope(&gqkv, sequences * len, len, heads, head_dim, &gcos, &gsin);
    rec.finish();
    let got = read(&ctx, &gqkv);
    // q and k turned where they lie in the fused rows, v untouched: the CPU GTE path's order.
    let mut want = qkv.clone();
    let shape = cpu_shape(sequences, len, heads, head_dim);
    cpu_attention::rope_in_place(&mut want, 3 * hidden, 0, shape, &cos, &sin);
    cpu_attention::rope_in_place(&mut want, 3 * hidden, hidden, shape, &cos, &sin);
    for (i, (g, e)) in got.iter().zip(&want).enumerate() {
        assert!((g - e).abs() <= 1e-6, "qkv[{i}]: gpu {g} vs cpu {e}");
    }
}

#[test]
fn attention_in_query_blocks_matches_the_cpu_softmax() {
    let Some((ctx, kernels)) = device() else {
        return;
    };
    let mut noise = Noise::new(6);
    let (sequences, len, heads, head_dim) = (2, 23, 2, 8);
    let hidden = heads * head_dim;
    let lengths = [23usize, 14];
    let qkv = qkv_rows(&mut noise, sequences, len, hidden);
    let scale = 1.0 / (head_dim as f64).sqrt();
    // Blocks of 5 query rows: five dispatches, the last one partial.
    let block = 5;
    let lengths_u32: Vec<f32> = lengths.iter().map(|&l| f32::from_bits(l as u32)).collect();
    let (gqkv, glen) = (upload(&ctx, &qkv), upload(&ctx, &lengths_u32));
    let scores = upload(&ctx, &vec![0.0; sequences * heads * block * len]);
    let context = upload(&ctx, &vec![0.0; sequences * len * hidden]);
    let shape = AttentionShape {
        sequences,
        len,
        heads,
        head_dim,
        scale,
    };
    let mut rec = Recorder::new(&ctx, &kernels);
    for q_start in (0..len).step_by(block) {
        rec.attention(&gqkv, &glen, &scores, &context, shape, q_start, block);
    }
    rec.finish();
    let got = read(&ctx, &context);

    let rows = |offset| CpuRows {
        data: &qkv,
        stride: 3 * hidden,
        offset,
    };
    let want = cpu_attention::attention(
        rows(0),
        rows(hidden),
        rows(2 * hidden),
        cpu_shape(sequences, len, heads, head_dim),
        &lengths,
        scale as f32,
    );
    for (i, (g, e)) in got.iter().zip(&want).enumerate() {
        assert!((g - e).abs() <= 1e-5, "context[{i}]: gpu {g} vs cpu {e}");
    }
}

/// The CPU reference of the fused head: logits of each sequence's tokens, pooled.
fn pooled_on_cpu(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    lengths: &[usize],
    len: usize,
    pooling: HeadPooling,
) -> Vec<f32> {
    let (vocab, hidden) = (b.len(), w.len() / b.len());
    let logits = tensor(x, (lengths.len() * len, hidden))
        .matmul(&tensor(w, (vocab, hidden)).t().unwrap())
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let activation = |v: f32| {
        let once = v.max(0.0).ln_1p();
        if pooling.log1p_twice {
            once.ln_1p()
        } else {
            once
        }
    };
    let mut out = Vec::new();
    for (s, &l) in lengths.iter().enumerate() {
        for vi in 0..vocab {
            let token_logits = (0..l).map(|t| logits[s * len + t][vi]);
            out.push(if pooling.sum {
                token_logits.map(|z| activation(z + b[vi])).sum()
            } else {
                activation(token_logits.fold(f32::NEG_INFINITY, f32::max) + b[vi])
            });
        }
    }
    out
}

#[test]
fn splade_head_pools_like_the_cpu_for_f32_and_q8_decoders() {
    let Some((ctx, kernels)) = device() else {
        return;
    };
    let mut noise = Noise::new(7);
    let (len, hidden, vocab) = (21, 64, 301);
    let lengths = [21usize, 6];
    let x = noise.values(lengths.len() * len * hidden, 1.0);
    let w = noise.values(vocab * hidden, 0.4);
    let b: Vec<f32> = noise.values(vocab, 1.0).iter().map(|v| v - 1.5).collect();
    let q = QTensor::quantize(&tensor(&w, (vocab, hidden)), GgmlDType::Q8_0).unwrap();
    let q8 = Q8Matrix::new(&q).unwrap();
    let dequantized = q8.dequantize();
    let (quants, scales) = q8.row_major();
    let decoders = [
        (
            GpuMatrix::upload_f32(&ctx, "w", &w, vocab, hidden).unwrap(),
            &w,
        ),
        (
            GpuMatrix::upload_q8(&ctx, "w", &quants, &scales, vocab, hidden).unwrap(),
            &dequantized,
        ),
    ];
    let lengths_u32: Vec<f32> = lengths.iter().map(|&l| f32::from_bits(l as u32)).collect();
    let (gx, gb, glen) = (
        upload(&ctx, &x),
        upload(&ctx, &b),
        upload(&ctx, &lengths_u32),
    );
    for (decoder, cpu_weights) in &decoders {
        for (sum, log1p_twice) in [(false, false), (false, true), (true, false)] {
            let pooling = HeadPooling { sum, log1p_twice };
            let pooled = upload(&ctx, &vec![-1.0; lengths.len() * vocab]);
            let mut rec = Recorder::new(&ctx, &kernels);
            rec.splade_head(
                &gx,
                decoder,
                &gb,
                &glen,
                lengths.len(),
                len,
                pooling,
                &pooled,
            );
            rec.finish();
            let got = read(&ctx, &pooled);
            let want = pooled_on_cpu(&x, cpu_weights, &b, &lengths, len, pooling);
            let positive = want.iter().filter(|&&v| v > 0.0).count();
            assert!(
                positive > 10 && positive < want.len(),
                "a meaningful mix of zeros: {positive}"
            );
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - e).abs() <= 2e-5 * e.abs().max(1.0),
                    "pooled[{i}] (sum {sum}, log1p twice {log1p_twice}): gpu {g} vs cpu {e}"
                );
            }
        }
    }
}

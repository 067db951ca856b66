// y = LayerNorm(a + y) (or LayerNorm(y) without `a`), one workgroup per row, with PyTorch's
// two-pass variance as the CPU path (src/models/layers.rs).

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  has_addend: u32,
  a_offset: u32,
  y_offset: u32,
  rows_per_dispatch_row: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const THREADS: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

fn input(row: u32, c: u32) -> f32 {
  var v = y[p.y_offset + row * p.cols + c];
  if (p.has_addend != 0u) {
    v = a[p.a_offset + row * p.cols + c] + v;
  }
  return v;
}

fn reduce_sum(t: u32, v: f32) -> f32 {
  partial[t] = v;
  workgroupBarrier();
  for (var s = THREADS / 2u; s > 0u; s >>= 1u) {
    if (t < s) {
      partial[t] += partial[t + s];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let row = group.y * p.rows_per_dispatch_row + group.x;
  // Uniform control flow: every thread of a workgroup takes the same branch.
  if (row >= p.rows) {
    return;
  }
  let t = local.x;
  let n = f32(p.cols);
  var s = 0.0;
  for (var c = t; c < p.cols; c += THREADS) {
    s += input(row, c);
  }
  let mean = reduce_sum(t, s) / n;
  var sq = 0.0;
  for (var c = t; c < p.cols; c += THREADS) {
    let d = input(row, c) - mean;
    sq += d * d;
  }
  let variance = reduce_sum(t, sq) / n;
  let denominator = sqrt(variance + p.eps);
  for (var c = t; c < p.cols; c += THREADS) {
    let d = input(row, c) - mean;
    y[p.y_offset + row * p.cols + c] = d / denominator * gamma[c] + beta[c];
  }
}

// The MLM decoder fused with SPLADE pooling: for a tile of 16 vocabulary entries of one sequence,
// logits h_t · w_v for 16 tokens at a time, reduced over the sequence's tokens as they are made
// (max, or the sum of activations), so no tokens × vocabulary logits ever exist. Writes the pooled
// vector `[sequences, vocab]`; `weight(v, k)` is appended per storage format.

struct Params {
  len: u32,
  inner: u32,
  outer: u32,
  sum_pooling: u32,
  log1p_twice: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> pooled: array<f32>;
@group(0) @binding(6) var<storage, read> lengths: array<u32>;

const TILE: u32 = 16u;
var<workgroup> x_tile: array<array<f32, 16>, 16>;
var<workgroup> w_tile: array<array<f32, 16>, 16>;
var<workgroup> partial: array<array<f32, 16>, 16>;

// log(1 + x) without the cancellation of `log(1.0 + x)` for small x.
fn log1p(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) {
    return x;
  }
  return log(u) * x / (u - 1.0);
}

// SpladePooling's activation: log(1 + relu(x)), applied twice for "log1p_relu".
fn splade_activation(v: f32) -> f32 {
  let once = log1p(max(v, 0.0));
  if (p.log1p_twice != 0u) {
    return log1p(once);
  }
  return once;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let sequence = group.z;
  let tokens = lengths[sequence];
  let col = group.x * TILE + local.x;
  let w_row = group.x * TILE + local.y;
  var folded = -3.0e38;
  if (p.sum_pooling != 0u) {
    folded = 0.0;
  }
  for (var t0 = 0u; t0 < tokens; t0 += TILE) {
    let token = t0 + local.y;
    var acc = 0.0;
    for (var k0 = 0u; k0 < p.inner; k0 += TILE) {
      let k = k0 + local.x;
      var xv = 0.0;
      if (token < tokens && k < p.inner) {
        xv = x[(sequence * p.len + token) * p.inner + k];
      }
      x_tile[local.y][local.x] = xv;
      var wv = 0.0;
      if (w_row < p.outer && k < p.inner) {
        wv = weight(w_row, k);
      }
      w_tile[local.y][local.x] = wv;
      workgroupBarrier();
      for (var j = 0u; j < TILE; j++) {
        acc += x_tile[local.y][j] * w_tile[local.x][j];
      }
      workgroupBarrier();
    }
    if (token < tokens && col < p.outer) {
      if (p.sum_pooling != 0u) {
        folded += splade_activation(acc + bias[col]);
      } else {
        folded = max(folded, acc);
      }
    }
  }
  partial[local.y][local.x] = folded;
  workgroupBarrier();
  if (local.y == 0u && col < p.outer) {
    var result = partial[0][local.x];
    for (var r = 1u; r < TILE; r++) {
      if (p.sum_pooling != 0u) {
        result += partial[r][local.x];
      } else {
        result = max(result, partial[r][local.x]);
      }
    }
    if (p.sum_pooling == 0u) {
      // Bias and activation are monotone: applying them after the max equals applying them first.
      result = splade_activation(result + bias[col]);
    }
    pooled[sequence * p.outer + col] = result;
  }
}

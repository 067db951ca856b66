// The transformer's activations, elementwise. `gated == 0`: y[i] = act(y[i]) in place.
// `gated == 1` (GTE's MLP): out[r, c] = act(gate) · up for rows [up | gate] of width 2 · cols.

struct Params {
  count: u32,
  cols: u32,
  activation: u32,
  gated: u32,
  threads_per_dispatch_row: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const GELU: u32 = 0u;
const GELU_TANH: u32 = 1u;
const RELU: u32 = 2u;
const SILU: u32 = 3u;

// The rational erf of src/models/gelu.rs, same coefficients and evaluation order.
fn erf(x_in: f32) -> f32 {
  let x = clamp(x_in, -4.0, 4.0);
  let x2 = x * x;
  var num = -2.7261423e-10;
  num = num * x2 + 2.7706814e-8;
  num = num * x2 - 2.101024e-6;
  num = num * x2 - 5.6925064e-5;
  num = num * x2 - 7.3499063e-4;
  num = num * x2 - 2.9546002e-3;
  num = num * x2 - 1.6096033e-2;
  var den = -1.4566072e-5;
  den = den * x2 - 2.1337406e-4;
  den = den * x2 - 1.682827e-3;
  den = den * x2 - 7.3733292e-3;
  den = den * x2 - 1.4264739e-2;
  return x * num / den;
}

fn activate(v: f32) -> f32 {
  switch p.activation {
    case GELU: {
      return 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
    }
    case GELU_TANH: {
      return 0.5 * v * (1.0 + tanh(0.79788456080286536 * (v + 0.044715 * v * v * v)));
    }
    case RELU: {
      return max(v, 0.0);
    }
    default: {
      return v / (1.0 + exp(-v));
    }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.y * p.threads_per_dispatch_row + id.x;
  if (i >= p.count) {
    return;
  }
  if (p.gated == 0u) {
    x[i] = activate(x[i]);
  } else {
    let r = i / p.cols;
    let c = i % p.cols;
    let up = x[r * 2u * p.cols + c];
    let gate = x[r * 2u * p.cols + p.cols + c];
    out[i] = activate(gate) * up;
  }
}

// Weights `[outer, inner]` in f32, row-major.
@group(0) @binding(4) var<storage, read> w: array<f32>;

fn weight(o: u32, k: u32) -> f32 {
  return w[o * p.inner + k];
}

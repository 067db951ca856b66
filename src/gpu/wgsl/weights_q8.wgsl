// Weights `[outer, inner]` in q8_0 as stored: int8 values row-major, four to a u32 (little-endian),
// and one f32 scale per block of 32 along `inner` (which is a multiple of 32). `d · q` is exact in
// f32 (an 11-bit f16 scale times a 7-bit integer), so this equals the CPU's dequantized weight.
@group(0) @binding(4) var<storage, read> w_quants: array<u32>;
@group(0) @binding(5) var<storage, read> w_scales: array<f32>;

fn weight(o: u32, k: u32) -> f32 {
  let i = o * p.inner + k;
  let byte = (w_quants[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
  let q = bitcast<i32>(byte << 24u) >> 24u;
  return w_scales[i >> 5u] * f32(q);
}

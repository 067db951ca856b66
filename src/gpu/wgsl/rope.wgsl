// Rotate-half RoPE in place on the query and key thirds of fused qkv rows `[tokens, 3 · hidden]`
// (token t of a padded sequence sits at position t % len), as candle's `rope`:
// (x1, x2) -> (x1·cos − x2·sin, x1·sin + x2·cos).

struct Params {
  count: u32,
  len: u32,
  heads: u32,
  head_dim: u32,
  threads_per_dispatch_row: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cos_table: array<f32>;
@group(0) @binding(2) var<storage, read> sin_table: array<f32>;
@group(0) @binding(3) var<storage, read_write> qkv: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  // One thread per (token, q or k, head, i < head_dim / 2).
  let n = id.y * p.threads_per_dispatch_row + id.x;
  if (n >= p.count) {
    return;
  }
  let half = p.head_dim / 2u;
  let i = n % half;
  let head = (n / half) % p.heads;
  let which = (n / (half * p.heads)) % 2u;
  let token = n / (half * p.heads * 2u);
  let hidden = p.heads * p.head_dim;
  let base = token * 3u * hidden + which * hidden + head * p.head_dim;
  let position = token % p.len;
  let c = cos_table[position * half + i];
  let s = sin_table[position * half + i];
  let x1 = qkv[base + i];
  let x2 = qkv[base + i + half];
  qkv[base + i] = x1 * c - x2 * s;
  qkv[base + i + half] = x1 * s + x2 * c;
}

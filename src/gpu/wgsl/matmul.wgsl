// y[r, o] = Σ_k x[r, k] · W[o, k] + bias[o] for rows r of x, in 16 × 16 output tiles. The weight
// loader `weight(o, k)` is appended per storage format (f32, or q8_0 dequantized here).

struct Params {
  rows: u32,
  inner: u32,
  outer: u32,
  x_offset: u32,
  y_offset: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const TILE: u32 = 16u;
var<workgroup> x_tile: array<array<f32, 16>, 16>;
var<workgroup> w_tile: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let row = group.y * TILE + local.y;
  let col = group.x * TILE + local.x;
  // The weight row this thread loads into the tile (tiles are loaded transposed to `col`).
  let w_row = group.x * TILE + local.y;
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.inner; k0 += TILE) {
    let k = k0 + local.x;
    var xv = 0.0;
    if (row < p.rows && k < p.inner) {
      xv = x[p.x_offset + row * p.inner + k];
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
  if (row < p.rows && col < p.outer) {
    y[p.y_offset + row * p.outer + col] = acc + bias[col];
  }
}

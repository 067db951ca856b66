// Scaled dot-product attention for a block of query rows: one workgroup per (query row, head,
// sequence). Scores of one row go to global scratch (the block bounds it), then an exact softmax
// over that row: max, exp and sum, and the weighted sum of values, normalised at the end as
// softmax(s)·v. Keys past a sequence's length are skipped (the reference adds float32-min to them,
// whose exp is 0).

struct Params {
  len: u32,
  heads: u32,
  head_dim: u32,
  q_start: u32,
  block: u32,
  scale: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<storage, read_write> context: array<f32>;

const THREADS: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

fn reduce(t: u32, v: f32, take_max: bool) -> f32 {
  partial[t] = v;
  workgroupBarrier();
  for (var s = THREADS / 2u; s > 0u; s >>= 1u) {
    if (t < s) {
      if (take_max) {
        partial[t] = max(partial[t], partial[t + s]);
      } else {
        partial[t] += partial[t + s];
      }
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let t = local.x;
  let query = p.q_start + group.x;
  let head = group.y;
  let sequence = group.z;
  if (query >= p.len) {
    return;
  }
  let keys = lengths[sequence];
  let hidden = p.heads * p.head_dim;
  let stride = 3u * hidden;
  let q_base = (sequence * p.len + query) * stride + head * p.head_dim;
  let row = ((sequence * p.heads + head) * p.block + group.x) * p.len;

  var local_max = -3.0e38;
  for (var j = t; j < keys; j += THREADS) {
    let k_base = (sequence * p.len + j) * stride + hidden + head * p.head_dim;
    var dot = 0.0;
    for (var d = 0u; d < p.head_dim; d++) {
      dot += qkv[q_base + d] * qkv[k_base + d];
    }
    let s = dot * p.scale;
    scores[row + j] = s;
    local_max = max(local_max, s);
  }
  let row_max = reduce(t, local_max, true);

  var local_sum = 0.0;
  for (var j = t; j < keys; j += THREADS) {
    let e = exp(scores[row + j] - row_max);
    scores[row + j] = e;
    local_sum += e;
  }
  let total = reduce(t, local_sum, false);
  // `reduce` ends with a workgroup barrier; the storage barrier makes this thread's writes to
  // `scores` visible to the others before they read every key's weight.
  storageBarrier();

  for (var d = t; d < p.head_dim; d += THREADS) {
    var acc = 0.0;
    for (var j = 0u; j < keys; j++) {
      let v = qkv[(sequence * p.len + j) * stride + 2u * hidden + head * p.head_dim + d];
      acc += scores[row + j] * v;
    }
    context[(sequence * p.len + query) * hidden + head * p.head_dim + d] = acc / total;
  }
}

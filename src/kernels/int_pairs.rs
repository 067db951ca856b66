//! The integer skeleton both integer kernels stand on (q8_0 linear layers in `q8_matrix.rs`,
//! the vocabulary screen in `vocabulary_screen.rs`): activations rounded to 16 bits and packed
//! two per i32, 8-bit weights in tiles of 16 rows laid out `[pair][row][2]`, and the loop that
//! multiplies a tile by a few tokens with `dot_i16x8` (`i32x4.dot_i16x8_s` in wasm, `pmaddwd` on
//! x86-64: 8 multiply-adds per instruction, the weights sign-extended as they are loaded). What
//! each kernel does with the integer sums (scale and add, or scale and keep the maximum) is its own.

/// Rows per tile: four SIMD vectors of four 32-bit lanes.
pub const TILE: usize = 16;

/// Two 16-bit integers in one i32, the first in the low half (the lane order of `dot_i16x8`).
pub fn pack_pair(low: i16, high: i16) -> i32 {
    (low as u16 as u32 | ((high as u16 as u32) << 16)) as i32
}

/// Where value `k` of tile row `row` lies in a tile laid out `[pair][row][2]`.
pub fn tile_index(k: usize, row: usize) -> usize {
    ((k / 2) * TILE + row) * 2 + k % 2
}

/// `Σ_p a_p · w_p,row` for packed pairs `a` and a tile `w`: the definition of what the SIMD loops
/// below compute (the reference they are tested against, and the kernels on other targets).
#[cfg(any(
    test,
    not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))
))]
pub fn pair_dot(a: &[i32], w: &[i8], row: usize) -> i32 {
    a.iter()
        .enumerate()
        .map(|(p, &x)| {
            let (lo, hi) = (x as i16 as i32, (x >> 16) as i16 as i32);
            lo * i32::from(w[p * 32 + row * 2]) + hi * i32::from(w[p * 32 + row * 2 + 1])
        })
        .sum()
}

/// `sums[i][j]` = the i32 sums `a_i · w_r` of tile rows `r` in `4j..4j + 4`, for `N` tokens'
/// packed pairs `a_i` (all as long as the tile has pairs).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
// Indices mirror the register tile (token i, vector j) more plainly than iterators would.
#[allow(clippy::needless_range_loop)]
pub fn tile_sums<const N: usize>(w: &[i8], a: [&[i32]; N]) -> [[std::arch::wasm32::v128; 4]; N] {
    use std::arch::wasm32::*;
    let pairs = a[0].len();
    assert!(a.iter().all(|a| a.len() == pairs) && w.len() == pairs * 2 * TILE);
    let mut acc = [[i32x4_splat(0); 4]; N];
    for p in 0..pairs {
        let x: [v128; N] = std::array::from_fn(|i| i32x4_splat(a[i][p]));
        for j in 0..4 {
            // SAFETY: `w` holds `pairs * 32` i8, so the 8 at `p * 32 + j * 8` are in bounds.
            let wj = unsafe { i16x8_load_extend_i8x8(w.as_ptr().add(p * 32 + j * 8)) };
            for i in 0..N {
                acc[i][j] = i32x4_add(acc[i][j], i32x4_dot_i16x8(wj, x[i]));
            }
        }
    }
    acc
}

/// As the wasm `tile_sums`, in SSE2 (part of the x86-64 baseline).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
// Indices mirror the register tile (token i, vector j) more plainly than iterators would.
#[allow(clippy::needless_range_loop)]
pub fn tile_sums<const N: usize>(w: &[i8], a: [&[i32]; N]) -> [[std::arch::x86_64::__m128i; 4]; N] {
    use std::arch::x86_64::*;
    let pairs = a[0].len();
    assert!(a.iter().all(|a| a.len() == pairs) && w.len() == pairs * 2 * TILE);
    // SAFETY: SSE2 is part of the x86-64 baseline; `w` holds `pairs * 32` i8, so the 8 at
    // `p * 32 + j * 8` are in bounds.
    unsafe {
        let mut acc = [[_mm_setzero_si128(); 4]; N];
        for p in 0..pairs {
            let x: [__m128i; N] = std::array::from_fn(|i| _mm_set1_epi32(a[i][p]));
            for j in 0..4 {
                let bytes = _mm_loadl_epi64(w.as_ptr().add(p * 32 + j * 8) as *const __m128i);
                // Sign extension to i16 in SSE2: each byte into a lane's high half, shifted down.
                let wj = _mm_srai_epi16(_mm_unpacklo_epi8(bytes, bytes), 8);
                for i in 0..N {
                    acc[i][j] = _mm_add_epi32(acc[i][j], _mm_madd_epi16(wj, x[i]));
                }
            }
        }
        acc
    }
}

//! The arithmetic the models spend their time in, written for wasm SIMD and x86-64: f32 and q8_0
//! matrix products, the vocabulary screen, and the exact GELU.

#[cfg(any(target_arch = "wasm32", test))]
pub mod f32_matmul;
pub mod gelu;
pub mod int_pairs;
pub mod q8_matrix;
#[cfg(test)]
pub mod test_noise;
pub mod vocabulary_screen;

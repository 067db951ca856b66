//! The arithmetic the models spend their time in, written for wasm SIMD and x86-64: f32 and q8_0
//! matrix products, attention and its softmax, the vocabulary screen, and the exact GELU.

pub mod attention;
pub mod f32_matmul;
pub mod gelu;
pub mod int_pairs;
pub mod q8_matrix;
pub mod softmax;
#[cfg(test)]
pub mod test_noise;
pub mod vocabulary_screen;

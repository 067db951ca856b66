//! Document encoding on WebGPU: WGSL kernels for the transformer layers and a SPLADE head that
//! pools over tokens in the shader, driven through `wgpu` (Vulkan natively, `navigator.gpu` in the
//! browser). f32 throughout; q8_0 weights stay quantized on the GPU and are dequantized in the
//! kernels.

mod context;
mod encoder;
#[cfg(test)]
mod kernel_tests;
mod kernels;
mod transformer;
#[cfg(target_arch = "wasm32")]
mod web;

pub use context::GpuContext;
#[cfg(not(target_arch = "wasm32"))]
pub use encoder::{select_device, GpuProfile};
pub use encoder::{DeviceChoice, GpuDocumentEncoder};
#[cfg(not(target_arch = "wasm32"))]
pub use kernels::StageTimes;
pub use transformer::{GpuTransformer, WorkspaceShape, ATTENTION_SCORE_BUDGET, MLP_CHUNK_ROWS};

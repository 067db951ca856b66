//! Asymmetric, inference-free SPLADE sparse encoders: documents go through a masked-LM transformer
//! and SPLADE pooling, queries are a tokenizer lookup. Runs natively and in WebAssembly.
//!
//! The encode pipeline sits at the root: [`tokenizer`] → [`query`] (a lookup) or [`document`]
//! (transformer, then [`pooling`]) → [`sparse`] vectors, the two sides held by [`encoder`].
//! Around it: `loading/` reads model files (a folder or a pack) into parts and builds an encoder
//! from them, `models/` holds the transformer architectures and the MLM head, `kernels/` the
//! SIMD products they run on, `index/` the in-browser sparse index, and `tools/` the code only the
//! native CLI uses.

mod document;
mod encoder;
mod error;
pub mod export;
pub mod gpu;
pub mod index;
mod kernels;
mod loading;
mod models;
mod pooling;
mod query;
#[cfg(not(target_arch = "wasm32"))]
pub mod site;
mod sparse;
mod tokenizer;
#[cfg(not(target_arch = "wasm32"))]
mod tools;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use document::DocumentEncoder;
pub use encoder::{EncoderInfo, SparseEncoder};
pub use error::{Error, Result};
pub use index::{Hit, SparseIndex, TermContribution};
pub use loading::files::{DirectoryFiles, MemoryFiles, ModelFiles};
pub use loading::pack;
pub use models::{MaskedLanguageModel, ModelInfo};
pub use pooling::{PoolingStrategy, SpladeActivation, SpladePooling};
pub use query::QueryEncoder;
pub use sparse::SparseVector;
pub use tokenizer::TextTokenizer;
#[cfg(not(target_arch = "wasm32"))]
pub use tools::{eval, idf, index_bench, jsonl, synthetic};

//! Asymmetric, inference-free SPLADE sparse encoders: documents go through a masked-LM transformer
//! and SPLADE pooling, queries are a tokenizer lookup. Runs natively and in WebAssembly.

pub mod document;
pub mod encoder;
pub mod error;
pub mod eval;
pub mod files;
mod folder;
pub mod gpu;
pub mod idf;
pub mod index;
pub mod models;
pub mod pack;
pub mod pooling;
pub mod query;
pub mod sparse;
#[cfg(test)]
mod test_noise;
pub mod tokenizer;
mod vocabulary_screen;

pub use document::DocumentEncoder;
pub use encoder::{EncoderInfo, SparseEncoder};
pub use error::{Error, Result};
pub use files::{DirectoryFiles, MemoryFiles, ModelFiles};
pub use index::{Hit, SparseIndex, TermContribution};
pub use query::QueryEncoder;
pub use sparse::SparseVector;

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(not(target_arch = "wasm32"))]
pub mod synthetic;

//! Code only the native CLI runs (`splade eval`, `idf`, `random-model`, `bench-index`); not
//! compiled into the wasm.

pub mod eval;
pub mod idf;
pub mod index_bench;
pub mod jsonl;
pub mod synthetic;

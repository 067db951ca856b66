//! `SparseEncoder`: the two sides of an asymmetric inference-free SPLADE model together.

use serde::Serialize;

use crate::document::DocumentEncoder;
use crate::error::Result;
use crate::loading::files::ModelFiles;
use crate::loading::{self, ModelParts};
use crate::models::ModelInfo;
use crate::pooling::SpladePooling;
use crate::query::QueryEncoder;
use crate::sparse::SparseVector;

pub struct SparseEncoder {
    query: QueryEncoder,
    document: DocumentEncoder,
}

/// A summary of a loaded model for `splade inspect` and the JS `info()`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EncoderInfo {
    #[serde(flatten)]
    pub model: ModelInfo,
    pub pooling: SpladePooling,
    pub max_document_tokens: usize,
    pub max_query_tokens: usize,
    pub query_vocab_size: usize,
}

impl SparseEncoder {
    pub fn new(query: QueryEncoder, document: DocumentEncoder) -> Self {
        Self { query, document }
    }

    /// Loads a model folder: sentence-transformers layout (Router with SparseStaticEmbedding +
    /// MLMTransformer + SpladePooling) or a Hugging Face masked-LM folder with an `idf.json`.
    pub fn load(files: &dyn ModelFiles) -> Result<Self> {
        Self::build(loading::read_folder(files)?)
    }

    /// Loads a single-file model pack (GGUF, see [`crate::pack`]): checks its format version and
    /// content hash, and keeps quantized matrices in their block format.
    pub fn from_pack(bytes: &[u8]) -> Result<Self> {
        Self::build(loading::read_pack(bytes)?)
    }

    /// Builds an encoder from a model's parts, however they were stored.
    fn build(parts: ModelParts) -> Result<Self> {
        let (query, document) = loading::build(parts)?;
        Ok(Self::new(query, document))
    }

    pub fn query_encoder(&self) -> &QueryEncoder {
        &self.query
    }

    pub fn document_encoder(&self) -> &DocumentEncoder {
        &self.document
    }

    pub fn document_encoder_mut(&mut self) -> &mut DocumentEncoder {
        &mut self.document
    }

    pub fn encode_query(&self, text: &str) -> Result<SparseVector> {
        self.query.encode(text)
    }

    pub fn encode_document(&self, text: &str) -> Result<SparseVector> {
        self.document.encode(text)
    }

    pub fn encode_documents(&self, texts: &[&str]) -> Result<Vec<SparseVector>> {
        self.document.encode_batch(texts)
    }

    /// The vocabulary string of a token id (`"##ing"`, `"[CLS]"`), `None` outside the vocabulary.
    pub fn token(&self, id: u32) -> Option<String> {
        self.document.tokenizer().token(id)
    }

    /// `(token string, weight)` pairs of a vector in id order, the `{token: weight}` form that
    /// OpenSearch and people read; ids outside the vocabulary are written as numbers.
    pub fn token_weights(&self, v: &SparseVector) -> Vec<(String, f32)> {
        v.indices()
            .iter()
            .zip(v.values())
            .map(|(&id, &w)| (self.token(id).unwrap_or_else(|| id.to_string()), w))
            .collect()
    }

    pub fn info(&self) -> EncoderInfo {
        EncoderInfo {
            model: self.document.model().info().clone(),
            pooling: self.document.pooling(),
            max_document_tokens: self.document.tokenizer().max_length(),
            max_query_tokens: self.query.tokenizer().max_length(),
            query_vocab_size: self.query.weights().len(),
        }
    }
}

//! What a model is built from, whichever way it was stored, and the one function that builds it.
//!
//! A folder (`folder.rs`) and a pack (`pack/read.rs`) are each *read* into [`ModelParts`]:
//! the transformer's configuration and tensors, the tokenizers, the lengths, the pooling and the
//! query weights, with the names of where each came from for error messages. [`build`] checks
//! them against each other and makes the two encoder sides; writing a pack starts from the same
//! parts.

use serde_json::Value;

use crate::document::DocumentEncoder;
use crate::error::{Error, Result};
use crate::models::{self, Weights};
use crate::pooling::PoolingConfig;
use crate::query::QueryEncoder;
use crate::tokenizer::TextTokenizer;

pub struct ModelParts {
    /// The transformer's `config.json`, parsed and as text (a pack stores the text).
    pub config: Value,
    pub config_text: String,
    pub weights: Weights,
    /// Where the tensors came from, prefixed to a tensor error (``` `dir/model.safetensors` ```).
    pub tensors_source: String,
    pub tokenizer: TokenizerFile,
    /// The query side's tokenizer; `None`: the document side's file.
    pub query_tokenizer: Option<TokenizerFile>,
    pub max_document_tokens: DocumentTokens,
    /// The query truncation length (`usize::MAX`: none); `None`: the document side's.
    pub max_query_tokens: Option<usize>,
    pub pooling: PoolingConfig,
    pub query_weights: QueryWeights,
}

/// A `tokenizer.json` and the name it goes by in error messages.
#[derive(Clone)]
pub struct TokenizerFile {
    pub json: Vec<u8>,
    pub source: String,
}

/// The document truncation length, special tokens included.
pub enum DocumentTokens {
    /// As a folder configures it, if it does: capped at what the model can position.
    Configured(Option<usize>),
    /// As a pack stores it under `key`: refused unless the model can position it.
    Stored { tokens: usize, key: &'static str },
}

pub enum QueryWeights {
    /// One weight per query vocabulary entry.
    Vector(Vec<f32>),
    /// An OpenSearch `idf.json`, `{token: weight}`.
    IdfJson(Vec<u8>),
}

/// Builds the two sides of an encoder from `parts`.
pub fn build(parts: ModelParts) -> Result<(QueryEncoder, DocumentEncoder)> {
    let model = models::load_model(&parts.config, &parts.weights).map_err(|e| match e {
        Error::Tensor(msg) => Error::model(format!("{}: {msg}", parts.tensors_source)),
        other => other,
    })?;
    // A pack's source hands its matrices over as the model reads them; what is left goes now.
    drop(parts.weights);
    let vocab = model.head().vocab_size();

    let positions = model.info().max_positions;
    let max_document = match parts.max_document_tokens {
        DocumentTokens::Configured(configured) => {
            configured.map_or(positions, |n| n.min(positions))
        }
        DocumentTokens::Stored { tokens, key } => {
            if tokens < 2 || tokens > positions {
                return Err(Error::model(format!(
                    "model pack `{key}` = {tokens} is outside 2..={positions} (the model's positions)"
                )));
            }
            tokens
        }
    };
    let document = &parts.tokenizer;
    let document_tokenizer =
        TextTokenizer::from_bytes(&document.json, max_document, true, &document.source)?;
    if document_tokenizer.vocab_size() > vocab {
        return Err(Error::model(format!(
            "tokenizer `{}` has {} tokens but the model's vocabulary has only {vocab}",
            document.source,
            document_tokenizer.vocab_size()
        )));
    }
    let pooling = parts.pooling.for_vocabulary(vocab)?;

    let query = parts.query_tokenizer.as_ref().unwrap_or(document);
    let max_query = parts
        .max_query_tokens
        .unwrap_or(document_tokenizer.max_length());
    let query_tokenizer = TextTokenizer::from_bytes(&query.json, max_query, false, &query.source)?;
    let query_encoder = match parts.query_weights {
        QueryWeights::Vector(weights) => QueryEncoder::new(query_tokenizer, weights)?,
        QueryWeights::IdfJson(json) => QueryEncoder::from_idf_json(query_tokenizer, &json)?,
    };
    Ok((
        query_encoder,
        DocumentEncoder::new(document_tokenizer, model, pooling),
    ))
}

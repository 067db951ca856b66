//! Export to search engines: document vectors in the shape each engine ingests, the matching index
//! mapping or schema, and query vectors in the shape each engine searches with.
//!
//! | format | documents | keys | query |
//! |---|---|---|---|
//! | `opensearch` | bulk NDJSON, `rank_features` | WordPiece strings, as OpenSearch's own neural sparse models write them | `neural_sparse` `query_tokens` |
//! | `opensearch-sparse-vector` | bulk NDJSON, `sparse_vector` (3.3+, SEISMIC) | token ids as strings | `neural_sparse` `query_tokens` |
//! | `elasticsearch` | bulk NDJSON, `sparse_vector` | WordPiece strings, `%` and `.` percent-escaped | `sparse_vector` query |
//! | `qdrant` | points (`indices`/`values`), UUID from the id, id in the payload | token ids | Query API body |
//! | `milvus` | rows `{id, embedding: {"id": weight}}` | token ids | search body |
//! | `pgvector` | `COPY` text: `id<TAB>{i:w,…}/dim`, 1-based `i` | token id + 1 | `ORDER BY <#>` statement |
//! | `vespa` | feed JSON `put`s, mapped tensor `tensor<float>(token{})` | WordPiece strings | — |
//! | `jsonl` | `{id, indices, values}`, read back by `--vectors` | token ids | `{indices, values}` |
//!
//! Why the keys differ: Elasticsearch's `rank_features` and (before 8.16) `sparse_vector` refuse a
//! feature name containing `.` ("fields do not support dots in feature names", elastic/elasticsearch
//! #93756, relaxed for `sparse_vector` only in #111981), and BERT's vocabulary has `.`, `...` and
//! the like, so those keys are escaped (`.` → `%2E`, `%` → `%25`: reversible, so no two tokens
//! share a key) on both the document and the query side. OpenSearch's `rank_features` mapper reads
//! keys verbatim (no dot check; its own models' tokens such as `.` and `##s` go in as they are), so
//! its keys are the plain vocabulary strings, which keeps them equal to what OpenSearch's own
//! analyzers and models produce. Vespa mapped-tensor labels are any string in feed JSON.
//! Every record's keys are checked for duplicates; see [`rules`] for the value rules.

mod keys;
mod queries;
mod records;
pub mod rules;
mod schema;
#[cfg(not(target_arch = "wasm32"))]
pub mod stream;

pub use keys::Vocabulary;
pub use queries::{engine_query, query_body};
pub use records::document_record;
pub use rules::{Prune, RuleCounts, VectorRules};
pub use schema::schema;

use crate::error::{Error, Result};

/// The engines (and shapes) this module writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenSearch,
    OpenSearchSparseVector,
    Elasticsearch,
    Qdrant,
    Milvus,
    Pgvector,
    Vespa,
    Jsonl,
}

impl Format {
    pub const NAMES: [&'static str; 8] = [
        "opensearch",
        "opensearch-sparse-vector",
        "elasticsearch",
        "qdrant",
        "milvus",
        "pgvector",
        "vespa",
        "jsonl",
    ];

    pub fn parse(name: &str) -> Result<Format> {
        Ok(match name {
            "opensearch" => Format::OpenSearch,
            "opensearch-sparse-vector" => Format::OpenSearchSparseVector,
            "elasticsearch" => Format::Elasticsearch,
            "qdrant" => Format::Qdrant,
            "milvus" => Format::Milvus,
            "pgvector" => Format::Pgvector,
            "vespa" => Format::Vespa,
            "jsonl" => Format::Jsonl,
            other => {
                return Err(Error::input(format!(
                    "unknown export format `{other}`; expected one of: {}",
                    Format::NAMES.join(", ")
                )))
            }
        })
    }

    /// Whether records name tokens by vocabulary string (and so need the tokenizer).
    pub fn needs_token_strings(self) -> bool {
        matches!(
            self,
            Format::OpenSearch | Format::Elasticsearch | Format::Vespa
        )
    }

    /// Whether the format needs the vocabulary size (pgvector's `sparsevec(dim)`).
    pub fn needs_dimensions(self) -> bool {
        self == Format::Pgvector
    }

    /// The rules the engine applies to document vectors.
    pub fn document_rules(self) -> VectorRules {
        match self {
            Format::OpenSearch | Format::OpenSearchSparseVector | Format::Elasticsearch => {
                VectorRules {
                    lucene: true,
                    ..Default::default()
                }
            }
            Format::Pgvector => VectorRules {
                max_nonzeros: Some(rules::PGVECTOR_MAX_NONZEROS),
                warn_nonzeros: Some(rules::PGVECTOR_HNSW_MAX_NONZEROS),
                ..Default::default()
            },
            Format::Qdrant | Format::Milvus | Format::Vespa | Format::Jsonl => {
                VectorRules::default()
            }
        }
    }

    /// The rules for query vectors: query weights are boosts, not stored values, so only the
    /// positive-and-finite rule and pgvector's size limit apply.
    pub fn query_rules(self) -> VectorRules {
        VectorRules {
            max_nonzeros: (self == Format::Pgvector).then_some(rules::PGVECTOR_MAX_NONZEROS),
            ..Default::default()
        }
    }
}

/// Where the vectors go: the engine, and the index (collection, table) and field names used in the
/// records, the schema and the queries.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub format: Format,
    pub index: String,
    pub field: String,
}

pub const DEFAULT_INDEX: &str = "documents";
pub const DEFAULT_FIELD: &str = "embedding";

impl Target {
    /// Checks the names: they go into JSON, SQL and Vespa schemas, so they must be plain
    /// identifiers (ASCII letters, digits and `_`, not starting with a digit).
    pub fn new(format: Format, index: &str, field: &str) -> Result<Target> {
        for (what, name) in [("index", index), ("field", field)] {
            let plain = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !plain {
                return Err(Error::input(format!(
                    "{what} name `{name}` must be ASCII letters, digits and `_`, not starting with a digit"
                )));
            }
        }
        Ok(Target {
            format,
            index: index.to_string(),
            field: field.to_string(),
        })
    }

    pub fn with_defaults(format: Format) -> Target {
        Target::new(format, DEFAULT_INDEX, DEFAULT_FIELD).expect("default names are plain")
    }
}

//! The index mapping, collection schema, table or Vespa schema that matches the exported records
//! (`splade export --schema`). JSON bodies are the request body of the engine's create call.

use serde_json::json;

use super::keys::Vocabulary;
use super::records::dimensions;
use super::rules::PGVECTOR_HNSW_MAX_NONZEROS;
use super::{Format, Target};
use crate::error::Result;

pub fn schema(target: &Target, vocab: Option<&dyn Vocabulary>) -> Result<String> {
    let (index, field) = (target.index.as_str(), target.field.as_str());
    let body = match target.format {
        // PUT /<index>; docs.opensearch.org/latest/vector-search/ai-search/neural-sparse-with-raw-vectors/
        Format::OpenSearch => {
            json!({"mappings": {"properties": {field: {"type": "rank_features"}}}})
        }
        // PUT /<index>; docs.opensearch.org/latest/mappings/supported-field-types/sparse-vector/
        Format::OpenSearchSparseVector => json!({
            "settings": {"index": {"sparse": true}},
            "mappings": {"properties": {field: {"type": "sparse_vector", "method": {"name": "seismic"}}}},
        }),
        // PUT /<index>; elastic.co/docs/reference/elasticsearch/mapping-reference/sparse-vector
        Format::Elasticsearch => {
            json!({"mappings": {"properties": {field: {"type": "sparse_vector"}}}})
        }
        // PUT /collections/<index>; no IDF modifier: the weights are already learned.
        Format::Qdrant => json!({"sparse_vectors": {field: {}}}),
        // POST /v2/vectordb/collections/create (Milvus REST v2).
        Format::Milvus => json!({
            "collectionName": index,
            "schema": {"fields": [
                {"fieldName": "id", "dataType": "VarChar", "isPrimary": true,
                 "elementTypeParams": {"max_length": 65535}},
                {"fieldName": field, "dataType": "SparseFloatVector"},
            ]},
            "indexParams": [{"fieldName": field, "indexName": field, "metricType": "IP",
                             "params": {"index_type": "SPARSE_INVERTED_INDEX"}}],
        }),
        Format::Pgvector => {
            let dims = dimensions(vocab)?;
            return Ok(format!(
                "CREATE EXTENSION IF NOT EXISTS vector;\n\
                 CREATE TABLE {index} (id text PRIMARY KEY, {field} sparsevec({dims}) NOT NULL);\n\
                 -- psql: \\copy {index} (id, {field}) FROM 'EXPORTED_FILE'\n\
                 -- Exact search: ORDER BY {field} <#> query LIMIT k (a full scan).\n\
                 -- Approximate search (vectors of at most {PGVECTOR_HNSW_MAX_NONZEROS} non-zeros; the export summary counts the others):\n\
                 -- CREATE INDEX ON {index} USING hnsw ({field} sparsevec_ip_ops);\n"
            ));
        }
        Format::Vespa => {
            return Ok(format!(
                "schema {index} {{\n    \
                     document {index} {{\n        \
                         field {field} type tensor<float>(token{{}}) {{\n            \
                             indexing: attribute | summary\n        \
                         }}\n    \
                     }}\n    \
                     rank-profile splade {{\n        \
                         inputs {{\n            \
                             query(q) tensor<float>(token{{}})\n        \
                         }}\n        \
                         first-phase {{\n            \
                             expression: sum(query(q) * attribute({field}))\n        \
                         }}\n    \
                     }}\n\
                 }}\n"
            ));
        }
        Format::Jsonl => {
            json!({"id": "string", "indices": "token ids, ascending", "values": "weights"})
        }
    };
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&body).expect("a JSON value serialises")
    ))
}

//! A query vector in the shape each engine searches with: the JSON body of a search request, or
//! for pgvector a SQL statement. Query weights go through [`Format::query_rules`] (positive and
//! finite; the encoder's query weights are IDF-like and positive, so nothing is dropped for them).

use serde::Serialize;

use super::keys::{feature_keys, FeatureMap, Vocabulary};
use super::records::{dimensions, sparsevec_literal, IndicesValues};
use super::{Format, RuleCounts, Target};
use crate::encoder::SparseEncoder;
use crate::error::{Error, Result};
use crate::sparse::SparseVector;

/// The search request for `text`, encoded by `encoder`'s inference-free query side: what
/// `splade export-query` writes and the JS `engineQuery` returns.
pub fn engine_query(
    encoder: &SparseEncoder,
    text: &str,
    target: &Target,
    k: usize,
) -> Result<String> {
    let vocab: &dyn Vocabulary = encoder.document_encoder().tokenizer();
    query_body(target, &encoder.encode_query(text)?, Some(vocab), k)
}

/// The search request for query vector `v` returning the `k` best documents.
pub fn query_body(
    target: &Target,
    v: &SparseVector,
    vocab: Option<&dyn Vocabulary>,
    k: usize,
) -> Result<String> {
    let v = target
        .format
        .query_rules()
        .apply(v, None, &mut RuleCounts::default(), "the query")?;
    let field = target.field.as_str();
    match target.format {
        Format::OpenSearch | Format::OpenSearchSparseVector => {
            let keys = feature_keys(target.format, &v, vocab, "the query")?;
            json(&SizedQuery {
                size: k,
                query: NeuralSparse {
                    neural_sparse: Named {
                        name: field,
                        value: QueryTokens {
                            query_tokens: FeatureMap {
                                keys: &keys,
                                values: v.values(),
                            },
                        },
                    },
                },
            })
        }
        Format::Elasticsearch => {
            let keys = feature_keys(target.format, &v, vocab, "the query")?;
            json(&SizedQuery {
                size: k,
                query: SparseVectorQuery {
                    sparse_vector: SparseVectorClause {
                        field,
                        query_vector: FeatureMap {
                            keys: &keys,
                            values: v.values(),
                        },
                    },
                },
            })
        }
        Format::Qdrant => json(&QdrantQuery {
            query: IndicesValues {
                indices: v.indices(),
                values: v.values(),
            },
            using: field,
            limit: k,
            with_payload: true,
        }),
        Format::Milvus => {
            let keys = feature_keys(target.format, &v, None, "the query")?;
            json(&MilvusSearch {
                collection_name: &target.index,
                data: [FeatureMap {
                    keys: &keys,
                    values: v.values(),
                }],
                anns_field: field,
                limit: k,
                search_params: MetricType { metric_type: "IP" },
                output_fields: ["id"],
            })
        }
        Format::Pgvector => {
            let literal = sparsevec_literal(&v, dimensions(vocab)?, "the query")?;
            // The literal holds only digits, `{`, `}`, `:`, `,`, `/`, `.`, `-` and `e`: nothing from
            // the query text reaches the SQL.
            Ok(format!(
                "SELECT id, -({field} <#> '{literal}'::sparsevec) AS score FROM {index} \
                 ORDER BY {field} <#> '{literal}'::sparsevec LIMIT {k};",
                index = target.index
            ))
        }
        Format::Jsonl => json(&IndicesValues {
            indices: v.indices(),
            values: v.values(),
        }),
        Format::Vespa => Err(Error::input(
            "no query shape for vespa: send the query vector as `input.query(q)` to the rank profile \
             in the schema (`splade export --schema --format vespa`)",
        )),
    }
}

#[derive(Serialize)]
struct SizedQuery<Q: Serialize> {
    size: usize,
    query: Q,
}

#[derive(Serialize)]
struct NeuralSparse<'a> {
    neural_sparse: Named<'a, QueryTokens<'a>>,
}

#[derive(Serialize)]
struct QueryTokens<'a> {
    query_tokens: FeatureMap<'a>,
}

/// `{"<name>": value}`
struct Named<'a, T: Serialize> {
    name: &'a str,
    value: T,
}

impl<T: Serialize> Serialize for Named<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.name, &self.value)?;
        map.end()
    }
}

#[derive(Serialize)]
struct SparseVectorQuery<'a> {
    sparse_vector: SparseVectorClause<'a>,
}

#[derive(Serialize)]
struct SparseVectorClause<'a> {
    field: &'a str,
    query_vector: FeatureMap<'a>,
}

#[derive(Serialize)]
struct QdrantQuery<'a> {
    query: IndicesValues<'a>,
    using: &'a str,
    limit: usize,
    with_payload: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MilvusSearch<'a> {
    collection_name: &'a str,
    data: [FeatureMap<'a>; 1],
    anns_field: &'a str,
    limit: usize,
    search_params: MetricType,
    output_fields: [&'static str; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricType {
    metric_type: &'static str,
}

fn json<T: Serialize>(body: &T) -> Result<String> {
    serde_json::to_string(body).map_err(|e| Error::input(format!("cannot write the query: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::export::keys::tests::Words;

    #[test]
    fn query_shapes() {
        let vocab = Words(vec!["[PAD]", "red", ".", "planet"]);
        let v = SparseVector::from_pairs(vec![(1, 2.5), (2, 0.5), (3, -1.0)]);
        let body = |f| query_body(&Target::with_defaults(f), &v, Some(&vocab), 10).unwrap();
        assert_eq!(
            body(Format::OpenSearch),
            r#"{"size":10,"query":{"neural_sparse":{"embedding":{"query_tokens":{"red":2.5,".":0.5}}}}}"#
        );
        assert_eq!(
            body(Format::Elasticsearch),
            r#"{"size":10,"query":{"sparse_vector":{"field":"embedding","query_vector":{"red":2.5,"%2E":0.5}}}}"#
        );
        assert_eq!(
            body(Format::Qdrant),
            r#"{"query":{"indices":[1,2],"values":[2.5,0.5]},"using":"embedding","limit":10,"with_payload":true}"#
        );
        assert_eq!(
            body(Format::Milvus),
            r#"{"collectionName":"documents","data":[{"1":2.5,"2":0.5}],"annsField":"embedding","limit":10,"searchParams":{"metricType":"IP"},"outputFields":["id"]}"#
        );
        assert_eq!(
            body(Format::Pgvector),
            "SELECT id, -(embedding <#> '{2:2.5,3:0.5}/4'::sparsevec) AS score FROM documents \
             ORDER BY embedding <#> '{2:2.5,3:0.5}/4'::sparsevec LIMIT 10;"
        );
        assert!(query_body(&Target::with_defaults(Format::Vespa), &v, Some(&vocab), 10).is_err());
    }
}

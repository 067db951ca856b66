//! One document in the shape its engine ingests (one line, or two for a bulk action + source).

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::keys::{feature_keys, FeatureMap, Vocabulary};
use super::{Format, Target};
use crate::error::{Error, Result};
use crate::sparse::SparseVector;

/// Milvus `VarChar` primary keys hold at most this many bytes.
const MILVUS_MAX_ID_BYTES: usize = 65_535;
/// OpenSearch and Elasticsearch refuse a document `_id` longer than 512 bytes.
const BULK_MAX_ID_BYTES: usize = 512;

/// Appends the record of document `id` (already through the engine's rules) to `out`, ending in a
/// newline. Token-string formats need `vocab`; pgvector needs it for the dimension.
pub fn document_record(
    target: &Target,
    id: &str,
    v: &SparseVector,
    vocab: Option<&dyn Vocabulary>,
    out: &mut String,
) -> Result<()> {
    let what = format!("document `{id}`");
    let field = target.field.as_str();
    match target.format {
        Format::OpenSearch | Format::OpenSearchSparseVector | Format::Elasticsearch => {
            if id.len() > BULK_MAX_ID_BYTES {
                return Err(Error::input(format!(
                    "{what}: OpenSearch and Elasticsearch ids hold at most {BULK_MAX_ID_BYTES} bytes, this one has {}",
                    id.len()
                )));
            }
            let keys = feature_keys(target.format, v, vocab, &what)?;
            let action = json!({"index": {"_index": target.index, "_id": id}});
            out.push_str(&action.to_string());
            out.push('\n');
            out.push_str(&json_line(&Source {
                field,
                weights: FeatureMap {
                    keys: &keys,
                    values: v.values(),
                },
            })?);
        }
        Format::Vespa => {
            let keys = feature_keys(target.format, v, vocab, &what)?;
            let put = format!("id:{0}:{0}::{id}", target.index);
            out.push_str(&json_line(&VespaPut {
                put: &put,
                fields: Source {
                    field,
                    weights: FeatureMap {
                        keys: &keys,
                        values: v.values(),
                    },
                },
            })?);
        }
        Format::Qdrant => {
            out.push_str(&json_line(&QdrantPoint {
                id: point_uuid(id),
                vector: QdrantVector {
                    field,
                    vector: IndicesValues {
                        indices: v.indices(),
                        values: v.values(),
                    },
                },
                payload: IdPayload { id },
            })?);
        }
        Format::Milvus => {
            if id.len() > MILVUS_MAX_ID_BYTES {
                return Err(Error::input(format!(
                    "{what}: Milvus VarChar keys hold at most {MILVUS_MAX_ID_BYTES} bytes, this id has {}",
                    id.len()
                )));
            }
            let keys = feature_keys(target.format, v, None, &what)?;
            out.push_str(&json_line(&MilvusRow {
                id,
                row: Source {
                    field,
                    weights: FeatureMap {
                        keys: &keys,
                        values: v.values(),
                    },
                },
            })?);
        }
        Format::Pgvector => {
            let dims = dimensions(vocab)?;
            copy_text_field(id, out);
            out.push('\t');
            out.push_str(&sparsevec_literal(v, dims, &what)?);
        }
        Format::Jsonl => {
            out.push_str(&json_line(&JsonlRecord {
                id,
                indices: v.indices(),
                values: v.values(),
            })?);
        }
    }
    out.push('\n');
    Ok(())
}

pub(super) fn dimensions(vocab: Option<&dyn Vocabulary>) -> Result<usize> {
    vocab.map(|v| v.size()).ok_or_else(|| {
        Error::input(
            "pgvector's sparsevec needs the vocabulary size: give the model (or its tokenizer)",
        )
    })
}

/// pgvector's text form `{i:w,…}/dim` with 1-based indices (pgvector's input is 1-based, its
/// storage 0-based); weights in Rust's shortest round-trip decimal form, which `strtof` reads back
/// exactly.
pub(super) fn sparsevec_literal(v: &SparseVector, dims: usize, what: &str) -> Result<String> {
    let mut s = String::with_capacity(v.len() * 12 + 8);
    s.push('{');
    for (n, (&id, &w)) in v.indices().iter().zip(v.values()).enumerate() {
        if id as usize >= dims {
            return Err(Error::input(format!(
                "{what}: token id {id} is outside the vocabulary of {dims}"
            )));
        }
        if n > 0 {
            s.push(',');
        }
        s.push_str(&format!("{}:{}", u64::from(id) + 1, w));
    }
    s.push_str(&format!("}}/{dims}"));
    Ok(s)
}

/// PostgreSQL `COPY … (FORMAT text)` escaping of one column value.
fn copy_text_field(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Qdrant point ids are unsigned integers or UUIDs, not strings: a UUID (version 8, name-based on
/// SHA-256) of the document id, so re-exporting the same id updates the same point. The id itself
/// travels in the payload.
pub fn point_uuid(id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `{"<field>": {...}}`
struct Source<'a> {
    field: &'a str,
    weights: FeatureMap<'a>,
}

impl Serialize for Source<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.field, &self.weights)?;
        map.end()
    }
}

#[derive(Serialize)]
struct VespaPut<'a> {
    put: &'a str,
    fields: Source<'a>,
}

#[derive(Serialize)]
pub(super) struct IndicesValues<'a> {
    pub indices: &'a [u32],
    pub values: &'a [f32],
}

struct QdrantVector<'a> {
    field: &'a str,
    vector: IndicesValues<'a>,
}

impl Serialize for QdrantVector<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.field, &self.vector)?;
        map.end()
    }
}

#[derive(Serialize)]
struct IdPayload<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct QdrantPoint<'a> {
    id: String,
    vector: QdrantVector<'a>,
    payload: IdPayload<'a>,
}

#[derive(Serialize)]
struct MilvusRow<'a> {
    id: &'a str,
    #[serde(flatten)]
    row: Source<'a>,
}

#[derive(Serialize)]
struct JsonlRecord<'a> {
    id: &'a str,
    indices: &'a [u32],
    values: &'a [f32],
}

fn json_line<T: Serialize>(record: &T) -> Result<String> {
    serde_json::to_string(record).map_err(|e| Error::input(format!("cannot write a record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::export::keys::tests::Words;

    fn record(format: Format, id: &str, v: &SparseVector) -> String {
        let vocab = Words(vec!["[PAD]", "mars", ".", "##s"]);
        let mut out = String::new();
        document_record(
            &Target::with_defaults(format),
            id,
            v,
            Some(&vocab),
            &mut out,
        )
        .unwrap();
        out
    }

    #[test]
    fn one_record_per_format() {
        let v = SparseVector::from_pairs(vec![(1, 1.5), (2, 0.25), (3, 0.1)]);
        assert_eq!(
            record(Format::OpenSearch, "d1", &v),
            "{\"index\":{\"_id\":\"d1\",\"_index\":\"documents\"}}\n{\"embedding\":{\"mars\":1.5,\".\":0.25,\"##s\":0.1}}\n"
        );
        assert_eq!(
            record(Format::Elasticsearch, "d1", &v)
                .lines()
                .nth(1)
                .unwrap(),
            "{\"embedding\":{\"mars\":1.5,\"%2E\":0.25,\"##s\":0.1}}"
        );
        assert_eq!(
            record(Format::OpenSearchSparseVector, "d1", &v)
                .lines()
                .nth(1)
                .unwrap(),
            "{\"embedding\":{\"1\":1.5,\"2\":0.25,\"3\":0.1}}"
        );
        assert_eq!(
            record(Format::Milvus, "d1", &v),
            "{\"id\":\"d1\",\"embedding\":{\"1\":1.5,\"2\":0.25,\"3\":0.1}}\n"
        );
        assert_eq!(
            record(Format::Pgvector, "a\tb\\c", &v),
            "a\\tb\\\\c\t{2:1.5,3:0.25,4:0.1}/4\n"
        );
        assert_eq!(
            record(Format::Vespa, "d:1", &v),
            "{\"put\":\"id:documents:documents::d:1\",\"fields\":{\"embedding\":{\"mars\":1.5,\".\":0.25,\"##s\":0.1}}}\n"
        );
        assert_eq!(
            record(Format::Jsonl, "d1", &v),
            "{\"id\":\"d1\",\"indices\":[1,2,3],\"values\":[1.5,0.25,0.1]}\n"
        );
        let point: serde_json::Value =
            serde_json::from_str(&record(Format::Qdrant, "d1", &v)).unwrap();
        assert_eq!(point["id"], point_uuid("d1"));
        assert_eq!(point["payload"]["id"], "d1");
        assert_eq!(point["vector"]["embedding"]["indices"], json!([1, 2, 3]));
    }

    #[test]
    fn point_uuids_are_stable_version_8() {
        let u = point_uuid("Geneva Durben");
        assert_eq!(u, point_uuid("Geneva Durben"));
        assert_ne!(u, point_uuid("Geneva Durben "));
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "8");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }
}

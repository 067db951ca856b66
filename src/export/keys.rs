//! Feature keys: how a token id is named in a record (vocabulary string, escaped string, or id),
//! with the per-record duplicate check.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Format;
use crate::error::{Error, Result};
use crate::sparse::SparseVector;
use crate::tokenizer::TextTokenizer;

/// The id → token-string table of a model's tokenizer.
pub trait Vocabulary {
    fn token(&self, id: u32) -> Option<String>;
    /// Number of token ids (pgvector's `sparsevec` dimension).
    fn size(&self) -> usize;
}

impl Vocabulary for TextTokenizer {
    fn token(&self, id: u32) -> Option<String> {
        TextTokenizer::token(self, id)
    }

    fn size(&self) -> usize {
        self.vocab_size()
    }
}

/// Elasticsearch feature names cannot contain `.`; `%` is escaped too so that the mapping stays
/// one-to-one (a token that contains `%2E` cannot collide with one that contains `.`).
pub fn elasticsearch_key(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for c in token.chars() {
        match c {
            '%' => out.push_str("%25"),
            '.' => out.push_str("%2E"),
            c => out.push(c),
        }
    }
    out
}

/// The key of each entry of `v` in `format`, in id order; `what` names the vector in errors.
pub fn feature_keys(
    format: Format,
    v: &SparseVector,
    vocab: Option<&dyn Vocabulary>,
    what: &str,
) -> Result<Vec<String>> {
    let token = |id: u32| -> Result<String> {
        let vocab = vocab.ok_or_else(|| {
            Error::input("this format names tokens by their vocabulary strings: give the model (or its tokenizer)")
        })?;
        vocab.token(id).ok_or_else(|| {
            Error::input(format!(
                "{what}: token id {id} is not in the tokenizer's vocabulary of {}",
                vocab.size()
            ))
        })
    };
    let keys: Vec<String> = v
        .indices()
        .iter()
        .map(|&id| match format {
            Format::OpenSearch | Format::Vespa => token(id),
            Format::Elasticsearch => token(id).map(|t| elasticsearch_key(&t)),
            _ => Ok(id.to_string()),
        })
        .collect::<Result<_>>()?;
    let mut sorted: Vec<&str> = keys.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::input(format!(
            "{what}: two token ids have the same key `{}` in this format",
            w[0]
        )));
    }
    Ok(keys)
}

/// A JSON object of feature key → weight; weights are written as the shortest decimal that reads
/// back as the same f32 (serde_json's f32 formatting).
pub struct FeatureMap<'a> {
    pub keys: &'a [String],
    pub values: &'a [f32],
}

impl Serialize for FeatureMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.keys.len()))?;
        for (k, v) in self.keys.iter().zip(self.values) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A vocabulary of literal words, id = position; shared by the export module's tests.
    pub(crate) struct Words(pub Vec<&'static str>);

    impl Vocabulary for Words {
        fn token(&self, id: u32) -> Option<String> {
            self.0.get(id as usize).map(|s| s.to_string())
        }
        fn size(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn keys_per_format() {
        let vocab = Words(vec!["[PAD]", ".", "##s", "%2E", "a.b"]);
        let v = SparseVector::from_pairs(vec![(1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)]);
        let os = feature_keys(Format::OpenSearch, &v, Some(&vocab), "q").unwrap();
        assert_eq!(os, [".", "##s", "%2E", "a.b"]);
        let es = feature_keys(Format::Elasticsearch, &v, Some(&vocab), "q").unwrap();
        assert_eq!(es, ["%2E", "##s", "%252E", "a%2Eb"]);
        let ids = feature_keys(Format::Milvus, &v, None, "q").unwrap();
        assert_eq!(ids, ["1", "2", "3", "4"]);
        let outside = SparseVector::from_pairs(vec![(9, 1.0)]);
        assert!(feature_keys(Format::Vespa, &outside, Some(&vocab), "q").is_err());
        assert!(feature_keys(Format::Vespa, &v, None, "q").is_err());
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let vocab = Words(vec!["x", "x"]);
        let v = SparseVector::from_pairs(vec![(0, 1.0), (1, 2.0)]);
        let err = feature_keys(Format::OpenSearch, &v, Some(&vocab), "doc `7`").unwrap_err();
        assert!(err.to_string().contains("same key `x`"), "{err}");
    }

    #[test]
    fn weights_keep_their_shortest_f32_form() {
        let keys = ["a".to_string()];
        let json = serde_json::to_string(&FeatureMap {
            keys: &keys,
            values: &[0.1],
        })
        .unwrap();
        assert_eq!(json, r#"{"a":0.1}"#);
    }
}

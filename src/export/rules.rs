//! What each engine accepts, enforced on a vector before it is written, so that a wrong value is
//! changed here (and counted) or refused with a message, never silently mis-ranked by the engine.
//!
//! - Positive weights only: Lucene's `FeatureField` (OpenSearch and Elasticsearch `rank_features`
//!   and `sparse_vector`) rejects zero and negative values, and a zero weight means "absent" for
//!   every engine. Non-positive weights are dropped (and counted); non-finite ones are an error.
//! - Lucene keeps 9 significant bits of a feature value (`Float.floatToIntBits(v) >>> 15` stored as
//!   a term frequency, a relative error of at most 2^-8). For those engines the exporter writes the
//!   value Lucene will score with, so the file says what the engine ranks by; values below the
//!   smallest normal float (which Lucene refuses) are dropped.
//! - pgvector: at most 16,000 non-zeros per `sparsevec` (an error naming the fix, `--prune`); an
//!   HNSW index takes at most 1,000 (counted, reported, and in the schema).
//! - Optional pruning of document vectors: keep the `k` largest weights, or OpenSearch's
//!   `max_ratio` rule (drop weights below `ratio` × the vector's largest weight).

use crate::error::{Error, Result};
use crate::sparse::SparseVector;

/// pgvector's limit on non-zero elements of one `sparsevec` (`SPARSEVEC_MAX_NNZ`).
pub const PGVECTOR_MAX_NONZEROS: usize = 16_000;
/// pgvector's limit on non-zero elements of a `sparsevec` under an HNSW index (`HNSW_MAX_NNZ`).
pub const PGVECTOR_HNSW_MAX_NONZEROS: usize = 1_000;

/// Pruning of document vectors before export.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prune {
    /// Keep the `k` largest weights (ties towards the smaller token id).
    TopK(usize),
    /// OpenSearch's `max_ratio`: keep weights at least `ratio` × the largest weight.
    MaxRatio(f32),
}

impl Prune {
    /// Parses `top-k:N` or `max-ratio:R` (0 < R ≤ 1).
    pub fn parse(spec: &str) -> Result<Prune> {
        let bad = || {
            Error::input(format!(
                "cannot read prune rule `{spec}`: expected `top-k:N` (N ≥ 1) or `max-ratio:R` (0 < R ≤ 1)"
            ))
        };
        let (kind, value) = spec.split_once(':').ok_or_else(bad)?;
        match kind {
            "top-k" => match value.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(Prune::TopK(k)),
                _ => Err(bad()),
            },
            "max-ratio" => match value.parse::<f32>() {
                Ok(r) if r > 0.0 && r <= 1.0 => Ok(Prune::MaxRatio(r)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    pub fn apply(&self, v: &SparseVector) -> SparseVector {
        match *self {
            Prune::TopK(k) => v.top_k(k),
            Prune::MaxRatio(ratio) => {
                let max = v.values().iter().copied().fold(0.0f32, f32::max);
                let pairs = v
                    .indices()
                    .iter()
                    .zip(v.values())
                    .filter(|(_, &w)| w >= ratio * max)
                    .map(|(&id, &w)| (id, w))
                    .collect();
                SparseVector::from_pairs(pairs)
            }
        }
    }
}

/// The value Lucene's `FeatureField` stores for `v` (9 significant bits, truncated), or `None` for
/// a value it refuses (not a positive normal float).
pub fn lucene_feature_value(v: f32) -> Option<f32> {
    if !(v.is_finite() && v >= f32::MIN_POSITIVE) {
        return None;
    }
    Some(f32::from_bits(v.to_bits() & !((1 << 15) - 1)))
}

/// The checks and changes one engine applies to every vector it is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct VectorRules {
    /// Lucene-based engine: 9-bit values, positive normal floats only.
    pub lucene: bool,
    /// Refuse vectors with more non-zeros than this.
    pub max_nonzeros: Option<usize>,
    /// Count vectors with more non-zeros than this (pgvector's HNSW limit).
    pub warn_nonzeros: Option<usize>,
}

/// What the rules changed over an export, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RuleCounts {
    pub vectors: usize,
    pub nonzeros_written: usize,
    /// Weights dropped for being zero or negative.
    pub non_positive_dropped: usize,
    /// Weights dropped because the engine cannot store them (below the smallest normal float).
    pub unrepresentable_dropped: usize,
    /// Weights removed by `--prune`.
    pub pruned: usize,
    /// Weights whose value changed to the engine's precision.
    pub rounded: usize,
    /// Vectors over the warning limit (pgvector: more than 1,000 non-zeros, no HNSW index).
    pub over_warn_limit: usize,
    /// Vectors left with no non-zero weight.
    pub empty: usize,
}

impl VectorRules {
    /// Applies pruning (documents only) and the engine's rules; `what` names the vector in errors.
    pub fn apply(
        &self,
        v: &SparseVector,
        prune: Option<Prune>,
        counts: &mut RuleCounts,
        what: &str,
    ) -> Result<SparseVector> {
        let mut pairs = Vec::with_capacity(v.len());
        for (&id, &w) in v.indices().iter().zip(v.values()) {
            if !w.is_finite() {
                return Err(Error::input(format!(
                    "{what}: the weight of token {id} is {w}; weights must be finite"
                )));
            }
            if w <= 0.0 {
                counts.non_positive_dropped += 1;
                continue;
            }
            pairs.push((id, w));
        }
        let mut out = SparseVector::from_pairs(pairs);
        if let Some(prune) = prune {
            let pruned = prune.apply(&out);
            counts.pruned += out.len() - pruned.len();
            out = pruned;
        }
        if self.lucene {
            let mut pairs = Vec::with_capacity(out.len());
            for (&id, &w) in out.indices().iter().zip(out.values()) {
                match lucene_feature_value(w) {
                    Some(stored) => {
                        counts.rounded += usize::from(stored != w);
                        pairs.push((id, stored));
                    }
                    None => counts.unrepresentable_dropped += 1,
                }
            }
            out = SparseVector::from_pairs(pairs);
        }
        if let Some(limit) = self.max_nonzeros {
            if out.len() > limit {
                return Err(Error::input(format!(
                    "{what} has {} non-zero weights; this engine takes at most {limit} per vector \
                     (prune it, e.g. --prune top-k:{limit})",
                    out.len()
                )));
            }
        }
        if self.warn_nonzeros.is_some_and(|limit| out.len() > limit) {
            counts.over_warn_limit += 1;
        }
        counts.vectors += 1;
        counts.nonzeros_written += out.len();
        counts.empty += usize::from(out.is_empty());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lucene_keeps_nine_significant_bits() {
        // 1 + 2^-8 is representable with 9 bits; 1 + 2^-9 is not and truncates to 1.
        assert_eq!(
            lucene_feature_value(1.0 + 1.0 / 256.0),
            Some(1.0 + 1.0 / 256.0)
        );
        assert_eq!(lucene_feature_value(1.0 + 1.0 / 512.0), Some(1.0));
        let v = 0.123_456_79f32;
        let stored = lucene_feature_value(v).unwrap();
        assert!(stored <= v && (v - stored) / v < 1.0 / 256.0);
        // Idempotent: a stored value is stored unchanged.
        assert_eq!(lucene_feature_value(stored), Some(stored));
        assert_eq!(lucene_feature_value(0.0), None);
        assert_eq!(lucene_feature_value(-1.0), None);
        assert_eq!(lucene_feature_value(f32::MIN_POSITIVE / 2.0), None);
        assert_eq!(lucene_feature_value(f32::NAN), None);
    }

    #[test]
    fn prune_rules() {
        let v = SparseVector::from_pairs(vec![(1, 0.05), (2, 1.0), (3, 0.2), (4, 0.1)]);
        assert_eq!(
            Prune::parse("top-k:2").unwrap().apply(&v).indices(),
            &[2, 3]
        );
        // max-ratio 0.1 keeps weights ≥ 0.1 × 1.0, the boundary included.
        assert_eq!(
            Prune::parse("max-ratio:0.1").unwrap().apply(&v).indices(),
            &[2, 3, 4]
        );
        for bad in [
            "top-k:0",
            "top-k:x",
            "max-ratio:0",
            "max-ratio:1.5",
            "k:3",
            "top-k",
        ] {
            assert!(Prune::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_drop_non_positive_count_and_refuse_too_many() {
        let v = SparseVector::from_pairs(vec![(1, -0.5), (2, 1.0 + 1.0 / 512.0), (3, 2.0)]);
        let mut counts = RuleCounts::default();
        let rules = VectorRules {
            lucene: true,
            ..Default::default()
        };
        let out = rules.apply(&v, None, &mut counts, "doc").unwrap();
        assert_eq!(out.indices(), &[2, 3]);
        assert_eq!(out.values(), &[1.0, 2.0]);
        assert_eq!(
            (
                counts.non_positive_dropped,
                counts.rounded,
                counts.nonzeros_written
            ),
            (1, 1, 2)
        );
        let pg = VectorRules {
            max_nonzeros: Some(1),
            ..Default::default()
        };
        let err = pg.apply(&v, None, &mut counts, "doc `x`").unwrap_err();
        assert!(err.to_string().contains("--prune top-k:1"), "{err}");
        let nan = SparseVector::from_pairs(vec![(1, f32::NAN)]);
        assert!(rules.apply(&nan, None, &mut counts, "doc").is_err());
    }
}

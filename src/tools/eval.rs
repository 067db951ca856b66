//! Retrieval quality on BEIR-layout data, with trec_eval's metric definitions.
//!
//! - Data: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`), and qrels as
//!   `qrels/test.tsv` (`query-id`, `corpus-id`, `score`, header line optional) or `qrels.jsonl`
//!   (`{"query-id", "corpus-id", "score"}`). A document's text is `title + " " + text` when the
//!   title is non-empty, else `text`.
//! - Ranking: score = sparse dot product of query and document vectors, exact over every
//!   document; documents with a positive score are ranked (a zero score shares no term, so no
//!   sparse index would return it), best first, ties broken as trec_eval does (document id in
//!   decreasing string order); the top [`RANK_DEPTH`] are kept.
//! - Metrics per query, averaged over the queries that have judgments (others are skipped, as
//!   trec_eval does): nDCG@10 (gain = relevance grade, discount log2(rank + 1), ideal DCG over
//!   all judged documents of the query), Recall@k (relevant retrieved in the top k / relevant
//!   judged), MRR@10 (1 / rank of the first relevant document in the top 10, else 0). A document
//!   is relevant when its grade is at least 1.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::encoder::SparseEncoder;
use crate::error::{Error, Result};
use crate::sparse::SparseVector;

/// How many documents a query's ranking keeps.
pub const RANK_DEPTH: usize = 100;

/// Documents encoded per call: enough to batch by length, few enough to report progress.
const DOCUMENTS_PER_CHUNK: usize = 256;

/// query id → document id → relevance grade
pub type Qrels = BTreeMap<String, BTreeMap<String, i64>>;

/// A BEIR dataset: documents `(id, text to encode)`, queries `(id, text)` and judgments.
pub struct BeirData {
    pub corpus: Vec<(String, String)>,
    pub queries: Vec<(String, String)>,
    pub qrels: Qrels,
}

/// Reads a BEIR folder: `corpus.jsonl`, `queries.jsonl`, and `qrels/test.tsv` or `qrels.jsonl`.
pub fn read_beir(dir: &Path) -> Result<BeirData> {
    let read = |name: &str| -> Result<String> {
        let path = dir.join(name);
        std::fs::read_to_string(&path)
            .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))
    };
    let corpus = parse_corpus(&read("corpus.jsonl")?)?;
    let queries = parse_queries(&read("queries.jsonl")?)?;
    let qrels = if dir.join("qrels/test.tsv").is_file() {
        parse_qrels_tsv(&read("qrels/test.tsv")?)?
    } else if dir.join("qrels.jsonl").is_file() {
        parse_qrels_jsonl(&read("qrels.jsonl")?)?
    } else {
        return Err(Error::input(format!(
            "`{}` has no judgments: expected `qrels/test.tsv` or `qrels.jsonl`",
            dir.display()
        )));
    };
    Ok(BeirData {
        corpus,
        queries,
        qrels,
    })
}

/// JSON lines, each parsed as an object; errors name the line.
fn json_lines(text: &str, what: &str) -> Result<Vec<Value>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| Error::input(format!("{what} line {}: not a JSON object", i + 1)))
        })
        .collect()
}

/// A BEIR id: a string, or a number written as a string.
fn id_field(record: &Value, key: &str, what: &str) -> Result<String> {
    match record.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(Error::input(format!("{what}: a record has no `{key}`"))),
    }
}

fn text_field<'a>(record: &'a Value, key: &str) -> &'a str {
    record.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `corpus.jsonl` → `(id, title + " " + text)`, or just the text when the title is empty.
pub fn parse_corpus(text: &str) -> Result<Vec<(String, String)>> {
    json_lines(text, "corpus.jsonl")?
        .iter()
        .map(|r| {
            let id = id_field(r, "_id", "corpus.jsonl")?;
            let (title, body) = (text_field(r, "title"), text_field(r, "text"));
            let text = if title.is_empty() {
                body.to_string()
            } else {
                format!("{title} {body}")
            };
            Ok((id, text))
        })
        .collect()
}

/// `queries.jsonl` → `(id, text)`.
pub fn parse_queries(text: &str) -> Result<Vec<(String, String)>> {
    json_lines(text, "queries.jsonl")?
        .iter()
        .map(|r| {
            Ok((
                id_field(r, "_id", "queries.jsonl")?,
                text_field(r, "text").to_string(),
            ))
        })
        .collect()
}

/// BEIR `qrels/*.tsv`: `query-id<TAB>corpus-id<TAB>score`, with or without the header line; the
/// four-column TREC form (`query 0 doc grade`) is read too.
pub fn parse_qrels_tsv(text: &str) -> Result<Qrels> {
    let mut qrels = Qrels::new();
    for (i, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (query, doc, grade) = match cols.as_slice() {
            [] => continue,
            [q, d, g] => (*q, *d, *g),
            [q, _, d, g] => (*q, *d, *g),
            _ => {
                return Err(Error::input(format!(
                    "qrels line {}: expected `query-id corpus-id score`",
                    i + 1
                )))
            }
        };
        let Ok(grade) = grade.parse::<i64>() else {
            if i == 0 {
                continue; // the header line
            }
            return Err(Error::input(format!(
                "qrels line {}: score `{grade}` is not an integer",
                i + 1
            )));
        };
        qrels
            .entry(query.to_string())
            .or_default()
            .insert(doc.to_string(), grade);
    }
    Ok(qrels)
}

/// `qrels.jsonl`: `{"query-id": …, "corpus-id": …, "score": …}` per line.
pub fn parse_qrels_jsonl(text: &str) -> Result<Qrels> {
    let mut qrels = Qrels::new();
    for r in json_lines(text, "qrels.jsonl")? {
        let grade = r
            .get("score")
            .and_then(|s| s.as_i64().or_else(|| s.as_f64().map(|f| f as i64)))
            .ok_or_else(|| Error::input("qrels.jsonl: a record has no numeric `score`"))?;
        qrels
            .entry(id_field(&r, "query-id", "qrels.jsonl")?)
            .or_default()
            .insert(id_field(&r, "corpus-id", "qrels.jsonl")?, grade);
    }
    Ok(qrels)
}

/// One query's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueryMetrics {
    pub ndcg_at_10: f64,
    pub recall_at_10: f64,
    pub recall_at_100: f64,
    pub mrr_at_10: f64,
}

/// nDCG@k (trec_eval `ndcg_cut`): gain = grade, discount log2(rank + 1), ideal over all judged.
pub fn ndcg_at(ranking: &[&str], judged: &BTreeMap<String, i64>, k: usize) -> f64 {
    let gain = |doc: &str| judged.get(doc).copied().unwrap_or(0).max(0) as f64;
    let discount = |rank: usize| (rank as f64 + 1.0).log2();
    let dcg: f64 = ranking
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| gain(d) / discount(i + 1))
        .sum();
    let mut ideal: Vec<i64> = judged.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| g as f64 / discount(i + 1))
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Relevant documents in the top k over all relevant judged documents (0 with none).
pub fn recall_at(ranking: &[&str], judged: &BTreeMap<String, i64>, k: usize) -> f64 {
    let relevant = judged.values().filter(|&&g| g >= 1).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranking
        .iter()
        .take(k)
        .filter(|d| judged.get(**d).is_some_and(|&g| g >= 1))
        .count();
    found as f64 / relevant as f64
}

/// 1 / rank of the first relevant document within the top k, else 0.
pub fn reciprocal_rank_at(ranking: &[&str], judged: &BTreeMap<String, i64>, k: usize) -> f64 {
    ranking
        .iter()
        .take(k)
        .position(|d| judged.get(*d).is_some_and(|&g| g >= 1))
        .map_or(0.0, |p| 1.0 / (p as f64 + 1.0))
}

pub fn query_metrics(ranking: &[&str], judged: &BTreeMap<String, i64>) -> QueryMetrics {
    QueryMetrics {
        ndcg_at_10: ndcg_at(ranking, judged, 10),
        recall_at_10: recall_at(ranking, judged, 10),
        recall_at_100: recall_at(ranking, judged, 100),
        mrr_at_10: reciprocal_rank_at(ranking, judged, 10),
    }
}

/// The `depth` best documents for a query (indices into `docs`): positive scores only, best first,
/// ties by document id in decreasing order (trec_eval's order).
pub fn rank(query: &SparseVector, docs: &[SparseVector], ids: &[&str], depth: usize) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (query.dot(d), i))
        .filter(|(s, _)| *s > 0.0)
        .collect();
    let order =
        |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(ids[b.1].cmp(ids[a.1]));
    if scored.len() > depth {
        scored.select_nth_unstable_by(depth, order);
        scored.truncate(depth);
    }
    scored.sort_unstable_by(order);
    scored.into_iter().map(|(_, i)| i).collect()
}

/// The mean metrics over the judged queries, as `splade eval` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    #[serde(rename = "recall@10")]
    pub recall_at_10: f64,
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr_at_10: f64,
    pub queries: usize,
    pub docs: usize,
}

/// Averages per-query metrics (an empty list gives zeros).
pub fn mean(per_query: &[QueryMetrics], docs: usize) -> EvalReport {
    let n = per_query.len().max(1) as f64;
    let sum = |f: fn(&QueryMetrics) -> f64| per_query.iter().map(f).sum::<f64>() / n;
    EvalReport {
        ndcg_at_10: sum(|m| m.ndcg_at_10),
        recall_at_10: sum(|m| m.recall_at_10),
        recall_at_100: sum(|m| m.recall_at_100),
        mrr_at_10: sum(|m| m.mrr_at_10),
        queries: per_query.len(),
        docs,
    }
}

/// Encodes the corpus and the judged queries with `encoder` and scores the rankings.
/// `progress(done, total)` is called after each chunk of documents.
pub fn evaluate(
    encoder: &SparseEncoder,
    data: &BeirData,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<EvalReport> {
    let mut docs = Vec::with_capacity(data.corpus.len());
    for chunk in data.corpus.chunks(DOCUMENTS_PER_CHUNK) {
        let texts: Vec<&str> = chunk.iter().map(|(_, t)| t.as_str()).collect();
        docs.extend(encoder.encode_documents(&texts)?);
        progress(docs.len(), data.corpus.len());
    }
    let ids: Vec<&str> = data.corpus.iter().map(|(id, _)| id.as_str()).collect();
    evaluate_vectors(encoder, data, &docs, &ids)
}

/// Scores already encoded documents (`docs[i]` is `ids[i]`) against the judged queries.
pub fn evaluate_vectors(
    encoder: &SparseEncoder,
    data: &BeirData,
    docs: &[SparseVector],
    ids: &[&str],
) -> Result<EvalReport> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut per_query = Vec::new();
    for (qid, text) in &data.queries {
        let Some(judged) = data.qrels.get(qid) else {
            continue;
        };
        if !seen.insert(qid.as_str()) {
            continue;
        }
        let query = encoder.encode_query(text)?;
        let ranking: Vec<&str> = rank(&query, docs, ids, RANK_DEPTH)
            .into_iter()
            .map(|i| ids[i])
            .collect();
        per_query.push(query_metrics(&ranking, judged));
    }
    Ok(mean(&per_query, docs.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ndcg_matches_a_hand_computed_example() {
        // Relevant: a (grade 2), b (1), c (1). Ranking: x, a, y, b.
        // DCG = 2/log2(3) + 1/log2(5); IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4).
        let j = judged(&[("a", 2), ("b", 1), ("c", 1), ("z", 0)]);
        let ranking = ["x", "a", "y", "b"];
        let dcg = 2.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 2.0 + 1.0 / 3f64.log2() + 0.5;
        assert!(close(ndcg_at(&ranking, &j, 10), dcg / idcg));
        // Cut at 2 keeps only `a`; the ideal keeps its two best grades.
        let idcg2 = 2.0 + 1.0 / 3f64.log2();
        assert!(close(ndcg_at(&ranking, &j, 2), (2.0 / 3f64.log2()) / idcg2));
        // The ideal order scores 1.
        assert!(close(ndcg_at(&["a", "b", "c"], &j, 10), 1.0));
    }

    #[test]
    fn ideal_dcg_counts_judged_documents_never_retrieved() {
        // One relevant document retrieved at rank 1, another never retrieved.
        let j = judged(&[("a", 1), ("b", 1)]);
        let expected = 1.0 / (1.0 + 1.0 / 3f64.log2());
        assert!(close(ndcg_at(&["a"], &j, 10), expected));
        assert!(close(recall_at(&["a"], &j, 10), 0.5));
    }

    #[test]
    fn recall_and_reciprocal_rank_respect_the_cut() {
        let j = judged(&[("r1", 1), ("r2", 1), ("r3", 3), ("n", 0)]);
        let mut ranking: Vec<String> = (0..150).map(|i| format!("d{i}")).collect();
        ranking[3] = "n".into(); // judged non-relevant: not a hit
        ranking[4] = "r1".into(); // rank 5
        ranking[11] = "r2".into(); // rank 12
        ranking[120] = "r3".into(); // beyond 100
        let ranking: Vec<&str> = ranking.iter().map(String::as_str).collect();
        assert!(close(recall_at(&ranking, &j, 10), 1.0 / 3.0));
        assert!(close(recall_at(&ranking, &j, 100), 2.0 / 3.0));
        assert!(close(reciprocal_rank_at(&ranking, &j, 10), 0.2));
        assert!(close(reciprocal_rank_at(&ranking[5..], &j, 10), 1.0 / 7.0));
        assert!(close(reciprocal_rank_at(&ranking[12..], &j, 10), 0.0));
    }

    #[test]
    fn a_query_without_relevant_documents_scores_zero() {
        let j = judged(&[("a", 0)]);
        assert_eq!(query_metrics(&["a"], &j), QueryMetrics::default());
    }

    #[test]
    fn mean_averages_queries() {
        let m = [
            QueryMetrics {
                ndcg_at_10: 1.0,
                recall_at_10: 1.0,
                recall_at_100: 1.0,
                mrr_at_10: 1.0,
            },
            QueryMetrics::default(),
        ];
        let r = mean(&m, 7);
        assert_eq!(
            (r.ndcg_at_10, r.mrr_at_10, r.queries, r.docs),
            (0.5, 0.5, 2, 7)
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["ndcg@10"], 0.5);
        assert_eq!(json["recall@100"], 0.5);
    }

    #[test]
    fn ranking_keeps_positive_scores_with_trec_eval_tie_order() {
        let q = SparseVector::from_pairs(vec![(1, 1.0), (2, 1.0)]);
        let docs = vec![
            SparseVector::from_pairs(vec![(1, 1.0)]),           // "a": 1
            SparseVector::from_pairs(vec![(3, 5.0)]),           // "b": 0, not retrieved
            SparseVector::from_pairs(vec![(1, 1.0), (2, 1.0)]), // "c": 2
            SparseVector::from_pairs(vec![(2, 1.0)]),           // "d": 1, ties with "a"
        ];
        let ids = ["a", "b", "c", "d"];
        assert_eq!(rank(&q, &docs, &ids, 10), vec![2, 3, 0]);
        assert_eq!(rank(&q, &docs, &ids, 2), vec![2, 3]);
    }

    #[test]
    fn qrels_parse_both_layouts() {
        let tsv = "query-id\tcorpus-id\tscore\n1\t31715818\t1\n3\t14717500\t2\n";
        let q = parse_qrels_tsv(tsv).unwrap();
        assert_eq!(q["1"]["31715818"], 1);
        assert_eq!(q["3"]["14717500"], 2);
        let trec = parse_qrels_tsv("q1 0 d1 1\n").unwrap();
        assert_eq!(trec["q1"]["d1"], 1);
        let jsonl = "{\"query-id\": \"query_0\", \"corpus-id\": \"Geneva Durben\", \"score\": 1}\n";
        assert_eq!(
            parse_qrels_jsonl(jsonl).unwrap()["query_0"]["Geneva Durben"],
            1
        );
        assert!(parse_qrels_tsv("1\t2\tx\n3\t4\tnot-a-number\n").is_err());
    }

    #[test]
    fn corpus_text_joins_a_non_empty_title() {
        let corpus = parse_corpus(
            "{\"_id\": \"1\", \"title\": \"T\", \"text\": \"body\"}\n{\"_id\": 2, \"title\": \"\", \"text\": \"only\"}\n",
        )
        .unwrap();
        assert_eq!(corpus[0], ("1".to_string(), "T body".to_string()));
        assert_eq!(corpus[1], ("2".to_string(), "only".to_string()));
        assert!(parse_corpus("{\"title\": \"x\"}\n").is_err());
    }
}

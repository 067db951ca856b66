//! `splade eval` on BEIR-layout folders: both qrels layouts, title handling, skipped queries, and
//! the final JSON line. The metric arithmetic itself is unit-tested in `src/tools/eval.rs`.

mod common;

use std::path::{Path, PathBuf};

use splade_wasm::{eval, DirectoryFiles, SparseEncoder};

fn model() -> PathBuf {
    common::fixture_dir("tiny-gte-asym")
}

const CORPUS: &str = r#"{"_id": "mars", "title": "Mars", "text": "Mars is the fourth planet from the Sun, often called the Red Planet."}
{"_id": "venus", "title": "", "text": "Venus is the second planet from the Sun and the hottest."}
{"_id": "bread", "title": "Baking", "text": "Bread is made from flour, water, yeast and salt."}
{"_id": 42, "title": "Numbers", "text": "An id written as a JSON number is read as a string."}
"#;

const QUERIES: &str = r#"{"_id": "q1", "text": "Which planet is known as the Red Planet?"}
{"_id": "q2", "text": "how is bread made"}
{"_id": "q3", "text": "a query nobody judged"}
"#;

fn beir_folder(tag: &str, qrels_tsv: Option<&str>, qrels_jsonl: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("splade-eval-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("qrels")).unwrap();
    std::fs::write(dir.join("corpus.jsonl"), CORPUS).unwrap();
    std::fs::write(dir.join("queries.jsonl"), QUERIES).unwrap();
    if let Some(tsv) = qrels_tsv {
        std::fs::write(dir.join("qrels/test.tsv"), tsv).unwrap();
    }
    if let Some(jsonl) = qrels_jsonl {
        std::fs::write(dir.join("qrels.jsonl"), jsonl).unwrap();
    }
    dir
}

fn run_eval(data: &Path) -> std::process::Output {
    common::splade(&[
        "eval",
        "--model",
        model().to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ])
}

fn last_json_line(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "stdout is the JSON line only");
    serde_json::from_str(stdout.trim()).unwrap()
}

const TSV: &str = "query-id\tcorpus-id\tscore\nq1\tmars\t1\nq2\tbread\t2\nq2\t42\t0\n";

#[test]
fn eval_prints_the_metrics_as_one_json_line() {
    let dir = beir_folder("tsv", Some(TSV), None);
    let line = last_json_line(&run_eval(&dir));
    for key in ["ndcg@10", "recall@10", "recall@100", "mrr@10"] {
        let v = line[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    // q3 has no judgments and is skipped; every document counts.
    assert_eq!(line["queries"], 2);
    assert_eq!(line["docs"], 4);

    // The same numbers through the library.
    let encoder = SparseEncoder::load(&DirectoryFiles::new(model()).unwrap()).unwrap();
    let data = eval::read_beir(&dir).unwrap();
    assert_eq!(
        data.corpus[0].1,
        "Mars Mars is the fourth planet from the Sun, often called the Red Planet."
    );
    assert_eq!(
        data.corpus[1].1,
        "Venus is the second planet from the Sun and the hottest."
    );
    assert_eq!(data.corpus[3].0, "42");
    let report = eval::evaluate(&encoder, &data, &mut |_, _| {}).unwrap();
    assert_eq!(line["ndcg@10"].as_f64().unwrap(), report.ndcg_at_10);
    assert_eq!(line["mrr@10"].as_f64().unwrap(), report.mrr_at_10);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn qrels_jsonl_gives_the_same_result_as_the_tsv() {
    let jsonl = r#"{"query-id": "q1", "corpus-id": "mars", "score": 1}
{"query-id": "q2", "corpus-id": "bread", "score": 2}
{"query-id": "q2", "corpus-id": "42", "score": 0}
"#;
    let a = beir_folder("a", Some(TSV), None);
    let b = beir_folder("b", None, Some(jsonl));
    assert_eq!(last_json_line(&run_eval(&a)), last_json_line(&run_eval(&b)));
    std::fs::remove_dir_all(&a).ok();
    std::fs::remove_dir_all(&b).ok();
}

#[test]
fn a_folder_without_judgments_is_explained() {
    let dir = beir_folder("none", None, None);
    let out = run_eval(&dir);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("qrels/test.tsv") && stderr.contains("qrels.jsonl"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

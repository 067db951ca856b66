//! The `splade` command line: output format, errors as one line on stderr with a non-zero exit.

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::splade;

fn fixture(name: &str) -> String {
    common::fixture_dir(name).to_string_lossy().into_owned()
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("splade-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn stdout_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn encode_query_text_prints_sorted_indices_and_tokens() {
    let model = fixture("tiny-gte-asym");
    let out = splade(&[
        "encode",
        "--model",
        &model,
        "--side",
        "query",
        "--text",
        "Which planet is known as the Red Planet?",
        "--tokens",
    ]);
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 1);
    let indices: Vec<u64> = lines[0]["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(
        indices,
        vec![1029, 1996, 2003, 2004, 2029, 2124, 2417, 4774]
    );
    assert_eq!(lines[0]["values"].as_array().unwrap().len(), indices.len());
    assert!(lines[0]["tokens"]["planet"].as_f64().unwrap() > 0.0);
}

#[test]
fn encode_document_jsonl_keeps_input_order() {
    let model = fixture("tiny-distilbert-asym");
    let input = temp_file(
        "docs.jsonl",
        b"{\"text\": \"A much longer document about the planet Mars and its red colour.\"}\n\n{\"text\": \"Short.\"}\n",
    );
    let lines = stdout_lines(&splade(&[
        "encode",
        "--model",
        &model,
        "--side",
        "document",
        "--input",
        input.to_str().unwrap(),
    ]));
    assert_eq!(lines.len(), 2);
    let single = stdout_lines(&splade(&[
        "encode", "--model", &model, "--side", "document", "--text", "Short.",
    ]));
    assert_eq!(lines[1]["indices"], single[0]["indices"]);
}

#[test]
fn bad_input_gives_one_line_errors() {
    let model = fixture("tiny-distilbert-asym");
    let invalid = temp_file(
        "invalid.jsonl",
        b"{\"text\": \"ok\"}\n{\"text\": \"\xff\xfe\"}\n",
    );
    let out = splade(&[
        "encode",
        "--model",
        &model,
        "--side",
        "document",
        "--input",
        invalid.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "invalid.jsonl:2: not valid UTF-8");

    let no_text = temp_file("no-text.jsonl", b"{\"body\": \"x\"}\n");
    let out = splade(&[
        "encode",
        "--model",
        &model,
        "--side",
        "query",
        "--input",
        no_text.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "`text`");

    let out = splade(&[
        "encode",
        "--model",
        "/nonexistent/model",
        "--side",
        "query",
        "--text",
        "x",
    ]);
    assert_one_line_error(&out, "/nonexistent/model");
}

#[test]
fn inspect_describes_the_model() {
    let out = splade(&["inspect", &fixture("tiny-gte-asym")]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("NewForMaskedLM"), "{text}");
    assert!(text.contains("max document tokens: 8192"), "{text}");
    assert!(text.contains("vocabulary: 30522"), "{text}");
}

#[test]
fn idf_weights_follow_the_opensearch_convention() {
    let tokenizer = format!(
        "{}/query_0_SparseStaticEmbedding/tokenizer.json",
        fixture("splade-tiny")
    );
    let corpus = temp_file(
        "corpus.jsonl",
        b"{\"text\": \"the red planet\"}\n{\"text\": \"the blue planet planet\"}\n{\"text\": \"the sun\", \"title\": \"star\"}\n",
    );
    let out = splade(&["idf", corpus.to_str().unwrap(), "--tokenizer", &tokenizer]);
    let table = &stdout_lines(&out)[0];
    assert_eq!(table.as_object().unwrap().len(), 30522);
    assert_eq!(table["the"].as_f64().unwrap(), 0.0);
    assert_eq!(
        table["planet"].as_f64().unwrap() as f32,
        (1.5f64).ln() as f32
    );
    assert_eq!(table["red"].as_f64().unwrap() as f32, (3f64).ln() as f32);
    assert_eq!(
        table["star"].as_f64().unwrap(),
        1.0,
        "title ignored without --with-title"
    );
    for special in [
        "[CLS]",
        "[SEP]",
        "[PAD]",
        "[UNK]",
        "[MASK]",
        "[unused0]",
        "zebra",
    ] {
        assert_eq!(table[special].as_f64().unwrap(), 1.0, "{special}");
    }
}

/// The splade-tiny fixture's query weights are ln(N/df) over SciFact. Recomputing them from the
/// BEIR copy in ../shared/data reproduces all but a few dozen of the 30,522 weights: the fixture's
/// source text (a CSV) differs from BEIR's in escaped newlines ("\n"), which moves `\`, `n` and
/// some word pieces.
#[test]
fn idf_reproduces_the_fixture_query_weights_from_scifact() {
    let corpus = common::root().join("../shared/data/scifact/corpus.jsonl");
    if !corpus.exists() {
        eprintln!("skipped: {} is not present", corpus.display());
        return;
    }
    let model = fixture("splade-tiny");
    let tokenizer = format!("{model}/query_0_SparseStaticEmbedding/tokenizer.json");
    let out = splade(&[
        "idf",
        corpus.to_str().unwrap(),
        "--tokenizer",
        &tokenizer,
        "--with-title",
    ]);
    let table = &stdout_lines(&out)[0];
    let encoder =
        splade_wasm::SparseEncoder::load(&splade_wasm::DirectoryFiles::new(&model).unwrap())
            .unwrap();
    let weights = encoder.query_encoder().weights();
    let differing = (0..weights.len() as u32)
        .filter(|&id| {
            table[encoder.token(id).unwrap()].as_f64().unwrap() as f32 != weights[id as usize]
        })
        .count();
    assert!(
        differing <= 40,
        "{differing} of {} weights differ",
        weights.len()
    );
}

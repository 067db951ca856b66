//! `splade export` / `export-query` and `splade_wasm::export`: the bodies for engines that cannot run
//! here (OpenSearch, Elasticsearch, Vespa) against golden files written from their documentation,
//! and the command line's streaming contract (one record per input line, in order, with its id).
//!
//! Golden files (`tests/engines/golden/`), and the documentation each follows:
//! - `opensearch.*`: rank_features mapping, bulk documents and `neural_sparse` `query_tokens`,
//!   <https://docs.opensearch.org/latest/vector-search/ai-search/neural-sparse-with-raw-vectors/>
//!   and the bulk API <https://docs.opensearch.org/latest/api-reference/document-apis/bulk/>;
//! - `opensearch-sparse-vector.*`: `sparse_vector` with the `seismic` method and `index.sparse`,
//!   token ids as keys, <https://docs.opensearch.org/latest/mappings/supported-field-types/sparse-vector/>;
//! - `elasticsearch.*`: `sparse_vector` mapping and query,
//!   <https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/sparse-vector> and
//!   <https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-sparse-vector-query>;
//!   feature names without `.` (elastic/elasticsearch#93756), values with 9 significant bits
//!   ("relative error of about 0.4%", the rank_features/sparse_vector page);
//! - `vespa.*`: a mapped tensor field and the single-mapped-dimension short form of the feed format,
//!   <https://docs.vespa.ai/en/reference/document-json-format.html>, schema per
//!   <https://docs.vespa.ai/en/reference/schema-reference.html>.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use splade_wasm::export::{
    document_record, query_body, schema, Format, Prune, RuleCounts, Target, Vocabulary,
};
use splade_wasm::{SparseIndex, SparseVector};

/// A vocabulary with the awkward pieces: `.`, `##` pieces, `%`, a quote and a backslash.
struct Words;

const WORDS: [&str; 9] = [
    "[PAD]", "hello", "planet", ".", "##s", "mars", "100%", "\"", "\\",
];

impl Vocabulary for Words {
    fn token(&self, id: u32) -> Option<String> {
        WORDS.get(id as usize).map(|s| s.to_string())
    }
    fn size(&self) -> usize {
        WORDS.len()
    }
}

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/engines/golden")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn documents() -> Vec<(&'static str, SparseVector)> {
    vec![
        (
            "doc-1",
            // 0.1 is not a 9-bit value: Lucene stores (and scores) 0.099853516.
            SparseVector::from_pairs(vec![(1, 3.25), (2, 5.0), (3, 0.1), (4, 1.75)]),
        ),
        (
            "doc \"2\"",
            SparseVector::from_pairs(vec![(5, 2.5), (6, 0.5), (7, 1.0), (8, 0.25), (2, 0.0)]),
        ),
    ]
}

fn exported(format: Format) -> String {
    let target = Target::with_defaults(format);
    let mut out = String::new();
    for (id, v) in documents() {
        let v = format
            .document_rules()
            .apply(&v, None, &mut RuleCounts::default(), id)
            .unwrap();
        document_record(&target, id, &v, Some(&Words), &mut out).unwrap();
    }
    out
}

fn query(format: Format) -> String {
    let v = SparseVector::from_pairs(vec![(1, 1.5), (3, 0.75), (5, 2.0), (6, 1.0)]);
    query_body(&Target::with_defaults(format), &v, Some(&Words), 10).unwrap() + "\n"
}

#[test]
fn golden_bodies_for_engines_that_cannot_run_here() {
    for (format, name) in [
        (Format::OpenSearch, "opensearch"),
        (Format::OpenSearchSparseVector, "opensearch-sparse-vector"),
        (Format::Elasticsearch, "elasticsearch"),
    ] {
        let target = Target::with_defaults(format);
        assert_eq!(
            exported(format),
            golden(&format!("{name}.ndjson")),
            "{name}"
        );
        assert_eq!(
            schema(&target, Some(&Words)).unwrap(),
            golden(&format!("{name}.mapping.json")),
            "{name}"
        );
        assert_eq!(
            query(format),
            golden(&format!("{name}.query.json")),
            "{name}"
        );
    }
    assert_eq!(exported(Format::Vespa), golden("vespa.jsonl"));
    assert_eq!(
        schema(&Target::with_defaults(Format::Vespa), Some(&Words)).unwrap(),
        golden("vespa.sd")
    );
}

#[test]
fn bulk_bodies_are_valid_ndjson_with_unique_keys() {
    for format in [Format::OpenSearch, Format::Elasticsearch] {
        let body = exported(format);
        let lines: Vec<serde_json::Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        let features = lines[1]["embedding"].as_object().unwrap();
        assert_eq!(features.len(), 4, "no key was merged");
        if format == Format::Elasticsearch {
            assert!(features.keys().all(|k| !k.contains('.')), "{features:?}");
        }
    }
}

fn splade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_splade"))
        .args(args)
        .output()
        .unwrap()
}

fn root(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("splade-export-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

const MODEL: &str = "tests/fixtures/tiny-gte-asym";

#[test]
fn cli_export_streams_one_record_per_line_in_order() {
    let dir = temp_dir();
    let corpus = dir.join("corpus.jsonl");
    std::fs::write(
        &corpus,
        "{\"_id\": \"b\", \"title\": \"T\", \"text\": \"second\"}\n\n{\"id\": 7, \"text\": \"third. with dots...\"}\n{\"text\": \"no id\"}\n",
    )
    .unwrap();
    let model = root(MODEL);
    let corpus = corpus.to_string_lossy().into_owned();
    let jsonl = ok_stdout(&splade(&[
        "export", "--model", &model, "--input", &corpus, "--format", "jsonl",
    ]));
    let records: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["b", "7", "4"],
        "ids in input order; the line number when absent"
    );

    // Vectors read back give the same records, and every format writes one record per input.
    let vectors = dir.join("vectors.jsonl");
    std::fs::write(&vectors, &jsonl).unwrap();
    let vectors = vectors.to_string_lossy().into_owned();
    let again = ok_stdout(&splade(&[
        "export",
        "--vectors",
        &vectors,
        "--format",
        "jsonl",
    ]));
    assert_eq!(again, jsonl);
    for (format, lines_per_record) in [
        ("opensearch", 2),
        ("opensearch-sparse-vector", 2),
        ("elasticsearch", 2),
        ("qdrant", 1),
        ("milvus", 1),
        ("pgvector", 1),
        ("vespa", 1),
    ] {
        let out = ok_stdout(&splade(&[
            "export",
            "--vectors",
            &vectors,
            "--model",
            &model,
            "--format",
            format,
        ]));
        assert_eq!(out.lines().count(), 3 * lines_per_record, "{format}: {out}");
    }

    // A saved index exports its documents in insertion order.
    let mut index = SparseIndex::new();
    for r in &records {
        let indices: Vec<u32> = serde_json::from_value(r["indices"].clone()).unwrap();
        let values: Vec<f32> = serde_json::from_value(r["values"].clone()).unwrap();
        let v = splade_wasm::index::vector_from_parts(&indices, &values).unwrap();
        index.add(r["id"].as_str().unwrap(), &v).unwrap();
    }
    let saved = dir.join("index.bin");
    std::fs::write(&saved, index.save()).unwrap();
    let from_index = ok_stdout(&splade(&[
        "export",
        "--from-index",
        &saved.to_string_lossy(),
        "--format",
        "jsonl",
    ]));
    assert_eq!(from_index, jsonl);
}

#[test]
fn cli_export_enforces_rules_and_explains_errors() {
    let dir = temp_dir();
    let vectors = dir.join("rules.jsonl");
    std::fs::write(
        &vectors,
        "{\"id\": \"a\", \"indices\": [3, 1, 2], \"values\": [0.5, -1.0, 2.0]}\n",
    )
    .unwrap();
    let vectors = vectors.to_string_lossy().into_owned();
    let out = splade(&[
        "export",
        "--vectors",
        &vectors,
        "--format",
        "qdrant",
        "--prune",
        "top-k:1",
    ]);
    let point: serde_json::Value = serde_json::from_str(ok_stdout(&out).trim()).unwrap();
    assert_eq!(
        point["vector"]["embedding"]["indices"],
        serde_json::json!([2])
    );
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("\"non_positive_dropped\":1"), "{summary}");
    assert!(summary.contains("\"pruned\":1"), "{summary}");

    let fail = |args: &[&str], needle: &str| {
        let out = splade(args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{stderr}");
    };
    fail(
        &["export", "--vectors", &vectors, "--format", "opensearch"],
        "needs the vocabulary",
    );
    fail(
        &[
            "export",
            "--vectors",
            &vectors,
            "--format",
            "qdrant",
            "--prune",
            "top:3",
        ],
        "cannot read prune rule",
    );
    fail(
        &[
            "export",
            "--vectors",
            &vectors,
            "--format",
            "qdrant",
            "--index",
            "a-b",
        ],
        "index name `a-b`",
    );
    let dup = dir.join("dup.jsonl");
    std::fs::write(&dup, "{\"indices\": [1, 1], \"values\": [1, 2]}\n").unwrap();
    fail(
        &[
            "export",
            "--vectors",
            &dup.to_string_lossy(),
            "--format",
            "milvus",
        ],
        "dup.jsonl:1: token 1 appears more than once",
    );
    let twice = dir.join("twice.jsonl");
    std::fs::write(
        &twice,
        "{\"id\": \"x\", \"indices\": [1], \"values\": [1]}\n{\"id\": \"x\", \"indices\": [2], \"values\": [1]}\n",
    )
    .unwrap();
    fail(
        &[
            "export",
            "--vectors",
            &twice.to_string_lossy(),
            "--format",
            "qdrant",
        ],
        "twice.jsonl:2: document `x` appears more than once",
    );
    let too_many: Vec<String> = (0..16_001).map(|i| i.to_string()).collect();
    let ones: Vec<&str> = too_many.iter().map(|_| "1").collect();
    let big = dir.join("big.jsonl");
    std::fs::write(
        &big,
        format!(
            "{{\"indices\": [{}], \"values\": [{}]}}\n",
            too_many.join(","),
            ones.join(",")
        ),
    )
    .unwrap();
    fail(
        &[
            "export",
            "--vectors",
            &big.to_string_lossy(),
            "--model",
            &root(MODEL),
            "--format",
            "pgvector",
        ],
        "at most 16000",
    );
}

#[test]
fn cli_export_query_matches_the_library() {
    let model = root(MODEL);
    let text = "U.S. policy... 3.5%";
    let encoder =
        splade_wasm::SparseEncoder::load(&splade_wasm::DirectoryFiles::new(&model).unwrap())
            .unwrap();
    for format in [
        "opensearch",
        "elasticsearch",
        "qdrant",
        "milvus",
        "pgvector",
    ] {
        let cli = ok_stdout(&splade(&[
            "export-query",
            "--model",
            &model,
            "--format",
            format,
            "--text",
            text,
        ]));
        let target = Target::with_defaults(Format::parse(format).unwrap());
        let lib = splade_wasm::export::engine_query(&encoder, text, &target, 10).unwrap();
        assert_eq!(cli, lib + "\n", "{format}");
    }
}

#[test]
fn max_ratio_prune_is_opensearchs_rule() {
    let v = SparseVector::from_pairs(vec![(1, 0.09), (2, 1.0), (3, 0.1)]);
    let kept = Prune::parse("max-ratio:0.1").unwrap().apply(&v);
    assert_eq!(kept.indices(), &[2, 3]);
}

//! Model packs: convert → load → encode against the folder-loaded model (exact for f32, within the
//! quality bounds for quantized types), and rejection of damaged packs with clear errors.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;
use common::{fixture_dir, load_folder, root};
use splade_wasm::eval::{self, BeirData};
use splade_wasm::pack::{self, keys, ConvertOptions, FORMAT_VERSION};
use splade_wasm::{DirectoryFiles, SparseEncoder, SparseVector};

const FIXTURES: [&str; 3] = ["splade-tiny", "tiny-distilbert-asym", "tiny-gte-asym"];

/// The default model, `models/splade-tiny` (HF folder + idf.json).
fn default_model_dir() -> PathBuf {
    let dir = root().join("models/splade-tiny");
    assert!(
        dir.join("model.safetensors").is_file(),
        "the default model is missing: run ./build.sh setup"
    );
    dir
}

fn convert(dir: &Path, dtype: &str) -> Vec<u8> {
    let options = ConvertOptions::new(pack::parse_format(dtype).unwrap(), "test");
    pack::convert(&DirectoryFiles::new(dir).unwrap(), &options).unwrap()
}

fn case_texts(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixture_dir(name).join("cases.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect()
}

fn cosine(a: &SparseVector, b: &SparseVector) -> f64 {
    let norm = |v: &SparseVector| v.values().iter().map(|&x| (x as f64).powi(2)).sum::<f64>();
    let dot: f64 = a
        .indices()
        .iter()
        .zip(a.values())
        .filter_map(|(&i, &x)| b.get(i).map(|y| x as f64 * y as f64))
        .sum();
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 && nb == 0.0 {
        1.0
    } else {
        dot / (na * nb).sqrt()
    }
}

fn error_of(bytes: &[u8]) -> String {
    match SparseEncoder::from_pack(bytes) {
        Ok(_) => panic!("a damaged pack ({} bytes) was accepted", bytes.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn f32_packs_reproduce_the_folder_models_exactly() {
    for name in FIXTURES {
        let folder = load_folder(&fixture_dir(name));
        let packed = SparseEncoder::from_pack(&convert(&fixture_dir(name), "f32")).unwrap();
        let texts = case_texts(name);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        assert_eq!(
            folder.encode_documents(&refs).unwrap(),
            packed.encode_documents(&refs).unwrap(),
            "{name}: document vectors"
        );
        for text in &texts {
            assert_eq!(
                folder.encode_query(text).unwrap(),
                packed.encode_query(text).unwrap(),
                "{name}: query vector of {text:?}"
            );
            assert_eq!(
                folder.document_encoder().token_ids(text).unwrap(),
                packed.document_encoder().token_ids(text).unwrap()
            );
        }
        let (a, b) = (folder.info(), packed.info());
        assert_eq!(a.max_document_tokens, b.max_document_tokens, "{name}");
        assert_eq!(a.max_query_tokens, b.max_query_tokens, "{name}");
        assert_eq!(a.pooling, b.pooling, "{name}");
        assert_eq!(a.model.architecture, b.model.architecture, "{name}");
    }
}

#[test]
fn the_default_model_round_trips_through_a_pack_file_and_the_cli() {
    let dir = std::env::temp_dir().join(format!("splade-pack-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("tiny-f32.gguf");
    let model = default_model_dir();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_splade"))
        .args(["convert", model.to_str().unwrap(), out.to_str().unwrap()])
        .args(["--dtype", "f32"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let packed = SparseEncoder::from_pack(&std::fs::read(&out).unwrap()).unwrap();
    let folder = load_folder(&model);
    let texts = case_texts("splade-tiny");
    for text in &texts {
        assert_eq!(
            folder.encode_document(text).unwrap(),
            packed.encode_document(text).unwrap()
        );
        assert_eq!(
            folder.encode_query(text).unwrap(),
            packed.encode_query(text).unwrap()
        );
    }
    // `--model` takes a pack file wherever it takes a folder.
    let encoded = std::process::Command::new(env!("CARGO_BIN_EXE_splade"))
        .args([
            "encode",
            "--model",
            out.to_str().unwrap(),
            "--side",
            "document",
        ])
        .args(["--text", "Which planet is known as the Red Planet?"])
        .output()
        .unwrap();
    assert!(encoded.status.success());
    let line: serde_json::Value = serde_json::from_slice(&encoded.stdout).unwrap();
    let expected = folder
        .encode_document("Which planet is known as the Red Planet?")
        .unwrap();
    assert_eq!(line["indices"].as_array().unwrap().len(), expected.len());
    let inspect = std::process::Command::new(env!("CARGO_BIN_EXE_splade"))
        .args(["inspect", out.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains("model pack: format version 1"), "{text}");
    assert!(text.contains("content sha256"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn q8_0_documents_stay_within_cosine_0_99_of_f32() {
    let dir = fixture_dir("splade-tiny");
    let f32_model = load_folder(&dir);
    let texts = case_texts("splade-tiny");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let reference = f32_model.encode_documents(&refs).unwrap();
    for (dtype, bound) in [("q8_0", 0.99), ("f16", 0.999), ("q4_k", 0.99)] {
        let packed = SparseEncoder::from_pack(&convert(&dir, dtype)).unwrap();
        let vectors = packed.encode_documents(&refs).unwrap();
        let worst = reference
            .iter()
            .zip(&vectors)
            .map(|(a, b)| cosine(a, b))
            .fold(f64::INFINITY, f64::min);
        eprintln!("{dtype}: worst per-document cosine to f32 {worst:.5}");
        assert!(worst >= bound, "{dtype}: worst cosine {worst} < {bound}");
        // Queries need no model: identical in every pack.
        for text in &texts {
            assert_eq!(
                f32_model.encode_query(text).unwrap(),
                packed.encode_query(text).unwrap()
            );
        }
    }
}

#[test]
fn quantized_packs_of_every_architecture_load_and_encode() {
    for name in FIXTURES {
        let folder = load_folder(&fixture_dir(name));
        let text = "Which planet is known as the Red Planet? Mars, the fourth planet.";
        let reference = folder.encode_document(text).unwrap();
        for dtype in ["f16", "q8_0", "q4_k"] {
            let packed = SparseEncoder::from_pack(&convert(&fixture_dir(name), dtype)).unwrap();
            let c = cosine(&reference, &packed.encode_document(text).unwrap());
            eprintln!("{name} {dtype}: cosine {c:.5}");
            assert!(c > 0.99, "{name} {dtype}: cosine {c}");
        }
    }
}

#[test]
fn q4_k_falls_back_where_rows_do_not_fit_and_says_so() {
    let bytes = convert(&default_model_dir(), "q4_k");
    let summary = pack::summary(&bytes).unwrap();
    assert_eq!(summary.dtype, "q4_k");
    assert_eq!(summary.format_version, FORMAT_VERSION);
    // splade-tiny: the 512-wide FFN output rows take q4_k, the 128-wide ones fall back.
    assert!(summary.formats.contains_key("q4_k"), "{summary:?}");
    assert!(summary.formats.contains_key("q8_0"), "{summary:?}");
    assert!(
        summary
            .quantization
            .contains("rows of 128 values do not split into 256-value q4_k blocks"),
        "{}",
        summary.quantization
    );
    // Norms and biases stay f32.
    assert!(summary.formats["f32"].0 >= 28, "{summary:?}");
    assert_eq!(summary.content_sha256, pack::content_hash(&bytes).unwrap());
}

#[test]
fn quantized_packs_are_smaller() {
    let dir = default_model_dir();
    let sizes: Vec<usize> = ["f32", "f16", "q8_0"]
        .iter()
        .map(|d| convert(&dir, d).len())
        .collect();
    assert!(sizes[0] > 17_000_000, "{sizes:?}");
    assert!(sizes[1] * 10 < sizes[0] * 6, "{sizes:?}");
    assert!(sizes[2] * 10 < sizes[0] * 4, "{sizes:?}");
}

/// LIMIT-small (CC BY 4.0): the committed copy in tests/data, else ../shared.
fn limit_small() -> BeirData {
    let local = root().join("tests/data/limit-small");
    let dir = if ["corpus.jsonl", "queries.jsonl", "qrels.jsonl"]
        .iter()
        .all(|f| local.join(f).is_file())
    {
        local
    } else {
        root().join("../shared/data/limit-small")
    };
    eval::read_beir(&dir).unwrap()
}

#[test]
fn quantized_retrieval_quality_on_limit_small_is_within_bounds() {
    let data = limit_small();
    let folder = load_folder(&default_model_dir());
    let reference = eval::evaluate(&folder, &data, &mut |_, _| {}).unwrap();
    assert_eq!((reference.queries, reference.docs), (1000, 46));
    let mut report = vec![format!("f32 folder: {:.4}", reference.ndcg_at_10)];
    for (dtype, budget) in [("f32", 0.0), ("q8_0", 0.01), ("q4_k", 0.03)] {
        let packed = SparseEncoder::from_pack(&convert(&default_model_dir(), dtype)).unwrap();
        let r = eval::evaluate(&packed, &data, &mut |_, _| {}).unwrap();
        report.push(format!("{dtype}: {:.4}", r.ndcg_at_10));
        let drop = (reference.ndcg_at_10 - r.ndcg_at_10) / reference.ndcg_at_10;
        assert!(
            drop <= budget,
            "{dtype}: nDCG@10 {} vs f32 {} ({:.2}% lower, budget {}%)",
            r.ndcg_at_10,
            reference.ndcg_at_10,
            drop * 100.0,
            budget * 100.0
        );
    }
    eprintln!("LIMIT-small nDCG@10: {}", report.join(", "));
}

// ---- damaged packs ----

fn small_pack() -> &'static [u8] {
    static PACK: OnceLock<Vec<u8>> = OnceLock::new();
    PACK.get_or_init(|| convert(&fixture_dir("tiny-distilbert-asym"), "q8_0"))
}

/// Rewrites a pack's metadata with `edit`, keeping its tensors, and gives it a valid hash.
fn rewrite(bytes: &[u8], edit: impl FnOnce(&mut Vec<(String, Value)>)) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(bytes);
    let content = gguf_file::Content::read(&mut cursor).unwrap();
    let mut metadata: Vec<(String, Value)> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    metadata.sort_by(|a, b| a.0.cmp(&b.0));
    edit(&mut metadata);
    let tensors: Vec<(String, QTensor)> = content
        .tensor_infos
        .keys()
        .map(|name| {
            let t = content.tensor(&mut cursor, name, &Device::Cpu).unwrap();
            (name.clone(), t)
        })
        .collect();
    let metadata: Vec<(&str, Value)> = metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    pack::write_pack(&metadata, &tensors).unwrap()
}

#[test]
fn a_rewritten_pack_still_loads() {
    let bytes = rewrite(small_pack(), |_| {});
    SparseEncoder::from_pack(&bytes).unwrap();
}

#[test]
fn truncated_packs_are_rejected_at_every_offset() {
    let bytes = small_pack();
    let mut offsets: Vec<usize> = (0..600).collect();
    offsets.extend((600..bytes.len()).step_by(7919));
    offsets.push(bytes.len() - 1);
    for n in offsets {
        let err = error_of(&bytes[..n]);
        assert!(
            err.contains("truncated") || err.contains("empty") || err.contains("no content hash"),
            "cut at {n}: {err}"
        );
    }
}

#[test]
fn non_packs_are_named() {
    let html = b"<!DOCTYPE html><html><body>404 Not Found</body></html>";
    let err = error_of(html);
    assert!(
        err.contains("not a model pack") && err.contains("HTML"),
        "{err}"
    );
    let json = br#"{"model_type": "bert"}"#;
    assert!(error_of(json).contains("JSON"));
    assert!(error_of(b"").contains("empty"));
    assert!(error_of(&[0u8; 1000]).contains("not a model pack"));
    // A GGUF file that is not ours (no splade keys).
    let t = QTensor::quantize(
        &candle_core::Tensor::zeros(32, candle_core::DType::F32, &Device::Cpu).unwrap(),
        GgmlDType::F32,
    )
    .unwrap();
    let mut other = std::io::Cursor::new(Vec::new());
    gguf_file::write(
        &mut other,
        &[("general.architecture", &Value::String("llama".into()))],
        &[("w", &t)],
    )
    .unwrap();
    let err = error_of(&other.into_inner());
    assert!(err.contains("splade.format_version"), "{err}");
}

#[test]
fn an_unknown_format_version_is_refused_by_number() {
    let bytes = rewrite(small_pack(), |m| {
        for (k, v) in m.iter_mut() {
            if k == keys::FORMAT_VERSION {
                *v = Value::U32(FORMAT_VERSION + 1);
            }
        }
    });
    let err = error_of(&bytes);
    assert!(
        err.contains(&format!("format version {}", FORMAT_VERSION + 1))
            && err.contains("reads version 1"),
        "{err}"
    );
}

#[test]
fn a_changed_byte_fails_the_content_hash() {
    let bytes = small_pack();
    for at in [bytes.len() - 10, bytes.len() / 2, 200] {
        let mut damaged = bytes.to_vec();
        damaged[at] ^= 0x01;
        let err = error_of(&damaged);
        assert!(
            err.contains("content hash mismatch") || err.contains("corrupt"),
            "byte {at}: {err}"
        );
    }
    // The hash itself edited.
    let mut damaged = bytes.to_vec();
    let hash_at = 24 + 8 + keys::CONTENT_SHA256.len() + 4 + 8;
    damaged[hash_at] = if damaged[hash_at] == b'a' { b'b' } else { b'a' };
    assert!(error_of(&damaged).contains("content hash mismatch"));
}

#[test]
fn missing_metadata_is_named() {
    for key in [
        keys::CONFIG,
        keys::TOKENIZER,
        keys::DOCUMENT_MAX_TOKENS,
        keys::QUERY_MAX_TOKENS,
        keys::POOLING_STRATEGY,
        keys::POOLING_ACTIVATION,
    ] {
        let bytes = rewrite(small_pack(), |m| m.retain(|(k, _)| k != key));
        let err = error_of(&bytes);
        assert!(
            err.contains("missing metadata") && err.contains(key),
            "{key}: {err}"
        );
    }
    // A wrong-typed value is named too.
    let bytes = rewrite(small_pack(), |m| {
        for (k, v) in m.iter_mut() {
            if k == keys::DOCUMENT_MAX_TOKENS {
                *v = Value::String("512".into());
            }
        }
    });
    assert!(error_of(&bytes).contains(keys::DOCUMENT_MAX_TOKENS));
}

#[test]
fn a_pack_without_the_hash_first_is_refused() {
    let bytes = small_pack();
    let content = gguf_file::Content::read(&mut std::io::Cursor::new(bytes)).unwrap();
    let mut metadata: Vec<(&str, &Value)> = content
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != keys::CONTENT_SHA256)
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    metadata.sort_by_key(|(k, _)| *k);
    let t = QTensor::quantize(
        &candle_core::Tensor::zeros(32, candle_core::DType::F32, &Device::Cpu).unwrap(),
        GgmlDType::F32,
    )
    .unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &metadata, &[("x", &t)]).unwrap();
    let err = error_of(&out.into_inner());
    assert!(err.contains("no content hash"), "{err}");
}

#[test]
fn a_pack_at_any_memory_alignment_loads() {
    let bytes = small_pack();
    let reference = SparseEncoder::from_pack(bytes)
        .unwrap()
        .encode_document("alignment")
        .unwrap();
    for shift in 1..4 {
        let mut buffer = vec![0u8; bytes.len() + shift];
        buffer[shift..].copy_from_slice(bytes);
        let encoder = SparseEncoder::from_pack(&buffer[shift..]).unwrap();
        assert_eq!(encoder.encode_document("alignment").unwrap(), reference);
    }
}

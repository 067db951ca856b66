//! Model folders in every supported layout, and bad input of every kind: each gives a correct
//! result or an error that names the problem, never a panic.

mod common;

use std::path::Path;

use common::fixture_dir;
use splade_wasm::{MemoryFiles, SparseEncoder};

/// Every file of a fixture model folder, keyed by relative path.
fn files_of(name: &str) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let root = fixture_dir(name);
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

fn memory(files: &[(String, Vec<u8>)]) -> MemoryFiles {
    let mut m = MemoryFiles::default();
    for (path, bytes) in files {
        m.insert(path, bytes.clone());
    }
    m
}

/// Loads after `edit` changed the file list; returns the error message.
fn load_error(name: &str, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> String {
    let mut files = files_of(name);
    edit(&mut files);
    match SparseEncoder::load(&memory(&files)) {
        Ok(_) => panic!("{name}: loading should have failed"),
        Err(e) => e.to_string(),
    }
}

fn replace(files: &mut [(String, Vec<u8>)], path: &str, f: impl FnOnce(&[u8]) -> Vec<u8>) {
    let entry = files
        .iter_mut()
        .find(|(p, _)| p == path)
        .unwrap_or_else(|| panic!("no {path}"));
    entry.1 = f(&entry.1);
}

fn edit_json(files: &mut [(String, Vec<u8>)], path: &str, f: impl FnOnce(&mut serde_json::Value)) {
    replace(files, path, |bytes| {
        let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    });
}

const MLM: &str = "document_0_MLMTransformer";

#[test]
fn truncated_weights_are_rejected() {
    let err = load_error("tiny-distilbert-asym", |files| {
        replace(files, &format!("{MLM}/model.safetensors"), |b| {
            b[..b.len() / 2].to_vec()
        })
    });
    assert!(
        err.contains("safetensors") && err.contains("model.safetensors"),
        "{err}"
    );
}

#[test]
fn corrupt_weights_header_is_rejected() {
    let err = load_error("tiny-gte-asym", |files| {
        replace(files, &format!("{MLM}/model.safetensors"), |b| {
            let mut b = b.to_vec();
            b[8..40].fill(b'#');
            b
        })
    });
    assert!(err.contains("safetensors"), "{err}");
    let err = load_error("tiny-gte-asym", |files| {
        replace(files, &format!("{MLM}/model.safetensors"), |_| {
            vec![1, 2, 3]
        })
    });
    assert!(err.contains("safetensors"), "{err}");
}

#[test]
fn weights_of_the_wrong_shape_are_rejected() {
    let err = load_error("tiny-gte-asym", |files| {
        edit_json(files, &format!("{MLM}/config.json"), |c| {
            c["hidden_size"] = 128.into()
        })
    });
    assert!(
        err.contains("model.safetensors") && err.contains("shape"),
        "{err}"
    );
}

#[test]
fn unknown_model_type_is_named() {
    let err = load_error("tiny-gte-asym", |files| {
        edit_json(files, &format!("{MLM}/config.json"), |c| {
            c["model_type"] = "nonsense".into()
        })
    });
    assert!(
        err.contains("model_type") && err.contains("nonsense"),
        "{err}"
    );
}

#[test]
fn gte_options_without_exact_support_are_refused_by_key() {
    for (key, value) in [
        ("logn_attention_scale", serde_json::json!(true)),
        ("pack_qkv", serde_json::json!(false)),
        ("layer_norm_type", serde_json::json!("rms_norm")),
        (
            "rope_scaling",
            serde_json::json!({"type": "dynamic", "factor": 2.0}),
        ),
        ("hidden_act", serde_json::json!("quick_gelu")),
    ] {
        let err = load_error("tiny-gte-asym", |files| {
            edit_json(files, &format!("{MLM}/config.json"), |c| {
                c[key] = value.clone()
            })
        });
        assert!(err.contains(key), "{key}: {err}");
    }
}

#[test]
fn missing_tokenizer_is_named() {
    let err = load_error("splade-tiny", |files| {
        files.retain(|(p, _)| p != "query_0_SparseStaticEmbedding/tokenizer.json")
    });
    assert!(
        err.contains("query_0_SparseStaticEmbedding/tokenizer.json"),
        "{err}"
    );
    let err = load_error("tiny-distilbert-asym", |files| {
        replace(files, &format!("{MLM}/tokenizer.json"), |_| {
            b"{\"not\": \"a tokenizer\"}".to_vec()
        })
    });
    assert!(err.contains("tokenizer"), "{err}");
}

#[test]
fn not_a_model_folder_is_explained() {
    let err = SparseEncoder::load(&MemoryFiles::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("router_config.json") && err.contains("idf.json"),
        "{err}"
    );
    let err = load_error("tiny-gte-asym", |files| {
        replace(files, "router_config.json", |_| b"{not json".to_vec())
    });
    assert!(err.contains("router_config.json"), "{err}");
}

/// The published doc-v3-gte keeps its transformer at the folder root (module id `""`).
#[test]
fn transformer_at_the_folder_root_loads_identically() {
    let reference = SparseEncoder::load(&memory(&files_of("tiny-gte-asym"))).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = files_of("tiny-gte-asym")
        .into_iter()
        .map(|(p, b)| {
            (
                p.strip_prefix(&format!("{MLM}/"))
                    .map(str::to_string)
                    .unwrap_or(p),
                b,
            )
        })
        .collect();
    replace(&mut files, "router_config.json", |b| {
        String::from_utf8(b.to_vec())
            .unwrap()
            .replace(&format!("\"{MLM}\""), "\"\"")
            .into_bytes()
    });
    let root = SparseEncoder::load(&memory(&files)).unwrap();
    let text = "Mars, known for its reddish appearance, is the red planet.";
    assert_eq!(
        root.encode_document(text).unwrap(),
        reference.encode_document(text).unwrap()
    );
    assert_eq!(
        root.encode_query(text).unwrap(),
        reference.encode_query(text).unwrap()
    );
}

/// A Hugging Face masked-LM folder with an OpenSearch `idf.json` (how doc-v1/v2 ship) equals the
/// sentence-transformers folder holding the same weights with max + log(1 + relu) pooling.
#[test]
fn masked_lm_folder_with_idf_json_matches_router_layout() {
    let reference = SparseEncoder::load(&memory(&files_of("splade-tiny"))).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = files_of("splade-tiny")
        .into_iter()
        .filter_map(|(p, b)| {
            p.strip_prefix(&format!("{MLM}/"))
                .map(|p| (p.to_string(), b))
        })
        .collect();
    let weights = reference.query_encoder().weights();
    let table: serde_json::Map<String, serde_json::Value> = (0..weights.len() as u32)
        .map(|id| {
            (
                reference.token(id).unwrap(),
                (weights[id as usize] as f64).into(),
            )
        })
        .collect();
    files.push(("idf.json".into(), serde_json::to_vec(&table).unwrap()));
    files.retain(|(p, _)| p != "sentence_bert_config.json");
    let hf = SparseEncoder::load(&memory(&files)).unwrap();
    assert_eq!(hf.info().max_document_tokens, 512);
    for text in [
        "Which planet is known as the Red Planet?",
        "Currently New York is rainy.",
        "",
    ] {
        assert_eq!(
            hf.encode_query(text).unwrap(),
            reference.encode_query(text).unwrap()
        );
        assert_eq!(
            hf.encode_document(text).unwrap(),
            reference.encode_document(text).unwrap()
        );
    }
    files.retain(|(p, _)| p != "idf.json");
    let err = SparseEncoder::load(&memory(&files))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("idf.json"), "{err}");
}

/// Swaps LayerNorm parameter names between the legacy `gamma`/`beta` and `weight`/`bias` in a
/// safetensors header (offsets are relative to the data, so only the length prefix changes).
fn swap_layer_norm_names(bytes: &[u8]) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    let swapped = if header.contains("LayerNorm.gamma\"") {
        header
            .replace("LayerNorm.gamma\"", "LayerNorm.weight\"")
            .replace("LayerNorm.beta\"", "LayerNorm.bias\"")
    } else {
        header
            .replace("LayerNorm.weight\"", "LayerNorm.gamma\"")
            .replace("LayerNorm.bias\"", "LayerNorm.beta\"")
    };
    assert_ne!(swapped, header);
    let mut swapped = swapped.into_bytes();
    swapped.resize(swapped.len().div_ceil(8) * 8, b' ');
    let mut out = (swapped.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&swapped);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

#[test]
fn legacy_gamma_beta_names_are_read() {
    // splade-tiny as shipped on PyPI names LayerNorm parameters gamma/beta, the fixture renamed
    // them: both spellings must give the same model.
    let mut files = files_of("splade-tiny");
    let reference = SparseEncoder::load(&memory(&files)).unwrap();
    replace(
        &mut files,
        &format!("{MLM}/model.safetensors"),
        swap_layer_norm_names,
    );
    let swapped = SparseEncoder::load(&memory(&files)).unwrap();
    let text = "Photosynthesis converts light energy into chemical energy.";
    assert_eq!(
        swapped.encode_document(text).unwrap(),
        reference.encode_document(text).unwrap()
    );
}

#[test]
fn edge_texts_give_correct_results() {
    let encoder = SparseEncoder::load(&memory(&files_of("tiny-gte-asym"))).unwrap();
    for blank in ["", "   \t\n "] {
        assert!(encoder.encode_query(blank).unwrap().is_empty());
        assert_eq!(
            encoder.document_encoder().token_ids(blank).unwrap(),
            vec![101, 102]
        );
    }
    // Only characters outside the vocabulary: every token is [UNK].
    let ids = encoder.document_encoder().token_ids("🍕🚀 😀").unwrap();
    assert_eq!(ids, vec![101, 100, 100, 102]);
    let q = encoder.encode_query("🍕🚀").unwrap();
    assert_eq!(q.indices(), &[100]);
    assert!(!encoder.encode_document("🍕🚀").unwrap().is_empty());
}

#[test]
fn a_one_megabyte_text_is_truncated_not_fatal() {
    let encoder = SparseEncoder::load(&memory(&files_of("tiny-distilbert-asym"))).unwrap();
    let text = "The printing press spread knowledge across Europe. ".repeat(20_000);
    assert!(text.len() > 1_000_000);
    assert_eq!(
        encoder.document_encoder().token_ids(&text).unwrap().len(),
        512
    );
    assert_eq!(encoder.query_encoder().token_ids(&text).unwrap().len(), 512);
    assert!(!encoder.encode_document(&text).unwrap().is_empty());
    let batch = encoder.encode_documents(&[&text, "short text"]).unwrap();
    assert_eq!(batch.len(), 2);
}

//! `tokenizer.bin`: the query tokenizer and query weights for a runtime without the `tokenizers`
//! crate (format: `src/site/FORMAT.md`, "The tokenizer asset"). Only the BERT
//! pipeline (BertNormalizer, BertPreTokenizer, WordPiece) is supported, which is what the JS
//! tokenizer implements. Reading it back builds a `tokenizers` tokenizer with the same pipeline,
//! so `splade site search` tokenizes from the bundle, as the browser does.

use serde_json::{json, Value};

use super::format::{gunzip, gzip};
use crate::error::{Error, Result};
use crate::query::QueryEncoder;
use crate::tokenizer::TextTokenizer;

const MAGIC: &[u8; 8] = b"SPLDQTK1";
const FORMAT: u64 = 2;

/// The bundle's token ids: vocabulary strings sorted by their UTF-8 bytes, so the asset stores
/// them front-coded (54 KB gzipped for BERT's vocabulary instead of 110 KB in model order).
/// `ranks[model id]` is the bundle id; postings and query weights use bundle ids.
pub fn ranks(query: &QueryEncoder) -> Result<Vec<u32>> {
    let vocab = vocabulary(query.tokenizer())?;
    let mut order: Vec<usize> = (0..vocab.len()).collect();
    order.sort_by(|&a, &b| vocab[a].cmp(&vocab[b]));
    if order.windows(2).any(|w| vocab[w[0]] == vocab[w[1]]) {
        return Err(Error::model("the vocabulary holds a token twice"));
    }
    let mut ranks = vec![0u32; vocab.len()];
    for (rank, &id) in order.iter().enumerate() {
        ranks[id] = rank as u32;
    }
    Ok(ranks)
}

fn vocabulary(tokenizer: &TextTokenizer) -> Result<Vec<String>> {
    (0..tokenizer.vocab_size() as u32)
        .map(|id| {
            let token = tokenizer
                .token(id)
                .ok_or_else(|| Error::model(format!("the tokenizer has no token with id {id}")))?;
            if token.contains('\n') {
                return Err(Error::model(format!(
                    "token id {id} contains a line break, which the asset cannot store"
                )));
            }
            Ok(token)
        })
        .collect()
}

/// The gzip-compressed asset for `query` (the model's query encoder).
pub fn write(query: &QueryEncoder, fingerprint: &str) -> Result<Vec<u8>> {
    let tokenizer = query.tokenizer();
    let spec: Value = serde_json::from_str(&tokenizer.to_json()?)
        .map_err(|e| Error::model(format!("cannot read the tokenizer's JSON: {e}")))?;
    let unsupported = |what: &str, got: &Value| {
        Error::input(format!(
            "static search needs a BERT WordPiece tokenizer (the browser runtime implements only that); this one has {what} {got}"
        ))
    };
    let normalizer = &spec["normalizer"];
    let normalizer = match normalizer["type"].as_str() {
        None if normalizer.is_null() => json!({"clean_text": false, "handle_chinese_chars": false,
                                               "strip_accents": false, "lowercase": false}),
        Some("BertNormalizer") => {
            let flag = |key: &str| normalizer[key].as_bool().unwrap_or(false);
            let lowercase = flag("lowercase");
            json!({"clean_text": flag("clean_text"), "handle_chinese_chars": flag("handle_chinese_chars"),
                   "strip_accents": normalizer["strip_accents"].as_bool().unwrap_or(lowercase),
                   "lowercase": lowercase})
        }
        _ => return Err(unsupported("normalizer", normalizer)),
    };
    if spec["pre_tokenizer"]["type"] != "BertPreTokenizer" {
        return Err(unsupported("pre-tokenizer", &spec["pre_tokenizer"]));
    }
    let model = &spec["model"];
    if model["type"] != "WordPiece" {
        return Err(unsupported("model", &model["type"]));
    }
    let vocab = vocabulary(tokenizer)?;
    let vocab_size = vocab.len();
    let ranks = ranks(query)?;
    let unk = model["unk_token"].as_str().unwrap_or("[UNK]");
    let unk_id = tokenizer.token_id(unk).ok_or_else(|| {
        Error::model(format!(
            "the unknown token {unk:?} is not in the vocabulary"
        ))
    })?;
    let mut added_tokens = spec["added_tokens"].clone();
    for token in added_tokens.as_array_mut().into_iter().flatten() {
        let id = token["id"]
            .as_u64()
            .filter(|&id| (id as usize) < vocab_size);
        let id = id.ok_or_else(|| {
            Error::model(format!("added token {token} has no id in the vocabulary"))
        })?;
        token["id"] = json!(ranks[id as usize]);
    }
    let header = json!({
        "format": FORMAT,
        "fingerprint": fingerprint,
        "vocab_size": vocab_size,
        "normalizer": normalizer,
        "wordpiece": {
            "unk_id": ranks[unk_id as usize],
            "continuing_subword_prefix": model["continuing_subword_prefix"].as_str().unwrap_or("##"),
            "max_input_chars_per_word": model["max_input_chars_per_word"].as_u64().unwrap_or(100),
        },
        "added_tokens": added_tokens,
        "max_query_tokens": tokenizer.max_length(),
    });
    let header = header.to_string();
    let mut by_rank = vec![0usize; vocab_size];
    for (id, &rank) in ranks.iter().enumerate() {
        by_rank[rank as usize] = id;
    }
    // Front coding: per token, the UTF-16 length of the prefix it shares with the token before
    // (what the JS runtime slices), and the rest of it.
    let mut prefixes = Vec::with_capacity(vocab_size);
    let mut suffixes: Vec<&str> = Vec::with_capacity(vocab_size);
    let mut previous = "";
    for &id in &by_rank {
        let token = vocab[id].as_str();
        let (mut units, mut bytes) = (0usize, 0usize);
        for (a, b) in token.chars().zip(previous.chars()) {
            if a != b || units + a.len_utf16() > usize::from(u8::MAX) {
                break;
            }
            units += a.len_utf16();
            bytes += a.len_utf8();
        }
        prefixes.push(units as u8);
        suffixes.push(&token[bytes..]);
        previous = token;
    }
    let suffixes = suffixes.join("\n");
    let mut raw = Vec::with_capacity(16 + header.len() + suffixes.len() + 5 * vocab_size);
    raw.extend_from_slice(MAGIC);
    raw.extend_from_slice(&(header.len() as u32).to_le_bytes());
    raw.extend_from_slice(header.as_bytes());
    raw.extend_from_slice(&(suffixes.len() as u32).to_le_bytes());
    raw.extend_from_slice(suffixes.as_bytes());
    raw.extend_from_slice(&prefixes);
    for &id in &by_rank {
        let w = query.weights().get(id).copied().unwrap_or(0.0);
        raw.extend_from_slice(&w.to_le_bytes());
    }
    gzip(&raw)
}

/// The query encoder stored in an asset, and its fingerprint.
pub fn read(stored: &[u8]) -> Result<(QueryEncoder, String)> {
    let bad = |what: &str| Error::input(format!("bundle file `tokenizer.bin` {what}"));
    let raw = if stored.starts_with(&[0x1f, 0x8b]) {
        gunzip(stored).map_err(|e| bad(&format!("is corrupt or truncated (gzip: {e})")))?
    } else {
        stored.to_vec()
    };
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let end = at.checked_add(n).filter(|&e| e <= raw.len());
        let end = end.ok_or_else(|| bad("is truncated"))?;
        let out = &raw[at..end];
        at = end;
        Ok(out)
    };
    if take(8)? != MAGIC {
        return Err(bad("is not a query tokenizer (wrong magic)"));
    }
    let len = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize;
    let header_len = len(take(4)?);
    let header: Value = serde_json::from_slice(take(header_len)?)
        .map_err(|e| bad(&format!("has a malformed header: {e}")))?;
    if header["format"].as_u64() != Some(FORMAT) {
        return Err(bad(&format!(
            "has format {}, this reader reads {FORMAT}",
            header["format"]
        )));
    }
    let vocab_len = len(take(4)?);
    let suffixes = std::str::from_utf8(take(vocab_len)?)
        .map_err(|_| bad("has a vocabulary that is not UTF-8"))?
        .to_string();
    let vocab_size = header["vocab_size"].as_u64().unwrap_or(0) as usize;
    let suffixes: Vec<&str> = suffixes.split('\n').collect();
    if suffixes.len() != vocab_size {
        return Err(bad("has a vocabulary of the wrong size"));
    }
    let prefixes = take(vocab_size)?;
    let mut tokens: Vec<String> = Vec::with_capacity(vocab_size);
    for (i, (&units, suffix)) in prefixes.iter().zip(&suffixes).enumerate() {
        let previous = if i == 0 { "" } else { tokens[i - 1].as_str() };
        let mut bytes = 0;
        let mut left = usize::from(units);
        for c in previous.chars() {
            if left == 0 {
                break;
            }
            left = left
                .checked_sub(c.len_utf16())
                .ok_or_else(|| bad("has a prefix length inside a character"))?;
            bytes += c.len_utf8();
        }
        if left != 0 {
            return Err(bad("has a prefix longer than the token before"));
        }
        let token = format!("{}{suffix}", &previous[..bytes]);
        tokens.push(token);
    }
    let weights: Vec<f32> = take(4 * vocab_size)?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    if at != raw.len() {
        return Err(bad("has trailing bytes"));
    }
    let wp = &header["wordpiece"];
    let unk_id = wp["unk_id"].as_u64().unwrap_or(u64::MAX) as usize;
    let unk = tokens
        .get(unk_id)
        .ok_or_else(|| bad("names an unknown-token id outside the vocabulary"))?;
    let mut normalizer = header["normalizer"].clone();
    normalizer["type"] = json!("BertNormalizer");
    let vocab_map: serde_json::Map<String, Value> = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| (t.to_string(), json!(id)))
        .collect();
    let spec = json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": header["added_tokens"],
        "normalizer": normalizer,
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordPiece", "unk_token": unk,
                  "continuing_subword_prefix": wp["continuing_subword_prefix"],
                  "max_input_chars_per_word": wp["max_input_chars_per_word"],
                  "vocab": vocab_map},
    });
    let max_query = header["max_query_tokens"].as_u64().unwrap_or(512) as usize;
    let tokenizer = TextTokenizer::from_bytes(
        spec.to_string().as_bytes(),
        max_query,
        false,
        "tokenizer.bin",
    )?;
    let fingerprint = header["fingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((QueryEncoder::new(tokenizer, weights)?, fingerprint))
}

//! Posting shards: per-token lists of (passage ordinal, 8-bit impact), grouped into shards by
//! token id (see `FORMAT.md`, "Posting shard body" and "Scoring").

use super::format::put_varint;
use crate::error::{Error, Result};
use crate::sparse::SparseVector;

/// Largest integer query factor: 2^24 · 255 · 512 query tokens stays below 2^53, so sums are
/// exact in a JS number and in f64.
pub const MAX_FACTOR: f64 = (1u32 << 24) as f64;

/// Collects every passage's vector by token; quantizes and shards on `finish`.
pub struct PostingsBuilder {
    lists: Vec<Vec<(u32, f32)>>,
    passages: u32,
}

/// One token's quantized list.
pub struct TokenList {
    pub token: u32,
    pub factor: u32,
    pub scale: f32,
    pub ordinals: Vec<u32>,
    pub impacts: Vec<u8>,
}

pub struct Postings {
    /// `(first token id, body)` per shard.
    pub shards: Vec<(u32, Vec<u8>)>,
    pub score_unit: f64,
    pub tokens: usize,
    pub postings: u64,
}

impl PostingsBuilder {
    pub fn new(vocab_size: usize) -> Self {
        Self {
            lists: vec![Vec::new(); vocab_size],
            passages: 0,
        }
    }

    pub fn vocab_size(&self) -> usize {
        self.lists.len()
    }

    /// Adds the next passage (ordinals are given in order).
    pub fn add(&mut self, vector: &SparseVector) -> Result<()> {
        let ordinal = self.passages;
        for (&token, &w) in vector.indices().iter().zip(vector.values()) {
            if !(w.is_finite() && w > 0.0) {
                return Err(Error::input(format!(
                    "passage {ordinal}: weight of token id {token} is {w}; document weights must be positive and finite"
                )));
            }
            let vocab = self.lists.len();
            let list = self.lists.get_mut(token as usize).ok_or_else(|| {
                Error::input(format!(
                    "passage {ordinal}: token id {token} is outside the vocabulary of {vocab} ids"
                ))
            })?;
            list.push((ordinal, w));
        }
        self.passages += 1;
        Ok(())
    }

    /// Quantizes every list (per-token scale) and computes the integer query factors from the
    /// query weights `query_weights[token]`.
    pub fn quantize(self, query_weights: &[f32]) -> Result<(Vec<TokenList>, f64)> {
        let scales: Vec<f32> = self
            .lists
            .iter()
            .map(|list| list.iter().fold(0.0f32, |m, &(_, w)| m.max(w)) / 255.0)
            .collect();
        let query = |t: usize| f64::from(query_weights.get(t).copied().unwrap_or(0.0));
        let products: Vec<f64> = (0..self.lists.len())
            .map(|t| query(t).max(0.0) * f64::from(scales[t]))
            .collect();
        let largest = products.iter().copied().fold(0.0, f64::max);
        if largest <= 0.0 {
            return Ok((Vec::new(), 1.0));
        }
        let unit = largest / MAX_FACTOR;
        let mut out = Vec::new();
        for (token, list) in self.lists.into_iter().enumerate() {
            let factor = (products[token] / unit).round();
            if list.is_empty() || factor < 1.0 {
                continue;
            }
            let scale = f64::from(scales[token]);
            let (ordinals, impacts) = list
                .into_iter()
                .map(|(ordinal, w)| {
                    (
                        ordinal,
                        (f64::from(w) / scale).round().clamp(1.0, 255.0) as u8,
                    )
                })
                .unzip();
            out.push(TokenList {
                token: token as u32,
                factor: factor as u32,
                scale: scales[token],
                ordinals,
                impacts,
            });
        }
        Ok((out, unit))
    }
}

/// Token lists → shard bodies of about `target_bytes` (uncompressed) each; a list bigger than the
/// target gets a shard of its own.
pub fn shard(lists: &[TokenList], target_bytes: usize) -> Vec<(u32, Vec<u8>)> {
    let mut shards = Vec::new();
    let mut start = 0;
    let mut size = 0;
    let encoded: Vec<Vec<u8>> = lists.iter().map(encode_ids).collect();
    for (i, list) in lists.iter().enumerate() {
        let bytes = encoded[i].len() + list.impacts.len() + 16;
        if i > start && size + bytes > target_bytes {
            shards.push(shard_body(
                &lists[start..i],
                &encoded[start..i],
                shards.is_empty(),
            ));
            start = i;
            size = 0;
        }
        size += bytes;
    }
    if start < lists.len() || shards.is_empty() {
        shards.push(shard_body(
            &lists[start..],
            &encoded[start..],
            shards.is_empty(),
        ));
    }
    shards
}

fn encode_ids(list: &TokenList) -> Vec<u8> {
    let mut out = Vec::with_capacity(list.ordinals.len() * 2);
    let mut previous = None;
    for &o in &list.ordinals {
        put_varint(&mut out, previous.map_or(o, |p| o - p));
        previous = Some(o);
    }
    out
}

fn shard_body(lists: &[TokenList], ids: &[Vec<u8>], first: bool) -> (u32, Vec<u8>) {
    let first_token = if first {
        0
    } else {
        lists.first().map_or(0, |l| l.token)
    };
    let mut body = Vec::new();
    put_varint(&mut body, lists.len() as u32);
    let mut previous = first_token;
    for (list, ids) in lists.iter().zip(ids) {
        put_varint(&mut body, list.token - previous);
        previous = list.token;
        put_varint(&mut body, list.ordinals.len() as u32);
        put_varint(&mut body, list.factor);
        body.extend_from_slice(&list.scale.to_le_bytes());
        put_varint(&mut body, ids.len() as u32);
    }
    for (list, ids) in lists.iter().zip(ids) {
        body.extend_from_slice(ids);
        body.extend_from_slice(&list.impacts);
    }
    (first_token, body)
}

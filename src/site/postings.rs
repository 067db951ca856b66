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

/// How many postings a tail segment holds relative to the segment before it.
const TAIL_GROWTH: usize = 4;

/// A list cut by impact: the head (the highest impacts) goes into the token-range shards, each
/// tail into a file of its own, fetched only when a search's upper bound needs it.
pub struct SplitList {
    pub head: TokenList,
    /// Tail segments, impacts decreasing from one to the next; each in ordinal order.
    pub tails: Vec<TokenList>,
}

impl SplitList {
    fn whole(list: TokenList) -> Self {
        Self {
            head: list,
            tails: Vec::new(),
        }
    }
}

/// Splits `list` when it holds more than `head_postings` postings (0: never): the head keeps the
/// `head_postings` highest impacts (ties: lower ordinal first), every tail segment
/// `TAIL_GROWTH` times the one before, so a search that needs all of a list fetches O(log n) files.
pub fn split(list: TokenList, head_postings: usize) -> SplitList {
    if head_postings == 0 || list.ordinals.len() <= head_postings {
        return SplitList::whole(list);
    }
    let mut order: Vec<usize> = (0..list.ordinals.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(list.impacts[i]), list.ordinals[i]));
    let mut segments = Vec::new();
    let mut size = head_postings;
    let mut rest = &order[..];
    while !rest.is_empty() {
        let (take, more) = rest.split_at(size.min(rest.len()));
        let mut members = take.to_vec();
        members.sort_unstable();
        segments.push(TokenList {
            token: list.token,
            factor: list.factor,
            scale: list.scale,
            ordinals: members.iter().map(|&i| list.ordinals[i]).collect(),
            impacts: members.iter().map(|&i| list.impacts[i]).collect(),
        });
        rest = more;
        size = size.saturating_mul(TAIL_GROWTH);
    }
    let tails = segments.split_off(1);
    SplitList {
        head: segments.pop().expect("a head"),
        tails,
    }
}

/// A token-range shard: its first token id and body.
pub type RangeShard = (u32, Vec<u8>);

/// The shard files of split lists: token-range shards of about `target_bytes` (uncompressed)
/// holding the heads (a head bigger than the target gets a shard of its own), then one file per
/// tail segment, numbered after them. Returns `(first token, body)` per range shard and the tail
/// bodies.
pub fn shard(lists: &[SplitList], target_bytes: usize) -> (Vec<RangeShard>, Vec<Vec<u8>>) {
    // Ranges first: the tails' file numbers start after the last range shard.
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    let mut size = 0;
    let encoded: Vec<Vec<u8>> = lists.iter().map(|l| encode_ids(&l.head)).collect();
    for (i, list) in lists.iter().enumerate() {
        let bytes = encoded[i].len() + list.head.impacts.len() + 16 + 4 * list.tails.len();
        if i > start && size + bytes > target_bytes {
            ranges.push(start..i);
            start = i;
            size = 0;
        }
        size += bytes;
    }
    if start < lists.len() || ranges.is_empty() {
        ranges.push(start..lists.len());
    }
    let mut next_tail = ranges.len();
    let mut tail_files: Vec<Vec<(usize, u8)>> = Vec::with_capacity(lists.len());
    for list in lists {
        let files = list
            .tails
            .iter()
            .map(|t| {
                next_tail += 1;
                let max = t.impacts.iter().copied().max().expect("non-empty segment");
                (next_tail - 1, max)
            })
            .collect();
        tail_files.push(files);
    }
    let shards = ranges
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let first_token = if n == 0 { 0 } else { lists[r.start].head.token };
            let heads: Vec<&TokenList> = lists[r.clone()].iter().map(|l| &l.head).collect();
            let body = shard_body(
                first_token,
                &heads,
                &encoded[r.clone()],
                &tail_files[r.clone()],
            );
            (first_token, body)
        })
        .collect();
    let tails = lists
        .iter()
        .flat_map(|l| &l.tails)
        .map(|t| shard_body(t.token, &[t], &[encode_ids(t)], &[Vec::new()]))
        .collect();
    (shards, tails)
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

fn shard_body(
    first_token: u32,
    lists: &[&TokenList],
    ids: &[Vec<u8>],
    tails: &[Vec<(usize, u8)>],
) -> Vec<u8> {
    let mut body = Vec::new();
    put_varint(&mut body, lists.len() as u32);
    let mut previous = first_token;
    for ((list, ids), tails) in lists.iter().zip(ids).zip(tails) {
        put_varint(&mut body, list.token - previous);
        previous = list.token;
        put_varint(&mut body, list.ordinals.len() as u32);
        put_varint(&mut body, list.factor);
        body.extend_from_slice(&list.scale.to_le_bytes());
        put_varint(&mut body, ids.len() as u32);
        put_varint(&mut body, tails.len() as u32);
        for &(file, max) in tails {
            put_varint(&mut body, file as u32);
            put_varint(&mut body, u32::from(max));
        }
    }
    for (list, ids) in lists.iter().zip(ids) {
        body.extend_from_slice(ids);
        body.extend_from_slice(&list.impacts);
    }
    body
}

//! The index file format, version 1. All integers little-endian.
//!
//! ```text
//! magic      8 bytes  "SPLADEIX"
//! version    u32      1
//! body_len   u64      bytes of the body
//! body:
//!   doc_count  varint
//!   doc_count × (id_len varint, id UTF-8 bytes)          slot order: a document's slot is its rank
//!   list_count varint
//!   list_count × posting list, by increasing token id:
//!     token      varint  the first list's token id, then the gap to the previous one (≥ 1)
//!     len        varint  ≥ 1
//!     len × slot varint  the first slot, then the gap to the previous one (≥ 1)
//!     len × weight f32   finite, non-zero
//! crc32      u32      CRC-32 (IEEE) of everything before it
//! ```
//!
//! Varints are unsigned LEB128. Loading checks the magic, the version, the length and the checksum
//! before it parses anything, then validates the structure too (so a hand-made file with a valid
//! checksum still cannot cause a panic or an oversized allocation).

use std::collections::HashMap;

use super::{Posting, SparseIndex, TokenMap};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"SPLADEIX";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8;
const CHECKSUM_LEN: usize = 4;

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

impl SparseIndex {
    /// Serialises the live documents (tombstones are left out, slots renumbered densely).
    pub fn save(&self) -> Vec<u8> {
        let live = self.len();
        // Dense slot numbers for the live documents, in slot order.
        let remap: Option<Vec<u32>> = (self.dead_slots > 0).then(|| {
            let mut next = 0;
            self.slots
                .iter()
                .map(|id| {
                    let slot = next;
                    next += u32::from(id.is_some());
                    slot
                })
                .collect()
        });
        let is_live = |slot: u32| self.slots[slot as usize].is_some();

        let mut tokens: Vec<(u32, usize)> = self
            .postings
            .iter()
            .map(|(&token, list)| {
                let n = if remap.is_some() {
                    list.iter().filter(|p| is_live(p.slot)).count()
                } else {
                    list.len()
                };
                (token, n)
            })
            .filter(|&(_, n)| n > 0)
            .collect();
        tokens.sort_unstable_by_key(|&(token, _)| token);

        let id_bytes: usize = self.by_id.keys().map(|id| id.len() + 2).sum();
        let postings = self.total_postings - self.dead_postings;
        let mut out =
            Vec::with_capacity(HEADER_LEN + id_bytes + tokens.len() * 4 + postings * 6 + 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // body_len, patched below

        put_varint(&mut out, live as u64);
        for id in self.ids() {
            put_varint(&mut out, id.len() as u64);
            out.extend_from_slice(id.as_bytes());
        }
        put_varint(&mut out, tokens.len() as u64);
        let mut previous_token = 0;
        for &(token, n) in &tokens {
            put_varint(&mut out, u64::from(token - previous_token));
            previous_token = token;
            put_varint(&mut out, n as u64);
            let list = &self.postings[&token];
            let live_postings = list.iter().filter(|p| remap.is_none() || is_live(p.slot));
            let mut previous_slot = 0;
            for p in live_postings.clone() {
                let slot = remap.as_ref().map_or(p.slot, |r| r[p.slot as usize]);
                put_varint(&mut out, u64::from(slot - previous_slot));
                previous_slot = slot;
            }
            for p in live_postings {
                out.extend_from_slice(&p.weight.to_le_bytes());
            }
        }

        let body_len = (out.len() - HEADER_LEN) as u64;
        out[12..HEADER_LEN].copy_from_slice(&body_len.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads an index written by [`SparseIndex::save`]. Every malformed input (wrong magic,
    /// another format version, truncation, a checksum mismatch, an inconsistent structure) is an
    /// [`Error::Input`] saying which.
    pub fn load(bytes: &[u8]) -> Result<SparseIndex> {
        let min_len = HEADER_LEN + CHECKSUM_LEN;
        let prefix = &bytes[..bytes.len().min(MAGIC.len())];
        if prefix != &MAGIC[..prefix.len()] {
            return Err(Error::input(
                "not a splade-wasm index file (it does not start with the magic bytes `SPLADEIX`)",
            ));
        }
        if bytes.len() < min_len {
            return Err(Error::input(format!(
                "the index file is truncated: {} bytes, shorter than the {min_len}-byte header and checksum",
                bytes.len()
            )));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(Error::input(format!(
                "index format version {version} is not supported: this build reads version {VERSION} \
                 (re-create the index with this version)"
            )));
        }
        let body_len = u64::from_le_bytes(bytes[12..HEADER_LEN].try_into().expect("8 bytes"));
        let available = (bytes.len() - min_len) as u64;
        if body_len > available {
            return Err(Error::input(format!(
                "the index file is truncated: {} bytes, but its header announces {}",
                bytes.len(),
                body_len.saturating_add(min_len as u64)
            )));
        }
        if body_len < available {
            return Err(Error::input(format!(
                "the index file has {} unexpected bytes after its end",
                available - body_len
            )));
        }
        let (content, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        let expected = u32::from_le_bytes(checksum.try_into().expect("4 bytes"));
        let actual = crc32fast::hash(content);
        if actual != expected {
            return Err(Error::input(format!(
                "the index file is corrupt: checksum mismatch (stored {expected:08x}, computed {actual:08x})"
            )));
        }
        parse_body(&content[HEADER_LEN..])
            .map_err(|what| Error::input(format!("the index file is corrupt: {what}")))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn varint(&mut self, what: &str) -> std::result::Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(format!("the body ends inside {what}"));
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(format!("{what} overflows 64 bits"));
            }
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(format!("{what} overflows 64 bits"))
    }

    /// A varint that must be at most `max`.
    fn bounded(&mut self, what: &str, max: u64) -> std::result::Result<u64, String> {
        let n = self.varint(what)?;
        if n > max {
            return Err(format!("{what} is {n}, more than {max}"));
        }
        Ok(n)
    }

    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!("the body ends inside {what}"));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
}

fn parse_body(body: &[u8]) -> std::result::Result<SparseIndex, String> {
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    // Every id costs at least its length byte, so the count is bounded by the bytes left.
    let doc_count = r.bounded("the document count", r.remaining() as u64)? as usize;
    let mut slots = Vec::with_capacity(doc_count);
    let mut by_id = HashMap::with_capacity(doc_count);
    for slot in 0..doc_count {
        let len = r.bounded("a document id length", r.remaining() as u64)? as usize;
        let id = std::str::from_utf8(r.take(len, "a document id")?)
            .map_err(|_| format!("document id {slot} is not valid UTF-8"))?;
        let id: Box<str> = id.into();
        if by_id.insert(id.clone(), slot as u32).is_some() {
            return Err(format!("document id `{id}` appears twice"));
        }
        slots.push(Some(id));
    }
    if doc_count >= u32::MAX as usize {
        return Err(format!("{doc_count} documents exceed the 2^32 - 1 slots"));
    }

    let mut lens = vec![0u32; doc_count];
    // Every list costs at least 3 bytes (token, length, one slot) + 4 (one weight).
    let list_count = r.bounded("the posting list count", r.remaining() as u64 / 7)? as usize;
    let mut postings = TokenMap::default();
    postings.reserve(list_count);
    let mut total_postings = 0usize;
    let mut next_token = 0u64;
    for i in 0..list_count {
        let gap = r.bounded("a token id", u64::from(u32::MAX))?;
        if i > 0 && gap == 0 {
            return Err("token ids are not strictly increasing".to_string());
        }
        next_token += gap;
        let token =
            u32::try_from(next_token).map_err(|_| format!("token id {next_token} exceeds u32"))?;
        let len = r.bounded("a posting list length", r.remaining() as u64 / 5)? as usize;
        if len == 0 {
            return Err(format!("token {token} has an empty posting list"));
        }
        let mut list = Vec::with_capacity(len);
        let mut slot = 0u64;
        for j in 0..len {
            let gap = r.bounded("a slot", doc_count as u64)?;
            if j > 0 && gap == 0 {
                return Err(format!(
                    "the slots of token {token} are not strictly increasing"
                ));
            }
            slot += gap;
            if slot >= doc_count as u64 {
                return Err(format!(
                    "token {token} refers to document slot {slot} of {doc_count}"
                ));
            }
            lens[slot as usize] += 1;
            list.push(Posting {
                slot: slot as u32,
                weight: 0.0,
            });
        }
        let weights = r.take(len * 4, "posting weights")?;
        for (p, w) in list.iter_mut().zip(weights.chunks_exact(4)) {
            p.weight = f32::from_le_bytes(w.try_into().expect("4 bytes"));
            if !p.weight.is_finite() || p.weight == 0.0 {
                return Err(format!(
                    "token {token} has weight {} for slot {}",
                    p.weight, p.slot
                ));
            }
        }
        total_postings += len;
        postings.insert(token, list);
    }
    if r.remaining() != 0 {
        return Err(format!(
            "{} bytes after the last posting list",
            r.remaining()
        ));
    }
    Ok(SparseIndex {
        slots,
        lens,
        by_id,
        postings,
        dead_slots: 0,
        dead_postings: 0,
        total_postings,
        scratch: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::SparseVector;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for n in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            let mut r = Reader {
                bytes: &out,
                pos: 0,
            };
            assert_eq!(r.varint("n").unwrap(), n);
            assert_eq!(r.remaining(), 0);
        }
        let mut r = Reader {
            bytes: &[0xff; 11],
            pos: 0,
        };
        assert!(r.varint("n").unwrap_err().contains("overflows"));
    }

    /// Re-seals a modified file with a correct checksum, to reach the structural checks.
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        let body_len = (bytes.len() - HEADER_LEN) as u64;
        bytes[12..HEADER_LEN].copy_from_slice(&body_len.to_le_bytes());
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn structural_errors_behind_a_valid_checksum_are_reported() {
        let mut index = SparseIndex::new();
        let vector = SparseVector::from_pairs(vec![(3, 1.5), (9, 2.0)]);
        index.add("a", &vector).unwrap();
        index.add("b", &vector).unwrap();
        let good = index.save();
        // body: [2, 1, 'a', 1, 'b', 2 lists, token 3, len 2, slot 0, gap 1, w, w, gap 6, ...]
        let body = HEADER_LEN;
        assert_eq!(&good[body..body + 6], &[2, 1, b'a', 1, b'b', 2]);

        let mut dup = good.clone();
        dup[body + 4] = b'a';
        let e = SparseIndex::load(&reseal(dup)).unwrap_err().to_string();
        assert!(e.contains("`a` appears twice"), "{e}");

        let mut bad_slot = good.clone();
        bad_slot[body + 9] = 0; // second slot gap 0
        let e = SparseIndex::load(&reseal(bad_slot))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not strictly increasing"), "{e}");

        let mut nan = good.clone();
        nan[body + 10..body + 14].copy_from_slice(&f32::NAN.to_le_bytes());
        let e = SparseIndex::load(&reseal(nan)).unwrap_err().to_string();
        assert!(e.contains("weight NaN"), "{e}");

        let mut extra = good.clone();
        extra.insert(extra.len() - CHECKSUM_LEN, 0);
        let e = SparseIndex::load(&reseal(extra)).unwrap_err().to_string();
        assert!(e.contains("1 bytes after the last posting list"), "{e}");

        let mut huge = good[..body].to_vec();
        put_varint(&mut huge, u64::MAX >> 1);
        huge.extend_from_slice(&[0; 4]);
        let e = SparseIndex::load(&reseal(huge)).unwrap_err().to_string();
        assert!(e.contains("the document count is"), "{e}");
    }
}

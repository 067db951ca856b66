//! The passage-vector cache that makes rebuilds incremental: f32 vectors keyed by SHA-256 of the
//! model fingerprint and the encoded text. Quantization happens after the cache (it depends on
//! the whole corpus), so a rebuild from the cache equals a clean build byte for byte.
//!
//! File: magic "SPLDVCC1", u32 entry count, entries sorted by key (32-byte key, u32 nnz, nnz × u32
//! token id, nnz × f32 weight), then a CRC-32 of everything before it. All little-endian.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::sparse::SparseVector;

const MAGIC: &[u8; 8] = b"SPLDVCC1";

pub type Key = [u8; 32];

pub fn key(fingerprint: &str, text: &str) -> Key {
    let mut h = Sha256::new();
    h.update(fingerprint.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    h.finalize().into()
}

#[derive(Default)]
pub struct VectorCache {
    entries: HashMap<Key, SparseVector>,
}

impl VectorCache {
    /// The cache at `path`; a missing file is an empty cache, an unreadable or damaged one is
    /// reported and ignored (it only saves time).
    pub fn load(path: &Path) -> Self {
        let Ok(bytes) = std::fs::read(path) else {
            return Self::default();
        };
        match parse(&bytes) {
            Some(entries) => Self { entries },
            None => {
                eprintln!(
                    "splade: ignoring the damaged vector cache `{}`; every passage will be encoded",
                    path.display()
                );
                Self::default()
            }
        }
    }

    pub fn get(&self, key: &Key) -> Option<&SparseVector> {
        self.entries.get(key)
    }

    /// Writes the entries for `keys` (the current build's passages) only, so the cache does not
    /// grow with every edit.
    pub fn save(path: &Path, entries: &[(Key, &SparseVector)]) -> Result<()> {
        let mut sorted: Vec<&(Key, &SparseVector)> = entries.iter().collect();
        sorted.sort_by_key(|(k, _)| *k);
        sorted.dedup_by_key(|(k, _)| *k);
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
        for (k, v) in sorted {
            out.extend_from_slice(k);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            for id in v.indices() {
                out.extend_from_slice(&id.to_le_bytes());
            }
            for w in v.values() {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out.extend_from_slice(&crc32fast::hash(&out).to_le_bytes());
        std::fs::write(path, out)
            .map_err(|e| Error::input(format!("cannot write the cache `{}`: {e}", path.display())))
    }
}

fn parse(bytes: &[u8]) -> Option<HashMap<Key, SparseVector>> {
    let (data, crc) = bytes.split_at(bytes.len().checked_sub(4)?);
    if !data.starts_with(MAGIC) || crc32fast::hash(data).to_le_bytes() != crc {
        return None;
    }
    let mut at: usize = 8;
    let mut take = |n: usize| {
        let out = data.get(at..at.checked_add(n)?)?;
        at += n;
        Some(out)
    };
    let u32_of = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes"));
    let count = u32_of(take(4)?) as usize;
    let mut entries = HashMap::with_capacity(count.min(data.len() / 36));
    for _ in 0..count {
        let key: Key = take(32)?.try_into().ok()?;
        let nnz = u32_of(take(4)?) as usize;
        let ids = take(nnz.checked_mul(4)?)?.chunks_exact(4).map(u32_of);
        let values = take(nnz * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")));
        let vector =
            crate::index::vector_from_parts(&ids.collect::<Vec<_>>(), &values.collect::<Vec<_>>())
                .ok()?;
        entries.insert(key, vector);
    }
    Some(entries)
}

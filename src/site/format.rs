//! The bundle's byte-level pieces (see `FORMAT.md`): varints, the integrity header every shard and
//! fragment starts with, gzip, and the manifest.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FORMAT_NAME: &str = "splade-static-search";
pub const FORMAT_VERSION: u32 = 2;
pub const MANIFEST: &str = "manifest.json";
pub const TOKENIZER: &str = "tokenizer.bin";
pub const SHARD_PATH: &str = "postings/{n}.bin";
pub const FRAGMENT_PATH: &str = "fragments/{n}.bin";
const HEADER_LEN: usize = 32;

/// What a `.bin` file holds; its magic says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Shard,
    Fragment,
}

impl FileKind {
    fn magic(self) -> &'static [u8; 8] {
        match self {
            FileKind::Shard => b"SPLDSHRD",
            FileKind::Fragment => b"SPLDFRAG",
        }
    }

    pub fn path(self, n: usize) -> String {
        let template = match self {
            FileKind::Shard => SHARD_PATH,
            FileKind::Fragment => FRAGMENT_PATH,
        };
        template.replace("{n}", &n.to_string())
    }
}

pub fn put_varint(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A cursor over a body that has passed its checksum; malformed content still gives an error,
/// never a panic, so a hand-made file cannot crash the reader.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    file: &'a str,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8], file: &'a str) -> Self {
        Self {
            bytes,
            pos: 0,
            file,
        }
    }

    pub fn malformed(&self, what: &str) -> Error {
        Error::input(format!(
            "bundle file `{}` is malformed at byte {}: {what}",
            self.file, self.pos
        ))
    }

    pub fn varint(&mut self) -> Result<u32> {
        let mut n: u64 = 0;
        for shift in (0..35).step_by(7) {
            let byte = *self
                .bytes
                .get(self.pos)
                .ok_or_else(|| self.malformed("varint runs past the end"))?;
            self.pos += 1;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return u32::try_from(n).map_err(|_| self.malformed("varint over 32 bits"));
            }
        }
        Err(self.malformed("varint longer than 5 bytes"))
    }

    pub fn f32(&mut self) -> Result<f32> {
        let bytes = self.take(4)?;
        Ok(f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.malformed("data runs past the end"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn is_at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// The first 8 bytes of a SHA-256, as the build id.
pub type BuildId = [u8; 8];

pub fn build_id_hex(id: &BuildId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn parse_build_id(hex: &str) -> Result<BuildId> {
    let bad = || {
        Error::input(format!(
            "manifest `build` must be 16 hex digits, got {hex:?}"
        ))
    };
    if hex.len() != 16 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut id = [0u8; 8];
    for (i, slot) in id.iter_mut().enumerate() {
        *slot = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(id)
}

/// Header + body, gzip-compressed: the stored form of a shard or fragment.
pub fn seal(kind: FileKind, n: usize, build: &BuildId, body: &[u8]) -> Result<Vec<u8>> {
    let mut raw = Vec::with_capacity(HEADER_LEN + body.len());
    raw.extend_from_slice(kind.magic());
    raw.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    raw.extend_from_slice(&(n as u32).to_le_bytes());
    raw.extend_from_slice(build);
    raw.extend_from_slice(&(body.len() as u32).to_le_bytes());
    raw.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    raw.extend_from_slice(body);
    gzip(&raw)
}

/// Checks a stored file (gzip or already decompressed) and returns its body.
pub fn open(
    kind: FileKind,
    n: usize,
    build: &BuildId,
    stored: &[u8],
    file: &str,
) -> Result<Vec<u8>> {
    let raw = if stored.starts_with(&[0x1f, 0x8b]) {
        gunzip(stored).map_err(|e| {
            Error::input(format!(
                "bundle file `{file}` is corrupt or truncated (gzip: {e})"
            ))
        })?
    } else {
        stored.to_vec()
    };
    let bad = |what: &str| Error::input(format!("bundle file `{file}` {what}"));
    if raw.len() < HEADER_LEN {
        return Err(bad("is truncated (shorter than its header)"));
    }
    let u32_at = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().expect("4 bytes"));
    if &raw[..8] != kind.magic() {
        return Err(bad(
            "is not a bundle file of the expected kind (wrong magic)",
        ));
    }
    if u32_at(8) != FORMAT_VERSION {
        return Err(bad(&format!(
            "has format version {}, this reader reads {FORMAT_VERSION}",
            u32_at(8)
        )));
    }
    if u32_at(12) as usize != n {
        return Err(bad(&format!(
            "holds file number {}, expected {n}",
            u32_at(12)
        )));
    }
    if raw[16..24] != build[..] {
        return Err(bad(&format!(
            "is from another build ({}, the manifest says {}): reload the page or rebuild the bundle",
            build_id_hex(&raw[16..24].try_into().expect("8 bytes")),
            build_id_hex(build)
        )));
    }
    let body = &raw[HEADER_LEN..];
    if body.len() != u32_at(24) as usize {
        return Err(bad(&format!(
            "is truncated or padded: body of {} bytes, header says {}",
            body.len(),
            u32_at(24)
        )));
    }
    if crc32fast::hash(body) != u32_at(28) {
        return Err(bad("is corrupt (checksum mismatch)"));
    }
    Ok(body.to_vec())
}

pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| Error::input(format!("gzip failed: {e}")))
}

pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRef {
    pub path: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ShardMap {
    pub path: String,
    pub count: usize,
    pub first_token: Vec<u32>,
    /// Tail files (split lists), numbered after the `count` token-range shards.
    pub tails: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FragmentMap {
    pub path: String,
    pub count: usize,
    pub passages_per_fragment: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub build: String,
    pub model: Option<ModelInfo>,
    pub documents: usize,
    pub passages: usize,
    pub vocab_size: usize,
    pub tokens: usize,
    pub postings: u64,
    pub score_unit: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<FileRef>,
    pub shards: ShardMap,
    pub fragments: FragmentMap,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Error::input(format!("`{MANIFEST}` is not a bundle manifest: {e}")))?;
        if m.format != FORMAT_NAME || m.version != FORMAT_VERSION {
            return Err(Error::input(format!(
                "`{MANIFEST}` is {} version {}, this reader reads {FORMAT_NAME} version {FORMAT_VERSION}",
                m.format, m.version
            )));
        }
        let first = &m.shards.first_token;
        if first.len() != m.shards.count
            || first.first() != Some(&0)
            || first.windows(2).any(|w| w[0] >= w[1])
            || m.fragments.passages_per_fragment == 0
            || m.fragments.count != m.passages.div_ceil(m.fragments.passages_per_fragment)
        {
            return Err(Error::input(format!(
                "`{MANIFEST}` has an inconsistent shard or fragment map"
            )));
        }
        Ok(m)
    }

    pub fn build_id(&self) -> Result<BuildId> {
        parse_build_id(&self.build)
    }

    /// Posting files: token-range shards, then tails.
    pub fn shard_files(&self) -> usize {
        self.shards.count + self.shards.tails
    }

    /// The shard holding `token`'s list (its head, when split).
    pub fn shard_of(&self, token: u32) -> usize {
        self.shards.first_token.partition_point(|&f| f <= token) - 1
    }
}

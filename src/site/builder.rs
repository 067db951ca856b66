//! `splade site build`: documents → passages → vectors (cache, model or given) → shards and
//! fragments → a bundle folder.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::cache::{self, VectorCache};
use super::format::{
    build_id_hex, seal, FileKind, FileRef, FragmentMap, Manifest, ModelInfo, ShardMap, FORMAT_NAME,
    FORMAT_VERSION, FRAGMENT_PATH, MANIFEST, SHARD_PATH, TOKENIZER,
};
use super::input::SiteDocument;
use super::passages::{split_passages, Utf16Text};
use super::postings::{shard, split, PostingsBuilder, SplitList};
use super::reader::PassageRecord;
use super::tokenizer_asset;
use crate::encoder::SparseEncoder;
use crate::error::{Error, Result};
use crate::sparse::SparseVector;
use crate::DirectoryFiles;

/// Shard bodies of about this many bytes before compression (see FORMAT.md for the measurements).
pub const DEFAULT_SHARD_BYTES: usize = 2048;
/// Passages per fragment file.
pub const DEFAULT_PASSAGES_PER_FRAGMENT: usize = 16;
/// Lists longer than this many postings are split by impact (FORMAT.md, "Split lists"); 0: none
/// are, which measured cheaper on every corpus so far (FORMAT.md, "Choices").
pub const DEFAULT_HEAD_POSTINGS: usize = 0;

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub shard_bytes: usize,
    pub passages_per_fragment: usize,
    /// Lists longer than this are split into a head of this many postings and tails (0: never).
    pub head_postings: usize,
    /// Passage token budget (default: the model's maximum document length less 3, as the JS library).
    pub max_passage_tokens: Option<usize>,
    /// The vector cache file (`None`: no cache).
    pub cache: Option<PathBuf>,
    /// Progress on stderr.
    pub progress: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            shard_bytes: DEFAULT_SHARD_BYTES,
            passages_per_fragment: DEFAULT_PASSAGES_PER_FRAGMENT,
            head_postings: DEFAULT_HEAD_POSTINGS,
            max_passage_tokens: None,
            cache: None,
            progress: false,
        }
    }
}

/// A loaded model with its fingerprint.
pub struct Model {
    pub encoder: SparseEncoder,
    pub info: ModelInfo,
}

impl Model {
    /// A model folder or a model pack file.
    pub fn load(path: &Path) -> Result<Self> {
        let name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| path.display().to_string());
        let mut hash = Sha256::new();
        let encoder = if path.is_file() {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
            hash.update(&bytes);
            SparseEncoder::from_pack(&bytes)?
        } else {
            let mut files = Vec::new();
            list_files(path, path, &mut files)?;
            files.sort();
            for relative in files {
                let bytes = std::fs::read(path.join(&relative))
                    .map_err(|e| Error::input(format!("cannot read `{relative}`: {e}")))?;
                hash.update(relative.as_bytes());
                hash.update([0]);
                hash.update((bytes.len() as u64).to_le_bytes());
                hash.update(bytes);
            }
            SparseEncoder::load(&DirectoryFiles::new(path)?)?
        };
        let fingerprint = format!("sha256:{}", hex(&hash.finalize()));
        Ok(Self {
            encoder,
            info: ModelInfo { name, fingerprint },
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::input(format!("cannot list `{}`: {e}", dir.display())))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::input(format!("cannot list `{}`: {e}", dir.display())))?;
        let path = entry.path();
        if path.is_dir() {
            list_files(root, &path, out)?;
        } else {
            let relative = path.strip_prefix(root).expect("under root");
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// A passage to index: where it came from, what gets encoded, what gets shown.
#[derive(Debug, Clone)]
pub struct Passage {
    pub record: PassageRecord,
    /// The encoded text: the document's title (for its first passage, as a heading) and the passage.
    pub encoded: String,
}

/// Splits documents into passages with the JS library's rules. The document text is the title,
/// a blank line and the text, so the first passage carries the title as a heading; each record's
/// `text` leaves the title out (it is shown separately).
pub fn passages(
    model: &Model,
    docs: &[SiteDocument],
    max_tokens: Option<usize>,
) -> Result<Vec<Passage>> {
    let doc_encoder = model.encoder.document_encoder();
    let model_max = doc_encoder.tokenizer().max_length();
    let budget = max_tokens
        .unwrap_or(model_max)
        .min(model_max)
        .saturating_sub(3)
        .max(8);
    let count =
        |s: &str| -> Result<usize> { Ok(doc_encoder.token_ids(s)?.len().saturating_sub(2)) };
    let per_doc: Vec<Vec<Passage>> = docs
        .par_iter()
        .map(|doc| {
            let title = doc.title.trim();
            let full = if title.is_empty() {
                doc.text.clone()
            } else {
                format!("{title}\n\n{}", doc.text)
            };
            let body_start = if title.is_empty() {
                0
            } else {
                title.encode_utf16().count() + 2
            };
            let text = Utf16Text::new(&full);
            let spans = split_passages(&text, budget, count)?;
            Ok(spans
                .iter()
                .enumerate()
                .map(|(n, span)| {
                    let shown = text.slice(span.start.max(body_start).min(span.end), span.end);
                    Passage {
                        record: PassageRecord {
                            id: doc.id.clone(),
                            n,
                            title: title.to_string(),
                            url: doc.url.clone(),
                            text: shown.trim().to_string(),
                            tail: Vec::new(),
                        },
                        encoded: text.slice(span.start, span.end),
                    }
                })
                .collect())
        })
        .collect::<Result<_>>()?;
    Ok(per_doc.into_iter().flatten().collect())
}

/// Stderr progress: count, rate and time left, redrawn at most twice a second.
pub struct Progress {
    label: &'static str,
    total: usize,
    done: AtomicUsize,
    start: Instant,
    last: Mutex<Instant>,
    enabled: bool,
}

impl Progress {
    pub fn new(label: &'static str, total: usize, enabled: bool) -> Self {
        let now = Instant::now();
        Self {
            label,
            total,
            done: AtomicUsize::new(0),
            start: now,
            last: Mutex::new(now),
            enabled,
        }
    }

    pub fn add(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if !self.enabled {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if done < self.total && last.elapsed().as_millis() < 500 {
            return;
        }
        *last = Instant::now();
        let seconds = self.start.elapsed().as_secs_f64();
        let rate = done as f64 / seconds.max(1e-9);
        let eta = (self.total - done.min(self.total)) as f64 / rate.max(1e-9);
        let width = 30;
        let filled = (width * done / self.total.max(1)).min(width);
        eprint!(
            "\r{} [{}{}] {done}/{} ({rate:.0}/s, ETA {}:{:02})   ",
            self.label,
            "#".repeat(filled),
            ".".repeat(width - filled),
            self.total,
            eta as u64 / 60,
            eta as u64 % 60
        );
        if done >= self.total {
            eprintln!();
        }
    }
}

/// Vectors for `passages`: cached ones reused, the rest encoded on all cores (one passage per
/// forward pass, so a vector never depends on which passages were encoded with it). Returns the
/// vectors and how many were encoded.
pub fn encode_passages(
    model: &Model,
    passages: &[Passage],
    options: &BuildOptions,
) -> Result<(Vec<SparseVector>, usize)> {
    let cache = options
        .cache
        .as_deref()
        .map(VectorCache::load)
        .unwrap_or_default();
    let keys: Vec<cache::Key> = passages
        .par_iter()
        .map(|p| cache::key(&model.info.fingerprint, &p.encoded))
        .collect();
    let missing: Vec<usize> = (0..passages.len())
        .filter(|&i| cache.get(&keys[i]).is_none())
        .collect();
    let progress = Progress::new(
        "encoding",
        missing.len(),
        options.progress && !missing.is_empty(),
    );
    let encoded: Vec<SparseVector> = missing
        .par_iter()
        .map(|&i| {
            let v = model.encoder.encode_document(&passages[i].encoded);
            progress.add(1);
            v
        })
        .collect::<Result<_>>()?;
    let mut fresh = encoded.into_iter();
    let mut next_missing = missing.iter().peekable();
    let vectors: Vec<SparseVector> = (0..passages.len())
        .map(|i| {
            if next_missing.peek() == Some(&&i) {
                next_missing.next();
                fresh.next().expect("one vector per missing passage")
            } else {
                cache.get(&keys[i]).expect("cached").clone()
            }
        })
        .collect();
    if let Some(path) = &options.cache {
        let entries: Vec<(cache::Key, &SparseVector)> =
            keys.iter().copied().zip(&vectors).collect();
        VectorCache::save(path, &entries)?;
    }
    Ok((vectors, missing.len()))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildReport {
    pub build: String,
    pub documents: usize,
    pub passages: usize,
    pub encoded: usize,
    pub tokens: usize,
    pub postings: u64,
    pub shards: usize,
    pub shard_bytes: u64,
    pub fragments: usize,
    pub fragment_bytes: u64,
    pub tokenizer_bytes: u64,
    pub total_bytes: u64,
    pub files: usize,
}

/// What goes into a bundle besides the postings.
pub struct BundleContent<'a> {
    pub model: Option<(&'a ModelInfo, &'a crate::query::QueryEncoder)>,
    pub documents: usize,
    pub records: Vec<PassageRecord>,
}

/// Quantizes, shards and writes the bundle into `out` (replacing any bundle there).
pub fn write_bundle(
    out: &Path,
    postings: PostingsBuilder,
    content: BundleContent<'_>,
    options: &BuildOptions,
) -> Result<BuildReport> {
    let vocab_size = postings.vocab_size();
    let weights = match content.model {
        Some((_, query)) => query.weights().to_vec(),
        None => vec![1.0; vocab_size],
    };
    let (mut lists, score_unit) = postings.quantize(&weights)?;
    if let Some((_, query)) = content.model {
        // Bundle token ids are the tokenizer asset's (sorted vocabulary); ids past it stay.
        let ranks = tokenizer_asset::ranks(query)?;
        for list in &mut lists {
            list.token = ranks
                .get(list.token as usize)
                .copied()
                .unwrap_or(list.token);
        }
        lists.sort_unstable_by_key(|l| l.token);
    }
    let total_postings: u64 = lists.iter().map(|l| l.ordinals.len() as u64).sum();
    let token_count = lists.len();
    let lists: Vec<SplitList> = lists
        .into_iter()
        .map(|l| split(l, options.head_postings))
        .collect();
    // A passage's postings in tail segments go into its fragment record too: a search that stops
    // before fetching a tail still gets its hits' exact scores from there.
    let mut records = content.records;
    for list in &lists {
        for tail in &list.tails {
            for (&o, &q) in tail.ordinals.iter().zip(&tail.impacts) {
                records[o as usize]
                    .tail
                    .push([list.head.token, u32::from(q)]);
            }
        }
    }
    let (shards, tails) = shard(&lists, options.shard_bytes.max(1));
    drop(lists);
    let per = options.passages_per_fragment.max(1);
    let fragments: Vec<Vec<u8>> = records
        .chunks(per)
        .map(|chunk| serde_json::to_vec(chunk).map_err(|e| Error::input(e.to_string())))
        .collect::<Result<_>>()?;

    let mut id_hash = Sha256::new();
    id_hash.update(
        content
            .model
            .map_or("", |(m, _)| m.fingerprint.as_str())
            .as_bytes(),
    );
    id_hash.update(score_unit.to_le_bytes());
    for (first, body) in &shards {
        id_hash.update(first.to_le_bytes());
        id_hash.update((body.len() as u64).to_le_bytes());
        id_hash.update(body);
    }
    for body in &tails {
        id_hash.update((body.len() as u64).to_le_bytes());
        id_hash.update(body);
    }
    for body in &fragments {
        id_hash.update((body.len() as u64).to_le_bytes());
        id_hash.update(body);
    }
    let build: [u8; 8] = id_hash.finalize()[..8].try_into().expect("8 bytes");

    let io = |path: &Path, e: std::io::Error| {
        Error::input(format!("cannot write `{}`: {e}", path.display()))
    };
    for dir in ["postings", "fragments"] {
        let path = out.join(dir);
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| io(&path, e))?;
        }
        std::fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
    }
    let sealed_shards: Vec<Vec<u8>> = shards
        .par_iter()
        .map(|(_, body)| body)
        .chain(tails.par_iter())
        .enumerate()
        .map(|(n, body)| seal(FileKind::Shard, n, &build, body))
        .collect::<Result<_>>()?;
    let sealed_fragments: Vec<Vec<u8>> = fragments
        .par_iter()
        .enumerate()
        .map(|(n, body)| seal(FileKind::Fragment, n, &build, body))
        .collect::<Result<_>>()?;
    let write = |relative: &str, bytes: &[u8]| -> Result<u64> {
        let path = out.join(relative);
        std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        Ok(bytes.len() as u64)
    };
    let mut shard_bytes = 0;
    for (n, bytes) in sealed_shards.iter().enumerate() {
        shard_bytes += write(&FileKind::Shard.path(n), bytes)?;
    }
    let mut fragment_bytes = 0;
    for (n, bytes) in sealed_fragments.iter().enumerate() {
        fragment_bytes += write(&FileKind::Fragment.path(n), bytes)?;
    }
    let tokenizer = match content.model {
        Some((info, query)) => {
            let bytes = tokenizer_asset::write(query, &info.fingerprint)?;
            Some(FileRef {
                path: TOKENIZER.to_string(),
                bytes: write(TOKENIZER, &bytes)?,
            })
        }
        None => {
            let path = out.join(TOKENIZER);
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            }
            None
        }
    };
    let manifest = Manifest {
        format: FORMAT_NAME.to_string(),
        version: FORMAT_VERSION,
        build: build_id_hex(&build),
        model: content.model.map(|(m, _)| m.clone()),
        documents: content.documents,
        passages: records.len(),
        vocab_size,
        tokens: token_count,
        postings: total_postings,
        score_unit,
        tokenizer: tokenizer.clone(),
        shards: ShardMap {
            path: SHARD_PATH.to_string(),
            count: shards.len(),
            first_token: shards.iter().map(|(f, _)| *f).collect(),
            tails: tails.len(),
            bytes: shard_bytes,
        },
        fragments: FragmentMap {
            path: FRAGMENT_PATH.to_string(),
            count: fragments.len(),
            passages_per_fragment: per,
            bytes: fragment_bytes,
        },
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::input(e.to_string()))?;
    let manifest_bytes = write(MANIFEST, &json)?;
    let tokenizer_bytes = tokenizer.map_or(0, |t| t.bytes);
    Ok(BuildReport {
        build: manifest.build,
        documents: content.documents,
        passages: manifest.passages,
        encoded: 0,
        tokens: manifest.tokens,
        postings: total_postings,
        shards: shards.len() + tails.len(),
        shard_bytes,
        fragments: fragments.len(),
        fragment_bytes,
        tokenizer_bytes,
        total_bytes: shard_bytes + fragment_bytes + tokenizer_bytes + manifest_bytes,
        files: shards.len() + tails.len() + fragments.len() + usize::from(tokenizer_bytes > 0) + 1,
    })
}

/// Builds a bundle from documents with a model: the whole `site build --model` path.
pub fn build_with_model(
    model: &Model,
    docs: &[SiteDocument],
    out: &Path,
    options: &BuildOptions,
) -> Result<BuildReport> {
    let passages = passages(model, docs, options.max_passage_tokens)?;
    let (vectors, encoded) = encode_passages(model, &passages, options)?;
    let info = model.encoder.info();
    let mut postings = PostingsBuilder::new(info.model.vocab_size.max(info.query_vocab_size));
    for v in &vectors {
        postings.add(v)?;
    }
    drop(vectors);
    let content = BundleContent {
        model: Some((&model.info, model.encoder.query_encoder())),
        documents: docs.len(),
        records: passages.into_iter().map(|p| p.record).collect(),
    };
    let mut report = write_bundle(out, postings, content, options)?;
    report.encoded = encoded;
    Ok(report)
}

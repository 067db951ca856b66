//! The `splade site …` subcommands.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::json;

use super::builder::{
    build_with_model, write_bundle, BuildOptions, BundleContent, Model, Progress,
    DEFAULT_HEAD_POSTINGS, DEFAULT_PASSAGES_PER_FRAGMENT, DEFAULT_SHARD_BYTES,
};
use super::input::read_documents;
use super::postings::PostingsBuilder;
use super::reader::{Bundle, PassageRecord};
use crate::error::{Error, Result};
use crate::index::vector_from_parts;
use crate::index_bench::{passage_id, SyntheticCorpus, VOCAB_SIZE};

#[derive(Subcommand)]
pub enum SiteCommand {
    /// Build a static search bundle from pages (a folder or JSON lines) with a model, or from
    /// precomputed vectors, or from synthetic vectors.
    Build {
        /// A model folder or pack: encodes the passages and provides the query tokenizer.
        #[arg(long)]
        model: Option<PathBuf>,
        /// A folder of .html/.htm/.md/.markdown/.txt pages, or JSON lines {id, title, url, text}.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Vectors (JSON lines {indices, values}, as `splade encode` writes) for the passages of
        /// --input in order (one record is one passage), or alone for an anonymous corpus.
        #[arg(long, conflicts_with = "synthetic")]
        vectors: Option<PathBuf>,
        /// Index this many synthetic passage vectors (the index benchmark's generator).
        #[arg(long)]
        synthetic: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u32,
        #[arg(long)]
        out: PathBuf,
        /// Target shard size in bytes before compression.
        #[arg(long, default_value_t = DEFAULT_SHARD_BYTES)]
        shard_bytes: usize,
        #[arg(long, default_value_t = DEFAULT_PASSAGES_PER_FRAGMENT)]
        passages_per_fragment: usize,
        /// Lists longer than this many postings are split by impact into a head of this many
        /// and tails fetched only when needed (0: never split).
        #[arg(long, default_value_t = DEFAULT_HEAD_POSTINGS)]
        head_postings: usize,
        /// Passage token budget (default: the model's maximum document length less 3).
        #[arg(long)]
        max_passage_tokens: Option<usize>,
        /// The passage-vector cache for incremental rebuilds (default: OUT.cache, next to OUT).
        #[arg(long)]
        cache: Option<PathBuf>,
        #[arg(long)]
        no_cache: bool,
    },
    /// Search a bundle as the browser does; prints {"hits":[{id,n,score}],"files":N,"bytes":N}.
    Search {
        bundle: PathBuf,
        /// The query text (needs a bundle with a tokenizer).
        #[arg(required_unless_present_any = ["token_ids", "queries"])]
        query: Option<String>,
        /// Query by comma-separated token ids instead of text.
        #[arg(long, value_delimiter = ',', conflicts_with = "query")]
        token_ids: Option<Vec<u32>>,
        /// Many queries: JSON lines with `_id` (or `id`) and `text`; prints one line per query
        /// (files and bytes are what that query added, shards already read being cached).
        #[arg(long, conflicts_with_all = ["query", "token_ids"])]
        queries: Option<PathBuf>,
        #[arg(short, long, default_value_t = 10)]
        k: usize,
    },
    /// Files and bytes per query over many queries: cold (empty cache) and in sequence (shards and
    /// fragments cached, as in one browser session). Prints one JSON object.
    Bench {
        bundle: PathBuf,
        /// Queries: JSON lines with a `text` field.
        #[arg(long, conflicts_with = "synthetic_queries")]
        queries: Option<PathBuf>,
        /// This many synthetic queries (token ids from the index benchmark's generator).
        #[arg(long)]
        synthetic_queries: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u32,
        #[arg(short, long, default_value_t = 10)]
        k: usize,
    },
}

pub fn run(command: SiteCommand) -> Result<()> {
    match command {
        SiteCommand::Build {
            model,
            input,
            vectors,
            synthetic,
            seed,
            out,
            shard_bytes,
            passages_per_fragment,
            head_postings,
            max_passage_tokens,
            cache,
            no_cache,
        } => {
            let cache = (!no_cache).then(|| cache.unwrap_or_else(|| default_cache(&out)));
            let options = BuildOptions {
                shard_bytes,
                passages_per_fragment,
                head_postings,
                max_passage_tokens,
                cache,
                progress: true,
            };
            let start = std::time::Instant::now();
            std::fs::create_dir_all(&out)
                .map_err(|e| Error::input(format!("cannot create `{}`: {e}", out.display())))?;
            let model = model.as_deref().map(Model::load).transpose()?;
            let report = match (&model, input, vectors, synthetic) {
                (Some(model), Some(input), None, None) => {
                    let docs = read_documents(&input)?;
                    build_with_model(model, &docs, &out, &options)?
                }
                (model, input, Some(vectors), None) => {
                    build_from_vectors(model.as_ref(), input.as_deref(), &vectors, &out, &options)?
                }
                (None, None, None, Some(n)) => build_synthetic(n, seed, &out, &options)?,
                _ => {
                    return Err(Error::input(
                        "give --model with --input, or --vectors (with --input and/or --model), or --synthetic N",
                    ))
                }
            };
            let mut report =
                serde_json::to_value(&report).map_err(|e| Error::input(e.to_string()))?;
            report["seconds"] = json!(start.elapsed().as_secs_f64());
            println!("{report}");
            Ok(())
        }
        SiteCommand::Search {
            bundle,
            query,
            token_ids,
            queries,
            k,
        } => {
            let mut b = Bundle::open(&bundle)?;
            if let Some(path) = queries {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let v: serde_json::Value = serde_json::from_str(line)
                        .map_err(|e| Error::input(format!("`{}`: {e}", path.display())))?;
                    let q = v["text"]
                        .as_str()
                        .ok_or_else(|| Error::input("queries need a `text` field"))?;
                    let (files, bytes) = (b.files, b.bytes);
                    let tokens = b.query_tokens(q)?;
                    let mut out = search_json(&mut b, &tokens, k)?;
                    out["query"] = v
                        .get("_id")
                        .or_else(|| v.get("id"))
                        .cloned()
                        .unwrap_or_default();
                    out["files"] = json!(b.files - files);
                    out["bytes"] = json!(b.bytes - bytes);
                    println!("{out}");
                }
                return Ok(());
            }
            let tokens = match (query, token_ids) {
                (Some(q), _) => b.query_tokens(&q)?,
                (None, Some(ids)) => ids,
                (None, None) => return Err(Error::input("give a query or --token-ids")),
            };
            println!("{}", search_json(&mut b, &tokens, k)?);
            Ok(())
        }
        SiteCommand::Bench {
            bundle,
            queries,
            synthetic_queries,
            seed,
            k,
        } => bench(&bundle, queries.as_deref(), synthetic_queries, seed, k),
    }
}

/// `{"hits": [{id, n, score}], "files", "bytes"}` for one query, fragments of the hits included.
fn search_json(b: &mut Bundle, tokens: &[u32], k: usize) -> Result<serde_json::Value> {
    let hits = b.search_tokens(tokens, k)?;
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        let PassageRecord { id, n, .. } = b.passage(h.ordinal)?;
        out.push(json!({"id": id, "n": n, "score": h.score}));
    }
    Ok(json!({"hits": out, "files": b.files, "bytes": b.bytes}))
}

/// `OUT.cache` next to the bundle folder: outside it, so it is not deployed with the site.
fn default_cache(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "site".into());
    name.push(".cache");
    out.with_file_name(name)
}

fn build_from_vectors(
    model: Option<&Model>,
    input: Option<&Path>,
    vectors: &Path,
    out: &Path,
    options: &BuildOptions,
) -> Result<super::builder::BuildReport> {
    let docs = input.map(read_documents).transpose()?;
    let vocab = model.map_or(VOCAB_SIZE, |m| {
        let info = m.encoder.info();
        info.model.vocab_size.max(info.query_vocab_size)
    });
    let mut postings = PostingsBuilder::new(vocab);
    let mut count = 0usize;
    let file = std::fs::File::open(vectors)
        .map_err(|e| Error::input(format!("cannot open `{}`: {e}", vectors.display())))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let at = |msg: String| Error::input(format!("{}:{}: {msg}", vectors.display(), i + 1));
        let line = line.map_err(|e| at(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        #[derive(serde::Deserialize)]
        struct Line {
            indices: Vec<u32>,
            values: Vec<f32>,
        }
        let v: Line = serde_json::from_str(&line)
            .map_err(|e| at(format!("expected {{\"indices\", \"values\"}}: {e}")))?;
        postings
            .add(&vector_from_parts(&v.indices, &v.values).map_err(|e| at(e.to_string()))?)
            .map_err(|e| at(e.to_string()))?;
        count += 1;
    }
    let records: Vec<PassageRecord> = match &docs {
        Some(docs) if docs.len() != count => {
            return Err(Error::input(format!(
                "`{}` has {count} vectors but `{}` has {} documents; give one vector per record",
                vectors.display(),
                input.expect("docs from input").display(),
                docs.len()
            )))
        }
        Some(docs) => docs
            .iter()
            .map(|d| PassageRecord {
                id: d.id.clone(),
                n: 0,
                title: d.title.clone(),
                url: d.url.clone(),
                text: d.text.clone(),
                tail: Vec::new(),
            })
            .collect(),
        None => (0..count)
            .map(|i| anonymous_record((i + 1).to_string()))
            .collect(),
    };
    let content = BundleContent {
        model: model.map(|m| (&m.info, m.encoder.query_encoder())),
        documents: records.len(),
        records,
    };
    write_bundle(out, postings, content, options)
}

fn anonymous_record(id: String) -> PassageRecord {
    PassageRecord {
        id,
        n: 0,
        title: String::new(),
        url: String::new(),
        text: String::new(),
        tail: Vec::new(),
    }
}

fn build_synthetic(
    n: usize,
    seed: u32,
    out: &Path,
    options: &BuildOptions,
) -> Result<super::builder::BuildReport> {
    let mut corpus = SyntheticCorpus::new(seed);
    let mut postings = PostingsBuilder::new(VOCAB_SIZE);
    let progress = Progress::new("generating", n, options.progress);
    for i in 0..n {
        postings.add(&corpus.passage())?;
        if (i + 1) % 10_000 == 0 || i + 1 == n {
            progress.add(if (i + 1) % 10_000 == 0 {
                10_000
            } else {
                (i + 1) % 10_000
            });
        }
    }
    let records = (0..n).map(|i| anonymous_record(passage_id(i))).collect();
    let content = BundleContent {
        model: None,
        documents: n.div_ceil(8),
        records,
    };
    write_bundle(out, postings, content, options)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn bench(
    bundle: &Path,
    queries: Option<&Path>,
    synthetic: Option<usize>,
    seed: u32,
    k: usize,
) -> Result<()> {
    let mut probe = Bundle::open(bundle)?;
    let token_sets: Vec<Vec<u32>> = match (queries, synthetic) {
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
            let mut sets = Vec::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| Error::input(format!("`{}`: {e}", path.display())))?;
                let q = v["text"]
                    .as_str()
                    .ok_or_else(|| Error::input("queries need a `text` field"))?;
                sets.push(probe.query_tokens(q)?);
            }
            sets
        }
        (None, Some(n)) => {
            let mut corpus = SyntheticCorpus::new(seed ^ 0x9E37_79B9);
            (0..n).map(|_| corpus.query().indices().to_vec()).collect()
        }
        _ => return Err(Error::input("give --queries FILE or --synthetic-queries N")),
    };
    // Per query: [shard files, shard bytes, all files, all bytes], cold and in sequence.
    let mut cold = vec![Vec::new(); 4];
    let mut warm = vec![Vec::new(); 4];
    let mut session = Bundle::open(bundle)?;
    let mut search_ms = Vec::new();
    for tokens in &token_sets {
        let mut fresh = Bundle::open(bundle)?;
        for (b, out) in [(&mut fresh, &mut cold), (&mut session, &mut warm)] {
            let (f0, b0) = (b.files, b.bytes);
            let start = std::time::Instant::now();
            let hits = b.search_tokens(tokens, k)?;
            search_ms.push(start.elapsed().as_secs_f64() * 1e3);
            let (f1, b1) = (b.files, b.bytes);
            for h in &hits {
                b.passage(h.ordinal)?;
            }
            out[0].push((f1 - f0) as u64);
            out[1].push(b1 - b0);
            out[2].push((b.files - f0) as u64);
            out[3].push(b.bytes - b0);
        }
    }
    let summary = |series: &mut Vec<Vec<u64>>| {
        let mut out = serde_json::Map::new();
        for (name, s) in ["shardFiles", "shardBytes", "files", "bytes"]
            .iter()
            .zip(series.iter_mut())
        {
            s.sort_unstable();
            out.insert(
                name.to_string(),
                json!({"median": percentile(s, 0.5), "p95": percentile(s, 0.95), "max": s.last().copied().unwrap_or(0)}),
            );
        }
        serde_json::Value::Object(out)
    };
    search_ms.sort_by(f64::total_cmp);
    let m = &probe.manifest;
    println!(
        "{}",
        json!({
            "passages": m.passages, "shards": m.shards.count, "shardBytes": m.shards.bytes,
            "fragments": m.fragments.count, "fragmentBytes": m.fragments.bytes,
            "queries": token_sets.len(), "k": k,
            "meanQueryTokens": token_sets.iter().map(Vec::len).sum::<usize>() as f64 / token_sets.len().max(1) as f64,
            "cold": summary(&mut cold), "inSequence": summary(&mut warm),
            "searchMsMedian": search_ms.get(search_ms.len() / 2).copied().unwrap_or(0.0),
        })
    );
    Ok(())
}

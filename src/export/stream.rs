//! `splade export` and `splade export-query`: read documents (or vectors, or a saved index) line by
//! line, encode them on every core a window at a time, apply the engine's rules and write one record
//! per input, in input order. Memory holds one window of documents and the ids seen (to refuse a
//! repeated id), never the corpus's vectors (except with `--evaluate`, which keeps them to score).

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::Value;

use super::{document_record, engine_query, schema, Format, Prune, RuleCounts, Target, Vocabulary};
use super::{DEFAULT_FIELD, DEFAULT_INDEX};
use crate::error::{Error, Result};
use crate::eval;
use crate::index::vector_from_parts;
use crate::jsonl::for_each_jsonl;
use crate::sparse::SparseVector;
use crate::tokenizer::TextTokenizer;
use crate::{DirectoryFiles, SparseEncoder};

/// Documents per encoder call: enough to batch by length.
const DOCUMENTS_PER_BATCH: usize = 64;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The engine's shape.
    #[arg(long, value_parser = Format::NAMES)]
    pub format: String,
    /// A model folder or pack: encodes `--input`, and names tokens for token-string formats.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Only a `tokenizer.json`, to name tokens (and size pgvector's vectors) with `--vectors`.
    #[arg(long, conflicts_with = "model")]
    pub tokenizer: Option<PathBuf>,
    /// Documents: JSON lines (`id` or `_id`, `text`, optional `title`), or a BEIR folder
    /// (its `corpus.jsonl`). The text encoded is `title + " " + text` when the title is non-empty.
    #[arg(long, conflicts_with_all = ["vectors", "from_index"])]
    pub input: Option<PathBuf>,
    /// Vectors already encoded: JSON lines of `{"indices", "values"}` (`splade encode`, `--format
    /// jsonl`), with an `id` or `_id` when present, else the line number is the id.
    #[arg(long, conflicts_with = "from_index")]
    pub vectors: Option<PathBuf>,
    /// A saved index file (`SparseIndex.save()`, `src/index/format.rs`); documents in insertion order.
    #[arg(long)]
    pub from_index: Option<PathBuf>,
    /// Where to write (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the index mapping / schema for `--format` instead of records.
    #[arg(long)]
    pub schema: bool,
    /// Prune document vectors: `top-k:N` or `max-ratio:R` (OpenSearch's rule).
    #[arg(long)]
    pub prune: Option<String>,
    /// Index, collection or table name used in the records and schema.
    #[arg(long, default_value = DEFAULT_INDEX)]
    pub index: String,
    /// Field (column) name of the vectors.
    #[arg(long, default_value = DEFAULT_FIELD)]
    pub field: String,
    /// A BEIR folder the documents come from: also print (stderr) nDCG@10 etc. of the vectors as
    /// given and as exported (after pruning and the engine's precision), scored like `splade eval`
    /// with `--model`'s queries.
    #[arg(long, requires = "model")]
    pub evaluate: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ExportQueryArgs {
    #[arg(long, value_parser = Format::NAMES)]
    pub format: String,
    /// A model folder or pack (its query side: tokenizer and weights, no inference).
    #[arg(long)]
    pub model: PathBuf,
    /// One query; prints its request body.
    #[arg(long, conflicts_with = "input", required_unless_present = "input")]
    pub text: Option<String>,
    /// Queries as JSON lines (`id` or `_id`, `text`): one `{"id", "body"}` line each.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Number of results requested.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    #[arg(long, default_value = DEFAULT_INDEX)]
    pub index: String,
    #[arg(long, default_value = DEFAULT_FIELD)]
    pub field: String,
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A model folder, or a model pack file.
pub fn load_model(path: &Path) -> Result<SparseEncoder> {
    if path.is_file() {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
        return SparseEncoder::from_pack(&bytes);
    }
    SparseEncoder::load(&DirectoryFiles::new(path)?)
}

fn writer(out: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(path) => Box::new(BufWriter::new(std::fs::File::create(path).map_err(
            |e| Error::input(format!("cannot create `{}`: {e}", path.display())),
        )?)),
        None => Box::new(BufWriter::new(std::io::stdout())),
    })
}

fn write_err(e: std::io::Error) -> Error {
    Error::input(format!("cannot write output: {e}"))
}

/// `id`, else `_id` (a string or a number), else the line number.
fn record_id(record: &Value, line: usize) -> String {
    match record.get("id").or_else(|| record.get("_id")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => line.to_string(),
    }
}

/// The text a document is encoded from: `title + " " + text`, or the text (as `splade eval`).
fn record_text(record: &Value) -> Result<String> {
    let text = record
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::input("expected a string `text` field"))?;
    Ok(match record.get("title").and_then(Value::as_str) {
        Some(title) if !title.is_empty() => format!("{title} {text}"),
        _ => text.to_string(),
    })
}

/// Encodes a window of documents on every core, results in input order.
fn encode_window(encoder: &SparseEncoder, texts: &[String]) -> Result<Vec<SparseVector>> {
    let batches: Vec<Vec<SparseVector>> = texts
        .par_chunks(DOCUMENTS_PER_BATCH)
        .map(|chunk| {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            encoder.encode_documents(&refs)
        })
        .collect::<Result<_>>()?;
    Ok(batches.into_iter().flatten().collect())
}

struct Sink<'a> {
    target: Target,
    prune: Option<Prune>,
    vocab: Option<&'a dyn Vocabulary>,
    out: Box<dyn Write>,
    counts: RuleCounts,
    line: String,
    seen: HashSet<String>,
    /// With `--evaluate`: (id, as given, as exported).
    kept: Option<Vec<(String, SparseVector, SparseVector)>>,
}

impl Sink<'_> {
    fn write(&mut self, id: String, v: SparseVector) -> Result<()> {
        let what = format!("document `{id}`");
        // A repeated id is kept twice by Milvus, refused by pgvector's primary key and overwritten
        // by the others: none of them what the input meant.
        if !self.seen.insert(id.clone()) {
            return Err(Error::input(format!(
                "{what} appears more than once; document ids must be unique"
            )));
        }
        let rules = self.target.format.document_rules();
        let exported = rules.apply(&v, self.prune, &mut self.counts, &what)?;
        self.line.clear();
        document_record(&self.target, &id, &exported, self.vocab, &mut self.line)?;
        self.out
            .write_all(self.line.as_bytes())
            .map_err(write_err)?;
        if let Some(kept) = &mut self.kept {
            kept.push((id, v, exported));
        }
        Ok(())
    }
}

pub fn export(args: &ExportArgs) -> Result<()> {
    let format = Format::parse(&args.format)?;
    let target = Target::new(format, &args.index, &args.field)?;
    let prune = args.prune.as_deref().map(Prune::parse).transpose()?;
    let encoder = args.model.as_deref().map(load_model).transpose()?;
    let tokenizer = match &args.tokenizer {
        Some(path) => {
            let json = std::fs::read(path)
                .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
            Some(TextTokenizer::from_bytes(
                &json,
                usize::MAX,
                false,
                &path.display().to_string(),
            )?)
        }
        None => None,
    };
    let vocab: Option<&dyn Vocabulary> = match (&encoder, &tokenizer) {
        (Some(e), _) => Some(e.document_encoder().tokenizer()),
        (None, Some(t)) => Some(t),
        (None, None) => None,
    };
    if (format.needs_token_strings() || format.needs_dimensions()) && vocab.is_none() {
        return Err(Error::input(format!(
            "--format {} needs the vocabulary: give --model or --tokenizer",
            args.format
        )));
    }
    if args.schema {
        let mut out = writer(args.out.as_deref())?;
        out.write_all(schema(&target, vocab)?.as_bytes())
            .map_err(write_err)?;
        return out.flush().map_err(write_err);
    }
    let start = Instant::now();
    let mut sink = Sink {
        target,
        prune,
        vocab,
        out: writer(args.out.as_deref())?,
        counts: RuleCounts::default(),
        line: String::new(),
        seen: HashSet::new(),
        kept: args.evaluate.is_some().then(Vec::new),
    };
    match (&args.input, &args.vectors, &args.from_index) {
        (Some(input), _, _) => {
            let encoder = encoder
                .as_ref()
                .ok_or_else(|| Error::input("--input needs --model to encode the documents"))?;
            let file = if input.is_dir() {
                input.join("corpus.jsonl")
            } else {
                input.clone()
            };
            let window = DOCUMENTS_PER_BATCH * rayon::current_num_threads().max(1);
            let (mut ids, mut texts) = (Vec::new(), Vec::new());
            let mut flush = |ids: &mut Vec<String>, texts: &mut Vec<String>| -> Result<()> {
                for (id, v) in ids.drain(..).zip(encode_window(encoder, texts)?) {
                    sink.write(id, v)?;
                }
                texts.clear();
                Ok(())
            };
            for_each_jsonl(&file, |n, record| {
                ids.push(record_id(&record, n));
                texts.push(record_text(&record)?);
                if texts.len() == window {
                    flush(&mut ids, &mut texts)?;
                }
                Ok(())
            })?;
            flush(&mut ids, &mut texts)?;
        }
        (None, Some(vectors), _) => for_each_jsonl(vectors, |n, record| {
            let numbers = |key: &str| -> Result<Vec<f64>> {
                record
                    .get(key)
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().map(Value::as_f64).collect())
                    .ok_or_else(|| Error::input(format!("expected an array of numbers `{key}`")))
            };
            let indices = numbers("indices")?
                .into_iter()
                .map(|i| {
                    (i >= 0.0 && i.fract() == 0.0 && i <= f64::from(u32::MAX))
                        .then_some(i as u32)
                        .ok_or_else(|| Error::input(format!("token id {i} is not a u32")))
                })
                .collect::<Result<Vec<u32>>>()?;
            let values: Vec<f32> = numbers("values")?.into_iter().map(|v| v as f32).collect();
            sink.write(record_id(&record, n), vector_from_parts(&indices, &values)?)
        })?,
        (None, None, Some(path)) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
            let index = crate::SparseIndex::load(&bytes)?;
            for (id, v) in index.documents() {
                sink.write(id, v)?;
            }
        }
        (None, None, None) => {
            return Err(Error::input(
                "give --input (with --model), --vectors or --from-index, or --schema",
            ))
        }
    }
    sink.out.flush().map_err(write_err)?;
    let mut summary = serde_json::to_value(&sink.counts).expect("counts serialise");
    summary["format"] = args.format.clone().into();
    summary["seconds"] = start.elapsed().as_secs_f64().into();
    eprintln!("export: {summary}");
    if let (Some(kept), Some(dir), Some(encoder)) = (sink.kept, &args.evaluate, &encoder) {
        evaluate(encoder, dir, &kept)?;
    }
    Ok(())
}

/// Scores the vectors as encoded and as exported on the BEIR folder's judged queries.
fn evaluate(
    encoder: &SparseEncoder,
    dir: &Path,
    kept: &[(String, SparseVector, SparseVector)],
) -> Result<()> {
    let data = eval::read_beir(dir)?;
    let ids: Vec<&str> = kept.iter().map(|(id, _, _)| id.as_str()).collect();
    let encoded: Vec<SparseVector> = kept.iter().map(|(_, v, _)| v.clone()).collect();
    let exported: Vec<SparseVector> = kept.iter().map(|(_, _, v)| v.clone()).collect();
    let report = serde_json::json!({
        "given": eval::evaluate_vectors(encoder, &data, &encoded, &ids)?,
        "exported": eval::evaluate_vectors(encoder, &data, &exported, &ids)?,
    });
    eprintln!("evaluate: {report}");
    Ok(())
}

pub fn export_query(args: &ExportQueryArgs) -> Result<()> {
    let format = Format::parse(&args.format)?;
    let target = Target::new(format, &args.index, &args.field)?;
    let encoder = load_model(&args.model)?;
    let mut out = writer(args.out.as_deref())?;
    let body = |text: &str| engine_query(&encoder, text, &target, args.k);
    match (&args.text, &args.input) {
        (Some(text), _) => writeln!(out, "{}", body(text)?).map_err(write_err)?,
        (None, Some(input)) => for_each_jsonl(input, |n, record| {
            let text = record
                .get("text")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::input("expected a string `text` field"))?;
            let body = body(text)?;
            // JSON bodies go in as JSON, pgvector's SQL as a string.
            let body = match format {
                Format::Pgvector => Value::String(body).to_string(),
                _ => body,
            };
            let id = Value::String(record_id(&record, n)).to_string();
            writeln!(out, "{{\"id\":{id},\"body\":{body}}}").map_err(write_err)
        })?,
        (None, None) => return Err(Error::input("give --text or --input")),
    }
    out.flush().map_err(write_err)
}

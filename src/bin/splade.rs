//! The native command line: encode texts, inspect a model, build IDF query weights.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use splade_wasm::idf::{idf_table, DocumentFrequencies};
use splade_wasm::tokenizer::TextTokenizer;
use splade_wasm::{DirectoryFiles, Error, Result, SparseEncoder, SparseVector};

/// Documents encoded per call when reading a JSONL file: bounds memory for large inputs while
/// giving the encoder enough texts to batch by length.
const DOCUMENTS_PER_CHUNK: usize = 256;

#[derive(Parser)]
#[command(
    name = "splade",
    version,
    about = "Inference-free SPLADE sparse encoders"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encode texts into sparse vectors, one JSON object per input.
    Encode {
        /// A model folder (sentence-transformers layout, or HF masked-LM + idf.json).
        #[arg(long)]
        model: PathBuf,
        #[arg(long, value_enum)]
        side: Side,
        /// One text to encode.
        #[arg(long, conflicts_with = "input", required_unless_present = "input")]
        text: Option<String>,
        /// A JSON-lines file of `{"text": ...}` objects.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Also print `"tokens": {token: weight}`.
        #[arg(long)]
        tokens: bool,
    },
    /// Print a model's architecture, sizes and limits.
    Inspect { model: PathBuf },
    /// Compute IDF query weights (`idf.json`) over a JSON-lines corpus.
    Idf {
        /// JSON-lines corpus with a `text` field (and optionally `title`).
        corpus: PathBuf,
        /// The `tokenizer.json` to count token ids with.
        #[arg(long)]
        tokenizer: PathBuf,
        /// Prepend the `title` field (title + " " + text), as BEIR corpora are usually indexed.
        #[arg(long)]
        with_title: bool,
        /// Where to write the table (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Side {
    Query,
    Document,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("splade: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Encode {
            model,
            side,
            text,
            input,
            tokens,
        } => encode(&model, side, text, input.as_deref(), tokens),
        Command::Inspect { model } => inspect(&model),
        Command::Idf {
            corpus,
            tokenizer,
            with_title,
            output,
        } => idf(&corpus, &tokenizer, with_title, output.as_deref()),
    }
}

fn load_model(path: &Path) -> Result<SparseEncoder> {
    SparseEncoder::load(&DirectoryFiles::new(path)?)
}

/// One output line: `{"indices": [...], "values": [...]}` plus `"tokens"` on request.
#[derive(Serialize)]
struct EncodedLine<'a> {
    indices: &'a [u32],
    values: &'a [f32],
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "token_map")]
    tokens: Option<Vec<(String, f32)>>,
}

/// Serialises token weights as a JSON object in vocabulary-id order.
fn token_map<S: Serializer>(
    tokens: &Option<Vec<(String, f32)>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let tokens = tokens.as_deref().unwrap_or_default();
    let mut map = s.serialize_map(Some(tokens.len()))?;
    for (token, weight) in tokens {
        map.serialize_entry(token, weight)?;
    }
    map.end()
}

fn write_vector(
    out: &mut impl Write,
    encoder: &SparseEncoder,
    v: &SparseVector,
    with_tokens: bool,
) -> Result<()> {
    let tokens = with_tokens.then(|| {
        v.indices()
            .iter()
            .zip(v.values())
            .map(|(&id, &w)| (encoder.token(id).unwrap_or_else(|| id.to_string()), w))
            .collect()
    });
    let line = EncodedLine {
        indices: v.indices(),
        values: v.values(),
        tokens,
    };
    serde_json::to_writer(&mut *out, &line)
        .map_err(|e| Error::input(format!("cannot write output: {e}")))?;
    writeln!(out).map_err(|e| Error::input(format!("cannot write output: {e}")))
}

fn encode(
    model: &Path,
    side: Side,
    text: Option<String>,
    input: Option<&Path>,
    with_tokens: bool,
) -> Result<()> {
    let encoder = load_model(model)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let encode_texts = |texts: &[String]| -> Result<Vec<SparseVector>> {
        match side {
            Side::Query => texts.iter().map(|t| encoder.encode_query(t)).collect(),
            Side::Document => {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                encoder.encode_documents(&refs)
            }
        }
    };
    let mut emit = |texts: &[String]| -> Result<()> {
        for v in encode_texts(texts)? {
            write_vector(&mut out, &encoder, &v, with_tokens)?;
        }
        Ok(())
    };
    match (text, input) {
        (Some(text), _) => emit(&[text])?,
        (None, Some(path)) => {
            let mut chunk = Vec::with_capacity(DOCUMENTS_PER_CHUNK);
            for_each_jsonl(path, |_, record| {
                chunk.push(string_field(&record, "text")?);
                if chunk.len() == DOCUMENTS_PER_CHUNK {
                    emit(&chunk)?;
                    chunk.clear();
                }
                Ok(())
            })?;
            emit(&chunk)?;
        }
        (None, None) => return Err(Error::input("give --text or --input")),
    }
    out.flush()
        .map_err(|e| Error::input(format!("cannot write output: {e}")))
}

/// Calls `f` with each non-empty line's 1-based number and parsed JSON object.
fn for_each_jsonl(
    path: &Path,
    mut f: impl FnMut(usize, serde_json::Value) -> Result<()>,
) -> Result<()> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::input(format!("cannot open `{}`: {e}", path.display())))?;
    for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let n = i + 1;
        let bytes =
            line.map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
        let line = std::str::from_utf8(&bytes)
            .map_err(|e| Error::input(format!("{}:{n}: not valid UTF-8 ({e})", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::input(format!("{}:{n}: not a JSON object: {e}", path.display())))?;
        f(n, record).map_err(|e| match e {
            Error::Input(msg) => Error::input(format!("{}:{n}: {msg}", path.display())),
            other => other,
        })?;
    }
    Ok(())
}

fn string_field(record: &serde_json::Value, key: &str) -> Result<String> {
    record
        .get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::input(format!("expected an object with a string `{key}` field")))
}

fn inspect(model: &Path) -> Result<()> {
    let info = load_model(model)?.info();
    let m = &info.model;
    println!(
        "architecture: {} (model_type \"{}\")",
        m.architecture, m.model_type
    );
    println!("parameters: {}", m.parameters);
    println!(
        "hidden size: {}, layers: {}, attention heads: {}, intermediate size: {}",
        m.hidden_size, m.layers, m.attention_heads, m.intermediate_size
    );
    println!(
        "vocabulary: {} (query weights: {})",
        m.vocab_size, info.query_vocab_size
    );
    println!("max document tokens: {}", info.max_document_tokens);
    let max_query = if info.max_query_tokens == usize::MAX {
        "unlimited".to_string()
    } else {
        info.max_query_tokens.to_string()
    };
    println!("max query tokens: {max_query}");
    println!(
        "pooling: {:?} of {:?}",
        info.pooling.strategy, info.pooling.activation
    );
    Ok(())
}

fn idf(corpus: &Path, tokenizer: &Path, with_title: bool, output: Option<&Path>) -> Result<()> {
    let json = std::fs::read(tokenizer)
        .map_err(|e| Error::input(format!("cannot read `{}`: {e}", tokenizer.display())))?;
    let tokenizer =
        TextTokenizer::from_bytes(&json, usize::MAX, false, &tokenizer.display().to_string())?;
    let mut df = DocumentFrequencies::new(tokenizer.vocab_size());
    for_each_jsonl(corpus, |_, record| {
        let text = string_field(&record, "text")?;
        let text = match record.get("title").and_then(serde_json::Value::as_str) {
            Some(title) if with_title && !title.is_empty() => format!("{title} {text}"),
            _ => text,
        };
        df.add(&tokenizer.encode(&text)?);
        Ok(())
    })?;
    if df.documents() == 0 {
        return Err(Error::input(format!(
            "`{}` has no documents",
            corpus.display()
        )));
    }
    let table = idf_table(&tokenizer, &df);
    let json = serde_json::to_string(&table).map_err(|e| Error::input(e.to_string()))?;
    match output {
        Some(path) => std::fs::write(path, json + "\n")
            .map_err(|e| Error::input(format!("cannot write `{}`: {e}", path.display()))),
        None => {
            println!("{json}");
            Ok(())
        }
    }
}

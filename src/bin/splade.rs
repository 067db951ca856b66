//! The native command line: encode texts, inspect a model, build IDF query weights.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use splade_wasm::gpu::{select_device, DeviceChoice, GpuDocumentEncoder};
use splade_wasm::idf::{idf_table, DocumentFrequencies};
use splade_wasm::jsonl::for_each_jsonl;
use splade_wasm::synthetic::{write_random_model, Architecture, Dimensions};
use splade_wasm::TextTokenizer;
use splade_wasm::{DirectoryFiles, Error, Result, SparseEncoder, SparseVector};

/// Documents encoded per call when reading a JSONL file: bounds memory for large inputs while
/// giving the encoder enough texts to batch by length.
const DOCUMENTS_PER_CHUNK: usize = 256;

/// The 10-word query `splade bench` times by default (the same as `bench/` uses in wasm).
const BENCH_QUERY: &str = "how does cerebral white matter develop in human newborn infants";

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
        /// Where documents are encoded: auto = a hardware WebGPU adapter if there is one.
        #[arg(long, value_enum, default_value = "cpu")]
        device: DeviceArg,
    },
    /// Print a model's architecture, sizes and limits.
    Inspect { model: PathBuf },
    /// Time one batch of `--batch` × `--tokens` token ids on the WebGPU encoder, stage by stage,
    /// and print the GPU memory it needs.
    GpuProfile {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value_t = 128)]
        tokens: usize,
        #[arg(long, default_value_t = 8)]
        batch: usize,
        /// Only upload the weights and print the GPU buffer bytes (no batch is run).
        #[arg(long)]
        memory_only: bool,
    },
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
    /// Measure document-encoding throughput and latency of the native build.
    Bench {
        #[arg(long)]
        model: PathBuf,
        /// Passages: a JSON array of strings, or JSON lines with a `text` field.
        #[arg(long)]
        passages: PathBuf,
        /// Truncate passages to this many tokens (specials included), as the baselines do.
        #[arg(long, default_value_t = 128)]
        passage_tokens: usize,
        /// One long document (`{"text": ...}` or plain text) timed alone at `--document-tokens`.
        #[arg(long)]
        document: Option<PathBuf>,
        #[arg(long, default_value_t = 512)]
        document_tokens: usize,
        /// Timed repetitions; the best is reported.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// A query timed with `encode_query` (median of `--query-calls` calls).
        #[arg(long, default_value = BENCH_QUERY)]
        query: String,
        #[arg(long, default_value_t = 10_000)]
        query_calls: usize,
    },
    /// Time exact top-k search over an index of synthetic SPLADE-like passages (Zipf token ids);
    /// prints one JSON line: build time, search latency percentiles, memory, serialised size.
    BenchIndex {
        #[arg(long, default_value_t = 100_000)]
        passages: usize,
        #[arg(long, default_value_t = 1_000)]
        queries: usize,
        #[arg(short, long, default_value_t = 10)]
        k: usize,
        #[arg(long, default_value_t = 1)]
        seed: u32,
    },
    /// Convert a model folder into a single-file model pack (GGUF), optionally quantized.
    Convert {
        /// A model folder (sentence-transformers layout, or HF masked-LM + idf.json).
        src: PathBuf,
        /// The pack file to write.
        out: PathBuf,
        /// Storage of the linear layers' matrices; norms, biases and other 1-D tensors stay f32.
        #[arg(long, default_value = "q8_0", value_parser = splade_wasm::pack::PACK_DTYPES)]
        dtype: String,
        /// Storage of the word embeddings / tied MLM decoder (default: as --dtype, but q8_0 for
        /// 4-bit types). Any GGUF type candle writes: f32, f16, q8_0, q6_k, q5_0, q4_k, ...
        #[arg(long)]
        vocabulary_dtype: Option<String>,
        /// Storage of matrices whose rows do not split into --dtype's blocks (q4_k: 256 values;
        /// default q8_0).
        #[arg(long)]
        fallback_dtype: Option<String>,
    },
    /// Evaluate retrieval on BEIR-layout data; prints progress on stderr and one JSON line.
    Eval {
        /// A model folder or a model pack.
        #[arg(long)]
        model: PathBuf,
        /// A folder with corpus.jsonl, queries.jsonl and qrels/test.tsv or qrels.jsonl.
        #[arg(long)]
        data: PathBuf,
    },
    /// Write documents in a search engine's shape (or its schema, with --schema); see src/export/.
    Export(splade_wasm::export::stream::ExportArgs),
    /// Write query vectors as a search engine's request body (pgvector: a SQL statement).
    ExportQuery(splade_wasm::export::stream::ExportQueryArgs),
    /// Static-site search: build a bundle, search it as the browser does, measure it.
    Site {
        #[command(subcommand)]
        command: splade_wasm::site::cli::SiteCommand,
    },
    /// Write a randomly initialised model of a real size, for benchmarks and memory measurements.
    RandomModel {
        #[arg(long, value_enum)]
        architecture: ArchitectureArg,
        /// The `tokenizer.json` to ship with it (its vocabulary sets the model's).
        #[arg(long)]
        tokenizer: PathBuf,
        #[arg(long, default_value_t = 768)]
        hidden: usize,
        #[arg(long, default_value_t = 12)]
        layers: usize,
        #[arg(long, default_value_t = 12)]
        heads: usize,
        #[arg(long, default_value_t = 3072)]
        intermediate: usize,
        #[arg(long, default_value_t = 512)]
        max_positions: usize,
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ArchitectureArg {
    Bert,
    Distilbert,
    Gte,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Cpu,
    Webgpu,
    Auto,
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
            device,
        } => {
            let device = match device {
                DeviceArg::Cpu => DeviceChoice::Cpu,
                DeviceArg::Webgpu => DeviceChoice::WebGpu,
                DeviceArg::Auto => DeviceChoice::Auto,
            };
            encode(&model, side, text, input.as_deref(), tokens, device)
        }
        Command::Inspect { model } => inspect(&model),
        Command::GpuProfile {
            model,
            tokens,
            batch,
            memory_only,
        } => {
            let encoder = load_model(&model)?;
            let gpu = GpuDocumentEncoder::new_blocking(encoder.document_encoder())?;
            if memory_only {
                let t = gpu.transformer();
                println!(
                    "weights {} bytes; peak for {batch} × {tokens} tokens {} bytes",
                    t.weight_bytes(),
                    t.peak_bytes(batch, tokens)
                );
                return Ok(());
            }
            print!(
                "{}",
                gpu.profile(encoder.document_encoder(), batch, tokens)?
            );
            Ok(())
        }
        Command::Idf {
            corpus,
            tokenizer,
            with_title,
            output,
        } => idf(&corpus, &tokenizer, with_title, output.as_deref()),
        Command::Bench {
            model,
            passages,
            passage_tokens,
            document,
            document_tokens,
            repeat,
            query,
            query_calls,
        } => bench(
            &model,
            &passages,
            passage_tokens,
            document.as_deref().map(|d| (d, document_tokens)),
            repeat.max(1),
            (&query, query_calls.max(1)),
        ),
        Command::BenchIndex {
            passages,
            queries,
            k,
            seed,
        } => {
            let config = splade_wasm::index_bench::IndexBenchConfig {
                passages,
                queries,
                k,
                seed,
            };
            println!("{}", splade_wasm::index_bench::run(&config)?);
            Ok(())
        }
        Command::Convert {
            src,
            out,
            dtype,
            vocabulary_dtype,
            fallback_dtype,
        } => convert(
            &src,
            &out,
            &dtype,
            vocabulary_dtype.as_deref(),
            fallback_dtype.as_deref(),
        ),
        Command::Eval { model, data } => eval(&model, &data),
        Command::Export(args) => splade_wasm::export::stream::export(&args),
        Command::ExportQuery(args) => splade_wasm::export::stream::export_query(&args),
        Command::Site { command } => splade_wasm::site::cli::run(command),
        Command::RandomModel {
            architecture,
            tokenizer,
            hidden,
            layers,
            heads,
            intermediate,
            max_positions,
            out,
        } => {
            let arch = match architecture {
                ArchitectureArg::Bert => Architecture::Bert,
                ArchitectureArg::Distilbert => Architecture::DistilBert,
                ArchitectureArg::Gte => Architecture::Gte,
            };
            let dims = Dimensions {
                hidden,
                layers,
                heads,
                intermediate,
                max_positions,
            };
            let json = read_file(&tokenizer)?;
            write_random_model(arch, dims, &json, &out)
        }
    }
}

/// A model folder, or a model pack file.
fn load_model(path: &Path) -> Result<SparseEncoder> {
    if path.is_file() {
        return SparseEncoder::from_pack(&read_file(path)?).map_err(|e| in_file(e, path));
    }
    SparseEncoder::load(&DirectoryFiles::new(path)?)
}

/// Prefixes a model error with the pack's path.
fn in_file(e: Error, path: &Path) -> Error {
    match e {
        Error::Model(msg) => Error::model(format!("`{}`: {msg}", path.display())),
        other => other,
    }
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
    let tokens = with_tokens.then(|| encoder.token_weights(v));
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
    device: DeviceChoice,
) -> Result<()> {
    let encoder = load_model(model)?;
    let gpu = match side {
        Side::Document => {
            let (gpu, line) = select_device(encoder.document_encoder(), device)?;
            if let Some(line) = line {
                eprintln!("splade: {line}");
            }
            gpu
        }
        Side::Query => None,
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let encode_texts = |texts: &[String]| -> Result<Vec<SparseVector>> {
        match side {
            Side::Query => texts.iter().map(|t| encoder.encode_query(t)).collect(),
            Side::Document => {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                match &gpu {
                    Some(gpu) => gpu.encode_batch_blocking(encoder.document_encoder(), &refs),
                    None => encoder.encode_documents(&refs),
                }
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
    if model.is_file() {
        print_pack_summary(model)?;
    }
    Ok(())
}

fn print_pack_summary(path: &Path) -> Result<()> {
    let pack = splade_wasm::pack::summary(&read_file(path)?).map_err(|e| in_file(e, path))?;
    println!(
        "model pack: format version {}, {:.1} MB, --dtype {}, from {}",
        pack.format_version,
        pack.file_bytes as f64 / 1e6,
        pack.dtype,
        pack.source
    );
    for (format, (tensors, bytes)) in &pack.formats {
        println!(
            "  {format}: {tensors} tensors, {:.2} MB",
            *bytes as f64 / 1e6
        );
    }
    println!("quantization: {}", pack.quantization);
    println!("content sha256: {}", pack.content_sha256);
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

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))
}

/// Texts from a JSON array of strings or JSON lines with a `text` field.
fn read_texts(path: &Path) -> Result<Vec<String>> {
    let bytes = read_file(path)?;
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_slice(&bytes) {
        return items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                other => string_field(&other, "text"),
            })
            .collect();
    }
    let mut texts = Vec::new();
    for_each_jsonl(path, |_, record| {
        texts.push(string_field(&record, "text")?);
        Ok(())
    })?;
    Ok(texts)
}

/// Starts a new peak-memory measurement (Linux: writing 5 to `clear_refs` resets `VmHWM`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process since start or the last reset (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn best_seconds(repeat: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let start = std::time::Instant::now();
        f()?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn bench(
    model: &Path,
    passages: &Path,
    passage_tokens: usize,
    document: Option<(&Path, usize)>,
    repeat: usize,
    (query, query_calls): (&str, usize),
) -> Result<()> {
    let start = std::time::Instant::now();
    let mut encoder = load_model(model)?;
    let load_s = start.elapsed().as_secs_f64();
    let load_peak = peak_rss_mib();
    reset_peak_rss();
    let texts = read_texts(passages)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    encoder
        .document_encoder_mut()
        .set_max_tokens(passage_tokens)?;
    let tokens: usize = refs
        .iter()
        .map(|t| encoder.document_encoder().token_ids(t).map(|ids| ids.len()))
        .sum::<Result<usize>>()?;
    let batched = best_seconds(repeat, || encoder.encode_documents(&refs).map(drop))?;
    let single = best_seconds(1, || {
        refs.iter()
            .try_for_each(|t| encoder.encode_document(t).map(drop))
    })?;
    let info = encoder.info();
    let mut report = serde_json::json!({
        "model": info.model.architecture,
        "parameters": info.model.parameters,
        "load_s": load_s,
        "passages": refs.len(),
        "passage_tokens": tokens as f64 / refs.len().max(1) as f64,
        "docs_per_s": refs.len() as f64 / batched,
        "tokens_per_s": tokens as f64 / batched,
        "docs_per_s_one_by_one": refs.len() as f64 / single,
    });
    if let Some((path, max_tokens)) = document {
        let text = match serde_json::from_slice::<serde_json::Value>(&read_file(path)?) {
            Ok(v) => string_field(&v, "text")?,
            Err(_) => String::from_utf8(read_file(path)?)
                .map_err(|_| Error::input(format!("`{}` is not UTF-8", path.display())))?,
        };
        encoder.document_encoder_mut().set_max_tokens(max_tokens)?;
        let n = encoder.document_encoder().token_ids(&text)?.len();
        let seconds = best_seconds(repeat, || encoder.encode_document(&text).map(drop))?;
        report["document_tokens"] = n.into();
        report["document_ms"] = (seconds * 1000.0).into();
    }
    let mut query_s = Vec::with_capacity(query_calls);
    for _ in 0..query_calls {
        let start = std::time::Instant::now();
        std::hint::black_box(encoder.encode_query(std::hint::black_box(query))?);
        query_s.push(start.elapsed().as_secs_f64());
    }
    query_s.sort_by(f64::total_cmp);
    report["query_tokens"] = encoder.query_encoder().token_ids(query)?.len().into();
    report["query_us_median"] = (query_s[query_calls / 2] * 1e6).into();
    report["query_us_best"] = (query_s[0] * 1e6).into();
    if let (Some(load), Some(encode)) = (load_peak, peak_rss_mib()) {
        report["load_peak_rss_mib"] = load.into();
        report["encode_peak_rss_mib"] = encode.into();
    }
    println!("{report}");
    Ok(())
}

fn convert(
    src: &Path,
    out: &Path,
    dtype: &str,
    vocabulary: Option<&str>,
    fallback: Option<&str>,
) -> Result<()> {
    use splade_wasm::pack::{self, ConvertOptions};
    let name = src
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| src.display().to_string());
    let mut options = ConvertOptions::new(pack::parse_format(dtype)?, name);
    options.vocabulary = vocabulary.map(pack::parse_format).transpose()?;
    options.fallback = fallback.map(pack::parse_format).transpose()?;
    let bytes = pack::convert(&DirectoryFiles::new(src)?, &options)?;
    std::fs::write(out, &bytes)
        .map_err(|e| Error::input(format!("cannot write `{}`: {e}", out.display())))?;
    let summary = pack::summary(&bytes)?;
    eprintln!(
        "wrote `{}`: {:.1} MB, sha256 {}",
        out.display(),
        bytes.len() as f64 / 1e6,
        summary.content_sha256
    );
    eprintln!("{}", summary.quantization);
    Ok(())
}

fn eval(model: &Path, data: &Path) -> Result<()> {
    use splade_wasm::eval;
    let encoder = load_model(model)?;
    let dataset = eval::read_beir(data)?;
    let start = std::time::Instant::now();
    let report = eval::evaluate(&encoder, &dataset, &mut |done, total| {
        let rate = done as f64 / start.elapsed().as_secs_f64().max(1e-9);
        eprintln!("encoded {done}/{total} documents ({rate:.1} docs/s)");
    })?;
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| Error::input(e.to_string()))?
    );
    Ok(())
}

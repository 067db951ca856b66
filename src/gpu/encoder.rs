//! `GpuDocumentEncoder`: the document side of a loaded [`DocumentEncoder`] run on a WebGPU device.
//! Tokenization, embedding lookup and the sparse vector stay on the CPU; the transformer and the
//! SPLADE head run on the GPU, and only the pooled vectors come back.

use super::context::GpuContext;
#[cfg(not(target_arch = "wasm32"))]
use super::kernels::StageTimes;
use super::transformer::{self, GpuTransformer};
use crate::document::{length_sorted_batches, DocumentEncoder};
use crate::error::{Error, Result};
use crate::sparse::SparseVector;

/// Padded tokens per GPU batch: enough to fill a GPU, bounded so that a base-sized model's
/// activations stay around a hundred megabytes.
const DEFAULT_BATCH_TOKENS: usize = 4096;
const MAX_BATCH_SIZE: usize = 64;

pub struct GpuDocumentEncoder {
    ctx: GpuContext,
    transformer: GpuTransformer,
    /// Hidden size and vocabulary of the model the weights came from, checked on every call so
    /// that encoding through another model's tokenizer and embeddings fails instead of mixing.
    model_shape: (usize, usize),
    batch_tokens: usize,
}

impl GpuDocumentEncoder {
    /// Uploads `document`'s transformer to `ctx`'s device.
    pub async fn new(ctx: GpuContext, document: &DocumentEncoder) -> Result<Self> {
        let transformer = GpuTransformer::new(&ctx, document.model(), document.pooling()).await?;
        let info = document.model().info();
        Ok(Self {
            ctx,
            transformer,
            model_shape: (info.hidden_size, info.vocab_size),
            batch_tokens: DEFAULT_BATCH_TOKENS,
        })
    }

    /// A device and the model on it, for native code.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking(document: &DocumentEncoder) -> Result<Self> {
        pollster::block_on(async { Self::new(GpuContext::new().await?, document).await })
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    pub fn transformer(&self) -> &GpuTransformer {
        &self.transformer
    }

    /// Padded tokens one GPU batch may hold (at least one document always goes through).
    pub fn set_batch_tokens(&mut self, tokens: usize) {
        self.batch_tokens = tokens.max(1);
    }

    /// Encodes `texts` with `document`'s tokenizer and embeddings (the encoder this one was built
    /// from): sorted by length into padded batches as on the CPU, output in input order.
    pub async fn encode_batch(
        &self,
        document: &DocumentEncoder,
        texts: &[&str],
    ) -> Result<Vec<SparseVector>> {
        let info = document.model().info();
        if (info.hidden_size, info.vocab_size) != self.model_shape {
            return Err(Error::input(
                "this GPU encoder was built from another model than the document encoder given",
            ));
        }
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| document.token_ids(t))
            .collect::<Result<_>>()?;
        let mut out = vec![SparseVector::default(); ids.len()];
        for batch in length_sorted_batches(&ids, self.batch_tokens, MAX_BATCH_SIZE) {
            let tokens: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            let vectors = self.encode_token_batch(document, &tokens).await?;
            for (&i, vector) in batch.iter().zip(vectors) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn encode_batch_blocking(
        &self,
        document: &DocumentEncoder,
        texts: &[&str],
    ) -> Result<Vec<SparseVector>> {
        pollster::block_on(self.encode_batch(document, texts))
    }

    /// Times a batch of `sequences` sequences of `len` token ids on the GPU: once as a whole
    /// (after a warm-up batch) and once stage by stage, with the GPU memory it needs.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profile(
        &self,
        document: &DocumentEncoder,
        sequences: usize,
        len: usize,
    ) -> Result<GpuProfile> {
        let vocab = self.model_shape.1 as u32;
        // Ids spread over the vocabulary; the kernels' work does not depend on their values.
        let input_ids: Vec<u32> = (0..sequences * len)
            .map(|i| (1000 + 7919 * i as u32) % vocab)
            .collect();
        let plan = document.model().plan();
        let embeddings = transformer::embeddings(&plan, &input_ids, sequences, len)?;
        let lengths = vec![len; sequences];
        let batch = || {
            pollster::block_on(
                self.transformer
                    .pooled(&self.ctx, &embeddings, &lengths, len),
            )
        };
        batch()?;
        let started = std::time::Instant::now();
        batch()?;
        let batch_seconds = started.elapsed().as_secs_f64();
        let stages = self
            .transformer
            .profile(&self.ctx, &embeddings, &lengths, len)?;
        Ok(GpuProfile {
            adapter: describe(&self.ctx),
            sequences,
            len,
            batch_seconds,
            stages,
            weight_bytes: self.transformer.weight_bytes(),
            peak_bytes: self.transformer.peak_bytes(sequences, len),
        })
    }

    async fn encode_token_batch(
        &self,
        document: &DocumentEncoder,
        batch: &[&[u32]],
    ) -> Result<Vec<SparseVector>> {
        let len = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        if len == 0 {
            return Ok(vec![SparseVector::default(); batch.len()]);
        }
        let mut input_ids = vec![0u32; batch.len() * len];
        for (row, ids) in batch.iter().enumerate() {
            input_ids[row * len..row * len + ids.len()].copy_from_slice(ids);
        }
        let plan = document.model().plan();
        let embeddings = transformer::embeddings(&plan, &input_ids, batch.len(), len)?;
        let lengths: Vec<usize> = batch.iter().map(|ids| ids.len()).collect();
        let pooled = self
            .transformer
            .pooled(&self.ctx, &embeddings, &lengths, len)
            .await?;
        Ok(pooled
            .iter()
            .map(|dense| SparseVector::from_dense(dense))
            .collect())
    }
}

/// What [`GpuDocumentEncoder::profile`] measured; `Display` is the `splade gpu-profile` report.
#[cfg(not(target_arch = "wasm32"))]
pub struct GpuProfile {
    pub adapter: String,
    pub sequences: usize,
    pub len: usize,
    /// Wall time of one warm batch, submitted as one command buffer.
    pub batch_seconds: f64,
    /// Each stage's dispatches submitted and waited for alone.
    pub stages: StageTimes,
    pub weight_bytes: u64,
    pub peak_bytes: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl std::fmt::Display for GpuProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, len) = (self.sequences, self.len);
        let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
        writeln!(f, "adapter: {}", self.adapter)?;
        writeln!(
            f,
            "batch of {n} × {len} tokens: {:.1} ms ({:.1} docs/s)",
            self.batch_seconds * 1e3,
            n as f64 / self.batch_seconds
        )?;
        writeln!(
            f,
            "GPU buffers: weights {:.1} MiB, peak during the batch {:.1} MiB ({} bytes)",
            mib(self.weight_bytes),
            mib(self.peak_bytes),
            self.peak_bytes
        )?;
        let total: f64 = self.stages.stages.iter().map(|(_, s, _)| s).sum();
        writeln!(
            f,
            "stages, each dispatch timed alone ({:.1} ms in all):",
            total * 1e3
        )?;
        let mut stages = self.stages.stages.clone();
        stages.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (name, seconds, dispatches) in stages {
            writeln!(
                f,
                "  {name:<44} {:>9.2} ms {:>5.1}%  ({dispatches} dispatches)",
                seconds * 1e3,
                100.0 * seconds / total.max(f64::MIN_POSITIVE)
            )?;
        }
        Ok(())
    }
}

/// Where native code encodes documents (`splade encode --device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Cpu,
    WebGpu,
    /// The GPU when wgpu finds a hardware adapter; the CPU when it finds none, or only a software
    /// one (lavapipe, SwiftShader: correct, but slower than the CPU encoder).
    Auto,
}

/// The GPU encoder `choice` asks for (`None`: encode on the CPU) and a line saying why, unless the
/// CPU was asked for: the default goes without saying, so that stderr stays for errors.
#[cfg(not(target_arch = "wasm32"))]
pub fn select_device(
    document: &DocumentEncoder,
    choice: DeviceChoice,
) -> Result<(Option<GpuDocumentEncoder>, Option<String>)> {
    let (gpu, line) = match choice {
        DeviceChoice::Cpu => return Ok((None, None)),
        DeviceChoice::WebGpu => {
            let gpu = GpuDocumentEncoder::new_blocking(document)?;
            let line = format!("documents on WebGPU: {}", describe(gpu.context()));
            (Some(gpu), line)
        }
        DeviceChoice::Auto => match GpuContext::new_blocking() {
            Ok(ctx) if ctx.is_software() => (
                None,
                format!(
                    "documents on the CPU (the only WebGPU adapter is a software one: {})",
                    describe(&ctx)
                ),
            ),
            Ok(ctx) => {
                let line = format!("documents on WebGPU: {}", describe(&ctx));
                let gpu = pollster::block_on(GpuDocumentEncoder::new(ctx, document))?;
                (Some(gpu), line)
            }
            Err(e) => (None, format!("documents on the CPU ({e})")),
        },
    };
    Ok((gpu, Some(line)))
}

#[cfg(not(target_arch = "wasm32"))]
fn describe(ctx: &GpuContext) -> String {
    format!("{} ({})", ctx.adapter_name(), ctx.backend())
}

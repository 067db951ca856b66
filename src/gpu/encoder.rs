//! `GpuDocumentEncoder`: the document side of a loaded [`DocumentEncoder`] run on a WebGPU device.
//! Tokenization, embedding lookup and the sparse vector stay on the CPU; the transformer and the
//! SPLADE head run on the GPU, and only the pooled vectors come back.

use super::context::GpuContext;
use super::transformer::{self, GpuTransformer};
use crate::document::DocumentEncoder;
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
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut out = vec![SparseVector::default(); ids.len()];
        let mut start = 0;
        while start < order.len() {
            let padded = ids[order[start]].len().max(1);
            let fit = (self.batch_tokens / padded).clamp(1, MAX_BATCH_SIZE);
            let end = (start + fit).min(order.len());
            let batch: Vec<&[u32]> = order[start..end]
                .iter()
                .map(|&i| ids[i].as_slice())
                .collect();
            let vectors = self.encode_token_batch(document, &batch).await?;
            for (&i, vector) in order[start..end].iter().zip(vectors) {
                out[i] = vector;
            }
            start = end;
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

/// Where native code encodes documents (`splade encode --device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Cpu,
    WebGpu,
    /// The GPU when wgpu finds a hardware adapter; the CPU when it finds none, or only a software
    /// one (lavapipe, SwiftShader: correct, but slower than the CPU encoder).
    Auto,
}

/// The GPU encoder `choice` asks for (`None`: encode on the CPU) and a line saying why.
#[cfg(not(target_arch = "wasm32"))]
pub fn select_device(
    document: &DocumentEncoder,
    choice: DeviceChoice,
) -> Result<(Option<GpuDocumentEncoder>, String)> {
    match choice {
        DeviceChoice::Cpu => Ok((None, "documents on the CPU".into())),
        DeviceChoice::WebGpu => {
            let gpu = GpuDocumentEncoder::new_blocking(document)?;
            let line = format!("documents on WebGPU: {}", describe(gpu.context()));
            Ok((Some(gpu), line))
        }
        DeviceChoice::Auto => match GpuContext::new_blocking() {
            Ok(ctx) if ctx.is_software() => Ok((
                None,
                format!(
                    "documents on the CPU (the only WebGPU adapter is a software one: {})",
                    describe(&ctx)
                ),
            )),
            Ok(ctx) => {
                let line = format!("documents on WebGPU: {}", describe(&ctx));
                let gpu = pollster::block_on(GpuDocumentEncoder::new(ctx, document))?;
                Ok((Some(gpu), line))
            }
            Err(e) => Ok((None, format!("documents on the CPU ({e})"))),
        },
    }
}

fn describe(ctx: &GpuContext) -> String {
    format!("{} ({})", ctx.adapter_name(), ctx.backend())
}

//! A document transformer on the GPU: the weights of a loaded model (its
//! [`TransformerPlan`](crate::models::plan::TransformerPlan)) uploaded once, activation buffers
//! kept between batches, and one forward pass plus SPLADE pooling per batch, of which only the
//! pooled `[sequences, vocab]` vector comes back.

use std::sync::Mutex;

use candle_core::{Device, Tensor};

use super::context::GpuContext;
#[cfg(not(target_arch = "wasm32"))]
use super::kernels::StageTimes;
use super::kernels::{self, AttentionShape, GpuMatrix, HeadPooling, Kernels, Recorder, Rows};
use crate::error::{Error, Result};
use crate::models::{
    Activation, LayerNorm, Linear, MaskedLanguageModel, Matrix, Mlp, Qkv, TransformerPlan,
};
use crate::pooling::{PoolingStrategy, SpladeActivation, SpladePooling};

/// Rows of the MLP's intermediate activations held at once (as the CPU path's `map_rows`).
pub const MLP_CHUNK_ROWS: usize = 1024;
/// Bytes of attention scores held at once: query rows go in blocks, as on the CPU.
pub const ATTENTION_SCORE_BUDGET: usize = 32 << 20;

struct GpuLinear {
    weight: GpuMatrix,
    bias: wgpu::Buffer,
}

impl GpuLinear {
    fn upload(ctx: &GpuContext, name: &str, linear: &Linear) -> Result<Self> {
        let weight = GpuMatrix::upload(ctx, name, linear.weight())?;
        let bias = match linear.bias() {
            Some(b) => b.to_vec1::<f32>()?,
            // Adding zeros is exact: one kernel serves layers with and without a bias.
            None => vec![0.0; weight.dims().0],
        };
        Ok(Self {
            bias: kernels::storage_from(ctx, name, kernels::bytes_of(&bias))?,
            weight,
        })
    }

    /// BERT's separate q, k, v projections as one `[3 · hidden, hidden]` layer, so that all three
    /// architectures share the fused-qkv attention kernel.
    fn upload_fused(ctx: &GpuContext, name: &str, parts: [&Linear; 3]) -> Result<Self> {
        let mut biases = Vec::new();
        for linear in parts {
            match linear.bias() {
                Some(b) => biases.extend(b.to_vec1::<f32>()?),
                None => biases.extend(std::iter::repeat_n(0.0, linear.weight().dims()?.0)),
            }
        }
        let (rows, cols) = (biases.len(), parts[0].weight().dims()?.1);
        let q8_parts: Vec<_> = parts
            .iter()
            .filter_map(|l| match l.weight() {
                Matrix::Q8(q) => Some(q.row_major()),
                _ => None,
            })
            .collect();
        let weight = if q8_parts.len() == parts.len() {
            let quants: Vec<i8> = q8_parts
                .iter()
                .flat_map(|(q, _)| q.iter().copied())
                .collect();
            let scales: Vec<f32> = q8_parts
                .iter()
                .flat_map(|(_, s)| s.iter().copied())
                .collect();
            GpuMatrix::upload_q8(ctx, name, &quants, &scales, rows, cols)?
        } else {
            let mut weights = Vec::with_capacity(rows * cols);
            for linear in parts {
                let n = linear.weight().dims()?.0;
                let all = Tensor::arange(0u32, n as u32, &Device::Cpu)?;
                weights.extend(
                    linear
                        .weight()
                        .rows(&all)?
                        .flatten_all()?
                        .to_vec1::<f32>()?,
                );
            }
            GpuMatrix::upload_f32(ctx, name, &weights, rows, cols)?
        };
        Ok(Self {
            weight,
            bias: kernels::storage_from(ctx, name, kernels::bytes_of(&biases))?,
        })
    }
}

struct GpuNorm {
    gamma: wgpu::Buffer,
    beta: wgpu::Buffer,
    eps: f32,
}

impl GpuNorm {
    fn upload(ctx: &GpuContext, name: &str, norm: &LayerNorm) -> Result<Self> {
        let (gamma, beta, eps) = norm.parameters();
        Ok(Self {
            gamma: kernels::storage_from(ctx, name, kernels::bytes_of(&gamma.to_vec1::<f32>()?))?,
            beta: kernels::storage_from(ctx, name, kernels::bytes_of(&beta.to_vec1::<f32>()?))?,
            eps,
        })
    }
}

struct GpuLayer {
    qkv: GpuLinear,
    attention_output: GpuLinear,
    attention_norm: GpuNorm,
    mlp_in: GpuLinear,
    mlp_out: GpuLinear,
    mlp_norm: GpuNorm,
}

/// Activation buffers for up to `sequences × len` tokens, reused while a batch fits.
struct Workspace {
    shape: WorkspaceShape,
    sequences: usize,
    x: wgpu::Buffer,
    qkv: wgpu::Buffer,
    context: wgpu::Buffer,
    projected: wgpu::Buffer,
    mlp: wgpu::Buffer,
    gated: wgpu::Buffer,
    scores: wgpu::Buffer,
    lengths: wgpu::Buffer,
    pooled: wgpu::Buffer,
}

/// Sizes (in f32) of the activation buffers for a batch shape: what [`Workspace`] allocates.
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceShape {
    pub x: usize,
    pub qkv: usize,
    pub context: usize,
    pub projected: usize,
    pub mlp: usize,
    pub gated: usize,
    pub scores: usize,
    pub pooled: usize,
}

impl WorkspaceShape {
    /// `gated_width`: the MLP's intermediate width (the gated MLP's first product is twice that).
    pub fn new(
        sequences: usize,
        len: usize,
        hidden: usize,
        heads: usize,
        intermediate: usize,
        gated: bool,
        vocab: usize,
    ) -> Self {
        let tokens = sequences * len;
        let chunk = tokens.min(MLP_CHUNK_ROWS);
        let block = attention_block(sequences, heads, len);
        Self {
            x: tokens * hidden,
            qkv: tokens * 3 * hidden,
            context: tokens * hidden,
            projected: tokens * hidden,
            mlp: chunk * intermediate * if gated { 2 } else { 1 },
            gated: if gated { chunk * intermediate } else { 1 },
            scores: sequences * heads * block * len,
            pooled: sequences * vocab,
        }
    }

    fn fields(&self) -> [usize; 8] {
        [
            self.x,
            self.qkv,
            self.context,
            self.projected,
            self.mlp,
            self.gated,
            self.scores,
            self.pooled,
        ]
    }

    fn holds(&self, other: &Self) -> bool {
        self.fields()
            .iter()
            .zip(other.fields())
            .all(|(a, b)| *a >= b)
    }

    fn max(&self, other: &Self) -> Self {
        Self {
            x: self.x.max(other.x),
            qkv: self.qkv.max(other.qkv),
            context: self.context.max(other.context),
            projected: self.projected.max(other.projected),
            mlp: self.mlp.max(other.mlp),
            gated: self.gated.max(other.gated),
            scores: self.scores.max(other.scores),
            pooled: self.pooled.max(other.pooled),
        }
    }

    /// Bytes of all activation buffers (plus the sequence lengths).
    pub fn bytes(&self, sequences: usize) -> u64 {
        4 * (self.fields().iter().sum::<usize>() + sequences) as u64
    }
}

/// Query rows per attention dispatch so that the scores stay within the budget.
fn attention_block(sequences: usize, heads: usize, len: usize) -> usize {
    let per_row = sequences * heads * len * std::mem::size_of::<f32>();
    (ATTENTION_SCORE_BUDGET / per_row.max(1)).clamp(1, len.max(1))
}

pub struct GpuTransformer {
    kernels: Kernels,
    layers: Vec<GpuLayer>,
    embeddings_norm: GpuNorm,
    rotary: Option<(wgpu::Buffer, wgpu::Buffer)>,
    head_dense: GpuLinear,
    head_norm: GpuNorm,
    head_activation: Activation,
    decoder: GpuMatrix,
    decoder_bias: wgpu::Buffer,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    intermediate: usize,
    gated: bool,
    attention_scale: f64,
    activation: Activation,
    pooling: HeadPooling,
    weight_bytes: u64,
    workspace: Mutex<Option<Workspace>>,
}

impl GpuTransformer {
    /// Uploads the weights of `model` (once; keep the `GpuTransformer` for every batch).
    pub async fn new(
        ctx: &GpuContext,
        model: &dyn MaskedLanguageModel,
        pooling: SpladePooling,
    ) -> Result<Self> {
        let kernels = Kernels::new(ctx).await?;
        ctx.checked("uploading the model to the GPU", || {
            Self::upload(ctx, model.plan(), pooling, kernels)
        })
        .await
    }

    fn upload(
        ctx: &GpuContext,
        plan: TransformerPlan,
        pooling: SpladePooling,
        kernels: Kernels,
    ) -> Result<Self> {
        let hidden = plan.heads * plan.head_dim;
        let mut layers = Vec::with_capacity(plan.layers.len());
        let mut intermediate = 0;
        let mut gated = false;
        for (i, layer) in plan.layers.iter().enumerate() {
            let name = |part: &str| format!("layer {i} {part}");
            let qkv = match layer.qkv {
                Qkv::Fused(linear) => GpuLinear::upload(ctx, &name("qkv"), linear)?,
                Qkv::Separate { query, key, value } => {
                    GpuLinear::upload_fused(ctx, &name("qkv"), [query, key, value])?
                }
            };
            let (mlp_in, mlp_out) = match layer.mlp {
                Mlp::Plain { up, down } => (up, down),
                Mlp::Gated { up_gate, down } => {
                    gated = true;
                    (up_gate, down)
                }
            };
            intermediate = mlp_out.weight().dims()?.1;
            layers.push(GpuLayer {
                qkv,
                attention_output: GpuLinear::upload(
                    ctx,
                    &name("attention output"),
                    layer.attention_output,
                )?,
                attention_norm: GpuNorm::upload(
                    ctx,
                    &name("attention norm"),
                    layer.attention_norm,
                )?,
                mlp_in: GpuLinear::upload(ctx, &name("mlp in"), mlp_in)?,
                mlp_out: GpuLinear::upload(ctx, &name("mlp out"), mlp_out)?,
                mlp_norm: GpuNorm::upload(ctx, &name("mlp norm"), layer.mlp_norm)?,
            });
        }
        let rotary = match plan.rotary {
            Some((cos, sin)) => Some((
                kernels::storage_from(ctx, "rope cos", kernels::bytes_of(cos))?,
                kernels::storage_from(ctx, "rope sin", kernels::bytes_of(sin))?,
            )),
            None => None,
        };
        let (dense, head_activation, norm) = plan.head.transform_parts();
        let (decoder, decoder_bias) = plan.head.decoder();
        let decoder = GpuMatrix::upload(ctx, "vocabulary decoder", decoder)?;
        let decoder_bias = kernels::storage_from(
            ctx,
            "vocabulary bias",
            kernels::bytes_of(&decoder_bias.to_vec1::<f32>()?),
        )?;
        let mut model = Self {
            kernels,
            layers,
            embeddings_norm: GpuNorm::upload(ctx, "embeddings norm", plan.embeddings_norm)?,
            rotary,
            head_dense: GpuLinear::upload(ctx, "head dense", dense)?,
            head_norm: GpuNorm::upload(ctx, "head norm", norm)?,
            head_activation,
            decoder,
            decoder_bias,
            heads: plan.heads,
            head_dim: plan.head_dim,
            hidden,
            intermediate,
            gated,
            attention_scale: plan.attention_scale,
            activation: plan.activation,
            pooling: HeadPooling {
                sum: pooling.strategy == PoolingStrategy::Sum,
                log1p_twice: pooling.activation == SpladeActivation::Log1pRelu,
            },
            weight_bytes: 0,
            workspace: Mutex::new(None),
        };
        model.weight_bytes = model.weight_bytes_uploaded();
        Ok(model)
    }

    fn weight_bytes_uploaded(&self) -> u64 {
        let linear = |l: &GpuLinear| l.weight.bytes() + l.bias.size();
        let norm = |n: &GpuNorm| n.gamma.size() + n.beta.size();
        let layers: u64 = self
            .layers
            .iter()
            .map(|l| {
                linear(&l.qkv)
                    + linear(&l.attention_output)
                    + norm(&l.attention_norm)
                    + linear(&l.mlp_in)
                    + linear(&l.mlp_out)
                    + norm(&l.mlp_norm)
            })
            .sum();
        let rotary = self.rotary.as_ref().map_or(0, |(c, s)| c.size() + s.size());
        layers
            + rotary
            + norm(&self.embeddings_norm)
            + linear(&self.head_dense)
            + norm(&self.head_norm)
            + self.decoder.bytes()
            + self.decoder_bias.size()
    }

    /// Bytes of the weights on the GPU.
    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }

    /// The activation buffer sizes for a batch of `sequences` padded to `len` tokens.
    pub fn workspace_shape(&self, sequences: usize, len: usize) -> WorkspaceShape {
        WorkspaceShape::new(
            sequences,
            len,
            self.hidden,
            self.heads,
            self.intermediate,
            self.gated,
            self.decoder.dims().0,
        )
    }

    fn workspace<'w>(
        &self,
        ctx: &GpuContext,
        slot: &'w mut Option<Workspace>,
        sequences: usize,
        len: usize,
    ) -> Result<&'w Workspace> {
        let needed = self.workspace_shape(sequences, len);
        let fits = slot
            .as_ref()
            .is_some_and(|w| w.sequences >= sequences && w.shape.holds(&needed));
        if !fits {
            // Grow every buffer to the larger of the old and new sizes, so batches of alternating
            // shapes settle on one allocation.
            let (shape, s) = match slot.as_ref() {
                Some(w) => (w.shape.max(&needed), w.sequences.max(sequences)),
                None => (needed, sequences),
            };
            *slot = Some(Workspace {
                shape,
                sequences: s,
                x: kernels::storage_f32(ctx, "hidden states", shape.x)?,
                qkv: kernels::storage_f32(ctx, "qkv", shape.qkv)?,
                context: kernels::storage_f32(ctx, "attention context", shape.context)?,
                projected: kernels::storage_f32(ctx, "projections", shape.projected)?,
                mlp: kernels::storage_f32(ctx, "mlp activations", shape.mlp)?,
                gated: kernels::storage_f32(ctx, "gated mlp", shape.gated)?,
                scores: kernels::storage_f32(ctx, "attention scores", shape.scores)?,
                lengths: kernels::storage_f32(ctx, "sequence lengths", s)?,
                pooled: kernels::storage_f32(ctx, "pooled vectors", shape.pooled)?,
            });
        }
        Ok(slot.as_ref().expect("set above"))
    }

    /// The SPLADE-pooled dense vectors `[vocab]` of right-padded token sequences, given their
    /// embeddings before the first LayerNorm (`[sequences · len, hidden]`, computed on the CPU).
    #[expect(
        clippy::await_holding_lock,
        reason = "taken with try_lock, so a second batch is refused and nothing ever waits on it; the guard is what keeps the buffers to this batch until its results are read back"
    )]
    pub async fn pooled(
        &self,
        ctx: &GpuContext,
        embeddings: &[f32],
        lengths: &[usize],
        len: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let sequences = lengths.len();
        let vocab = self.decoder.dims().0;
        // One batch at a time per model: its buffers are in use until the pooled vectors are back
        // (a second caller in the browser's single thread would otherwise wait forever).
        let mut slot = match self.workspace.try_lock() {
            Ok(slot) => slot,
            Err(std::sync::TryLockError::WouldBlock) => {
                return Err(Error::input(
                    "a batch is already encoding on this GPU encoder; await it first",
                ))
            }
            Err(std::sync::TryLockError::Poisoned(_)) => {
                return Err(Error::Device("a previous batch panicked on the GPU".into()))
            }
        };
        let workspace = ctx
            .checked("allocating GPU buffers", || {
                self.workspace(ctx, &mut slot, sequences, len)
            })
            .await?;
        let pooled = ctx
            .checked("encoding on the GPU", || {
                let rec = Recorder::new(ctx, &self.kernels);
                self.record(rec, ctx, workspace, embeddings, lengths, len);
                Ok(())
            })
            .await;
        pooled?;
        let values = ctx
            .read_f32(&workspace.pooled, (sequences * vocab * 4) as u64)
            .await?;
        Ok(values.chunks_exact(vocab).map(<[f32]>::to_vec).collect())
    }

    /// Bytes of GPU buffers while a batch of `sequences` padded to `len` tokens is encoded:
    /// the weights, the activation buffers, the readback copy of the pooled vectors and the
    /// staging copy of the uploaded embeddings (the last two exist only during the batch).
    pub fn peak_bytes(&self, sequences: usize, len: usize) -> u64 {
        let shape = self.workspace_shape(sequences, len);
        let readback = 4 * shape.pooled as u64;
        let upload = 4 * (sequences * len * self.hidden) as u64;
        self.weight_bytes + shape.bytes(sequences) + readback + upload
    }

    /// Runs one batch as [`GpuTransformer::pooled`] does but with every dispatch submitted and
    /// waited for alone, and returns the time per stage (slower than a real batch in total; the
    /// split is the point).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profile(
        &self,
        ctx: &GpuContext,
        embeddings: &[f32],
        lengths: &[usize],
        len: usize,
    ) -> Result<StageTimes> {
        let mut slot = self
            .workspace
            .lock()
            .map_err(|_| Error::Device("a previous batch panicked on the GPU".into()))?;
        let workspace = pollster::block_on(ctx.checked("allocating GPU buffers", || {
            self.workspace(ctx, &mut slot, lengths.len(), len)
        }))?;
        let mut times = StageTimes::default();
        pollster::block_on(ctx.checked("profiling on the GPU", || {
            let rec = Recorder::profiled(ctx, &self.kernels, &mut times);
            self.record(rec, ctx, workspace, embeddings, lengths, len);
            Ok(())
        }))?;
        Ok(times)
    }

    fn record(
        &self,
        mut rec: Recorder,
        ctx: &GpuContext,
        w: &Workspace,
        embeddings: &[f32],
        lengths: &[usize],
        len: usize,
    ) {
        let sequences = lengths.len();
        let tokens = sequences * len;
        let hidden = self.hidden;
        ctx.queue
            .write_buffer(&w.x, 0, kernels::bytes_of(&embeddings[..tokens * hidden]));
        let lengths: Vec<u32> = lengths.iter().map(|&l| l as u32).collect();
        let length_bytes: Vec<u8> = lengths.iter().flat_map(|l| l.to_le_bytes()).collect();
        ctx.queue.write_buffer(&w.lengths, 0, &length_bytes);

        let x = Rows::all(&w.x, tokens, hidden);
        let norm = &self.embeddings_norm;
        rec.stage("embeddings norm");
        rec.layer_norm(None, &norm.gamma, &norm.beta, norm.eps, x);
        let shape = AttentionShape {
            sequences,
            len,
            heads: self.heads,
            head_dim: self.head_dim,
            scale: self.attention_scale,
        };
        let block = attention_block(sequences, self.heads, len);
        let mlp_width = self.layers.first().map_or(0, |l| l.mlp_in.weight.dims().0);
        for layer in &self.layers {
            let qkv = Rows::all(&w.qkv, tokens, 3 * hidden);
            rec.stage("qkv");
            rec.matmul(x, &layer.qkv.weight, &layer.qkv.bias, qkv);
            if let Some((cos, sin)) = &self.rotary {
                rec.stage("rope");
                rec.rope(&w.qkv, tokens, len, self.heads, self.head_dim, cos, sin);
            }
            rec.stage("attention");
            for q_start in (0..len).step_by(block) {
                rec.attention(
                    &w.qkv, &w.lengths, &w.scores, &w.context, shape, q_start, block,
                );
            }
            let projected = Rows::all(&w.projected, tokens, hidden);
            let out = &layer.attention_output;
            rec.stage("attention output");
            rec.matmul(
                Rows::all(&w.context, tokens, hidden),
                &out.weight,
                &out.bias,
                projected,
            );
            let norm = &layer.attention_norm;
            rec.stage("attention norm");
            rec.layer_norm(Some(projected), &norm.gamma, &norm.beta, norm.eps, x);

            for first in (0..tokens).step_by(MLP_CHUNK_ROWS) {
                let rows = MLP_CHUNK_ROWS.min(tokens - first);
                let chunk = |buffer, cols| Rows {
                    buffer,
                    first,
                    rows,
                    cols,
                };
                let from_start = |buffer, cols| Rows {
                    buffer,
                    first: 0,
                    rows,
                    cols,
                };
                rec.stage("mlp in");
                rec.matmul(
                    chunk(&w.x, hidden),
                    &layer.mlp_in.weight,
                    &layer.mlp_in.bias,
                    from_start(&w.mlp, mlp_width),
                );
                rec.stage("mlp activation");
                let inner = if self.gated {
                    rec.gated(self.activation, &w.mlp, rows, self.intermediate, &w.gated);
                    &w.gated
                } else {
                    rec.activation(self.activation, &w.mlp, rows * mlp_width, &w.gated);
                    &w.mlp
                };
                rec.stage("mlp out");
                rec.matmul(
                    from_start(inner, self.intermediate),
                    &layer.mlp_out.weight,
                    &layer.mlp_out.bias,
                    from_start(&w.projected, hidden),
                );
                let norm = &layer.mlp_norm;
                rec.stage("mlp norm");
                rec.layer_norm(
                    Some(from_start(&w.projected, hidden)),
                    &norm.gamma,
                    &norm.beta,
                    norm.eps,
                    chunk(&w.x, hidden),
                );
            }
        }

        let transformed = Rows::all(&w.projected, tokens, hidden);
        rec.stage("head transform");
        rec.matmul(
            x,
            &self.head_dense.weight,
            &self.head_dense.bias,
            transformed,
        );
        rec.activation(
            self.head_activation,
            &w.projected,
            tokens * hidden,
            &w.gated,
        );
        let norm = &self.head_norm;
        rec.layer_norm(None, &norm.gamma, &norm.beta, norm.eps, transformed);
        rec.stage("splade head (vocabulary product + pooling)");
        rec.splade_head(
            &w.projected,
            &self.decoder,
            &self.decoder_bias,
            &w.lengths,
            sequences,
            len,
            self.pooling,
            &w.pooled,
        );
        rec.finish();
    }
}

/// Token embeddings before the first LayerNorm, `[sequences · len, hidden]` for right-padded ids
/// (`[sequences · len]`): word rows, plus the token type row and learned positions where the model
/// has them, in the order the CPU models add them.
pub fn embeddings(
    plan: &TransformerPlan,
    ids: &[u32],
    sequences: usize,
    len: usize,
) -> Result<Vec<f32>> {
    let hidden = plan.heads * plan.head_dim;
    let ids = Tensor::from_vec(ids.to_vec(), sequences * len, &Device::Cpu)?;
    let mut x = plan
        .word_embeddings
        .forward(&ids)?
        .reshape((sequences, len, hidden))?;
    if let Some(tt) = plan.token_type_embedding {
        x = x.broadcast_add(tt)?;
    }
    if let Some(positions) = plan.position_embeddings {
        x = x.broadcast_add(&positions.narrow(0, 0, len)?)?;
    }
    Ok(x.flatten_all()?.to_vec1::<f32>()?)
}

//! The WGSL compute kernels (in `wgsl/`), compiled once per device, and the recording of one
//! dispatch each. Every kernel reads and writes f32 storage buffers; weight matrices stay in their
//! storage format on the GPU ([`GpuMatrix`]).

use wgpu::util::DeviceExt;

use super::context::GpuContext;
use crate::error::{Error, Result};
use crate::models::{Activation, Matrix};

/// Workgroups per dispatch dimension guaranteed by WebGPU; larger grids wrap into `y`.
const MAX_GROUPS_PER_DIMENSION: u32 = 65_535;
/// Threads of the elementwise kernels' workgroups.
const ELEMENTWISE_THREADS: u32 = 256;
/// Side of the matrix-product tiles.
const TILE: u32 = 16;
/// q8_0 block length along a row.
const Q8_BLOCK: usize = 32;

/// A weight matrix `[rows (out), cols (in)]` on the GPU: f32, or q8_0 as stored (int8 values four
/// to a u32, one f32 scale per 32), dequantized inside the kernels.
pub enum GpuMatrix {
    F32 {
        weights: wgpu::Buffer,
        rows: usize,
        cols: usize,
    },
    Q8 {
        quants: wgpu::Buffer,
        scales: wgpu::Buffer,
        rows: usize,
        cols: usize,
    },
}

impl GpuMatrix {
    /// Uploads a model matrix: q8_0 stays q8_0 (linear layers from [`Matrix::Q8`], a q8_0
    /// vocabulary table from its GGUF blocks); f32 stays f32; other block formats are widened to
    /// f32 (the kernels dequantize q8_0 only).
    pub fn upload(ctx: &GpuContext, name: &str, matrix: &Matrix) -> Result<Self> {
        let (rows, cols) = matrix.dims()?;
        match matrix {
            Matrix::Q8(q) => {
                let (quants, scales) = q.row_major();
                Self::upload_q8(ctx, name, &quants, &scales, rows, cols)
            }
            Matrix::Blocks(q) if q.dtype() == candle_core::quantized::GgmlDType::Q8_0 => {
                let (quants, scales) = q8_blocks_row_major(&q.data()?, rows, cols)?;
                Self::upload_q8(ctx, name, &quants, &scales, rows, cols)
            }
            _ => {
                let all =
                    candle_core::Tensor::arange(0u32, rows as u32, &candle_core::Device::Cpu)?;
                let values = matrix.rows(&all)?.flatten_all()?.to_vec1::<f32>()?;
                Self::upload_f32(ctx, name, &values, rows, cols)
            }
        }
    }

    pub fn upload_f32(
        ctx: &GpuContext,
        name: &str,
        values: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<Self> {
        Ok(GpuMatrix::F32 {
            weights: storage_from(ctx, name, bytes_of(values))?,
            rows,
            cols,
        })
    }

    /// `quants` `[rows, cols]` row-major, `scales` `[rows, cols / 32]`.
    pub fn upload_q8(
        ctx: &GpuContext,
        name: &str,
        quants: &[i8],
        scales: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<Self> {
        if !cols.is_multiple_of(Q8_BLOCK)
            || quants.len() != rows * cols
            || scales.len() * Q8_BLOCK != quants.len()
        {
            return Err(Error::model(format!(
                "`{name}`: a q8_0 matrix [{rows}, {cols}] needs {cols} divisible by 32"
            )));
        }
        let bytes: Vec<u8> = quants.iter().map(|&q| q as u8).collect();
        Ok(GpuMatrix::Q8 {
            quants: storage_from(ctx, name, &bytes)?,
            scales: storage_from(ctx, name, bytes_of(scales))?,
            rows,
            cols,
        })
    }

    /// `(rows, cols)`
    pub fn dims(&self) -> (usize, usize) {
        match self {
            GpuMatrix::F32 { rows, cols, .. } | GpuMatrix::Q8 { rows, cols, .. } => (*rows, *cols),
        }
    }

    /// Bytes the matrix occupies on the GPU.
    pub fn bytes(&self) -> u64 {
        match self {
            GpuMatrix::F32 { weights, .. } => weights.size(),
            GpuMatrix::Q8 { quants, scales, .. } => quants.size() + scales.size(),
        }
    }
}

/// GGUF q8_0 blocks (an f16 scale, then 32 int8) of a `[rows, cols]` matrix, as row-major int8
/// and one f32 scale per block.
fn q8_blocks_row_major(data: &[u8], rows: usize, cols: usize) -> Result<(Vec<i8>, Vec<f32>)> {
    const STORED: usize = 2 + Q8_BLOCK;
    let blocks = rows * cols / Q8_BLOCK;
    if !cols.is_multiple_of(Q8_BLOCK) || data.len() != blocks * STORED {
        return Err(Error::model(format!(
            "a q8_0 matrix [{rows}, {cols}] holds {} bytes",
            data.len()
        )));
    }
    let mut quants = Vec::with_capacity(rows * cols);
    let mut scales = Vec::with_capacity(blocks);
    for block in data.chunks_exact(STORED) {
        scales.push(half::f16::from_le_bytes([block[0], block[1]]).to_f32());
        quants.extend(block[2..].iter().map(|&b| b as i8));
    }
    Ok((quants, scales))
}

pub(crate) fn bytes_of(values: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and any byte pattern is a valid u8; the slice covers exactly the
    // values' memory. (WebGPU buffers are little-endian, as are wasm32 and the native targets.)
    unsafe {
        std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
    }
}

/// A storage buffer holding `bytes` (padded to 4 bytes, as WebGPU requires).
pub(crate) fn storage_from(ctx: &GpuContext, name: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
    ctx.check_binding(name, bytes.len() as u64)?;
    let mut padded;
    let contents = if bytes.len().is_multiple_of(4) && !bytes.is_empty() {
        bytes
    } else {
        padded = bytes.to_vec();
        padded.resize(bytes.len().next_multiple_of(4).max(4), 0);
        &padded
    };
    Ok(ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(name),
            contents,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
        }))
}

/// An uninitialised storage buffer of `floats` f32 (at least one).
pub(crate) fn storage_f32(ctx: &GpuContext, name: &str, floats: usize) -> Result<wgpu::Buffer> {
    let bytes = (floats.max(1) * 4) as u64;
    ctx.check_binding(name, bytes)?;
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(name),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    }))
}

pub(crate) struct Kernels {
    matmul_f32: wgpu::ComputePipeline,
    matmul_q8: wgpu::ComputePipeline,
    layer_norm: wgpu::ComputePipeline,
    activation: wgpu::ComputePipeline,
    rope: wgpu::ComputePipeline,
    attention: wgpu::ComputePipeline,
    head_f32: wgpu::ComputePipeline,
    head_q8: wgpu::ComputePipeline,
}

fn pipeline(ctx: &GpuContext, name: &str, source: &str) -> wgpu::ComputePipeline {
    let module = ctx
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
    ctx.device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(name),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        })
}

impl Kernels {
    pub async fn new(ctx: &GpuContext) -> Result<Self> {
        let matmul = include_str!("wgsl/matmul.wgsl");
        let head = include_str!("wgsl/splade_head.wgsl");
        let f32_weights = include_str!("wgsl/weights_f32.wgsl");
        let q8_weights = include_str!("wgsl/weights_q8.wgsl");
        ctx.checked("compiling the WGSL kernels", || {
            Ok(Self {
                matmul_f32: pipeline(ctx, "matmul_f32", &format!("{matmul}\n{f32_weights}")),
                matmul_q8: pipeline(ctx, "matmul_q8", &format!("{matmul}\n{q8_weights}")),
                layer_norm: pipeline(ctx, "layer_norm", include_str!("wgsl/layer_norm.wgsl")),
                activation: pipeline(ctx, "activation", include_str!("wgsl/activation.wgsl")),
                rope: pipeline(ctx, "rope", include_str!("wgsl/rope.wgsl")),
                attention: pipeline(ctx, "attention", include_str!("wgsl/attention.wgsl")),
                head_f32: pipeline(ctx, "splade_head_f32", &format!("{head}\n{f32_weights}")),
                head_q8: pipeline(ctx, "splade_head_q8", &format!("{head}\n{q8_weights}")),
            })
        })
        .await
    }
}

/// Eight 32-bit parameters, the uniform block every kernel starts with.
fn params(values: [u32; 8]) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (chunk, v) in bytes.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    bytes
}

/// `(x, y)` workgroup counts covering `groups` with at most 65,535 per dimension.
fn grid(groups: u32) -> (u32, u32) {
    let x = groups.clamp(1, MAX_GROUPS_PER_DIMENSION);
    (x, groups.div_ceil(x).max(1))
}

fn activation_code(activation: Activation) -> u32 {
    match activation {
        Activation::Gelu => 0,
        Activation::GeluTanh => 1,
        Activation::Relu => 2,
        Activation::Silu => 3,
    }
}

fn command_encoder(ctx: &GpuContext) -> wgpu::CommandEncoder {
    ctx.device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("encode"),
        })
}

/// A row range of an f32 buffer: `rows` rows of `cols` starting at row `first`.
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub first: usize,
    pub rows: usize,
    pub cols: usize,
}

impl<'a> Rows<'a> {
    pub fn all(buffer: &'a wgpu::Buffer, rows: usize, cols: usize) -> Self {
        Self {
            buffer,
            first: 0,
            rows,
            cols,
        }
    }

    fn offset(&self) -> u32 {
        (self.first * self.cols) as u32
    }
}

/// Seconds spent in each stage of a forward pass (`qkv`, `attention`, `mlp in`, …), in the
/// order the stages first ran, with their dispatch counts: what `splade gpu-profile` prints.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone)]
pub struct StageTimes {
    pub stages: Vec<(&'static str, f64, usize)>,
}

#[cfg(not(target_arch = "wasm32"))]
impl StageTimes {
    fn add(&mut self, stage: &'static str, seconds: f64) {
        match self.stages.iter_mut().find(|(name, ..)| *name == stage) {
            Some((_, total, count)) => {
                *total += seconds;
                *count += 1;
            }
            None => self.stages.push((stage, seconds, 1)),
        }
    }
}

/// Records dispatches into one command encoder; [`Recorder::finish`] submits them. A profiling
/// recorder (native only) instead submits every dispatch alone and waits for it, timing it
/// against the current [`Recorder::stage`].
pub(crate) struct Recorder<'a> {
    ctx: &'a GpuContext,
    kernels: &'a Kernels,
    encoder: wgpu::CommandEncoder,
    /// The current stage and the times, when profiling.
    #[cfg(not(target_arch = "wasm32"))]
    profile: Option<(&'static str, &'a mut StageTimes)>,
}

impl<'a> Recorder<'a> {
    pub fn new(ctx: &'a GpuContext, kernels: &'a Kernels) -> Self {
        Self {
            ctx,
            kernels,
            encoder: command_encoder(ctx),
            #[cfg(not(target_arch = "wasm32"))]
            profile: None,
        }
    }

    /// A recorder that times each dispatch into `profile` (wall clock, dispatch by dispatch).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profiled(
        ctx: &'a GpuContext,
        kernels: &'a Kernels,
        profile: &'a mut StageTimes,
    ) -> Self {
        Self {
            profile: Some(("", profile)),
            ..Self::new(ctx, kernels)
        }
    }

    /// Names the stage the next dispatches belong to (for profiling).
    pub fn stage(&mut self, stage: &'static str) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(profile) = &mut self.profile {
            profile.0 = stage;
        }
        #[cfg(target_arch = "wasm32")]
        let _ = stage;
    }

    pub fn finish(self) {
        self.ctx.queue.submit([self.encoder.finish()]);
    }

    /// Submits what is recorded, waits for the device, and books the time to the current stage.
    #[cfg(not(target_arch = "wasm32"))]
    fn time_recorded(&mut self) {
        let Some((stage, profile)) = &mut self.profile else {
            return;
        };
        let started = std::time::Instant::now();
        let recorded = std::mem::replace(&mut self.encoder, command_encoder(self.ctx));
        self.ctx.queue.submit([recorded.finish()]);
        let _ = self.ctx.device.poll(wgpu::PollType::wait_indefinitely());
        profile.add(stage, started.elapsed().as_secs_f64());
    }

    fn dispatch(
        &mut self,
        pipeline: &wgpu::ComputePipeline,
        uniform: &[u8],
        buffers: &[(u32, &wgpu::Buffer)],
        groups: (u32, u32, u32),
    ) {
        let uniform = self
            .ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: uniform,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        entries.extend(
            buffers
                .iter()
                .map(|(binding, buffer)| wgpu::BindGroupEntry {
                    binding: *binding,
                    resource: buffer.as_entire_binding(),
                }),
        );
        let bind_group = self
            .ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        drop(pass);
        #[cfg(not(target_arch = "wasm32"))]
        self.time_recorded();
    }

    /// `y = x · Wᵀ + bias` for the rows of `x`, written to the same rows of `y`.
    pub fn matmul(&mut self, x: Rows, w: &GpuMatrix, bias: &wgpu::Buffer, y: Rows) {
        let (outer, inner) = w.dims();
        debug_assert_eq!((x.cols, y.cols, x.rows), (inner, outer, y.rows));
        let uniform = params([
            x.rows as u32,
            inner as u32,
            outer as u32,
            x.offset(),
            y.offset(),
            0,
            0,
            0,
        ]);
        let groups = (
            (outer as u32).div_ceil(TILE),
            (x.rows as u32).div_ceil(TILE),
            1,
        );
        match w {
            GpuMatrix::F32 { weights, .. } => self.dispatch(
                &self.kernels.matmul_f32.clone(),
                &uniform,
                &[(1, x.buffer), (2, bias), (3, y.buffer), (4, weights)],
                groups,
            ),
            GpuMatrix::Q8 { quants, scales, .. } => self.dispatch(
                &self.kernels.matmul_q8.clone(),
                &uniform,
                &[
                    (1, x.buffer),
                    (2, bias),
                    (3, y.buffer),
                    (4, quants),
                    (5, scales),
                ],
                groups,
            ),
        }
    }

    /// `y = LayerNorm(a + y)`, or `LayerNorm(y)` without `a`, row by row.
    pub fn layer_norm(
        &mut self,
        addend: Option<Rows>,
        gamma: &wgpu::Buffer,
        beta: &wgpu::Buffer,
        eps: f32,
        y: Rows,
    ) {
        let (gx, gy) = grid(y.rows as u32);
        let uniform = params([
            y.rows as u32,
            y.cols as u32,
            eps.to_bits(),
            addend.is_some() as u32,
            addend.map_or(0, |a| a.offset()),
            y.offset(),
            gx,
            0,
        ]);
        // Without an addend the binding is never read; any read-only buffer fills it.
        let a = addend.map_or(gamma, |a| a.buffer);
        self.dispatch(
            &self.kernels.layer_norm.clone(),
            &uniform,
            &[(1, a), (2, gamma), (3, beta), (4, y.buffer)],
            (gx, gy, 1),
        );
    }

    /// `x = act(x)` for the first `count` values of `x`.
    pub fn activation(
        &mut self,
        activation: Activation,
        x: &wgpu::Buffer,
        count: usize,
        scratch: &wgpu::Buffer,
    ) {
        self.elementwise(activation, x, count, 0, false, scratch);
    }

    /// `out[r, c] = act(gate[r, c]) · up[r, c]` for `rows` rows `[up | gate]` of `2 · cols` in `x`.
    pub fn gated(
        &mut self,
        activation: Activation,
        x: &wgpu::Buffer,
        rows: usize,
        cols: usize,
        out: &wgpu::Buffer,
    ) {
        self.elementwise(activation, x, rows * cols, cols, true, out);
    }

    fn elementwise(
        &mut self,
        activation: Activation,
        x: &wgpu::Buffer,
        count: usize,
        cols: usize,
        gated: bool,
        out: &wgpu::Buffer,
    ) {
        let (gx, gy) = grid((count as u32).div_ceil(ELEMENTWISE_THREADS));
        let uniform = params([
            count as u32,
            cols as u32,
            activation_code(activation),
            gated as u32,
            gx * ELEMENTWISE_THREADS,
            0,
            0,
            0,
        ]);
        self.dispatch(
            &self.kernels.activation.clone(),
            &uniform,
            &[(1, x), (2, out)],
            (gx, gy, 1),
        );
    }

    /// RoPE on the query and key parts of fused `[tokens, 3 · heads · head_dim]` rows.
    #[allow(clippy::too_many_arguments)]
    pub fn rope(
        &mut self,
        qkv: &wgpu::Buffer,
        tokens: usize,
        len: usize,
        heads: usize,
        head_dim: usize,
        cos: &wgpu::Buffer,
        sin: &wgpu::Buffer,
    ) {
        let count = tokens * 2 * heads * head_dim / 2;
        let (gx, gy) = grid((count as u32).div_ceil(ELEMENTWISE_THREADS));
        let uniform = params([
            count as u32,
            len as u32,
            heads as u32,
            head_dim as u32,
            gx * ELEMENTWISE_THREADS,
            0,
            0,
            0,
        ]);
        self.dispatch(
            &self.kernels.rope.clone(),
            &uniform,
            &[(1, cos), (2, sin), (3, qkv)],
            (gx, gy, 1),
        );
    }

    /// Attention for query rows `q_start..q_start + block` of every sequence and head: reads fused
    /// qkv rows, writes `context` rows `[tokens, heads · head_dim]`; `scores` holds
    /// `sequences · heads · block · len` floats.
    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &mut self,
        qkv: &wgpu::Buffer,
        lengths: &wgpu::Buffer,
        scores: &wgpu::Buffer,
        context: &wgpu::Buffer,
        shape: AttentionShape,
        q_start: usize,
        block: usize,
    ) {
        let rows = block.min(shape.len - q_start);
        let uniform = params([
            shape.len as u32,
            shape.heads as u32,
            shape.head_dim as u32,
            q_start as u32,
            block as u32,
            (shape.scale as f32).to_bits(),
            0,
            0,
        ]);
        self.dispatch(
            &self.kernels.attention.clone(),
            &uniform,
            &[(1, qkv), (2, lengths), (3, scores), (4, context)],
            (rows as u32, shape.heads as u32, shape.sequences as u32),
        );
    }

    /// The SPLADE-pooled vocabulary vector `[sequences, vocab]` of transformed rows `x`
    /// `[sequences · len, hidden]`, each sequence pooled over its first `lengths[s]` tokens.
    #[allow(clippy::too_many_arguments)]
    pub fn splade_head(
        &mut self,
        x: &wgpu::Buffer,
        decoder: &GpuMatrix,
        bias: &wgpu::Buffer,
        lengths: &wgpu::Buffer,
        sequences: usize,
        len: usize,
        pooling: HeadPooling,
        pooled: &wgpu::Buffer,
    ) {
        let (vocab, hidden) = decoder.dims();
        let uniform = params([
            len as u32,
            hidden as u32,
            vocab as u32,
            pooling.sum as u32,
            pooling.log1p_twice as u32,
            0,
            0,
            0,
        ]);
        let groups = ((vocab as u32).div_ceil(TILE), 1, sequences as u32);
        match decoder {
            GpuMatrix::F32 { weights, .. } => self.dispatch(
                &self.kernels.head_f32.clone(),
                &uniform,
                &[(1, x), (2, bias), (3, pooled), (4, weights), (6, lengths)],
                groups,
            ),
            GpuMatrix::Q8 { quants, scales, .. } => self.dispatch(
                &self.kernels.head_q8.clone(),
                &uniform,
                &[
                    (1, x),
                    (2, bias),
                    (3, pooled),
                    (4, quants),
                    (5, scales),
                    (6, lengths),
                ],
                groups,
            ),
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct AttentionShape {
    pub sequences: usize,
    pub len: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub scale: f64,
}

#[derive(Clone, Copy)]
pub(crate) struct HeadPooling {
    /// Sum of activations over tokens instead of the max.
    pub sum: bool,
    /// `log1p_relu`: log(1 + ·) applied twice.
    pub log1p_twice: bool,
}

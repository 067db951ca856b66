//! One WebGPU device (native: wgpu over Vulkan, e.g. Mesa's lavapipe on a machine without a GPU;
//! wasm: the browser's `navigator.gpu`), with the limits this crate's kernels need checked up front,
//! so that an adapter too small fails with a message instead of a validation panic mid-batch.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::error::{Error, Result};

/// Workgroup memory the kernels declare at most (three 16 × 16 f32 tiles in the SPLADE head).
const WORKGROUP_STORAGE_BYTES: u32 = 3 * 16 * 16 * 4;
/// Storage buffers bound to one kernel at most (the head with q8_0 weights).
const STORAGE_BUFFERS_PER_KERNEL: u32 = 6;
/// Invocations per workgroup at most (16 × 16 tiles; 256-wide elementwise kernels).
const INVOCATIONS_PER_WORKGROUP: u32 = 256;

pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    adapter_name: String,
    backend: String,
    software: bool,
    max_binding_bytes: u64,
}

impl GpuContext {
    /// Requests an adapter and a device whose storage bindings may be as large as the adapter
    /// allows (models need tens of megabytes per weight matrix; the WebGPU default is 128 MiB).
    pub async fn new() -> Result<Self> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                Error::Device(format!(
                    "no WebGPU adapter ({e}); natively install a Vulkan driver (Debian: mesa-vulkan-drivers), in a browser enable WebGPU"
                ))
            })?;
        let available = adapter.limits();
        check_limit(
            "maxComputeWorkgroupStorageSize",
            available.max_compute_workgroup_storage_size as u64,
            WORKGROUP_STORAGE_BYTES as u64,
        )?;
        check_limit(
            "maxStorageBuffersPerShaderStage",
            available.max_storage_buffers_per_shader_stage as u64,
            STORAGE_BUFFERS_PER_KERNEL as u64,
        )?;
        check_limit(
            "maxComputeInvocationsPerWorkgroup",
            available.max_compute_invocations_per_workgroup as u64,
            INVOCATIONS_PER_WORKGROUP as u64,
        )?;
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: available.max_storage_buffer_binding_size,
            max_buffer_size: available.max_buffer_size,
            ..wgpu::Limits::default()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("splade"),
                required_features: wgpu::Features::empty(),
                required_limits,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Device(format!("the WebGPU adapter refused a device: {e}")))?;
        let info = adapter.get_info();
        Ok(Self {
            device,
            queue,
            adapter_name: info.name,
            backend: info.backend.to_string(),
            software: info.device_type == wgpu::DeviceType::Cpu,
            max_binding_bytes: available
                .max_storage_buffer_binding_size
                .min(available.max_buffer_size),
        })
    }

    /// A device for native code, blocking until it is ready.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Self> {
        pollster::block_on(Self::new())
    }

    /// The adapter's name as the driver reports it (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub fn adapter_name(&self) -> &str {
        &self.adapter_name
    }

    /// "vulkan", "webgpu", ...
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// Whether the adapter is a CPU rasterizer (lavapipe, SwiftShader): correct, but slower than
    /// the CPU encoder.
    pub fn is_software(&self) -> bool {
        self.software
    }

    /// The largest buffer one kernel may bind.
    pub fn max_binding_bytes(&self) -> u64 {
        self.max_binding_bytes
    }

    /// Fails with the limit's name when `bytes` would not fit one storage binding.
    pub(crate) fn check_binding(&self, what: &str, bytes: u64) -> Result<()> {
        if bytes > self.max_binding_bytes {
            return Err(Error::Device(format!(
                "{what} needs a {bytes}-byte GPU buffer but this adapter binds at most {} bytes (maxStorageBufferBindingSize / maxBufferSize)",
                self.max_binding_bytes
            )));
        }
        Ok(())
    }

    /// Copies `bytes` bytes of `buffer` (a `COPY_SRC` buffer) back to the CPU as f32.
    pub(crate) async fn read_f32(&self, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<f32>> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let (sender, receiver) = oneshot();
        staging.map_async(wgpu::MapMode::Read, .., move |result| sender.send(result));
        self.wait();
        receiver
            .await
            .map_err(|e| Error::Device(format!("reading results back from the GPU failed: {e}")))?;
        let values = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| Error::Device(format!("GPU readback: {e}")))?;
            view.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        staging.unmap();
        Ok(values)
    }

    /// Natively, runs the queue until idle so that mapping callbacks fire; the browser runs them
    /// from its event loop.
    fn wait(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
    }

    /// Runs `f` inside validation and out-of-memory error scopes, so that a failed dispatch is an
    /// `Error` (native wgpu would otherwise panic on an uncaptured error).
    pub(crate) async fn checked<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let out_of_memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = f();
        let invalid = validation.pop().await;
        let oom = out_of_memory.pop().await;
        if let Some(e) = invalid.or(oom) {
            return Err(Error::Device(format!("{what} failed on the GPU: {e}")));
        }
        result
    }
}

fn check_limit(name: &str, available: u64, needed: u64) -> Result<()> {
    if available < needed {
        return Err(Error::Device(format!(
            "the WebGPU adapter's {name} is {available}, the kernels need {needed}"
        )));
    }
    Ok(())
}

/// A one-value channel whose receiving end is a future: buffer mapping reports through a callback,
/// which natively has fired by the time it is awaited and in a browser fires later.
struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

struct Sender<T>(Arc<Mutex<Slot<T>>>);
struct Receiver<T>(Arc<Mutex<Slot<T>>>);

fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
    }));
    (Sender(slot.clone()), Receiver(slot))
}

impl<T> Sender<T> {
    fn send(self, value: T) {
        let mut slot = self.0.lock().expect("slot lock");
        slot.value = Some(value);
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.0.lock().expect("slot lock");
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

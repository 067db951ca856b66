//! The JavaScript binding of the WebGPU encoder: `WebGpuEncoder.fromPack(bytes)` /
//! `WebGpuEncoder.fromFiles(files)` (async: adapter, device, weight upload), then
//! `encodeDocuments(texts)` (a Promise of the same `{indices, values}` objects as the wasm
//! `SparseEncoder`). Any device failure, a lost device included, rejects with an `Error` whose
//! message starts with "WebGPU:", so the caller can re-run the batch on wasm.

use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::context::GpuContext;
use super::encoder::GpuDocumentEncoder;
use crate::wasm::{files_from_js, js_error, vector_to_js};
use crate::SparseEncoder;

struct Loaded {
    encoder: SparseEncoder,
    gpu: GpuDocumentEncoder,
}

#[wasm_bindgen]
pub struct WebGpuEncoder {
    loaded: Rc<Loaded>,
}

async fn build(encoder: SparseEncoder) -> Result<WebGpuEncoder, JsError> {
    let ctx = GpuContext::new().await.map_err(js_error)?;
    let gpu = GpuDocumentEncoder::new(ctx, encoder.document_encoder())
        .await
        .map_err(js_error)?;
    Ok(WebGpuEncoder {
        loaded: Rc::new(Loaded { encoder, gpu }),
    })
}

#[wasm_bindgen]
impl WebGpuEncoder {
    /// A model pack's document side on the browser's WebGPU adapter.
    #[wasm_bindgen(js_name = fromPack)]
    pub async fn from_pack(bytes: Vec<u8>) -> Result<WebGpuEncoder, JsError> {
        build(SparseEncoder::from_pack(&bytes).map_err(js_error)?).await
    }

    /// A model folder given file by file (`{relative path: Uint8Array}`), as `new SparseEncoder`.
    #[wasm_bindgen(js_name = fromFiles)]
    pub async fn from_files(files: JsValue) -> Result<WebGpuEncoder, JsError> {
        let files = files_from_js(&files)?;
        build(SparseEncoder::load(&files).map_err(js_error)?).await
    }

    /// Truncates documents to `max_tokens` (special tokens included), as
    /// `SparseEncoder.setMaxDocumentTokens`; refused while a batch is encoding.
    #[wasm_bindgen(js_name = setMaxDocumentTokens)]
    pub fn set_max_document_tokens(&mut self, max_tokens: usize) -> Result<(), JsError> {
        let loaded = Rc::get_mut(&mut self.loaded).ok_or_else(|| {
            JsError::new("cannot change the token limit while a batch is encoding")
        })?;
        loaded
            .encoder
            .document_encoder_mut()
            .set_max_tokens(max_tokens)
            .map_err(js_error)
    }

    /// `{adapter, backend, software}`: which device encodes.
    pub fn adapter(&self) -> Result<JsValue, JsError> {
        let ctx = self.loaded.gpu.context();
        let obj = Object::new();
        let set = |key: &str, value: JsValue| {
            Reflect::set(&obj, &key.into(), &value)
                .map_err(|_| JsError::new("cannot build the adapter object"))
        };
        set("adapter", ctx.adapter_name().into())?;
        set("backend", ctx.backend().into())?;
        set("software", ctx.is_software().into())?;
        Ok(obj.into())
    }

    /// Encodes documents on the GPU: a Promise of `[{indices, values}]` in input order.
    #[wasm_bindgen(js_name = encodeDocuments)]
    pub fn encode_documents(&self, texts: Vec<String>) -> js_sys::Promise {
        let loaded = self.loaded.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = loaded
                .gpu
                .encode_batch(loaded.encoder.document_encoder(), &refs)
                .await
                .map_err(|e| JsValue::from(js_error(e)))?;
            let out = Array::new();
            for v in &vectors {
                out.push(&vector_to_js(v).map_err(JsValue::from)?);
            }
            Ok(out.into())
        })
    }

    /// Destroys the device, as a driver reset or a lost GPU would: every later call rejects.
    /// For testing the fallback to wasm.
    #[wasm_bindgen(js_name = destroyDevice)]
    pub fn destroy_device(&self) {
        self.loaded.gpu.context().device.destroy();
    }
}

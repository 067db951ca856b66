//! The JavaScript surface: a thin wasm-bindgen layer over `SparseEncoder`. Conversions only; all
//! behaviour lives in the native-tested Rust API.

use js_sys::{Array, Float32Array, Object, Reflect, Uint32Array, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::loading::files::MemoryFiles;
use crate::sparse::SparseVector;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

pub(crate) fn js_error(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// `{indices: Uint32Array, values: Float32Array}`, indices ascending.
pub(crate) fn vector_to_js(v: &SparseVector) -> Result<JsValue, JsError> {
    let obj = Object::new();
    Reflect::set(
        &obj,
        &"indices".into(),
        &Uint32Array::from(v.indices()).into(),
    )
    .map_err(|_| JsError::new("cannot build result object"))?;
    Reflect::set(
        &obj,
        &"values".into(),
        &Float32Array::from(v.values()).into(),
    )
    .map_err(|_| JsError::new("cannot build result object"))?;
    Ok(obj.into())
}

/// Reads `{relative path: Uint8Array}` (a plain object or a `Map`).
pub(crate) fn files_from_js(files: &JsValue) -> Result<MemoryFiles, JsError> {
    let entries: Array = if let Some(map) = files.dyn_ref::<js_sys::Map>() {
        js_sys::Array::from(&map.entries())
    } else if files.is_object() {
        Object::entries(files.unchecked_ref())
    } else {
        return Err(JsError::new(
            "SparseEncoder expects an object mapping relative file paths to Uint8Array contents",
        ));
    };
    let mut out = MemoryFiles::default();
    for entry in entries.iter() {
        let pair: Array = entry.unchecked_into();
        let path = pair.get(0).as_string().unwrap_or_default();
        let value = pair.get(1);
        let bytes = if let Some(array) = value.dyn_ref::<Uint8Array>() {
            array.to_vec()
        } else if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
            Uint8Array::new(buffer).to_vec()
        } else {
            return Err(JsError::new(&format!(
                "model file `{path}` must be a Uint8Array or ArrayBuffer"
            )));
        };
        out.insert(&path, bytes);
    }
    Ok(out)
}

#[wasm_bindgen(js_name = SparseEncoder)]
pub struct JsSparseEncoder {
    inner: crate::SparseEncoder,
}

#[wasm_bindgen(js_class = SparseEncoder)]
impl JsSparseEncoder {
    /// Builds an encoder from a model folder given file by file: `{relative path: Uint8Array}`.
    #[wasm_bindgen(constructor)]
    pub fn new(files: &JsValue) -> Result<JsSparseEncoder, JsError> {
        let files = files_from_js(files)?;
        let inner = crate::SparseEncoder::load(&files).map_err(js_error)?;
        Ok(Self { inner })
    }

    /// Builds an encoder from a single-file model pack (the bytes of a `.gguf` written by
    /// `splade convert`). Checks the format version and the content hash first: a truncated,
    /// corrupt or unknown-version pack throws an `Error` saying which.
    #[wasm_bindgen(js_name = fromPack)]
    pub fn from_pack(bytes: &[u8]) -> Result<JsSparseEncoder, JsError> {
        let inner = crate::SparseEncoder::from_pack(bytes).map_err(js_error)?;
        Ok(Self { inner })
    }

    /// Verifies a model pack (format version, extents, content hash) without building the model,
    /// and describes it: `{formatVersion, dtype, source, quantization, contentSha256, fileBytes,
    /// formats: {f32: [tensors, bytes], q8_0: [...], ...}}`.
    #[wasm_bindgen(js_name = packInfo)]
    pub fn pack_info(bytes: &[u8]) -> Result<JsValue, JsError> {
        let summary = crate::loading::pack::summary(bytes).map_err(js_error)?;
        let plain_objects = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
        summary
            .serialize(&plain_objects)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    #[wasm_bindgen(js_name = encodeQuery)]
    pub fn encode_query(&self, text: &str) -> Result<JsValue, JsError> {
        vector_to_js(&self.inner.encode_query(text).map_err(js_error)?)
    }

    #[wasm_bindgen(js_name = encodeDocument)]
    pub fn encode_document(&self, text: &str) -> Result<JsValue, JsError> {
        vector_to_js(&self.inner.encode_document(text).map_err(js_error)?)
    }

    #[wasm_bindgen(js_name = encodeDocuments)]
    pub fn encode_documents(&self, texts: Vec<String>) -> Result<Array, JsError> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = self.inner.encode_documents(&refs).map_err(js_error)?;
        vectors.iter().map(vector_to_js).collect()
    }

    /// Lowers (or restores) the document truncation length in tokens, specials included (e.g. to
    /// benchmark at a fixed length); it cannot exceed the model's positions.
    #[wasm_bindgen(js_name = setMaxDocumentTokens)]
    pub fn set_max_document_tokens(&mut self, max_tokens: usize) -> Result<(), JsError> {
        self.inner
            .document_encoder_mut()
            .set_max_tokens(max_tokens)
            .map_err(js_error)
    }

    #[wasm_bindgen(js_name = queryTokenIds)]
    pub fn query_token_ids(&self, text: &str) -> Result<Vec<u32>, JsError> {
        self.inner.query_encoder().token_ids(text).map_err(js_error)
    }

    #[wasm_bindgen(js_name = documentTokenIds)]
    pub fn document_token_ids(&self, text: &str) -> Result<Vec<u32>, JsError> {
        self.inner
            .document_encoder()
            .token_ids(text)
            .map_err(js_error)
    }

    /// Vocabulary strings for token ids (`""` for an id outside the vocabulary).
    #[wasm_bindgen(js_name = tokenStrings)]
    pub fn token_strings(&self, indices: &[u32]) -> Vec<String> {
        indices
            .iter()
            .map(|&id| self.inner.token(id).unwrap_or_default())
            .collect()
    }

    /// The request an engine searches with for `text` (inference-free query side): a JSON body,
    /// or for pgvector a SQL statement; the same text as `splade export-query`. `format` is one of
    /// the export formats (`opensearch`, `elasticsearch`, `qdrant`, `milvus`, `pgvector`, ...).
    #[wasm_bindgen(js_name = engineQuery)]
    pub fn engine_query(
        &self,
        text: &str,
        format: &str,
        k: usize,
        index: &str,
        field: &str,
    ) -> Result<String, JsError> {
        let target = crate::export::Format::parse(format)
            .and_then(|f| crate::export::Target::new(f, index, field))
            .map_err(js_error)?;
        crate::export::engine_query(&self.inner, text, &target, k).map_err(js_error)
    }

    /// Architecture, sizes and limits as a plain object (`hiddenSize`, `maxDocumentTokens`, …).
    pub fn info(&self) -> Result<JsValue, JsError> {
        let plain_objects = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
        self.inner
            .info()
            .serialize(&plain_objects)
            .map_err(|e| JsError::new(&e.to_string()))
    }
}

// ---- SparseIndex: a thin layer over `crate::index::SparseIndex` -------------------------------

use crate::index::{vector_from_parts, SparseIndex};

/// Structs as plain JS objects (`{id, score}`, `{tokenId, ...}`).
fn plain_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::new())
        .map_err(|e| JsError::new(&e.to_string()))
}

fn js_vector(indices: &[u32], values: &[f32]) -> Result<SparseVector, JsError> {
    vector_from_parts(indices, values).map_err(js_error)
}

/// An inverted index of sparse vectors by string id: exact top-k search, explanations, and a
/// compact binary form (`save` / `SparseIndex.load`).
#[wasm_bindgen(js_name = SparseIndex)]
#[derive(Default)]
pub struct JsSparseIndex {
    inner: SparseIndex,
}

#[wasm_bindgen(js_class = SparseIndex)]
impl JsSparseIndex {
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsSparseIndex {
        Self::default()
    }

    /// Adds a document, or replaces the one with the same id. `indices` need not be sorted but
    /// must be distinct; `values` must be finite and as many as `indices`.
    pub fn add(&mut self, id: &str, indices: &[u32], values: &[f32]) -> Result<(), JsError> {
        let vector = js_vector(indices, values)?;
        self.inner.add(id, &vector).map_err(js_error)
    }

    /// Removes a document; returns whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        self.inner.remove(id)
    }

    pub fn has(&self, id: &str) -> bool {
        self.inner.contains(id)
    }

    /// The number of documents.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.len()
    }

    /// Document ids in insertion order (an update counts as a new insertion).
    pub fn ids(&self) -> Vec<String> {
        self.inner.ids().map(str::to_string).collect()
    }

    /// The `k` best documents for a query vector: `[{id, score}]`, best first, positive scores
    /// only, equal scores by id.
    pub fn search(&self, indices: &[u32], values: &[f32], k: f64) -> Result<JsValue, JsError> {
        if !(k >= 0.0 && k.fract() == 0.0) {
            return Err(JsError::new(&format!(
                "k must be a non-negative integer, got {k}"
            )));
        }
        let query = js_vector(indices, values)?;
        plain_js(&self.inner.search(&query, k as usize))
    }

    /// Why a document matches a query: `[{tokenId, queryWeight, documentWeight, contribution}]`,
    /// largest contribution first. Throws if the index has no such document.
    pub fn explain(&self, id: &str, indices: &[u32], values: &[f32]) -> Result<JsValue, JsError> {
        let query = js_vector(indices, values)?;
        let terms = self
            .inner
            .explain(id, &query)
            .ok_or_else(|| JsError::new(&format!("the index has no document with id `{id}`")))?;
        plain_js(&terms)
    }

    /// The index as bytes (versioned, checksummed), for `SparseIndex.load`.
    pub fn save(&self) -> Vec<u8> {
        self.inner.save()
    }

    /// Reads bytes written by `save`; throws an Error saying what is wrong with corrupt input.
    pub fn load(bytes: &[u8]) -> Result<JsSparseIndex, JsError> {
        let inner = SparseIndex::load(bytes).map_err(js_error)?;
        Ok(Self { inner })
    }

    /// Sizes and memory: `{documents, tombstones, tokens, postings, postingsBytes, documentsBytes,
    /// scratchBytes, memoryBytes}`.
    pub fn stats(&self) -> Result<JsValue, JsError> {
        plain_js(&self.inner.stats())
    }

    /// Releases the slack left by incremental adds (worth calling after a bulk load).
    #[wasm_bindgen(js_name = shrinkToFit)]
    pub fn shrink_to_fit(&mut self) {
        self.inner.shrink_to_fit();
    }
}

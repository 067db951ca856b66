//! Model packs: one GGUF file with everything needed to encode, optionally quantized.
//!
//! A pack holds the document transformer's tensors (named as in the transformers checkpoint), the
//! query weights (`query.weight`, float32), and metadata under `splade.`: the format version, the
//! transformer `config.json` and `tokenizer.json` as strings, the pooling, the maximum lengths, a
//! description of the source, and a SHA-256 content hash. The README's "Model packs" section lists
//! every key.
//!
//! **Content hash.** `splade.content_sha256` is always the first metadata entry. Its value is the
//! lowercase hex SHA-256 of the whole file in which those 64 characters are replaced by 64 ASCII
//! `'0'`s. Writing a pack writes the zeros, hashes, and patches the hash in place; reading checks it
//! before using any tensor. With the hash first, its bytes sit at a fixed place (after the 24-byte
//! GGUF header and the key), so any reader can verify a pack without parsing the rest.
//!
//! **What is quantized.** A tensor's storage follows from the role the model reads it in (see
//! [`crate::models::TensorRole`]): plain tensors (norms, biases, position and token-type
//! embeddings, every 1-D tensor) stay float32; linear-layer matrices take the requested format;
//! the vocabulary table (word embeddings, which are also the tied MLM decoder) takes
//! [`default_vocabulary_format`] unless told otherwise. A block format needs rows that split into
//! whole blocks (q4_k: 256 values); a matrix whose rows do not takes the fallback format
//! ([`default_fallback_format`]), and the pack's `splade.quantization` says so.
//!
//! `format` holds what both sides agree on (keys, version, hash), `read` verifies a pack and
//! reads it into the parts an encoder is built from, `write` converts a model folder.

mod format;
mod read;
mod write;

pub use format::{content_hash, keys, parse_format, FORMAT_VERSION, PACK_DTYPES, QUERY_WEIGHTS};
pub(crate) use read::read;
pub use read::{looks_like_pack, summary, PackSummary};
pub use write::{
    convert, default_fallback_format, default_vocabulary_format, write_pack, ConvertOptions,
};

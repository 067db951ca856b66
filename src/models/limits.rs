//! The sizes a model configuration may declare, checked before anything is allocated for them.
//!
//! Architectures allocate from `config.json` numbers before reading a tensor: a vector of layers,
//! GTE's RoPE tables (`positions × head_dim` floats). A config with 10⁹ layers or positions would
//! abort the process (natively) or trap the wasm instance instead of giving an error, and a model
//! whose weights cannot fit in a wasm instance's 4 GiB would fail halfway through loading. These
//! checks refuse such models with a message naming the value and the limit.

use crate::error::{Error, Result};

/// The most memory one wasm32 instance can address.
pub const WASM_MEMORY_BYTES: u64 = 4 << 30;

/// What this build can hold: a wasm32 instance's memory; natively, no limit beyond the caps below.
#[cfg(target_arch = "wasm32")]
pub const ADDRESSABLE_BYTES: u64 = WASM_MEMORY_BYTES;
#[cfg(not(target_arch = "wasm32"))]
pub const ADDRESSABLE_BYTES: u64 = u64::MAX;

/// Caps far above any released encoder (BERT-large: hidden 1,024, 24 layers, 16 heads,
/// intermediate 4,096; doc-v3-gte: 8,192 positions; multilingual vocabularies: 250,002): a value
/// past one is a corrupt or hostile config, refused before it sizes an allocation.
const MAX_HIDDEN: usize = 16_384;
const MAX_LAYERS: usize = 256;
const MAX_HEADS: usize = 1_024;
const MAX_INTERMEDIATE: usize = 131_072;
const MAX_VOCABULARY: usize = 1 << 20;
const MAX_POSITIONS: usize = 1 << 20;

/// The smallest storage a weight can have in memory (q4_0: 18 bytes per 32 values).
const MIN_BYTES_PER_PARAMETER: f64 = 18.0 / 32.0;

/// One `config.json` number and the key it was read from (named in errors).
#[derive(Clone, Copy, Debug)]
pub struct Declared<'a> {
    pub key: &'a str,
    pub value: usize,
}

/// The numbers a transformer encoder's config declares.
#[derive(Clone, Copy, Debug)]
pub struct DeclaredShape<'a> {
    pub hidden: Declared<'a>,
    pub layers: Declared<'a>,
    pub heads: Declared<'a>,
    pub intermediate: Declared<'a>,
    pub vocabulary: Declared<'a>,
    pub positions: Declared<'a>,
    /// GTE: positions are RoPE tables (`positions × head_dim` f32), so head_dim must be even; and
    /// the MLP is gated (3 matrices of hidden × intermediate instead of 2).
    pub rotary: bool,
}

impl DeclaredShape<'_> {
    /// Checks every number against zero and its cap, the heads against the hidden size, and the
    /// weights the shape implies against `limit` bytes; returns the head size.
    pub fn check(&self, limit: u64) -> Result<usize> {
        for (d, max) in [
            (self.hidden, MAX_HIDDEN),
            (self.layers, MAX_LAYERS),
            (self.heads, MAX_HEADS),
            (self.intermediate, MAX_INTERMEDIATE),
            (self.vocabulary, MAX_VOCABULARY),
            (self.positions, MAX_POSITIONS),
        ] {
            if d.value == 0 {
                return Err(Error::model(format!(
                    "`config.json` `{}` = 0: a model needs at least 1",
                    d.key
                )));
            }
            if d.value > max {
                return Err(Error::model(format!(
                    "`config.json` `{}` = {} exceeds {max}, the largest this encoder accepts",
                    d.key, d.value
                )));
            }
        }
        let (hidden, heads) = (self.hidden.value, self.heads.value);
        if !hidden.is_multiple_of(heads) {
            return Err(Error::model(format!(
                "hidden size `{}` = {hidden} is not divisible by `{}` = {heads}",
                self.hidden.key, self.heads.key
            )));
        }
        let head_dim = hidden / heads;
        if self.rotary && !head_dim.is_multiple_of(2) {
            return Err(Error::model(format!(
                "head size {head_dim} (`{}` / `{}`) is odd: rotary positions need an even one",
                self.hidden.key, self.heads.key
            )));
        }
        let needed = (self.parameters() as f64 * MIN_BYTES_PER_PARAMETER) as u64;
        check_fits(
            "its weights (in the smallest storage format)",
            needed,
            limit,
        )?;
        Ok(head_dim)
    }

    /// Parameters the shape implies (RoPE tables counted as parameters): embeddings, positions,
    /// per layer the four attention matrices and the MLP, and the MLM head's transform.
    pub fn parameters(&self) -> u128 {
        let [h, l, i, v, p] = [
            self.hidden,
            self.layers,
            self.intermediate,
            self.vocabulary,
            self.positions,
        ]
        .map(|d| d.value as u128);
        let mlp_matrices = if self.rotary { 3 } else { 2 };
        let per_layer = 4 * h * h + mlp_matrices * h * i;
        v * h + p * h + l * per_layer + h * h
    }
}

/// Refuses to load `what` when it needs more than `limit` bytes.
pub fn check_fits(what: &str, bytes: u64, limit: u64) -> Result<()> {
    if bytes > limit {
        let mib = |b: u64| b >> 20;
        return Err(Error::model(format!(
            "the model cannot fit: {what} need {} MiB, more than the {} MiB {}",
            mib(bytes),
            mib(limit),
            if limit == WASM_MEMORY_BYTES {
                "a wasm instance can address"
            } else {
                "allowed"
            }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(values: [usize; 6], rotary: bool) -> DeclaredShape<'static> {
        let d = |key, value| Declared { key, value };
        DeclaredShape {
            hidden: d("hidden_size", values[0]),
            layers: d("num_hidden_layers", values[1]),
            heads: d("num_attention_heads", values[2]),
            intermediate: d("intermediate_size", values[3]),
            vocabulary: d("vocab_size", values[4]),
            positions: d("max_position_embeddings", values[5]),
            rotary,
        }
    }

    fn refusal(values: [usize; 6], rotary: bool, limit: u64) -> String {
        shape(values, rotary).check(limit).unwrap_err().to_string()
    }

    const DOC_V3_GTE: [usize; 6] = [768, 12, 12, 3072, 30528, 8192];

    #[test]
    fn real_models_pass() {
        assert_eq!(
            shape(DOC_V3_GTE, true).check(WASM_MEMORY_BYTES).unwrap(),
            64
        );
        let bert_large = [1024, 24, 16, 4096, 30522, 512];
        assert_eq!(
            shape(bert_large, false).check(WASM_MEMORY_BYTES).unwrap(),
            64
        );
        let tiny = [128, 2, 2, 512, 30522, 512];
        assert_eq!(shape(tiny, false).check(WASM_MEMORY_BYTES).unwrap(), 64);
        // doc-v3-gte's 137M parameters, counting the RoPE tables' 8,192 × 768.
        let p = shape(DOC_V3_GTE, true).parameters();
        assert!((130_000_000..150_000_000).contains(&p), "{p}");
    }

    #[test]
    fn absurd_numbers_are_named_with_their_limit() {
        let msg = refusal([768, 1_000_000_000, 12, 3072, 30522, 512], false, u64::MAX);
        assert!(
            msg.contains("`num_hidden_layers` = 1000000000 exceeds 256"),
            "{msg}"
        );
        let msg = refusal([768, 12, 12, 3072, 30522, 1 << 30], true, u64::MAX);
        assert!(
            msg.contains("`max_position_embeddings` = 1073741824 exceeds 1048576"),
            "{msg}"
        );
        let msg = refusal([0, 12, 12, 3072, 30522, 512], false, u64::MAX);
        assert!(msg.contains("`hidden_size` = 0"), "{msg}");
        let msg = refusal([768, 12, 0, 3072, 30522, 512], false, u64::MAX);
        assert!(msg.contains("`num_attention_heads` = 0"), "{msg}");
    }

    #[test]
    fn heads_must_divide_the_hidden_size_and_rotary_heads_be_even() {
        let msg = refusal([768, 12, 7, 3072, 30522, 512], false, u64::MAX);
        assert!(msg.contains("`hidden_size` = 768 is not divisible by `num_attention_heads` = 7"));
        let msg = refusal([765, 12, 5, 3072, 30522, 512], true, u64::MAX);
        assert!(msg.contains("head size 153"), "{msg}");
        // An odd head size is fine without rotary positions.
        shape([765, 12, 5, 3072, 30522, 512], false)
            .check(u64::MAX)
            .unwrap();
    }

    #[test]
    fn weights_past_wasm_memory_are_refused_with_both_sizes() {
        // Within every cap, but ~180 GB of weights even at 4.5 bits each.
        let huge = [16_384, 100, 128, 65_536, 30522, 512];
        let msg = refusal(huge, false, WASM_MEMORY_BYTES);
        assert!(
            msg.contains("more than the 4096 MiB a wasm instance can address"),
            "{msg}"
        );
        shape(huge, false).check(u64::MAX).unwrap();
    }
}

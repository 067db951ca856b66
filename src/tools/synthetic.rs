//! Randomly initialised models of real sizes (BERT-base, doc-v3-gte) for benchmarks and memory
//! measurements, written as a Hugging Face masked-LM folder with a flat `idf.json` query side.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde_json::json;

use crate::error::{Error, Result};
use crate::tokenizer::TextTokenizer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Bert,
    DistilBert,
    Gte,
}

#[derive(Debug, Clone, Copy)]
pub struct Dimensions {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
}

/// Weights ~ N(0, 0.02) (BERT's initializer range), LayerNorms at identity.
struct Init(HashMap<String, Tensor>);

impl Init {
    fn normal(&mut self, name: &str, shape: &[usize]) -> Result<()> {
        let t = Tensor::randn(0f32, 0.02, shape, &Device::Cpu)?;
        self.0.insert(name.to_string(), t);
        Ok(())
    }

    fn linear(&mut self, prefix: &str, input: usize, output: usize, bias: bool) -> Result<()> {
        self.normal(&format!("{prefix}.weight"), &[output, input])?;
        if bias {
            self.normal(&format!("{prefix}.bias"), &[output])?;
        }
        Ok(())
    }

    fn layer_norm(&mut self, prefix: &str, dim: usize) -> Result<()> {
        let ones = Tensor::ones(dim, candle_core::DType::F32, &Device::Cpu)?;
        let zeros = Tensor::zeros(dim, candle_core::DType::F32, &Device::Cpu)?;
        self.0.insert(format!("{prefix}.weight"), ones);
        self.0.insert(format!("{prefix}.bias"), zeros);
        Ok(())
    }
}

/// Writes `config.json`, `model.safetensors`, `tokenizer.json` and `idf.json` into `out`.
pub fn write_random_model(
    arch: Architecture,
    d: Dimensions,
    tokenizer_json: &[u8],
    out: &Path,
) -> Result<()> {
    let tokenizer =
        TextTokenizer::from_bytes(tokenizer_json, d.max_positions, true, "tokenizer.json")?;
    let vocab = tokenizer.vocab_size();
    let (h, i) = (d.hidden, d.intermediate);
    let mut w = Init(HashMap::new());
    let config = match arch {
        Architecture::Bert => {
            w.normal("bert.embeddings.word_embeddings.weight", &[vocab, h])?;
            w.normal(
                "bert.embeddings.position_embeddings.weight",
                &[d.max_positions, h],
            )?;
            w.normal("bert.embeddings.token_type_embeddings.weight", &[2, h])?;
            w.layer_norm("bert.embeddings.LayerNorm", h)?;
            for l in 0..d.layers {
                let p = format!("bert.encoder.layer.{l}");
                for name in ["query", "key", "value"] {
                    w.linear(&format!("{p}.attention.self.{name}"), h, h, true)?;
                }
                w.linear(&format!("{p}.attention.output.dense"), h, h, true)?;
                w.layer_norm(&format!("{p}.attention.output.LayerNorm"), h)?;
                w.linear(&format!("{p}.intermediate.dense"), h, i, true)?;
                w.linear(&format!("{p}.output.dense"), i, h, true)?;
                w.layer_norm(&format!("{p}.output.LayerNorm"), h)?;
            }
            w.linear("cls.predictions.transform.dense", h, h, true)?;
            w.layer_norm("cls.predictions.transform.LayerNorm", h)?;
            w.normal("cls.predictions.bias", &[vocab])?;
            json!({"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": h,
                   "num_hidden_layers": d.layers, "num_attention_heads": d.heads,
                   "intermediate_size": i, "vocab_size": vocab, "type_vocab_size": 2,
                   "max_position_embeddings": d.max_positions, "hidden_act": "gelu"})
        }
        Architecture::DistilBert => {
            w.normal("distilbert.embeddings.word_embeddings.weight", &[vocab, h])?;
            w.normal(
                "distilbert.embeddings.position_embeddings.weight",
                &[d.max_positions, h],
            )?;
            w.layer_norm("distilbert.embeddings.LayerNorm", h)?;
            for l in 0..d.layers {
                let p = format!("distilbert.transformer.layer.{l}");
                for name in ["q_lin", "k_lin", "v_lin", "out_lin"] {
                    w.linear(&format!("{p}.attention.{name}"), h, h, true)?;
                }
                w.layer_norm(&format!("{p}.sa_layer_norm"), h)?;
                w.linear(&format!("{p}.ffn.lin1"), h, i, true)?;
                w.linear(&format!("{p}.ffn.lin2"), i, h, true)?;
                w.layer_norm(&format!("{p}.output_layer_norm"), h)?;
            }
            w.linear("vocab_transform", h, h, true)?;
            w.layer_norm("vocab_layer_norm", h)?;
            w.normal("vocab_projector.bias", &[vocab])?;
            json!({"model_type": "distilbert", "architectures": ["DistilBertForMaskedLM"], "dim": h,
                   "n_layers": d.layers, "n_heads": d.heads, "hidden_dim": i, "vocab_size": vocab,
                   "max_position_embeddings": d.max_positions, "activation": "gelu"})
        }
        Architecture::Gte => {
            w.normal("new.embeddings.word_embeddings.weight", &[vocab, h])?;
            w.layer_norm("new.embeddings.LayerNorm", h)?;
            for l in 0..d.layers {
                let p = format!("new.encoder.layer.{l}");
                w.linear(&format!("{p}.attention.qkv_proj"), h, 3 * h, true)?;
                w.linear(&format!("{p}.attention.o_proj"), h, h, true)?;
                w.layer_norm(&format!("{p}.attn_ln"), h)?;
                w.linear(&format!("{p}.mlp.up_gate_proj"), h, 2 * i, false)?;
                w.linear(&format!("{p}.mlp.down_proj"), i, h, true)?;
                w.layer_norm(&format!("{p}.mlp_ln"), h)?;
            }
            w.linear("lm_head.dense", h, h, true)?;
            w.layer_norm("lm_head.norm", h)?;
            w.normal("lm_head.decoder.bias", &[vocab])?;
            json!({"model_type": "new", "architectures": ["NewForMaskedLM"], "hidden_size": h,
                   "num_hidden_layers": d.layers, "num_attention_heads": d.heads,
                   "intermediate_size": i, "vocab_size": vocab, "type_vocab_size": 0,
                   "max_position_embeddings": d.max_positions, "hidden_act": "gelu",
                   "rope_theta": 500000.0, "rope_scaling": {"type": "ntk", "factor": 2.0}})
        }
    };
    let io = |e: std::io::Error| Error::input(format!("cannot write to `{}`: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
    candle_core::safetensors::save(&w.0, out.join("model.safetensors"))?;
    std::fs::write(out.join("config.json"), config.to_string()).map_err(io)?;
    std::fs::write(out.join("tokenizer.json"), tokenizer_json).map_err(io)?;
    let tokenizer_config = json!({"model_max_length": d.max_positions});
    std::fs::write(
        out.join("tokenizer_config.json"),
        tokenizer_config.to_string(),
    )
    .map_err(io)?;
    let idf: serde_json::Map<String, serde_json::Value> = (0..vocab as u32)
        .filter_map(|id| Some((tokenizer.token(id)?, json!(1.0))))
        .collect();
    std::fs::write(
        out.join("idf.json"),
        serde_json::Value::Object(idf).to_string(),
    )
    .map_err(io)?;
    Ok(())
}

//! Loading a model folder, in either of the layouts real models ship in:
//!
//! - sentence-transformers `SparseEncoder` with a Router (`modules.json` → `router_config.json`):
//!   route `query` = [SparseStaticEmbedding], route `document` = [MLMTransformer, SpladePooling].
//!   A module id is a subfolder, or `""` for the folder root (doc-v3-gte keeps its transformer at
//!   the root).
//! - a Hugging Face masked-LM folder plus an OpenSearch `idf.json` as the query side (doc-v1/v2),
//!   pooled with max + log(1 + relu).

use serde_json::Value;

use crate::document::DocumentEncoder;
use crate::encoder::SparseEncoder;
use crate::error::{Error, Result};
use crate::files::{join, ModelFiles};
use crate::models::{self, layers::load_safetensors};
use crate::pooling::SpladePooling;
use crate::query::QueryEncoder;
use crate::tokenizer::{model_max_length, TextTokenizer};

pub fn load(files: &dyn ModelFiles) -> Result<SparseEncoder> {
    match router_folder(files)? {
        Some(folder) => load_router(files, &folder),
        None if files.read("config.json")?.is_some() => load_masked_lm_with_idf(files),
        None => Err(Error::model(format!(
            "{} is not a model folder: expected `modules.json` + `router_config.json` \
             (a sentence-transformers SparseEncoder) or `config.json` + `model.safetensors` + \
             `tokenizer.json` + `idf.json` (a Hugging Face masked-LM with OpenSearch IDF weights)",
            files.describe()
        ))),
    }
}

/// The folder holding `router_config.json`, as named by `modules.json`.
fn router_folder(files: &dyn ModelFiles) -> Result<Option<String>> {
    let Some(modules) = files.read_json("modules.json")? else {
        return Ok(files.read("router_config.json")?.map(|_| String::new()));
    };
    let modules = modules
        .as_array()
        .ok_or_else(|| Error::model("`modules.json` must be a JSON array"))?;
    let router = modules.iter().find(|m| {
        m.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("Router"))
    });
    match router {
        Some(m) => Ok(Some(
            m.get("path")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        )),
        None => {
            let types: Vec<&str> = modules
                .iter()
                .filter_map(|m| m.get("type").and_then(Value::as_str))
                .collect();
            Err(Error::model(format!(
                "`modules.json` has no Router module ({}); only asymmetric inference-free models \
                 (a query SparseStaticEmbedding and a document MLMTransformer + SpladePooling) are supported",
                types.join(", ")
            )))
        }
    }
}

/// Where a model folder keeps its parts: the masked-LM module (`config.json`, `model.safetensors`,
/// `tokenizer.json`) and, for the sentence-transformers layout, the query module.
pub(crate) struct ModuleDirs {
    pub document: String,
    /// `None` for a Hugging Face masked-LM folder, whose query side is `idf.json` at the root.
    pub query: Option<String>,
}

pub(crate) fn module_dirs(files: &dyn ModelFiles) -> Result<ModuleDirs> {
    Ok(match router_folder(files)? {
        Some(folder) => {
            let routes = routes(files, &folder)?;
            ModuleDirs {
                document: routes.mlm,
                query: Some(routes.query),
            }
        }
        None => ModuleDirs {
            document: String::new(),
            query: None,
        },
    })
}

/// The module folders of a Router's two routes, checked to be the supported modules.
struct Routes {
    query: String,
    mlm: String,
    pooling: String,
}

fn routes(files: &dyn ModelFiles, folder: &str) -> Result<Routes> {
    let config_path = join(folder, "router_config.json");
    let router = files.require_json(&config_path)?;
    let types = router.get("types").and_then(Value::as_object);
    let route = |name: &str| -> Result<Vec<(String, String)>> {
        let ids = router
            .get("structure")
            .and_then(|s| s.get(name))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::model(format!("`{config_path}` has no `structure.{name}` route"))
            })?;
        ids.iter()
            .map(|id| {
                let id = id.as_str().unwrap_or_default().to_string();
                let class = types
                    .and_then(|t| t.get(&id))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (join(folder, &id), class)
            })
            .map(Ok)
            .collect()
    };
    let query_route = route("query")?;
    let document_route = route("document")?;
    let class_list = |r: &[(String, String)]| {
        r.iter()
            .map(|(_, c)| c.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    };

    let [(query_dir, query_class)] = query_route.as_slice() else {
        return Err(Error::model(format!(
            "query route must be one SparseStaticEmbedding, found [{}]",
            class_list(&query_route)
        )));
    };
    let [(mlm_dir, mlm_class), (pooling_dir, pooling_class)] = document_route.as_slice() else {
        return Err(Error::model(format!(
            "document route must be MLMTransformer → SpladePooling, found [{}]",
            class_list(&document_route)
        )));
    };
    if !query_class.ends_with("SparseStaticEmbedding")
        || !mlm_class.ends_with("MLMTransformer")
        || !pooling_class.ends_with("SpladePooling")
    {
        return Err(Error::model(format!(
            "unsupported modules: query [{}], document [{}]; expected SparseStaticEmbedding and MLMTransformer → SpladePooling",
            class_list(&query_route),
            class_list(&document_route)
        )));
    }
    Ok(Routes {
        query: query_dir.clone(),
        mlm: mlm_dir.clone(),
        pooling: pooling_dir.clone(),
    })
}

fn load_router(files: &dyn ModelFiles, folder: &str) -> Result<SparseEncoder> {
    let routes = routes(files, folder)?;
    let query_dir = routes.query.as_str();
    let (document_tokenizer, model, vocab_size) = load_masked_lm(files, &routes.mlm)?;
    let pooling_config = files.require_json(&join(&routes.pooling, "config.json"))?;
    let pooling = SpladePooling::from_config(&pooling_config, vocab_size)?;

    let query_tokenizer = load_tokenizer(files, query_dir, None, false)?;
    let weights_path = join(query_dir, "model.safetensors");
    let weights = load_safetensors(&files.require(&weights_path)?, &weights_path)?;
    let weights = weights
        .vb
        .get_unchecked("weight")
        .and_then(|w| Ok(w.flatten_all()?.to_vec1::<f32>()?))
        .map_err(|e| Error::model(format!("`{weights_path}` needs a `weight` vector: {e}")))?;
    Ok(SparseEncoder::new(
        QueryEncoder::new(query_tokenizer, weights)?,
        DocumentEncoder::new(document_tokenizer, model, pooling),
    ))
}

fn load_masked_lm_with_idf(files: &dyn ModelFiles) -> Result<SparseEncoder> {
    let idf = files.read("idf.json")?.ok_or_else(|| {
        Error::model(format!(
            "{} has a `config.json` but no `idf.json`: a Hugging Face masked-LM folder needs \
             OpenSearch IDF query weights (`idf.json`) to encode queries",
            files.describe()
        ))
    })?;
    let (document_tokenizer, model, _) = load_masked_lm(files, "")?;
    let query_max = model_max_length(files.read_json("tokenizer_config.json")?.as_ref())
        .unwrap_or(document_tokenizer.max_length());
    let query_tokenizer = load_tokenizer(files, "", Some(query_max), false)?;
    Ok(SparseEncoder::new(
        QueryEncoder::from_idf_json(query_tokenizer, &idf)?,
        DocumentEncoder::new(document_tokenizer, model, SpladePooling::default()),
    ))
}

/// Loads a transformers masked-LM module folder: returns its document tokenizer (truncating to the
/// module's maximum sequence length), the model, and the vocabulary size.
fn load_masked_lm(
    files: &dyn ModelFiles,
    dir: &str,
) -> Result<(TextTokenizer, Box<dyn models::MaskedLanguageModel>, usize)> {
    let config_path = join(dir, "config.json");
    let config = files.require_json(&config_path)?;
    let weights_path = join(dir, "model.safetensors");
    let Some(bytes) = files.read(&weights_path)? else {
        let hint = if files.read(&join(dir, "pytorch_model.bin"))?.is_some() {
            " (only safetensors weights are supported; convert `pytorch_model.bin` first)"
        } else {
            ""
        };
        return Err(Error::model(format!(
            "missing file `{weights_path}` in {}{hint}",
            files.describe()
        )));
    };
    let weights = load_safetensors(&bytes, &weights_path)?;
    drop(bytes);
    let model = models::load_model(&config, &weights).map_err(|e| match e {
        Error::Tensor(msg) => Error::model(format!("`{weights_path}`: {msg}")),
        other => other,
    })?;
    let vocab = model.head().vocab_size();

    let positions = model.info().max_positions;
    let configured = files
        .read_json(&join(dir, "sentence_bert_config.json"))?
        .and_then(|c| c.get("max_seq_length").and_then(Value::as_u64))
        .map(|n| n as usize)
        .or(model_max_length(
            files
                .read_json(&join(dir, "tokenizer_config.json"))?
                .as_ref(),
        ));
    let max_length = configured.map_or(positions, |n| n.min(positions));
    let tokenizer = load_tokenizer(files, dir, Some(max_length), true)?;
    if tokenizer.vocab_size() > vocab {
        return Err(Error::model(format!(
            "`{}` has {} tokens but the model's vocabulary has only {vocab}",
            join(dir, "tokenizer.json"),
            tokenizer.vocab_size()
        )));
    }
    Ok((tokenizer, model, vocab))
}

/// Loads `tokenizer.json` from `dir`; the truncation length is `max_length` if given, else the
/// folder's `tokenizer_config.json` `model_max_length` (no limit when unset, as transformers).
fn load_tokenizer(
    files: &dyn ModelFiles,
    dir: &str,
    max_length: Option<usize>,
    add_special_tokens: bool,
) -> Result<TextTokenizer> {
    let path = join(dir, "tokenizer.json");
    let json = files.require(&path)?;
    let max_length = match max_length {
        Some(n) => n,
        None => model_max_length(
            files
                .read_json(&join(dir, "tokenizer_config.json"))?
                .as_ref(),
        )
        .unwrap_or(usize::MAX),
    };
    TextTokenizer::from_bytes(&json, max_length, add_special_tokens, &path)
}

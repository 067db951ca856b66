//! Loading a model folder, in either of the layouts real models ship in:
//!
//! - sentence-transformers `SparseEncoder` with a Router (`modules.json` → `router_config.json`):
//!   route `query` = [SparseStaticEmbedding], route `document` = [MLMTransformer, SpladePooling].
//!   A module id is a subfolder, or `""` for the folder root (doc-v3-gte keeps its transformer at
//!   the root).
//! - a Hugging Face masked-LM folder plus an OpenSearch `idf.json` as the query side (doc-v1/v2),
//!   pooled with max + log(1 + relu).
//!
//! Either is read into [`ModelParts`]; nothing is built here.

use serde_json::Value;

use super::build::{DocumentTokens, ModelParts, QueryWeights, TokenizerFile};
use super::files::{join, ModelFiles};
use crate::error::{Error, Result};
use crate::models::Weights;
use crate::pooling::{PoolingConfig, SpladePooling};
use crate::tokenizer::model_max_length;

/// Reads a model folder in either layout.
pub fn read(files: &dyn ModelFiles) -> Result<ModelParts> {
    match router_folder(files)? {
        Some(folder) => read_router(files, &folder),
        None if files.read("config.json")?.is_some() => read_masked_lm_with_idf(files),
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

fn read_router(files: &dyn ModelFiles, folder: &str) -> Result<ModelParts> {
    let routes = routes(files, folder)?;
    let query_dir = routes.query.as_str();
    let masked_lm = read_masked_lm(files, &routes.mlm)?;
    let pooling =
        PoolingConfig::parse(&files.require_json(&join(&routes.pooling, "config.json"))?)?;

    let query_tokenizer = read_tokenizer(files, query_dir)?;
    let max_query = model_max_length(
        files
            .read_json(&join(query_dir, "tokenizer_config.json"))?
            .as_ref(),
    )
    .unwrap_or(usize::MAX);
    let weights_path = join(query_dir, "model.safetensors");
    let weights = Weights::from_safetensors(&files.require(&weights_path)?, &weights_path)?;
    let weights = weights
        .vb
        .get_unchecked("weight")
        .and_then(|w| Ok(w.flatten_all()?.to_vec1::<f32>()?))
        .map_err(|e| Error::model(format!("`{weights_path}` needs a `weight` vector: {e}")))?;
    Ok(masked_lm.into_parts(
        Some(query_tokenizer),
        Some(max_query),
        pooling,
        QueryWeights::Vector(weights),
    ))
}

fn read_masked_lm_with_idf(files: &dyn ModelFiles) -> Result<ModelParts> {
    let idf = files.read("idf.json")?.ok_or_else(|| {
        Error::model(format!(
            "{} has a `config.json` but no `idf.json`: a Hugging Face masked-LM folder needs \
             OpenSearch IDF query weights (`idf.json`) to encode queries",
            files.describe()
        ))
    })?;
    let masked_lm = read_masked_lm(files, "")?;
    // The query side tokenizes with the same file, truncated as the folder's tokenizer config
    // says, else as the document side.
    let max_query = model_max_length(files.read_json("tokenizer_config.json")?.as_ref());
    Ok(masked_lm.into_parts(
        None,
        max_query,
        SpladePooling::default().into(),
        QueryWeights::IdfJson(idf.into_owned()),
    ))
}

/// A transformers masked-LM module folder, read.
struct MaskedLm {
    config: Value,
    config_text: String,
    weights: Weights,
    weights_path: String,
    tokenizer: TokenizerFile,
    /// The module's maximum sequence length, if it sets one.
    max_tokens: Option<usize>,
}

impl MaskedLm {
    fn into_parts(
        self,
        query_tokenizer: Option<TokenizerFile>,
        max_query_tokens: Option<usize>,
        pooling: PoolingConfig,
        query_weights: QueryWeights,
    ) -> ModelParts {
        ModelParts {
            config: self.config,
            config_text: self.config_text,
            weights: self.weights,
            tensors_source: format!("`{}`", self.weights_path),
            tokenizer: self.tokenizer,
            query_tokenizer,
            max_document_tokens: DocumentTokens::Configured(self.max_tokens),
            max_query_tokens,
            pooling,
            query_weights,
        }
    }
}

/// Reads a transformers masked-LM module folder: its config, weights, tokenizer and maximum
/// sequence length.
fn read_masked_lm(files: &dyn ModelFiles, dir: &str) -> Result<MaskedLm> {
    let config_path = join(dir, "config.json");
    let config_text = String::from_utf8(files.require(&config_path)?.into_owned())
        .map_err(|_| Error::model(format!("`{config_path}` is not valid UTF-8")))?;
    let config = serde_json::from_str(&config_text)
        .map_err(|e| Error::model(format!("`{config_path}` is not valid JSON: {e}")))?;
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
    let weights = Weights::from_safetensors(&bytes, &weights_path)?;
    drop(bytes);
    let max_tokens = files
        .read_json(&join(dir, "sentence_bert_config.json"))?
        .and_then(|c| c.get("max_seq_length").and_then(Value::as_u64))
        .map(|n| n as usize)
        .or(model_max_length(
            files
                .read_json(&join(dir, "tokenizer_config.json"))?
                .as_ref(),
        ));
    Ok(MaskedLm {
        config,
        config_text,
        weights,
        weights_path,
        tokenizer: read_tokenizer(files, dir)?,
        max_tokens,
    })
}

fn read_tokenizer(files: &dyn ModelFiles, dir: &str) -> Result<TokenizerFile> {
    let path = join(dir, "tokenizer.json");
    Ok(TokenizerFile {
        json: files.require(&path)?.into_owned(),
        source: path,
    })
}

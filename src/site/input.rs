//! Site content: a folder of `.html`/`.htm`/`.md`/`.markdown`/`.txt` pages, or JSON lines with
//! `id`, `title`, `url`, `text`.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::html::{html_to_text, markdown_to_text};
use crate::error::{Error, Result};

/// One source document, before passage splitting.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteDocument {
    pub id: String,
    pub title: String,
    pub url: String,
    pub text: String,
}

pub fn read_documents(input: &Path) -> Result<Vec<SiteDocument>> {
    if input.is_dir() {
        read_folder(input)
    } else {
        read_jsonl(input)
    }
}

fn read_folder(root: &Path) -> Result<Vec<SiteDocument>> {
    let mut files = Vec::new();
    collect_files(root, &mut files)?;
    files.sort();
    let mut docs = Vec::new();
    for path in files {
        let relative = path
            .strip_prefix(root)
            .expect("collected under root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
        let content = String::from_utf8_lossy(&bytes);
        let ext = extension(&path);
        let page = match ext.as_str() {
            "html" | "htm" => html_to_text(&content),
            "md" | "markdown" => markdown_to_text(&content),
            _ => super::html::PageText {
                title: None,
                text: content.trim().to_string(),
            },
        };
        if page.text.trim().is_empty() {
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let url = match ext.as_str() {
            "html" | "htm" | "txt" => relative.clone(),
            // Markdown sites publish `x.md` as `x.html`.
            _ => format!(
                "{}.html",
                relative.rsplit_once('.').map_or(&*relative, |(a, _)| a)
            ),
        };
        docs.push(SiteDocument {
            id: relative,
            title: page.title.unwrap_or(stem),
            url,
            text: page.text,
        });
    }
    Ok(docs)
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::input(format!("cannot list `{}`: {e}", dir.display())))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::input(format!("cannot list `{}`: {e}", dir.display())))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| Error::input(format!("cannot stat `{}`: {e}", path.display())))?;
        if kind.is_dir() {
            collect_files(&path, out)?;
        } else if kind.is_file()
            && matches!(
                extension(&path).as_str(),
                "html" | "htm" | "md" | "markdown" | "txt"
            )
        {
            out.push(path);
        }
    }
    Ok(())
}

fn read_jsonl(path: &Path) -> Result<Vec<SiteDocument>> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::input(format!("cannot open `{}`: {e}", path.display())))?;
    let mut docs = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let at = |msg: String| Error::input(format!("{}:{n}: {msg}", path.display()));
        let line = line.map_err(|e| at(format!("cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| at(format!("not a JSON object: {e}")))?;
        let field = |key: &str| record.get(key).and_then(serde_json::Value::as_str);
        let text = field("text").ok_or_else(|| at("expected a string `text` field".into()))?;
        let id = match record.get("id").or_else(|| record.get("_id")) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(x)) => x.to_string(),
            _ => n.to_string(),
        };
        docs.push(SiteDocument {
            id,
            title: field("title").unwrap_or_default().to_string(),
            url: field("url").unwrap_or_default().to_string(),
            text: text.to_string(),
        });
    }
    Ok(docs)
}

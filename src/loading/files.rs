//! Where model files come from: a folder on disk (CLI, tests) or a set of byte buffers handed over
//! by JavaScript (a model folder fetched file by file). Paths are relative to the model root and use
//! `/` as separator on every platform.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::{Error, Result};

pub trait ModelFiles {
    /// The file's bytes, `None` if it does not exist.
    fn read(&self, path: &str) -> Result<Option<Cow<'_, [u8]>>>;

    /// A short description of the source, used in error messages.
    fn describe(&self) -> String;

    fn require(&self, path: &str) -> Result<Cow<'_, [u8]>> {
        self.read(path)?
            .ok_or_else(|| Error::model(format!("missing file `{path}` in {}", self.describe())))
    }

    fn read_json(&self, path: &str) -> Result<Option<serde_json::Value>> {
        match self.read(path)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::model(format!("`{path}` is not valid JSON: {e}"))),
        }
    }

    fn require_json(&self, path: &str) -> Result<serde_json::Value> {
        self.read_json(path)?
            .ok_or_else(|| Error::model(format!("missing file `{path}` in {}", self.describe())))
    }
}

/// Joins a module folder (possibly `""` or `"."`, meaning the root) and a file name.
pub fn join(folder: &str, file: &str) -> String {
    let folder = folder.trim_matches('/');
    if folder.is_empty() || folder == "." {
        file.to_string()
    } else {
        format!("{folder}/{file}")
    }
}

pub struct DirectoryFiles {
    root: PathBuf,
}

impl DirectoryFiles {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(Error::model(format!(
                "`{}` is not a model folder (not a directory)",
                root.display()
            )));
        }
        Ok(Self { root })
    }
}

impl ModelFiles for DirectoryFiles {
    fn read(&self, path: &str) -> Result<Option<Cow<'_, [u8]>>> {
        let full = self.root.join(path);
        match std::fs::read(&full) {
            Ok(bytes) => Ok(Some(Cow::Owned(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::model(format!(
                "cannot read `{}`: {e}",
                full.display()
            ))),
        }
    }

    fn describe(&self) -> String {
        format!("model folder `{}`", self.root.display())
    }
}

/// Files held in memory, keyed by relative path. A leading `./` or `/` on a key is ignored.
#[derive(Default)]
pub struct MemoryFiles {
    files: HashMap<String, Vec<u8>>,
}

impl MemoryFiles {
    pub fn insert(&mut self, path: &str, bytes: Vec<u8>) {
        let key = path.trim_start_matches("./").trim_start_matches('/');
        self.files.insert(key.to_string(), bytes);
    }
}

impl ModelFiles for MemoryFiles {
    fn read(&self, path: &str) -> Result<Option<Cow<'_, [u8]>>> {
        Ok(self
            .files
            .get(path)
            .map(|bytes| Cow::Borrowed(bytes.as_slice())))
    }

    fn describe(&self) -> String {
        let mut names: Vec<&str> = self.files.keys().map(String::as_str).collect();
        names.sort_unstable();
        format!("the given model files [{}]", names.join(", "))
    }
}

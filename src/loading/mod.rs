//! From model files to an encoder. A model folder (in either layout) or a single-file pack is
//! *read* into the same [`ModelParts`]; one function, [`build`], makes the encoder's two sides
//! from them. Writing a pack reads and builds a folder the same way.

mod build;
pub mod files;
mod folder;
pub mod pack;

pub use build::{build, ModelParts};
pub use folder::read as read_folder;
pub(crate) use pack::read as read_pack;

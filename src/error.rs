//! One error type for the whole crate. Every message is meant to be read by a person who can act on
//! it (which file, which key, which value), because these strings cross into JavaScript unchanged.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// A model file is missing, unreadable, malformed or inconsistent.
    Model(String),
    /// A configuration this code cannot run exactly; names the key and its value.
    Unsupported { key: String, value: String },
    /// Caller input that cannot be processed (e.g. invalid UTF-8, malformed JSON lines).
    Input(String),
    /// A failure inside the tensor library; the message says what was being computed.
    Tensor(String),
    /// No usable WebGPU device, or the device failed (lost, out of memory, limits too small).
    Device(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn model(msg: impl Into<String>) -> Self {
        Error::Model(msg.into())
    }

    pub fn unsupported(key: &str, value: impl fmt::Display) -> Self {
        Error::Unsupported {
            key: key.to_string(),
            value: value.to_string(),
        }
    }

    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Model(msg) => write!(f, "invalid model: {msg}"),
            Error::Unsupported { key, value } => write!(
                f,
                "unsupported model configuration: `{key}` = {value} cannot be run exactly by this encoder"
            ),
            Error::Input(msg) => write!(f, "invalid input: {msg}"),
            Error::Tensor(msg) => write!(f, "computation failed: {msg}"),
            Error::Device(msg) => write!(f, "WebGPU: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Tensor(e.to_string())
    }
}

//! One error type for the crate. Each message names the file, tensor or key
//! involved and, where there is one, what to do about it.

use std::path::PathBuf;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when loading or running a language model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file does not start with the bytes `GGUF`.
    #[error(
        "{}: not a GGUF file (it starts with {found:?}, a GGUF file starts with \"GGUF\"); \
         pass a `.gguf` model file, e.g. the course's `aiguide::hub::locate(\"{}\")`",
        path.display(),
        crate::model::COURSE_MODEL
    )]
    BadMagic { path: PathBuf, found: String },
    /// A GGUF version this reader does not implement.
    #[error(
        "{}: GGUF version {version} is not supported (this reader reads versions 2 and 3, \
         little-endian); re-export the model with a current llama.cpp `convert_hf_to_gguf.py`",
        path.display()
    )]
    UnsupportedVersion { path: PathBuf, version: u32 },
    /// The file ends before a header field or a tensor's data does.
    #[error(
        "{}: truncated: {what} needs {size} bytes at offset {offset}, but the file has only \
         {file_len} bytes; the download is incomplete, fetch the file again (`./course data` \
         re-fetches course models)",
        path.display()
    )]
    Truncated {
        path: PathBuf,
        what: String,
        offset: u64,
        size: u64,
        file_len: u64,
    },
    /// A record of a data file (e.g. the labelled reviews of
    /// [`crate::sentiment`]) that does not have the expected form.
    #[error("{}: record {record}: {reason}", path.display())]
    Format {
        path: PathBuf,
        record: usize,
        reason: String,
    },
    /// The file is a GGUF file but something in it makes no sense.
    #[error("{}: corrupt GGUF file: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A tensor stored in a format this crate cannot dequantise.
    #[error(
        "tensor `{tensor}` is stored as {ty}, which this crate cannot dequantise (it reads \
         F32, F16, BF16, Q8_0, Q4_0 and Q4_1); use a GGUF file quantised to one of these, \
         e.g. `llama-quantize in.gguf out.gguf Q8_0`"
    )]
    UnsupportedTensorType { tensor: String, ty: String },
    /// The model needs a tensor the file does not have.
    #[error(
        "{}: no tensor named `{name}`; is this a Llama-architecture model? (list the tensors \
         with `Gguf::tensors`)",
        path.display()
    )]
    MissingTensor { path: PathBuf, name: String },
    /// The model needs a metadata key the file does not have.
    #[error(
        "{}: no metadata key `{key}`; the file was written without it (list the keys with \
         `Gguf::metadata`)",
        path.display()
    )]
    MissingKey { path: PathBuf, key: String },
    /// A metadata value of another type than the one asked for.
    #[error("{}: metadata key `{key}` holds {found}, expected {expected}", path.display())]
    WrongType {
        path: PathBuf,
        key: String,
        expected: &'static str,
        found: String,
    },
    /// A model architecture or hyperparameter this crate does not implement.
    #[error("{0}")]
    Unsupported(String),
    /// Building or running the tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template could not be parsed or rendered.
    #[error("chat template: {0}")]
    Template(#[from] minijinja::Error),
    /// An argument outside what the function accepts; the message says which.
    #[error("{0}")]
    InvalidArgument(String),
    /// A JSON Schema that structured output cannot enforce; the message says
    /// which keyword or value and what is supported.
    #[error("JSON schema: {0}")]
    Schema(String),
    /// A chat server could not be reached, refused the request or answered
    /// something that is not the OpenAI chat-completions protocol.
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Locating a course file failed (missing or damaged download).
    #[error(transparent)]
    Hub(#[from] aiguide::Error),
    /// An error from libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// The sentence encoder could not be loaded or run, so that code using
    /// both the chat model and the encoder can use `?` on either.
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Corrupt`] for `path`.
    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

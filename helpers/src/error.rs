//! One error type for the crate, so notebook cells and learners' functions can
//! use `?` on anything aiguide returns.

use std::path::PathBuf;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in aiguide. Data errors name the file involved
/// and, where there is one, the command that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file listed in the data manifest is not in the data directory yet.
    #[error("{}", missing_message(name, path, url.as_deref()))]
    MissingAsset {
        name: String,
        path: PathBuf,
        /// Set for files the learner downloads by hand.
        url: Option<String>,
    },
    /// A data file is there but is not the file the manifest describes.
    #[error(
        "{}: sha256 is {actual} but the manifest expects {expected} for `{name}`; refusing \
         to use it. Delete the file and run `./course data` to fetch it again",
        path.display()
    )]
    ChecksumMismatch {
        name: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A file that cannot be parsed: truncated, corrupt or in another format.
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No entry with this name in the data manifest.
    #[error("no data asset named `{0}` in the manifest (helpers/assets.toml)")]
    UnknownAsset(String),
    /// The data manifest itself is malformed.
    #[error("invalid data manifest: {0}")]
    Manifest(String),
    /// An argument outside what the function accepts; the message says which.
    #[error("{0}")]
    InvalidArgument(String),
    /// plotters could not draw the figure.
    #[error("plotting failed: {0}")]
    Plot(String),
    /// An error from libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

fn missing_message(name: &str, path: &std::path::Path, url: Option<&str>) -> String {
    match url {
        None => format!(
            "data file `{name}` is missing (expected at {}); run `./course data` to fetch the \
             course data",
            path.display()
        ),
        Some(url) => format!(
            "data file `{name}` is missing (expected at {}); it is not fetched automatically: \
             download {url} to that path, then run `./course data` to verify it",
            path.display()
        ),
    }
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

impl<E: std::error::Error + Send + Sync> From<plotters::drawing::DrawingAreaErrorKind<E>>
    for Error
{
    fn from(e: plotters::drawing::DrawingAreaErrorKind<E>) -> Self {
        Error::Plot(e.to_string())
    }
}

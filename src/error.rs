//! The library's error type.
//!
//! Every variant names the file (and line, where there is one) it is about and
//! says what to do, so the command line can print it as one clear line.

use std::path::PathBuf;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What could not be done ("read", "write", "replace", ...).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A labels file has a line that cannot be used.
    #[error("{path}:{line}: {message}")]
    LabelsLine {
        /// The labels file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },

    /// A model file is missing, damaged or of another format version.
    #[error("{origin}: {message}")]
    Model {
        /// Where the model came from (a path, or "embedded model").
        origin: String,
        /// What is wrong and what to do.
        message: String,
    },

    /// Training cannot go ahead with the data or options given.
    #[error("cannot train: {0}")]
    Training(String),

    /// An option has a value outside its range.
    #[error("invalid option: {0}")]
    InvalidOption(String),

    /// Input that cannot be processed (and is not tied to a labels file).
    #[error("{origin}: {message}")]
    Input {
        /// Where the input came from (a path, "<stdin>", ...).
        origin: String,
        /// What is wrong and what to do.
        message: String,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }

    /// Whether this error is a closed pipe on output (e.g. `stance label | head -1`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

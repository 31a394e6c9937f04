//! The bench's one error type: what failed to start or run, with context.

use std::io;

/// Why the bench could not produce its report.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A tool the bench needs is not installed.
    #[error("{tool} not found (install it: {hint})")]
    Missing {
        /// The program.
        tool: &'static str,
        /// How to get it.
        hint: &'static str,
    },
    /// An I/O step failed.
    #[error("{what}: {source}")]
    Io {
        /// The step.
        what: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An HTTP exchange with one of the started servers failed.
    #[error("{what}: {source}")]
    Http {
        /// The step.
        what: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// A server or tool misbehaved (exited, answered wrongly, printed nonsense).
    #[error("{0}")]
    Failed(String),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

/// Results of the bench's steps.
pub type Result<T> = std::result::Result<T, BenchError>;

/// Adds a description of the step to an I/O error.
pub trait IoContext<T> {
    /// Names the step that failed.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| BenchError::Io {
            what: what(),
            source,
        })
    }
}

/// Adds a description of the step to an HTTP error.
pub fn http(what: impl Into<String>) -> impl FnOnce(reqwest::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Http { what, source }
}

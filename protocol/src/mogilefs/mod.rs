//! MogileFS tracker protocol (mogilefsd 2.x, default port 7001).
//!
//! One request per line, one reply line per request:
//!
//! ```text
//! C> get_paths domain=imgs&key=a+b.jpg&noverify=1\r\n
//! S< OK paths=2&path1=http://10.0.0.2:7500/dev2/0/000/000/0000000472.fid&path2=...\r\n
//! S< ERR unknown_key unknown_key\r\n
//! ```
//!
//! - [`args`]: the URL encoding of argument lists, exactly as the tracker does it.
//! - [`line`]: request and reply lines, and a length-limited line codec.
//! - [`cmd`]: one small type per command with both directions of its encoding.
//! - [`fid`]: where a fid lives on a storage device.

pub mod args;
pub mod cmd;
pub mod fid;
pub mod line;

pub use args::Args;
pub use cmd::Command;
pub use line::{Reply, Request};

/// Errors in the shape of a line or of a reply's fields.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// The reply line starts with neither `OK` nor `ERR`.
    #[error("tracker reply is neither OK nor ERR: {0:?}")]
    BadReply(String),
    /// A field the command needs is absent from an `OK` reply.
    #[error("tracker reply lacks field `{0}`")]
    MissingField(&'static str),
    /// A field is present but does not parse.
    #[error("tracker reply field `{field}` is invalid: {value:?}")]
    BadField {
        /// Name of the field.
        field: &'static str,
        /// The value as received.
        value: String,
    },
    /// A request line has no command word.
    #[error("empty request line")]
    EmptyRequest,
}

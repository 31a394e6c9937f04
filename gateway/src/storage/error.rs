//! The one storage error: every store, whatever its protocol, fails with a
//! [`StorageError`], so the HTTP edge maps failures to statuses by kind and
//! never by a protocol's own codes. Each protocol module converts its
//! client errors into these kinds (`storage/<protocol>/error.rs`).

/// Why a store operation failed. `detail` fields name the key, server and
/// command for the log; `public` fields are safe to show a client (no
/// addresses, no paths).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("{what} not found")]
    NotFound {
        /// The key or file ID, as the client named it.
        what: String,
        /// What the client is told.
        public: String,
    },
    /// Every replica or server that could serve the request was tried and
    /// failed (not all by time-out).
    #[error("{what}: nothing could serve it: {tried}")]
    Unavailable {
        /// The key or file ID.
        what: String,
        /// Each candidate tried and how it failed.
        tried: String,
        /// What the client is told.
        public: String,
    },
    /// Every candidate tried timed out.
    #[error("{what}: every server tried timed out: {tried}")]
    TimedOut {
        /// The key or file ID.
        what: String,
        /// Each candidate tried and how it failed.
        tried: String,
        /// What the client is told.
        public: String,
    },
    /// No tracker answered.
    #[error("no tracker answered ({tried})")]
    NoTracker {
        /// Each tracker tried and how it failed.
        tried: String,
    },
    /// The cluster has no room for a new object (try later or elsewhere).
    #[error("no room to store the object: {detail}")]
    NoRoom {
        /// Who said so.
        detail: String,
        /// What the client is told.
        public: String,
    },
    /// A tracker or server refused the request with an error of its own.
    #[error("refused: {detail}")]
    Refused {
        /// Who refused, which command, which code.
        detail: String,
        /// What the client is told.
        public: String,
    },
    /// A server answered something unusable, or an outcome could not be
    /// confirmed.
    #[error("bad reply: {detail}")]
    BadReply {
        /// Who, and what was wrong.
        detail: String,
        /// What the client is told.
        public: String,
    },
    /// The upload body exceeded the size limit.
    #[error("upload body exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The client's upload body failed mid-way (disconnect, bad encoding,
    /// fewer bytes than announced).
    #[error("upload body: {detail}")]
    ClientBody {
        /// How it failed.
        detail: String,
        /// What the client is told.
        public: String,
    },
    /// Something on this machine failed (e.g. spooling to a temporary file).
    #[error("local failure: {0}")]
    Local(String),
}

impl StorageError {
    /// What the client is told: never an address or a local path.
    pub fn public_message(&self) -> String {
        match self {
            StorageError::NotFound { public, .. }
            | StorageError::Unavailable { public, .. }
            | StorageError::TimedOut { public, .. }
            | StorageError::NoRoom { public, .. }
            | StorageError::Refused { public, .. }
            | StorageError::BadReply { public, .. }
            | StorageError::ClientBody { public, .. } => public.clone(),
            StorageError::NoTracker { .. } => "no tracker is answering".into(),
            StorageError::TooLarge { limit } => format!("upload body exceeds {limit} bytes"),
            StorageError::Local(_) => "the gateway failed; the log has the details".into(),
        }
    }

    /// The client body was cut off by the client (a disconnect mid-upload).
    pub fn client_body_cut() -> Self {
        StorageError::ClientBody {
            detail: "the upload body was cut off by the client".into(),
            public: "the upload body was cut off by the client".into(),
        }
    }

    /// Nothing could serve `what`: a time-out when every try timed out.
    pub fn exhausted(what: &str, tried: String, timed_out: bool, public: &str) -> Self {
        let (what, public) = (what.to_owned(), public.to_owned());
        if timed_out {
            StorageError::TimedOut {
                what,
                tried,
                public,
            }
        } else {
            StorageError::Unavailable {
                what,
                tried,
                public,
            }
        }
    }
}

//! MogileFS failures as [`StorageError`]s: the tracker's `unknown_key` is
//! "not found", `no_devices` "no room", any other `ERR` a refusal; replicas
//! and destinations that all failed are "unavailable", or "timed out" when
//! every one of them timed out.

use super::node::NodeError;
use crate::clients::mogilefs::MogError;
use crate::storage::StorageError;

/// A tracker failure during an operation on `key`.
pub fn from_mog(key: &str, e: MogError) -> StorageError {
    match e {
        MogError::NoTracker { tried } => StorageError::NoTracker { tried },
        MogError::Tracker { ref code, .. } if code == "no_devices" => StorageError::NoRoom {
            detail: format!("{key}: {e}"),
            public: "no storage device has room for the file".into(),
        },
        MogError::Tracker { ref code, .. } => StorageError::Refused {
            public: format!("the tracker refused the request ({code})"),
            detail: format!("{key}: {e}"),
        },
        e @ (MogError::BadReply { .. } | MogError::Unconfirmed { .. }) => StorageError::BadReply {
            detail: format!("{key}: {e}"),
            public: "the tracker failed".into(),
        },
    }
}

/// A tracker failure of a look-up or delete, where `unknown_key` means the
/// key does not exist.
pub fn not_found_if_unknown(key: &str, e: MogError) -> StorageError {
    match e.code() {
        Some("unknown_key") => StorageError::NotFound {
            what: key.to_owned(),
            public: "unknown key".into(),
        },
        _ => from_mog(key, e),
    }
}

/// Every replica of `key` failed (`no_paths`: there were none).
pub fn no_replica(key: &str, failures: &[NodeError], no_paths: bool) -> StorageError {
    let timed_out = !failures.is_empty() && failures.iter().all(NodeError::is_timeout);
    StorageError::exhausted(
        key,
        describe(failures, no_paths),
        timed_out,
        "no replica of the file could be read",
    )
}

/// No destination took the upload of `key`.
pub fn upload_failed(key: &str, tried: String, timed_out: bool) -> StorageError {
    StorageError::exhausted(key, tried, timed_out, "no storage node accepted the file")
}

/// The failures, or what the tracker gave when there was nothing to try.
pub fn describe(failures: &[NodeError], none: bool) -> String {
    if none {
        return "the tracker returned no paths".into();
    }
    let parts: Vec<String> = failures.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    //! Tracker errors map to the storage error kinds by their code.
    use super::*;

    fn tracker(code: &str) -> MogError {
        MogError::Tracker {
            tracker: "127.0.0.1:7001".parse().unwrap(),
            code: code.into(),
            text: "x".into(),
        }
    }

    #[test]
    fn tracker_codes_map_to_kinds() {
        let e = not_found_if_unknown("k", tracker("unknown_key"));
        assert!(matches!(e, StorageError::NotFound { .. }), "{e}");
        // Outside a look-up, unknown_key is the tracker's refusal.
        let e = from_mog("k", tracker("unknown_key"));
        assert!(matches!(e, StorageError::Refused { .. }), "{e}");
        let e = from_mog("k", tracker("no_devices"));
        assert!(matches!(e, StorageError::NoRoom { .. }), "{e}");
        let e = from_mog("k", tracker("dup"));
        assert_eq!(e.public_message(), "the tracker refused the request (dup)");
        let e = from_mog("k", MogError::NoTracker { tried: "a".into() });
        assert!(matches!(e, StorageError::NoTracker { .. }), "{e}");
    }

    #[test]
    fn replicas_that_all_timed_out_are_a_time_out() {
        let timeout = || NodeError::Timeout {
            url: "http://127.0.0.1:1/dev1/0/000/000/0000000001.fid".into(),
            timeout: std::time::Duration::from_secs(1),
        };
        let status = || NodeError::Status {
            url: "http://127.0.0.1:2/x".into(),
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        let e = no_replica("k", &[timeout(), timeout()], false);
        assert!(matches!(e, StorageError::TimedOut { .. }), "{e}");
        let e = no_replica("k", &[timeout(), status()], false);
        assert!(matches!(e, StorageError::Unavailable { .. }), "{e}");
        let e = no_replica("k", &[], true);
        assert!(e.to_string().contains("returned no paths"), "{e}");
    }
}

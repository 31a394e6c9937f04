//! What a cached object is keyed by: an identity whose bytes never change,
//! and the MogileFS key it was read under (for invalidation).

use std::sync::Arc;

/// An object whose content is fixed for as long as its identity exists.
///
/// ```text
/// Mogilefs { fid, size }   a MogileFS file: a new PUT of a key makes a new
///                          fid, so a fid's bytes never change; the size
///                          guards against a tracker whose fids restarted
/// Fastdfs(file_id)         a FastDFS file ID, immutable once written
///                          (appender files change: never cached)
/// Derived { source, params }
///                          bytes computed from `source` (a thumbnail):
///                          `params` says how, e.g. "thumb=200x200"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ObjectId {
    /// A MogileFS file by fid and size.
    Mogilefs {
        /// The tracker's file id.
        fid: u64,
        /// Its length in bytes.
        size: u64,
    },
    /// A FastDFS file by its file ID (`group1/M00/00/00/...`).
    Fastdfs(Arc<str>),
    /// An object computed from another one.
    Derived {
        /// The object it was computed from.
        source: Arc<ObjectId>,
        /// How it was computed, in a form that is equal for equal results.
        params: Arc<str>,
    },
}

impl ObjectId {
    /// A FastDFS file ID.
    pub fn fastdfs(file_id: &str) -> Self {
        ObjectId::Fastdfs(file_id.into())
    }

    /// An object computed from `self` as `params` say.
    pub fn derived(&self, params: &str) -> Self {
        ObjectId::Derived {
            source: Arc::new(self.clone()),
            params: params.into(),
        }
    }

    /// The stored object at the bottom of any chain of derivations.
    pub fn root(&self) -> &ObjectId {
        match self {
            ObjectId::Derived { source, .. } => source.root(),
            other => other,
        }
    }

    /// Heap bytes the identity takes, for the cache's weigher.
    pub(super) fn heap_len(&self) -> usize {
        match self {
            ObjectId::Mogilefs { .. } => 0,
            ObjectId::Fastdfs(id) => id.len(),
            ObjectId::Derived { source, params } => {
                std::mem::size_of::<ObjectId>() + source.heap_len() + params.len()
            }
        }
    }
}

/// A MogileFS key in its domain: what a PUT or DELETE names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MogKey {
    /// The domain.
    pub domain: Arc<str>,
    /// The key.
    pub key: Arc<str>,
}

impl MogKey {
    /// `key` in `domain`.
    pub fn new(domain: &str, key: &str) -> Self {
        MogKey {
            domain: domain.into(),
            key: key.into(),
        }
    }

    pub(super) fn heap_len(&self) -> usize {
        self.domain.len() + self.key.len()
    }
}

//! Which cached identities belong to a MogileFS key or derive from a stored
//! object, so that a PUT or DELETE drops them all at once.
//!
//! Entries are added when an object is inserted and removed by the cache's
//! removal listener, whatever the cause: the index never holds more names
//! than the cache holds objects.

use super::id::{MogKey, ObjectId};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// What a group of cached identities is named by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Group {
    /// Read under this MogileFS key.
    Key(MogKey),
    /// Derived from this stored object.
    Source(ObjectId),
}

/// The groups of the cached identities.
#[derive(Debug, Default)]
pub(super) struct Index {
    groups: Mutex<HashMap<Group, Vec<ObjectId>>>,
}

impl Index {
    /// Records `id`, read under `key` (if any).
    pub fn add(&self, id: &ObjectId, key: Option<&MogKey>) {
        let mut groups = self.lock();
        for group in groups_of(id, key) {
            let members = groups.entry(group).or_default();
            if !members.contains(id) {
                members.push(id.clone());
            }
        }
    }

    /// Forgets `id`, read under `key` (if any).
    pub fn remove(&self, id: &ObjectId, key: Option<&MogKey>) {
        let mut groups = self.lock();
        for group in groups_of(id, key) {
            if let Some(members) = groups.get_mut(&group) {
                members.retain(|m| m != id);
                if members.is_empty() {
                    groups.remove(&group);
                }
            }
        }
    }

    /// Identities read under `key`.
    pub fn of_key(&self, key: &MogKey) -> Vec<ObjectId> {
        let group = Group::Key(key.clone());
        self.lock().get(&group).cloned().unwrap_or_default()
    }

    /// Identities derived from `source`.
    pub fn derived_from(&self, source: &ObjectId) -> Vec<ObjectId> {
        let group = Group::Source(source.clone());
        self.lock().get(&group).cloned().unwrap_or_default()
    }

    /// Number of groups (for tests: the index stays bounded).
    #[cfg(test)]
    pub fn groups(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Group, Vec<ObjectId>>> {
        self.groups.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn groups_of(id: &ObjectId, key: Option<&MogKey>) -> impl Iterator<Item = Group> {
    let key = key.cloned().map(Group::Key);
    let source = match id {
        ObjectId::Derived { .. } => Some(Group::Source(id.root().clone())),
        _ => None,
    };
    key.into_iter().chain(source)
}

//! The tracker's metadata, in memory: what the shared database behind real
//! trackers holds (domains, classes, keys, files and where they are, temp
//! files of uploads in progress, hosts and devices).
//!
//! Pure bookkeeping under one lock: nothing here awaits, so the commands
//! take the lock, decide, release it, and only then talk HTTP. Given a data
//! directory, each change is also written to an SQLite file ([`store`]) and
//! read back at start-up, so keys survive a restart.

mod store;

use super::random;
use super::topology::{DeviceState, Topology};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Replicas a class keeps when created without saying (`default`, mindevcount 2).
pub(crate) const DEFAULT_MINDEVCOUNT: u32 = 2;

/// A domain: its classes (name -> mindevcount) and keys (key -> fid).
#[derive(Debug, Default)]
pub(crate) struct Domain {
    pub classes: BTreeMap<String, u32>,
    pub keys: BTreeMap<String, u64>,
}

/// A committed file.
#[derive(Debug, Clone)]
pub(crate) struct FileRow {
    pub domain: String,
    pub key: String,
    pub class: String,
    pub length: u64,
    pub devids: Vec<u64>,
}

/// An upload between `create_open` and `create_close`.
#[derive(Debug, Clone)]
pub(crate) struct TempFile {
    pub domain: String,
    pub class: String,
    pub devids: Vec<u64>,
}

/// What replication should do next for a fid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CopyPlan {
    /// Enough copies, or the file is gone.
    Done,
    /// No readable source or no writable destination right now.
    Wait,
    /// Copy `src` to `dst` (on device `devid`), expecting `length` bytes.
    Copy {
        src: String,
        dst: String,
        devid: u64,
        length: u64,
    },
}

/// All metadata of one cluster.
#[derive(Debug)]
pub(crate) struct Meta {
    pub topology: Topology,
    pub domains: BTreeMap<String, Domain>,
    files: HashMap<u64, FileRow>,
    tempfiles: HashMap<u64, TempFile>,
    next_fid: u64,
    store: Option<store::MetaStore>,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            topology: Topology::default(),
            domains: BTreeMap::new(),
            files: HashMap::new(),
            tempfiles: HashMap::new(),
            next_fid: 1,
            store: None,
        }
    }
}

impl Meta {
    /// Metadata kept in the SQLite file at `path`: what it holds now, and
    /// every change from here on.
    pub fn persistent(path: &std::path::Path) -> std::io::Result<Meta> {
        let failed = |e: rusqlite::Error| {
            std::io::Error::other(format!("MogileFS metadata {}: {e}", path.display()))
        };
        let store = store::MetaStore::open(path).map_err(failed)?;
        let loaded = store.load().map_err(failed)?;
        Ok(Meta {
            domains: loaded.domains,
            files: loaded.files,
            next_fid: loaded.next_fid,
            store: Some(store),
            ..Meta::default()
        })
    }

    /// Writes a change through to the store, if there is one. A failed write
    /// is logged: the change holds in memory, but may not survive a restart.
    fn persist(&mut self, write: impl FnOnce(&mut store::MetaStore) -> rusqlite::Result<()>) {
        if let Some(store) = self.store.as_mut() {
            if let Err(e) = write(store) {
                tracing::warn!("MogileFS metadata not saved: {e}");
            }
        }
    }

    /// Writes file `fid` as it is now (after a change of key, class or copies).
    fn persist_file(&mut self, fid: u64) {
        if let Some(row) = self.files.get(&fid).cloned() {
            self.persist(|s| s.put_file(fid, &row));
        }
    }

    /// Creates a domain with its implicit `default` class.
    pub fn create_domain(&mut self, name: &str) -> Result<(), &'static str> {
        if self.domains.contains_key(name) {
            return Err("domain_exists");
        }
        let mut domain = Domain::default();
        domain.classes.insert("default".into(), DEFAULT_MINDEVCOUNT);
        self.domains.insert(name.to_owned(), domain);
        self.persist(|s| s.put_class(name, "default", DEFAULT_MINDEVCOUNT));
        Ok(())
    }

    /// Creates (or with `update`, changes) a class. `default` always exists
    /// and may be set either way.
    pub fn set_class(
        &mut self,
        domain: &str,
        class: &str,
        mindevcount: u32,
        update: bool,
    ) -> Result<(), &'static str> {
        let dom = self.domains.get_mut(domain).ok_or("domain_not_found")?;
        let exists = dom.classes.contains_key(class) && class != "default";
        match (update, exists) {
            (true, false) if class != "default" => return Err("class_not_found"),
            (false, true) => return Err("class_exists"),
            _ => {}
        }
        dom.classes.insert(class.to_owned(), mindevcount);
        self.persist(|s| s.put_class(domain, class, mindevcount));
        Ok(())
    }

    fn mindevcount(&self, domain: &str, class: &str) -> u32 {
        self.domains
            .get(domain)
            .and_then(|d| d.classes.get(class))
            .copied()
            .unwrap_or(DEFAULT_MINDEVCOUNT)
    }

    /// Reserves a fid (`explicit` or the next one) and destinations for a new
    /// file of `domain`: `create_open` (the key is only given at close).
    pub fn open(
        &mut self,
        domain: &str,
        class: Option<&str>,
        explicit: Option<u64>,
        count: usize,
        size: Option<u64>,
    ) -> Result<(u64, Vec<u64>), &'static str> {
        let class = class.unwrap_or("default");
        let dom = self.domains.get(domain).ok_or("unreg_domain")?;
        if !dom.classes.contains_key(class) {
            return Err("unreg_class");
        }
        let devids = self.topology.choose_destinations(count, size);
        if devids.is_empty() {
            return Err("no_devices");
        }
        let fid = explicit.unwrap_or(self.next_fid);
        if self.files.contains_key(&fid) || self.tempfiles.contains_key(&fid) {
            return Err("fid_in_use");
        }
        // Like an auto-increment column, an explicit fid moves the sequence.
        self.next_fid = self.next_fid.max(fid + 1);
        let next = self.next_fid;
        self.persist(|s| s.set_next_fid(next));
        let temp = TempFile {
            domain: domain.to_owned(),
            class: class.to_owned(),
            devids: devids.clone(),
        };
        self.tempfiles.insert(fid, temp);
        Ok((fid, devids))
    }

    /// Removes and returns the temp file row of `fid` (a second close finds none).
    pub fn take_tempfile(&mut self, fid: u64) -> Option<TempFile> {
        self.tempfiles.remove(&fid)
    }

    /// Registers `fid` under `key` with one copy on `devid`, replacing any
    /// file the key had; returns the URLs of the replaced file's copies.
    pub fn commit(
        &mut self,
        fid: u64,
        temp: TempFile,
        key: &str,
        length: u64,
        devid: u64,
    ) -> Vec<String> {
        let old = self.remove(&temp.domain, key).unwrap_or_default();
        let row = FileRow {
            domain: temp.domain.clone(),
            key: key.to_owned(),
            class: temp.class,
            length,
            devids: vec![devid],
        };
        if let Some(dom) = self.domains.get_mut(&temp.domain) {
            dom.keys.insert(key.to_owned(), fid);
        }
        self.files.insert(fid, row);
        self.persist_file(fid);
        old
    }

    /// The fid and file of a key.
    pub fn lookup(&self, domain: &str, key: &str) -> Option<(u64, &FileRow)> {
        let fid = *self.domains.get(domain)?.keys.get(key)?;
        Some((fid, self.files.get(&fid)?))
    }

    /// Forgets a key and its file; returns the URLs of its copies.
    pub fn remove(&mut self, domain: &str, key: &str) -> Option<Vec<String>> {
        let fid = self.domains.get_mut(domain)?.keys.remove(key)?;
        let row = self.files.remove(&fid)?;
        self.persist(|s| s.delete_file(fid));
        Some(self.urls(fid, &row.devids))
    }

    /// URLs of `fid` on each of `devids`.
    pub fn urls(&self, fid: u64, devids: &[u64]) -> Vec<String> {
        devids
            .iter()
            .filter_map(|&d| self.topology.url(d, fid))
            .collect()
    }

    /// Moves a file to another key of the same domain.
    pub fn rename(&mut self, domain: &str, from: &str, to: &str) -> Result<(), &'static str> {
        let dom = self.domains.get_mut(domain).ok_or("unreg_domain")?;
        let fid = *dom.keys.get(from).ok_or("unknown_key")?;
        if dom.keys.contains_key(to) {
            return Err("key_exists");
        }
        dom.keys.remove(from);
        dom.keys.insert(to.to_owned(), fid);
        if let Some(row) = self.files.get_mut(&fid) {
            row.key = to.to_owned();
        }
        self.persist_file(fid);
        Ok(())
    }

    /// Up to `limit` keys starting with `prefix`, after `after`, in byte order.
    pub fn list_keys(
        &self,
        domain: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Vec<String> {
        let Some(dom) = self.domains.get(domain) else {
            return Vec::new();
        };
        let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        dom.keys
            .range::<str, _>((start, std::ops::Bound::Unbounded))
            .map(|(k, _)| k)
            .skip_while(|k| k.as_str() < prefix)
            .take_while(|k| k.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Changes the class of a key's file (`updateclass`); returns its fid.
    pub fn set_file_class(
        &mut self,
        domain: &str,
        key: &str,
        class: &str,
    ) -> Result<u64, &'static str> {
        let dom = self.domains.get(domain).ok_or("unreg_domain")?;
        if !dom.classes.contains_key(class) {
            return Err("class_not_found");
        }
        let fid = *dom.keys.get(key).ok_or("invalid_key")?;
        let row = self.files.get_mut(&fid).ok_or("invalid_key")?;
        row.class = class.to_owned();
        self.persist_file(fid);
        Ok(fid)
    }

    /// The next copy replication should make of `fid`.
    pub fn plan_copy(&self, fid: u64) -> CopyPlan {
        let Some(row) = self.files.get(&fid) else {
            return CopyPlan::Done;
        };
        if row.devids.len() >= self.mindevcount(&row.domain, &row.class) as usize {
            return CopyPlan::Done;
        }
        let devices = &self.topology.devices;
        let mut sources: Vec<u64> = row
            .devids
            .iter()
            .copied()
            .filter(|d| devices.get(d).is_some_and(|d| d.readable()))
            .collect();
        let mut targets = self.copy_targets(row);
        random::shuffle(&mut sources);
        random::shuffle(&mut targets);
        let (Some(&src), Some(&dst)) = (sources.first(), targets.first()) else {
            return CopyPlan::Wait;
        };
        match (self.topology.url(src, fid), self.topology.url(dst, fid)) {
            (Some(src), Some(url)) => CopyPlan::Copy {
                src,
                dst: url,
                devid: dst,
                length: row.length,
            },
            _ => CopyPlan::Wait,
        }
    }

    /// Writable devices lacking the file, on hosts lacking it when there are
    /// such hosts (the `MultipleHosts()` policy).
    fn copy_targets(&self, row: &FileRow) -> Vec<u64> {
        let devices = &self.topology.devices;
        let held: BTreeSet<u64> = row
            .devids
            .iter()
            .filter_map(|d| devices.get(d))
            .filter(|d| d.state != DeviceState::Dead)
            .map(|d| d.hostid)
            .collect();
        let free: Vec<_> = devices
            .values()
            .filter(|d| d.writable() && !row.devids.contains(&d.devid))
            .collect();
        let elsewhere: Vec<u64> = free
            .iter()
            .filter(|d| !held.contains(&d.hostid))
            .map(|d| d.devid)
            .collect();
        let all_hosts_hold = self.topology.hosts.iter().all(|h| held.contains(&h.hostid));
        if elsewhere.is_empty() && all_hosts_hold {
            return free.iter().map(|d| d.devid).collect();
        }
        elsewhere
    }

    /// Records a finished copy; false when the file is gone meanwhile.
    pub fn add_replica(&mut self, fid: u64, devid: u64) -> bool {
        let Some(row) = self.files.get_mut(&fid) else {
            return false;
        };
        if !row.devids.contains(&devid) {
            row.devids.push(devid);
            self.persist(|s| s.add_copy(fid, devid));
        }
        true
    }

    /// Fids with fewer copies than their class wants.
    pub fn under_replicated(&self) -> Vec<u64> {
        self.files
            .iter()
            .filter(|(_, r)| r.devids.len() < self.mindevcount(&r.domain, &r.class) as usize)
            .map(|(fid, _)| *fid)
            .collect()
    }

    /// URL paths (`/devN/…fid`) of every copy the metadata knows of.
    pub fn known_paths(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .flat_map(|(fid, row)| {
                row.devids
                    .iter()
                    .map(|d| dfs_protocol::mogilefs::fid::fid_path(*d, *fid))
            })
            .collect()
    }

    /// Number of uploads opened and not closed.
    pub fn open_uploads(&self) -> usize {
        self.tempfiles.len()
    }
}

#[cfg(test)]
mod tests;

//! The metadata on disk, for a cluster given a data directory: an SQLite
//! file with the tables real trackers keep in their database (`domain`,
//! `class`, `file`, `file_on`) and the fid sequence, so keys, their files
//! and where the copies are survive a restart.
//!
//! Written through: each change of [`Meta`](super::Meta) is one statement
//! here, made while its lock is held. Uploads in progress (temp files) and
//! the device states the monitor observes are not kept: a restarted
//! tracker forgets the first, as mogilefsd does, and probes the second.

use super::{Domain, FileRow};
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What a store holds, read back at start-up.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub domains: BTreeMap<String, Domain>,
    pub files: HashMap<u64, FileRow>,
    pub next_fid: u64,
}

/// An open metadata file.
#[derive(Debug)]
pub(crate) struct MetaStore {
    conn: Connection,
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS domain (name TEXT PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS class (
        domain TEXT NOT NULL, name TEXT NOT NULL, mindevcount INTEGER NOT NULL,
        PRIMARY KEY (domain, name));
    CREATE TABLE IF NOT EXISTS file (
        fid INTEGER PRIMARY KEY, domain TEXT NOT NULL, dkey TEXT NOT NULL,
        class TEXT NOT NULL, length INTEGER NOT NULL, UNIQUE (domain, dkey));
    CREATE TABLE IF NOT EXISTS file_on (
        fid INTEGER NOT NULL, devid INTEGER NOT NULL, PRIMARY KEY (fid, devid));
    CREATE TABLE IF NOT EXISTS sequence (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

/// SQLite integers are signed; fids and sizes fit.
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn uint(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl MetaStore {
    /// Opens (or creates) the file at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<MetaStore> {
        let conn = Connection::open(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(MetaStore { conn })
    }

    /// Everything stored.
    pub fn load(&self) -> rusqlite::Result<Loaded> {
        let mut loaded = Loaded {
            next_fid: 1,
            ..Loaded::default()
        };
        let mut names = self.conn.prepare("SELECT name FROM domain")?;
        for name in names.query_map([], |r| r.get::<_, String>(0))? {
            loaded.domains.insert(name?, Domain::default());
        }
        let mut classes = self
            .conn
            .prepare("SELECT domain, name, mindevcount FROM class")?;
        let rows = classes.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
            ))
        })?;
        for row in rows {
            let (domain, class, mindevcount) = row?;
            let dom = loaded.domains.entry(domain).or_default();
            dom.classes.insert(class, mindevcount);
        }
        self.load_files(&mut loaded)?;
        let stored: Option<i64> = self
            .conn
            .query_row("SELECT value FROM sequence WHERE name = 'fid'", [], |r| {
                r.get(0)
            })
            .ok();
        let past_files = loaded.files.keys().max().map_or(1, |f| f + 1);
        loaded.next_fid = stored.map_or(1, uint).max(past_files);
        Ok(loaded)
    }

    fn load_files(&self, loaded: &mut Loaded) -> rusqlite::Result<()> {
        let mut files = self
            .conn
            .prepare("SELECT fid, domain, dkey, class, length FROM file")?;
        let rows = files.query_map([], |r| {
            let row = FileRow {
                domain: r.get(1)?,
                key: r.get(2)?,
                class: r.get(3)?,
                length: uint(r.get(4)?),
                devids: Vec::new(),
            };
            Ok((uint(r.get(0)?), row))
        })?;
        for row in rows {
            let (fid, row) = row?;
            let dom = loaded.domains.entry(row.domain.clone()).or_default();
            dom.keys.insert(row.key.clone(), fid);
            loaded.files.insert(fid, row);
        }
        let mut copies = self
            .conn
            .prepare("SELECT fid, devid FROM file_on ORDER BY rowid")?;
        let rows = copies.query_map([], |r| Ok((uint(r.get(0)?), uint(r.get(1)?))))?;
        for row in rows {
            let (fid, devid) = row?;
            if let Some(file) = loaded.files.get_mut(&fid) {
                file.devids.push(devid);
            }
        }
        Ok(())
    }

    /// Records a domain.
    pub fn put_domain(&self, name: &str) -> rusqlite::Result<()> {
        self.conn
            .execute("INSERT OR IGNORE INTO domain (name) VALUES (?1)", [name])
            .map(drop)
    }

    /// Records a class (and its domain) with its mindevcount.
    pub fn put_class(&self, domain: &str, class: &str, mindevcount: u32) -> rusqlite::Result<()> {
        self.put_domain(domain)?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO class (domain, name, mindevcount) VALUES (?1, ?2, ?3)",
                params![domain, class, mindevcount],
            )
            .map(drop)
    }

    /// Records a file and its copies, replacing what `fid` had.
    pub fn put_file(&mut self, fid: u64, row: &FileRow) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM file_on WHERE fid = ?1", [int(fid)])?;
        tx.execute(
            "INSERT OR REPLACE INTO file (fid, domain, dkey, class, length) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![int(fid), row.domain, row.key, row.class, int(row.length)],
        )?;
        for devid in &row.devids {
            tx.execute(
                "INSERT OR IGNORE INTO file_on (fid, devid) VALUES (?1, ?2)",
                [int(fid), int(*devid)],
            )?;
        }
        tx.commit()
    }

    /// Forgets a file and its copies.
    pub fn delete_file(&mut self, fid: u64) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM file_on WHERE fid = ?1", [int(fid)])?;
        tx.execute("DELETE FROM file WHERE fid = ?1", [int(fid)])?;
        tx.commit()
    }

    /// Records one more copy of `fid`.
    pub fn add_copy(&self, fid: u64, devid: u64) -> rusqlite::Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO file_on (fid, devid) VALUES (?1, ?2)",
                [int(fid), int(devid)],
            )
            .map(drop)
    }

    /// Records the next fid to hand out.
    pub fn set_next_fid(&self, next: u64) -> rusqlite::Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO sequence (name, value) VALUES ('fid', ?1)",
                [int(next)],
            )
            .map(drop)
    }
}

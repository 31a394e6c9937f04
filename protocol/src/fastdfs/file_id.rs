//! File IDs: strict parsing, what they encode, minting, and the on-disk path.
//!
//! ```text
//! group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt
//! ^^^^^^ ^^^ ^^ ^^ ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//! group  |   |  |  file name: 27-char block + extension block
//! 1-16   |   XX YY two upper-case hex digits each
//! alnum  M + two upper-case hex digits: store path index
//!        '------ remote name: 44 bytes (normal), 60 (trunk), more (slave)
//! ```
//!
//! Parsing is stricter than FastDFS's own checks on purpose: an ID that
//! passes names exactly one file under `<store path>/data/XX/YY/`, so it can
//! be joined to a directory, used as a cache key or an ETag without further
//! thought. Everything else is a [`FileIdError`] (an HTTP 400).

use super::fields::FileRef;
use super::file_name::{
    is_base64_char, NameInfo, NewName, Source, TrunkSlot, BLOCK_LEN, EXT_BLOCK_LEN, TRUNK_BLOCK_LEN,
};
use super::GROUP_LEN;
use std::fmt;
use std::path::PathBuf;

/// Length of `Mxx/XX/YY/`.
const PATH_PREFIX_LEN: usize = 10;
/// Remote name of a normal or appender file.
const NORMAL_LEN: usize = PATH_PREFIX_LEN + BLOCK_LEN + EXT_BLOCK_LEN;
/// Remote name of a trunk file.
const TRUNK_LEN: usize = NORMAL_LEN + TRUNK_BLOCK_LEN;
/// The tracker refuses remote names of 128 bytes or more.
const MAX_REMOTE_LEN: usize = 127;
/// Longest extension FastDFS stores.
const MAX_EXT_LEN: usize = 6;

/// Why a string is not a file ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileIdError {
    /// No `/` after the group name.
    #[error("file id has no group name")]
    NoGroup,
    /// The group name is empty, too long, or not letters and digits.
    #[error("group name must be 1 to 16 letters or digits")]
    Group,
    /// The remote name is too short or too long.
    #[error("file name of {0} bytes is not a FastDFS file name")]
    Length(usize),
    /// Not `M` and two upper-case hex digits.
    #[error("store path must be M followed by two upper-case hex digits")]
    StorePath,
    /// The directories are not two upper-case hex digits each.
    #[error("directories must be two upper-case hex digits each")]
    SubDir,
    /// The 27-character block is not canonical base64.
    #[error("file name does not start with a valid 27-character block")]
    Block,
    /// The part after the block is not digits, a prefix and an extension.
    #[error("file name has an invalid extension or suffix")]
    Tail,
}

/// What kind of file an ID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// An ordinary file: size and crc32 are in the name.
    Normal,
    /// A file that may grow: the name does not know its size.
    Appender,
    /// A small file stored in a slot of a trunk file.
    Trunk(TrunkSlot),
    /// A file named after a master (`..._150x150.jpg`); the block is the master's.
    Slave,
}

/// A validated file ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileId {
    id: String,
    group_len: usize,
    store_path_index: u8,
    sub_dirs: (u8, u8),
    info: NameInfo,
    kind: FileKind,
}

impl FileId {
    /// Parses `group/Mxx/XX/YY/name`.
    pub fn parse(id: &str) -> Result<Self, FileIdError> {
        let (group, remote) = id.split_once('/').ok_or(FileIdError::NoGroup)?;
        Self::from_parts(group, remote)
    }

    /// Parses a remote name (`Mxx/XX/YY/name`) of `group`, for URLs that
    /// carry no group name.
    pub fn from_parts(group: &str, remote: &str) -> Result<Self, FileIdError> {
        check_group(group)?;
        if remote.len() < NORMAL_LEN || remote.len() > MAX_REMOTE_LEN {
            return Err(FileIdError::Length(remote.len()));
        }
        // Every valid name is ASCII; refusing the rest first keeps the byte
        // offsets below on character boundaries.
        if !remote.is_ascii() {
            return Err(FileIdError::Tail);
        }
        let b = remote.as_bytes();
        if b[0] != b'M' || b[3] != b'/' {
            return Err(FileIdError::StorePath);
        }
        let store_path_index = hex_pair(&b[1..3]).ok_or(FileIdError::StorePath)?;
        let sub_dirs = parse_sub_dirs(&b[4..PATH_PREFIX_LEN]).ok_or(FileIdError::SubDir)?;
        let name = &remote[PATH_PREFIX_LEN..];
        let info = NameInfo::decode(name.get(..BLOCK_LEN).ok_or(FileIdError::Block)?)
            .ok_or(FileIdError::Block)?;
        let kind = classify(remote.len(), &info, &name[BLOCK_LEN..])?;
        Ok(FileId {
            id: format!("{group}/{remote}"),
            group_len: group.len(),
            store_path_index,
            sub_dirs,
            info,
            kind,
        })
    }

    /// A new ID for a file just stored, as a storage names it.
    pub fn mint(
        group: &str,
        store_path_index: u8,
        sub_dirs: (u8, u8),
        name: &NewName,
    ) -> Result<Self, FileIdError> {
        let (hi, lo) = sub_dirs;
        let remote = format!(
            "M{store_path_index:02X}/{hi:02X}/{lo:02X}/{}",
            name.file_name()
        );
        Self::from_parts(group, &remote)
    }

    /// The whole ID, `group/M00/...`.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The group name.
    pub fn group(&self) -> &str {
        &self.id[..self.group_len]
    }

    /// The remote name, `M00/XX/YY/name`: what goes on the wire, and what the
    /// anti-steal token signs.
    pub fn remote_name(&self) -> &str {
        &self.id[self.group_len + 1..]
    }

    /// The file name after `XX/YY/`.
    pub fn file_name(&self) -> &str {
        &self.remote_name()[PATH_PREFIX_LEN..]
    }

    /// The store path index (`M<index>`).
    pub fn store_path_index(&self) -> u8 {
        self.store_path_index
    }

    /// The two directory levels.
    pub fn sub_dirs(&self) -> (u8, u8) {
        self.sub_dirs
    }

    /// The file's path under its store path: `data/XX/YY/name`. A trunk
    /// file has no file of its own there (its bytes are in a trunk file).
    pub fn relative_path(&self) -> PathBuf {
        let (hi, lo) = self.sub_dirs;
        [
            "data",
            &format!("{hi:02X}"),
            &format!("{lo:02X}"),
            self.file_name(),
        ]
        .iter()
        .collect()
    }

    /// The group and remote name for a request body.
    pub fn file_ref(&self) -> FileRef {
        FileRef::new(self.group(), self.remote_name())
    }

    /// What the 27-character block encodes (a slave's is its master's).
    pub fn info(&self) -> &NameInfo {
        &self.info
    }

    /// Normal, appender, trunk or slave.
    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// The storage the file was uploaded to.
    pub fn source(&self) -> Source {
        self.info.source
    }

    /// Create time, unix seconds (a slave's is its master's).
    pub fn create_time(&self) -> u32 {
        self.info.create_time
    }

    /// The size when the name tells it: normal and trunk files.
    pub fn size(&self) -> Option<u64> {
        match self.kind {
            FileKind::Normal | FileKind::Trunk(_) => self.info.size(),
            FileKind::Appender | FileKind::Slave => None,
        }
    }

    /// The content's crc32 when the name tells it: normal and trunk files.
    pub fn crc32(&self) -> Option<u32> {
        self.size().map(|_| self.info.crc32)
    }

    /// The extension without the dot, if any.
    pub fn extension(&self) -> Option<&str> {
        let name = self.file_name();
        name.rfind('.').map(|dot| &name[dot + 1..])
    }

    /// The ID of a slave of this file, as `fdfs_gen_slave_filename` names it:
    /// the name without its extension, then `prefix`, then `ext` (or this
    /// file's extension when `None`).
    pub fn slave(&self, prefix: &str, ext: Option<&str>) -> Result<FileId, FileIdError> {
        let remote = self.remote_name();
        let tail_start = remote.len() - EXT_BLOCK_LEN;
        let stem_end = remote[tail_start..]
            .find('.')
            .map_or(remote.len(), |i| tail_start + i);
        let ext = match ext {
            Some("") => String::new(),
            Some(e) => format!(".{}", e.trim_start_matches('.')),
            None => remote[stem_end..].to_owned(),
        };
        if prefix.is_empty() && remote[stem_end..] == ext {
            return Err(FileIdError::Tail);
        }
        let slave = format!("{}{prefix}{ext}", &remote[..stem_end]);
        let id = Self::from_parts(self.group(), &slave)?;
        if id.kind != FileKind::Slave {
            return Err(FileIdError::Tail);
        }
        Ok(id)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl std::str::FromStr for FileId {
    type Err = FileIdError;
    fn from_str(s: &str) -> Result<Self, FileIdError> {
        FileId::parse(s)
    }
}

/// FastDFS group names: 1 to 16 ASCII letters and digits.
pub fn check_group(group: &str) -> Result<(), FileIdError> {
    let ok = !group.is_empty()
        && group.len() <= GROUP_LEN
        && group.bytes().all(|c| c.is_ascii_alphanumeric());
    ok.then_some(()).ok_or(FileIdError::Group)
}

/// Two upper-case hex digits, as the storage writes them (`%02X`).
fn hex_pair(b: &[u8]) -> Option<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    Some(digit(b[0])? << 4 | digit(b[1])?)
}

/// `XX/YY/`.
fn parse_sub_dirs(b: &[u8]) -> Option<(u8, u8)> {
    if b[2] != b'/' || b[5] != b'/' {
        return None;
    }
    Some((hex_pair(&b[0..2])?, hex_pair(&b[3..5])?))
}

/// Decides the kind the way FastDFS does (`IS_SLAVE_FILE`: longer than a
/// normal name and not a trunk one) and checks the tail after the block.
fn classify(remote_len: usize, info: &NameInfo, tail: &str) -> Result<FileKind, FileIdError> {
    if remote_len == NORMAL_LEN {
        check_ext_block(tail)?;
        return match (info.is_trunk(), info.is_appender()) {
            (true, _) => Err(FileIdError::Tail),
            (false, true) => Ok(FileKind::Appender),
            (false, false) => Ok(FileKind::Normal),
        };
    }
    if remote_len == TRUNK_LEN && info.is_trunk() {
        let slot = TrunkSlot::decode(&tail[..TRUNK_BLOCK_LEN]).ok_or(FileIdError::Tail)?;
        // (`tail` is ASCII and at least 23 bytes long here.)
        check_ext_block(&tail[TRUNK_BLOCK_LEN..])?;
        return Ok(FileKind::Trunk(slot));
    }
    check_slave_tail(tail)?;
    Ok(FileKind::Slave)
}

/// `<digits>.<ext>` in 7 characters, or 7 digits.
fn check_ext_block(tail: &str) -> Result<(), FileIdError> {
    let (digits, ext) = tail.split_once('.').unwrap_or((tail, ""));
    let ok = tail.len() == EXT_BLOCK_LEN
        && !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (ext.len() <= MAX_EXT_LEN && ext.bytes().all(|c| c.is_ascii_alphanumeric()))
        && ext.is_empty() != tail.contains('.');
    ok.then_some(()).ok_or(FileIdError::Tail)
}

/// A slave's tail: the master's digits (or trunk block), a prefix and an
/// optional extension, in a conservative alphabet. A name ending in `-m` is
/// refused: that is the storage's metadata sidecar of a file.
fn check_slave_tail(tail: &str) -> Result<(), FileIdError> {
    let (stem, ext) = tail.split_once('.').unwrap_or((tail, ""));
    let ok = !stem.is_empty()
        && stem.bytes().all(is_base64_char)
        && ext.len() <= MAX_EXT_LEN
        && ext.bytes().all(|c| c.is_ascii_alphanumeric())
        && (!tail.contains('.') || !ext.is_empty())
        && !tail.ends_with("-m");
    ok.then_some(()).ok_or(FileIdError::Tail)
}

#[cfg(test)]
mod tests;

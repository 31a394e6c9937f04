//! The 27-character block at the start of every file name, and the tail that
//! follows it.
//!
//! The block is 20 bytes in base64 (alphabet `A-Z a-z 0-9 - _`, no padding),
//! all big-endian:
//!
//! ```text
//! bytes  content
//!  0-3   source storage: IPv4 octets in order, or (when the value read
//!        little-endian is 1..2^24) a numeric storage server id
//!  4-7   create time, unix seconds
//!  8-15  masked size: bit 63 = "low 32 bits are the size, bits 32-54 random";
//!        bit 59 = trunk file; bit 58 = appender file (size unknown);
//!        sizes of 4 GiB and more are stored plainly
//! 16-19  crc32 of the content (a random number for appender files)
//! ```
//!
//! A trunk file has 16 more base64 characters (12 bytes: trunk id, offset and
//! slot size, n4 each). Then comes the extension block: random digits padding
//! the extension to 6 characters, then `.ext` (no extension: 7 digits).

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::fmt;
use std::net::Ipv4Addr;

/// Characters of the base64 block.
pub const BLOCK_LEN: usize = 27;
/// Characters of a trunk slot block.
pub const TRUNK_BLOCK_LEN: usize = 16;
/// Characters of the extension block of a normal name.
pub const EXT_BLOCK_LEN: usize = 7;

/// Bit 63 of the masked size: the low 32 bits are the size.
const SIZE_IN_LOW_BITS: u64 = 1 << 63;
/// `FDFS_TRUNK_FILE_MARK_SIZE` (512 x 1024^5).
const TRUNK_BIT: u64 = 1 << 59;
/// `FDFS_APPENDER_FILE_SIZE` (256 x 1024^5).
const APPENDER_BIT: u64 = 1 << 58;
/// `FDFS_MAX_SERVER_ID`.
const MAX_SERVER_ID: u32 = (1 << 24) - 1;

/// FastDFS's base64: URL-safe alphabet, no padding, canonical trailing bits.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// True for a character of the base64 alphabet.
pub fn is_base64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// The storage that first received a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Its IPv4 address.
    Ip(Ipv4Addr),
    /// Its numeric id (`use_storage_id = true`, `id_type_in_filename = id`).
    ServerId(u32),
}

impl Source {
    fn from_bytes(b: [u8; 4]) -> Self {
        // The storage writes htonl() of a host-order value; reading it back
        // little-endian is what the C client's id-type test sees on x86.
        let host = u32::from_le_bytes(b);
        if host > 0 && host <= MAX_SERVER_ID {
            Source::ServerId(host)
        } else {
            Source::Ip(Ipv4Addr::from(b))
        }
    }

    fn to_bytes(self) -> [u8; 4] {
        match self {
            Source::Ip(ip) => ip.octets(),
            Source::ServerId(id) => id.to_le_bytes(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Ip(ip) => ip.fmt(f),
            Source::ServerId(id) => write!(f, "id {id}"),
        }
    }
}

/// What the 27-character block says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameInfo {
    /// The storage the file was uploaded to.
    pub source: Source,
    /// Create time, unix seconds.
    pub create_time: u32,
    /// The size field as stored, flags and random bits included.
    pub masked_size: u64,
    /// CRC32 of the content (random for appender files).
    pub crc32: u32,
}

impl NameInfo {
    /// Decodes a 27-character block; `None` when it is not canonical base64.
    pub fn decode(block: &str) -> Option<Self> {
        if block.len() != BLOCK_LEN {
            return None;
        }
        let mut raw = [0u8; 20];
        let n = ENGINE.decode_slice(block, &mut raw).ok()?;
        (n == raw.len()).then(|| NameInfo::from_raw(&raw))
    }

    fn from_raw(raw: &[u8; 20]) -> Self {
        let n4 = |at: usize| u32::from_be_bytes(raw[at..at + 4].try_into().expect("4 bytes"));
        NameInfo {
            source: Source::from_bytes(raw[..4].try_into().expect("4 bytes")),
            create_time: n4(4),
            masked_size: u64::from_be_bytes(raw[8..16].try_into().expect("8 bytes")),
            crc32: n4(16),
        }
    }

    /// The 27-character block.
    pub fn encode(&self) -> String {
        let mut raw = [0u8; 20];
        raw[..4].copy_from_slice(&self.source.to_bytes());
        raw[4..8].copy_from_slice(&self.create_time.to_be_bytes());
        raw[8..16].copy_from_slice(&self.masked_size.to_be_bytes());
        raw[16..].copy_from_slice(&self.crc32.to_be_bytes());
        ENGINE.encode(raw)
    }

    /// An appender file: the name does not know the size.
    pub fn is_appender(&self) -> bool {
        self.masked_size & APPENDER_BIT != 0
    }

    /// A file stored in a slot of a trunk file.
    pub fn is_trunk(&self) -> bool {
        self.masked_size & TRUNK_BIT != 0
    }

    /// The size, unless this is an appender file.
    pub fn size(&self) -> Option<u64> {
        if self.is_appender() {
            None
        } else if self.masked_size & SIZE_IN_LOW_BITS != 0 || self.is_trunk() {
            Some(self.masked_size & 0xffff_ffff)
        } else {
            Some(self.masked_size)
        }
    }
}

/// Where a trunk file's bytes are: a slot of a shared trunk file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrunkSlot {
    /// Trunk file id (`data/XX/YY/<id as 6 digits>`).
    pub id: u32,
    /// Offset of the slot's 24-byte header in the trunk file.
    pub offset: u32,
    /// Bytes allocated to the slot.
    pub size: u32,
}

impl TrunkSlot {
    /// Decodes the 16-character trunk block.
    pub fn decode(block: &str) -> Option<Self> {
        if block.len() != TRUNK_BLOCK_LEN {
            return None;
        }
        let mut raw = [0u8; 12];
        let n = ENGINE.decode_slice(block, &mut raw).ok()?;
        let n4 = |at: usize| u32::from_be_bytes(raw[at..at + 4].try_into().expect("4 bytes"));
        (n == raw.len()).then(|| TrunkSlot {
            id: n4(0),
            offset: n4(4),
            size: n4(8),
        })
    }
}

/// Everything needed to name a new file, as a storage does after an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewName {
    /// The storage receiving the file.
    pub source: Ipv4Addr,
    /// Create time, unix seconds.
    pub create_time: u32,
    /// File size.
    pub size: u64,
    /// CRC32 of the content.
    pub crc32: u32,
    /// Appender file (the size is left out of the name).
    pub appender: bool,
    /// Random bits: 23 go into the masked size, the rest pick the digits.
    pub random: u64,
    /// Extension without the dot (at most 6 letters or digits), or empty.
    pub ext: String,
}

impl NewName {
    /// The size field as the storage masks it (`COMBINE_RAND_FILE_SIZE`).
    pub fn masked_size(&self) -> u64 {
        let high = 0x8000_0000 | (self.random & 0x007f_ffff);
        if self.appender {
            (high << 32) | APPENDER_BIT
        } else if self.size >> 32 != 0 {
            self.size
        } else {
            (high << 32) | self.size
        }
    }

    /// The block and extension block: `<27 chars><digits>[.ext]`.
    pub fn file_name(&self) -> String {
        let info = NameInfo {
            source: Source::Ip(self.source),
            create_time: self.create_time,
            masked_size: self.masked_size(),
            crc32: self.crc32,
        };
        let pad = if self.ext.is_empty() {
            EXT_BLOCK_LEN
        } else {
            EXT_BLOCK_LEN - 1 - self.ext.len().min(6)
        };
        let digits = (self.random >> 23) % 10u64.pow(pad as u32);
        let mut name = info.encode();
        name.push_str(&format!("{digits:0pad$}"));
        if !self.ext.is_empty() {
            name.push('.');
            name.push_str(&self.ext);
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_captured_name() {
        let info = NameInfo::decode("fwAAAmsBrrSASMa9AAAAFmVJxbk").unwrap();
        assert_eq!(info.source, Source::Ip(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(info.create_time, 1_795_272_372);
        assert_eq!(info.size(), Some(22));
        assert_eq!(info.crc32, 0x6549_c5b9);
        assert!(!info.is_appender() && !info.is_trunk());
        assert_eq!(info.encode(), "fwAAAmsBrrSASMa9AAAAFmVJxbk");
    }

    #[test]
    fn appender_and_trunk_flags() {
        let appender = NameInfo::decode("fwAABGsBrryEKliPAAAAAGVJxbk").unwrap();
        assert!(appender.is_appender());
        assert_eq!(appender.size(), None);
        let trunk = NameInfo::decode("fwAADGsBrpGIefzdAAAD6MOCmu4").unwrap();
        assert!(trunk.is_trunk());
        assert_eq!(trunk.source, Source::Ip(Ipv4Addr::new(127, 0, 0, 12)));
        assert_eq!(trunk.size(), Some(1000));
        let slot = TrunkSlot::decode("AAAAAQAACAAAAAQA").unwrap();
        assert_eq!((slot.id, slot.offset, slot.size), (1, 2048, 1024));
    }

    #[test]
    fn server_ids_and_big_sizes() {
        let info = NameInfo {
            source: Source::ServerId(100_001),
            create_time: 7,
            masked_size: 5 << 32,
            crc32: 1,
        };
        let back = NameInfo::decode(&info.encode()).unwrap();
        assert_eq!(back, info);
        assert_eq!(back.size(), Some(5 << 32));
    }

    #[test]
    fn rejects_non_canonical_blocks() {
        // Same bytes as a real block but with non-zero trailing bits.
        assert!(NameInfo::decode("fwAAAmsBrrSASMa9AAAAFmVJxbl").is_none());
        assert!(NameInfo::decode("fwAAAmsBrrSASMa9AAAAFmVJxb+").is_none());
        assert!(NameInfo::decode("short").is_none());
    }

    #[test]
    fn mints_names_like_the_storage() {
        let new = NewName {
            source: Ipv4Addr::new(127, 0, 0, 2),
            create_time: 1_795_272_372,
            size: 22,
            crc32: 0x6549_c5b9,
            appender: false,
            random: 0x48c6bd | (451 << 23),
            ext: "txt".into(),
        };
        assert_eq!(new.file_name(), "fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt");
        let bare = NewName {
            ext: String::new(),
            ..new.clone()
        };
        assert_eq!(bare.file_name().len(), 27 + 7);
        let appender = NewName {
            appender: true,
            ..new
        };
        let info = NameInfo::decode(&appender.file_name()[..27]).unwrap();
        assert!(info.is_appender());
    }
}

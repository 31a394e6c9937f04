//! Field encodings shared by the command bodies.
//!
//! ```text
//! n8        8-byte big-endian signed integer (sizes, offsets, ports, times)
//! str[w]    fixed width w, NUL-padded, no terminator when full
//! rest      the remainder of the body, no terminator (file names)
//! FileRef   group str[16] + remote file name (rest): 16 + n bytes
//! ```

use super::{Payload, ProtocolError, GROUP_LEN, N8};
use bytes::{BufMut, BytesMut};

/// Appends `value` NUL-padded to `width` bytes. A longer value is cut, as the
/// C client's fixed buffers do; constructors validate lengths beforehand.
pub fn put_fixed(out: &mut BytesMut, value: &str, width: usize) {
    let bytes = value.as_bytes();
    let n = bytes.len().min(width);
    out.put_slice(&bytes[..n]);
    out.put_bytes(0, width - n);
}

/// Appends an 8-byte big-endian integer.
pub fn put_n8(out: &mut BytesMut, value: u64) {
    out.put_u64(value);
}

/// Checks that a body has exactly `len` bytes.
pub fn expect_len(
    cmd: &'static str,
    body: &[u8],
    len: usize,
    expected: &'static str,
) -> Result<(), ProtocolError> {
    if body.len() == len {
        Ok(())
    } else {
        Err(body_length(cmd, body, expected))
    }
}

/// A [`ProtocolError::BodyLength`] for `body`.
pub fn body_length(cmd: &'static str, body: &[u8], expected: &'static str) -> ProtocolError {
    ProtocolError::BodyLength {
        cmd,
        len: body.len() as u64,
        expected,
    }
}

/// A cursor over a body that reads fields in order.
#[derive(Debug)]
pub struct Fields<'a> {
    cmd: &'static str,
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// Reads `body` of command `cmd` (named in errors).
    pub fn new(cmd: &'static str, body: &'a [u8]) -> Self {
        Fields { cmd, rest: body }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn bad(&self, field: &'static str) -> ProtocolError {
        ProtocolError::BadField {
            cmd: self.cmd,
            field,
        }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ProtocolError> {
        if self.rest.len() < n {
            return Err(self.bad(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// One byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, ProtocolError> {
        Ok(self.bytes(1, field)?[0])
    }

    /// An 8-byte integer that must not be negative.
    pub fn n8(&mut self, field: &'static str) -> Result<u64, ProtocolError> {
        let raw = self.n8_raw(field)?;
        u64::try_from(raw).map_err(|_| self.bad(field))
    }

    /// An 8-byte integer as sent, sign included.
    pub fn n8_raw(&mut self, field: &'static str) -> Result<i64, ProtocolError> {
        let b = self.bytes(N8, field)?;
        Ok(i64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    /// A port: an 8-byte integer that fits 16 bits.
    pub fn port(&mut self, field: &'static str) -> Result<u16, ProtocolError> {
        let n = self.n8(field)?;
        u16::try_from(n).map_err(|_| self.bad(field))
    }

    /// A fixed-width string, cut at its first NUL; must be printable ASCII.
    pub fn fixed(&mut self, width: usize, field: &'static str) -> Result<String, ProtocolError> {
        let raw = self.bytes(width, field)?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        ascii(&raw[..end]).ok_or_else(|| self.bad(field))
    }

    /// The rest of the body as printable ASCII.
    pub fn rest_str(&mut self, field: &'static str) -> Result<String, ProtocolError> {
        let raw = std::mem::take(&mut self.rest);
        ascii(raw).ok_or_else(|| self.bad(field))
    }

    /// The rest of the body as bytes.
    pub fn rest_bytes(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    /// Fails if bytes are left over.
    pub fn finish(self, expected: &'static str) -> Result<(), ProtocolError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::BodyLength {
                cmd: self.cmd,
                len: self.rest.len() as u64,
                expected,
            })
        }
    }
}

/// Printable ASCII only: names on the wire never carry anything else, and
/// refusing the rest keeps control bytes out of paths and logs.
fn ascii(raw: &[u8]) -> Option<String> {
    raw.iter()
        .all(|b| b.is_ascii_graphic())
        .then(|| String::from_utf8_lossy(raw).into_owned())
}

/// A group name and a remote file name (`M00/00/00/...`): the body of
/// QUERY_FETCH_ONE/ALL, QUERY_UPDATE, DELETE_FILE, QUERY_FILE_INFO and
/// GET_METADATA, and the tail of DOWNLOAD_FILE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileRef {
    /// Group name (at most 16 bytes).
    pub group: String,
    /// File name without the group: `M00/00/00/...`.
    pub remote_name: String,
}

impl FileRef {
    /// A reference to `remote_name` in `group`.
    pub fn new(group: impl Into<String>, remote_name: impl Into<String>) -> Self {
        FileRef {
            group: group.into(),
            remote_name: remote_name.into(),
        }
    }

    /// Reads the pair from the rest of `fields`.
    pub fn read(fields: &mut Fields<'_>) -> Result<Self, ProtocolError> {
        let group = fields.fixed(GROUP_LEN, "group_name")?;
        let remote_name = fields.rest_str("remote_filename")?;
        if group.is_empty() || remote_name.is_empty() {
            return Err(fields.bad(if group.is_empty() {
                "group_name"
            } else {
                "remote_filename"
            }));
        }
        Ok(FileRef { group, remote_name })
    }
}

impl std::fmt::Display for FileRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.group, self.remote_name)
    }
}

impl Payload for FileRef {
    fn encode(&self, out: &mut BytesMut) {
        put_fixed(out, &self.group, GROUP_LEN);
        out.put_slice(self.remote_name.as_bytes());
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        FileRef::read(&mut Fields::new("file reference", body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_fields_pad_cut_and_stop_at_nul() {
        let mut out = BytesMut::new();
        put_fixed(&mut out, "group1", 8);
        put_fixed(&mut out, "toolongvalue", 4);
        assert_eq!(&out[..], b"group1\0\0tool");
        let mut f = Fields::new("t", &out);
        assert_eq!(f.fixed(8, "a").unwrap(), "group1");
        assert_eq!(f.fixed(4, "b").unwrap(), "tool");
        assert!(f.finish("end").is_ok());
    }

    #[test]
    fn integers_reject_negative_values_and_short_bodies() {
        let mut f = Fields::new("t", &[0xff; 8]);
        assert_eq!(
            f.n8("x"),
            Err(ProtocolError::BadField {
                cmd: "t",
                field: "x"
            })
        );
        let mut f = Fields::new("t", &[0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(
            f.port("port"),
            Err(ProtocolError::BadField {
                cmd: "t",
                field: "port"
            })
        );
        assert!(Fields::new("t", &[1, 2]).n8("x").is_err());
    }

    #[test]
    fn control_bytes_are_refused() {
        let mut body = BytesMut::new();
        put_fixed(&mut body, "group1", GROUP_LEN);
        body.put_slice(b"M00/00/00/a\nb");
        assert!(FileRef::parse(&body).is_err());
        let ok = FileRef::new("group1", "M00/00/00/ab");
        let mut out = BytesMut::new();
        ok.encode(&mut out);
        assert_eq!(FileRef::parse(&out).unwrap(), ok);
    }
}

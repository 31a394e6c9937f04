//! Request and reply lines.
//!
//! ```text
//! request:  <command> <args>\r\n          command matched case-insensitively
//! reply:    OK <args>\r\n                 "OK \r\n" when there are no fields
//!           ERR <code> <escaped text>\r\n
//! ```
//!
//! A `callid=X` argument is echoed by the tracker: as a field of `OK`, and as a
//! trailing word after the text of `ERR`.

use super::args::{escape, unescape, Args};
use super::ProtocolError;
use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder, LinesCodec, LinesCodecError};

/// Longest line either side accepts. `list_keys` with 1000 keys of 255 bytes,
/// each escaped up to three times over, is the largest legitimate reply.
pub const MAX_LINE: usize = 1024 * 1024;

/// A line codec bounded by [`MAX_LINE`] (an unbounded one lets a peer that
/// never sends a newline grow the buffer without limit), accepting `\n` and
/// `\r\n`, and strict at end of stream: a final line without its newline is
/// an error, not a line — a reply cut off mid-way must never parse as a
/// shorter valid one.
#[derive(Debug)]
pub struct LineCodec(LinesCodec);

/// A [`LineCodec`].
pub fn codec() -> LineCodec {
    LineCodec(LinesCodec::new_with_max_length(MAX_LINE))
}

impl Decoder for LineCodec {
    type Item = String;
    type Error = LinesCodecError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        self.0.decode(buf)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        match self.0.decode(buf)? {
            Some(line) => Ok(Some(line)),
            None if buf.is_empty() => Ok(None),
            None => {
                buf.clear();
                // The inner codec remembers how far it searched `buf`: start over.
                self.0 = LinesCodec::new_with_max_length(MAX_LINE);
                Err(LinesCodecError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed in the middle of a line",
                )))
            }
        }
    }
}

impl<T: AsRef<str>> Encoder<T> for LineCodec {
    type Error = LinesCodecError;

    fn encode(&mut self, line: T, buf: &mut BytesMut) -> Result<(), LinesCodecError> {
        self.0.encode(line, buf)
    }
}

/// A request: a command word and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Lower-case command name, e.g. `get_paths`.
    pub command: String,
    /// Its arguments.
    pub args: Args,
}

impl Request {
    /// A request for `command` with `args`.
    pub fn new(command: &str, args: Args) -> Self {
        Request {
            command: command.to_owned(),
            args,
        }
    }

    /// The line to send, with its `\r\n`.
    pub fn encode(&self) -> String {
        format!("{} {}\r\n", self.command, self.args.encode())
    }

    /// Parses a line (terminator already stripped or not) as the tracker does:
    /// the first word, lower-cased, is the command; the rest are arguments.
    pub fn parse(line: &str) -> Result<Self, ProtocolError> {
        let line = line.trim_end_matches(['\r', '\n']);
        let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
        if command.is_empty() {
            return Err(ProtocolError::EmptyRequest);
        }
        Ok(Request {
            command: command.to_ascii_lowercase(),
            args: Args::decode(rest.trim()),
        })
    }
}

/// A reply line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `OK` with its fields.
    Ok(Args),
    /// `ERR` with the error code and its unescaped text.
    Err {
        /// Machine-readable code, e.g. `unknown_key`.
        code: String,
        /// Human-readable text.
        text: String,
    },
}

impl Reply {
    /// An `ERR` reply with the tracker's standard text for `code`.
    pub fn error(code: &str) -> Self {
        Reply::Err {
            code: code.to_owned(),
            text: error_text(code).to_owned(),
        }
    }

    /// The line to send, with its `\r\n`.
    pub fn encode(&self) -> String {
        match self {
            Reply::Ok(args) => format!("OK {}\r\n", args.encode()),
            Reply::Err { code, text } => format!("ERR {} {}\r\n", code, escape(text.as_bytes())),
        }
    }

    /// Parses a reply line (terminator stripped or not).
    pub fn parse(line: &str) -> Result<Self, ProtocolError> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line == "OK" {
            return Ok(Reply::Ok(Args::new()));
        }
        if let Some(fields) = line.strip_prefix("OK ") {
            return Ok(Reply::Ok(Args::decode(fields)));
        }
        if let Some(rest) = line.strip_prefix("ERR ") {
            let mut words = rest.splitn(3, ' ');
            let code = words.next().unwrap_or_default();
            if !code.is_empty() {
                let text = words.next().map(unescape).unwrap_or_default();
                return Ok(Reply::Err {
                    code: code.to_owned(),
                    text,
                });
            }
        }
        Err(ProtocolError::BadReply(line.chars().take(200).collect()))
    }
}

/// The text a real tracker sends with each error code; codes without a table
/// entry repeat the code itself (`ERR unknown_key unknown_key`).
pub fn error_text(code: &str) -> &str {
    match code {
        "unreg_domain" => "Domain name invalid/not found",
        "no_domain" => "No domain provided",
        "unknown_command" => "Unknown server command",
        "no_temp_file" => "No tempfile or file already closed",
        "none_match" => "No keys match that pattern and after-value (if any).",
        "after_mismatch" => "Pattern does not match the after-value?",
        "key_exists" => "Target key name already exists; can't overwrite.",
        "no_devices" => "No devices found to store file",
        "domain_exists" => "That domain already exists",
        "class_exists" => "That class already exists in that domain",
        "unreg_class"
        | "no_key"
        | "unknown_key"
        | "no_fid"
        | "no_devid"
        | "no_path"
        | "bogus_args"
        | "invalid_checksum_format"
        | "fid_in_use" => code,
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_like_the_tracker() {
        let r = Request::parse("GET_PATHS domain=imgs&key=vec/hello.txt&noverify=1\r\n").unwrap();
        assert_eq!(r.command, "get_paths");
        assert_eq!(r.args.get("noverify"), Some("1"));
        assert_eq!(Request::parse("noop\n").unwrap().command, "noop");
        assert_eq!(Request::parse("get_hosts \r\n").unwrap().args.len(), 0);
        assert_eq!(Request::parse("\r\n"), Err(ProtocolError::EmptyRequest));
    }

    #[test]
    fn encodes_empty_ok_with_a_space() {
        assert_eq!(Reply::Ok(Args::new()).encode(), "OK \r\n");
        assert_eq!(Reply::parse("OK \r\n").unwrap(), Reply::Ok(Args::new()));
    }

    #[test]
    fn error_replies_round_trip() {
        let line = "ERR unreg_domain Domain+name+invalid/not+found\r\n";
        let reply = Reply::parse(line).unwrap();
        assert_eq!(reply, Reply::error("unreg_domain"));
        assert_eq!(reply.encode(), line);
        // A callid after the text is not part of the text.
        assert_eq!(
            Reply::parse("ERR unknown_key unknown_key abc").unwrap(),
            Reply::error("unknown_key")
        );
    }

    #[test]
    fn a_line_cut_off_by_eof_is_an_error() {
        let mut codec = codec();
        let mut buf = BytesMut::from("OK paths=2&path1=http://127.0");
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(codec.decode_eof(&mut buf).is_err());
        let mut buf = BytesMut::from("OK \r\n");
        assert_eq!(codec.decode_eof(&mut buf).unwrap().as_deref(), Some("OK "));
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Reply::parse("HTTP/1.0 400 Bad request").is_err());
        assert!(Reply::parse("ERR ").is_err());
        assert!(Reply::parse("").is_err());
    }
}

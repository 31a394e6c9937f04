//! `Content-Disposition: attachment` for a download name a client chose
//! (`?filename=`), safe to save wherever a browser or tool puts it.
//!
//! The name is cleaned first: control characters (C0, DEL, C1) and the
//! bidirectional-text controls that make `gpj.exe` look like `exe.jpg`
//! are removed, then everything up to the last `/` or `\` and a leading
//! drive (`C:`) is dropped, so only a file name is left. `.` and `..` alone
//! name no file. The header carries it twice, as RFC 6266 §4.3 advises:
//!
//! ```text
//! attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf
//! ```
//!
//! `filename` is an ASCII stand-in for old clients (each other character,
//! and `"`, `\` and `%`, becomes `_`); `filename*` (RFC 8187) the exact
//! name, percent-encoded UTF-8, sent only when the stand-in differs.

/// The bidirectional-text controls: LRM, RLM, ALM, the embeddings and
/// overrides (U+202A–U+202E) and the isolates (U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The file name left of `given`: no control or bidi characters, no
/// directory, no drive, no surrounding white space; `None` when nothing is
/// left that names a file.
pub fn file_name(given: &str) -> Option<String> {
    let kept: String = given
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .collect();
    let last = kept.rsplit(['/', '\\']).next().unwrap_or_default();
    let bytes = last.as_bytes();
    let name = match bytes {
        [drive, b':', ..] if drive.is_ascii_alphabetic() => &last[2..],
        _ => last,
    };
    let name = name.trim();
    (!matches!(name, "" | "." | "..")).then(|| name.to_owned())
}

/// The `Content-Disposition` value for a download of `name`, cleaned by
/// [`file_name`]; when nothing of it is left, `fallback` (the object's own
/// name) is used the same way, and failing that a bare `attachment`.
pub fn attachment(name: &str, fallback: &str) -> String {
    let Some(name) = file_name(name).or_else(|| file_name(fallback)) else {
        return "attachment".into();
    };
    let ascii: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '%' => '_',
            c if c.is_ascii() => c,
            _ => '_',
        })
        .collect();
    let mut value = format!("attachment; filename=\"{ascii}\"");
    if ascii != name {
        value.push_str("; filename*=UTF-8''");
        percent_encode(&name, &mut value);
    }
    value
}

/// RFC 8187 `value-chars`: `attr-char`s as they are, every other byte of
/// the UTF-8 as `%XX`.
fn percent_encode(name: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in name.as_bytes() {
        let attr_char = b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
        if attr_char {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_names_are_sent_once() {
        assert_eq!(
            attachment("report-2024.pdf", "x"),
            "attachment; filename=\"report-2024.pdf\""
        );
        assert_eq!(
            attachment("my photo (1).jpg", "x"),
            "attachment; filename=\"my photo (1).jpg\""
        );
    }

    #[test]
    fn other_names_get_an_ascii_stand_in_and_filename_star() {
        assert_eq!(
            attachment("résumé.pdf", "x"),
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        );
        assert_eq!(
            attachment("写真.jpg", "x"),
            "attachment; filename=\"__.jpg\"; filename*=UTF-8''%E5%86%99%E7%9C%9F.jpg"
        );
        // Quote, backslash-free after the directory cut, and percent.
        assert_eq!(
            attachment("a\"b%c d.txt", "x"),
            "attachment; filename=\"a_b_c d.txt\"; filename*=UTF-8''a%22b%25c%20d.txt"
        );
    }

    #[test]
    fn directories_and_drives_are_dropped() {
        for (given, left) in [
            ("../../etc/passwd", "passwd"),
            ("C:/x/y.txt", "y.txt"),
            ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
            ("C:evil.bat", "evil.bat"),
            ("..\\..\\boot.ini", "boot.ini"),
            ("/abs/name.txt", "name.txt"),
            ("dir/sub\\mixed/last.bin", "last.bin"),
        ] {
            assert_eq!(file_name(given).as_deref(), Some(left), "{given}");
        }
    }

    #[test]
    fn bidi_and_control_characters_are_dropped() {
        // U+202E would show "invoice_fdp.exe" as "invoice_exe.pdf".
        assert_eq!(
            file_name("invoice_\u{202E}fdp.exe").as_deref(),
            Some("invoice_fdp.exe")
        );
        for bidi in [
            '\u{200E}', '\u{200F}', '\u{061C}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            assert_eq!(file_name(&format!("a{bidi}b")).as_deref(), Some("ab"));
        }
        for control in [
            '\0', '\r', '\n', '\t', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}',
        ] {
            assert_eq!(file_name(&format!("a{control}b")).as_deref(), Some("ab"));
        }
        // A control character cannot hide a directory part from the cut.
        assert_eq!(file_name("..\u{0}/x").as_deref(), Some("x"));
        let header = attachment("a\r\nSet-Cookie: x=1", "k");
        assert!(!header.contains(['\r', '\n']), "{header}");
    }

    #[test]
    fn nothing_left_falls_back_to_the_object_name() {
        for empty in [
            "",
            "../",
            "a/..",
            ".",
            "C:",
            "dir\\",
            "\u{202E}\u{0}",
            "   ",
        ] {
            assert_eq!(file_name(empty), None, "{empty:?}");
            assert_eq!(
                attachment(empty, "group1/M00/00/00/abc.jpg"),
                "attachment; filename=\"abc.jpg\"",
                "{empty:?}"
            );
        }
        assert_eq!(attachment("..", ""), "attachment");
    }

    #[test]
    fn every_value_is_a_valid_header() {
        for given in [
            "résumé.pdf",
            "a\"b",
            "\u{202E}x",
            "a\u{1}b",
            "😀.png",
            "C:\\a\\b",
        ] {
            let value = attachment(given, "k");
            assert!(
                axum::http::HeaderValue::from_str(&value).is_ok(),
                "{given:?}: {value}"
            );
            assert!(value.is_ascii(), "{value}");
        }
    }
}

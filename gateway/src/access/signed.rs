//! Signed URLs: a short-lived permission for one method on one path, which a
//! page can use without holding any secret.
//!
//! The formula (so an application can sign without this binary):
//!
//! ```text
//! string = METHOD "\n" PATH "\n" EXPIRES "\n" MAX_SIZE
//! sig    = lowercase hex of HMAC-SHA256(secret, string)
//! URL    = PATH "?expires=" EXPIRES ["&max_size=" MAX_SIZE] "&sig=" sig
//! ```
//!
//! METHOD is upper case (`PUT`; a `GET` signature also allows `HEAD`), PATH
//! is the path exactly as it appears in the request line (percent-encoded
//! as sent, no query), EXPIRES is Unix seconds, MAX_SIZE is the largest
//! upload in bytes or empty when the signature binds none. Other query
//! parameters are not signed and are ignored (a signed GET URL with
//! thumbnail parameters added reads that thumbnail).
//!
//! A query is a signed one when it has both `expires` and `sig`: a `sig`
//! without `expires` is no access signature (older thumbnail URLs spell
//! their own signature `sig`; it is `thumb_sig` now). `sig` is exactly 64
//! characters of `[0-9a-f]` ([`dfs_protocol::hex::decode`]), each parameter
//! appears once, and a signature is accepted until EXPIRES plus the
//! configured clock skew; it is compared in constant time (`hmac`'s
//! `verify_slice`).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// Why a signed URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `expires` or `max_size` not a number, `sig` not 64 lower-case hex
    /// characters, or one of them given twice.
    #[error("malformed signed URL ({0})")]
    Malformed(&'static str),
    /// The signature is not the one for this method, path, expiry and size.
    #[error("signature does not match this method, path, expiry and size")]
    Mismatch,
    /// Past its expiry (plus the skew).
    #[error("signed URL expired")]
    Expired,
    /// The upload declares more bytes than the signature allows.
    #[error("upload larger than the signed max_size of {0} bytes")]
    TooLarge(u64),
    /// The signature binds a size and the upload declares none.
    #[error("a size-bound signed upload needs a Content-Length")]
    NoLength,
}

/// The signature parameters found in a query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedQuery<'a> {
    expires: &'a str,
    max_size: Option<&'a str>,
    sig: &'a str,
    /// A signature parameter given more than once.
    repeated: Option<&'static str>,
}

/// The `expires`, `max_size` and `sig` parameters of `query`; `None` when
/// it lacks `sig` or `expires` (the request is not a signed one).
pub fn find(query: Option<&str>) -> Option<SignedQuery<'_>> {
    let (mut expires, mut max_size, mut sig) = (None, None, None);
    let mut repeated = None;
    for pair in query?.split('&') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let (name, slot) = match name {
            "expires" => ("expires", &mut expires),
            "max_size" => ("max_size", &mut max_size),
            "sig" => ("sig", &mut sig),
            _ => continue,
        };
        if slot.replace(value).is_some() {
            repeated.get_or_insert(name);
        }
    }
    Some(SignedQuery {
        expires: expires?,
        max_size,
        sig: sig.filter(|s: &&str| !s.is_empty())?,
        repeated,
    })
}

fn mac(secret: &[u8], method: &str, path: &str, expires: &str, max_size: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    for (i, part) in [method, path, expires, max_size].iter().enumerate() {
        if i > 0 {
            mac.update(b"\n");
        }
        mac.update(part.as_bytes());
    }
    mac
}

/// The query string (`expires=...[&max_size=...]&sig=...`) that signs `method` on `path`.
pub fn sign(
    secret: &[u8],
    method: &str,
    path: &str,
    expires: u64,
    max_size: Option<u64>,
) -> String {
    let (expires, size) = (expires.to_string(), max_size.map(|s| s.to_string()));
    let tag = mac(
        secret,
        method,
        path,
        &expires,
        size.as_deref().unwrap_or(""),
    )
    .finalize()
    .into_bytes();
    let sig = dfs_protocol::hex::encode(&tag);
    match size {
        Some(size) => format!("expires={expires}&max_size={size}&sig={sig}"),
        None => format!("expires={expires}&sig={sig}"),
    }
}

/// A request's facts that a signature is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The request method (`HEAD` is checked as `GET`).
    pub method: &'a str,
    /// The path as in the request line.
    pub path: &'a str,
    /// The declared body length.
    pub content_length: Option<u64>,
    /// Whether the request uploads (a size bound then applies).
    pub is_write: bool,
}

/// Checks `query` for `request` at `now`.
pub fn verify(
    secret: &[u8],
    query: &SignedQuery<'_>,
    request: Signed<'_>,
    now: SystemTime,
    skew: Duration,
) -> Result<(), SignatureError> {
    if let Some(name) = query.repeated {
        return Err(SignatureError::Malformed(name));
    }
    let expires: u64 = query
        .expires
        .parse()
        .map_err(|_| SignatureError::Malformed("expires"))?;
    let max_size: Option<u64> = match query.max_size {
        Some(text) => Some(
            text.parse()
                .map_err(|_| SignatureError::Malformed("max_size"))?,
        ),
        None => None,
    };
    let tag: [u8; 32] =
        dfs_protocol::hex::decode(query.sig).ok_or(SignatureError::Malformed("sig"))?;
    let method = if request.method == "HEAD" {
        "GET"
    } else {
        request.method
    };
    mac(
        secret,
        method,
        request.path,
        query.expires,
        query.max_size.unwrap_or(""),
    )
    .verify_slice(&tag)
    .map_err(|_| SignatureError::Mismatch)?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    if now > Duration::from_secs(expires).saturating_add(skew) {
        return Err(SignatureError::Expired);
    }
    match (max_size, request.content_length) {
        (Some(max), Some(len)) if len > max => Err(SignatureError::TooLarge(max)),
        (Some(_), None) if request.is_write => Err(SignatureError::NoLength),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn put(path: &str, len: Option<u64>) -> Signed<'_> {
        Signed {
            method: "PUT",
            path,
            content_length: len,
            is_write: true,
        }
    }

    fn check(query: &str, request: Signed<'_>, now: u64) -> Result<(), SignatureError> {
        let q = find(Some(query)).expect("signed");
        verify(SECRET, &q, request, at(now), Duration::from_secs(30))
    }

    #[test]
    fn formula_matches_a_known_vector() {
        // Computed independently: printf 'PUT\n/upload/a.jpg\n1700000000\n' |
        //   openssl dgst -sha256 -hmac 0123456789abcdef0123
        let q = sign(SECRET, "PUT", "/upload/a.jpg", 1_700_000_000, None);
        assert_eq!(
            q,
            "expires=1700000000&sig=e7eb7cd2559aa91d5990d2fa8ddffe446af305833002e2e2c354b0de3ab5f362"
        );
    }

    #[test]
    fn valid_expired_and_skew() {
        let q = sign(SECRET, "PUT", "/upload/a.jpg", 1000, None);
        assert_eq!(check(&q, put("/upload/a.jpg", Some(5)), 999), Ok(()));
        assert_eq!(
            check(&q, put("/upload/a.jpg", Some(5)), 1030),
            Ok(()),
            "within skew"
        );
        assert_eq!(
            check(&q, put("/upload/a.jpg", Some(5)), 1031),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn tampered_or_other_method_or_path_mismatch() {
        let q = sign(SECRET, "PUT", "/upload/a.jpg", 1000, None);
        assert_eq!(
            check(&q, put("/upload/b.jpg", None), 0),
            Err(SignatureError::Mismatch)
        );
        let delete = Signed {
            method: "DELETE",
            ..put("/upload/a.jpg", None)
        };
        assert_eq!(check(&q, delete, 0), Err(SignatureError::Mismatch));
        let later = q.replace("expires=1000", "expires=9000");
        assert_eq!(
            check(&later, put("/upload/a.jpg", None), 0),
            Err(SignatureError::Mismatch)
        );
        let flipped = format!("{}0", &q[..q.len() - 1]);
        let flipped = if flipped == q {
            format!("{}1", &q[..q.len() - 1])
        } else {
            flipped
        };
        assert_eq!(
            check(&flipped, put("/upload/a.jpg", None), 0),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check("expires=x&sig=00", put("/upload/a.jpg", None), 0),
            Err(SignatureError::Malformed("expires"))
        );
        assert_eq!(
            check("expires=1&sig=zz", put("/upload/a.jpg", None), 0),
            Err(SignatureError::Malformed("sig"))
        );
        assert!(find(Some("expires=1000")).is_none());
        assert!(find(None).is_none());
    }

    /// `query` with its `sig` value passed through `respell`.
    fn with_sig(query: &str, respell: impl Fn(&str) -> String) -> String {
        let (head, sig) = query.split_once("sig=").expect("a sig");
        format!("{head}sig={}", respell(sig))
    }

    #[test]
    fn a_signature_has_one_spelling() {
        let q = sign(SECRET, "PUT", "/upload/a.jpg", 1000, None);
        let request = || put("/upload/a.jpg", None);
        assert_eq!(check(&q, request(), 0), Ok(()));
        // A pair "0x" respelled "+x" (the same byte to a radix parser).
        let plus = with_sig(&q, |sig| {
            let at = (0..sig.len())
                .step_by(2)
                .find(|&i| sig.as_bytes()[i] == b'0')
                .expect("the vector has a pair starting with 0");
            format!("{}+{}", &sig[..at], &sig[at + 1..])
        });
        let upper = with_sig(&q, str::to_ascii_uppercase);
        let spaced = with_sig(&q, |sig| format!("{} ", &sig[..63]));
        let longer = with_sig(&q, |sig| format!("{sig}00"));
        let shorter = with_sig(&q, |sig| sig[..62].to_owned());
        for other in [plus, upper, spaced, longer, shorter] {
            assert_eq!(
                check(&other, request(), 0),
                Err(SignatureError::Malformed("sig")),
                "{other}"
            );
        }
        for (twice, name) in [
            (format!("{q}&sig=00"), "sig"),
            (format!("expires=1000&{q}"), "expires"),
        ] {
            assert_eq!(
                check(&twice, request(), 0),
                Err(SignatureError::Malformed(name)),
                "{twice}"
            );
        }
        // Without `expires` a `sig` is not an access signature at all.
        assert!(find(Some(&q.replace("expires=1000&", ""))).is_none());
    }

    #[test]
    fn size_bound_and_get_covers_head() {
        let q = sign(SECRET, "PUT", "/upload/a.jpg", 1000, Some(100));
        assert_eq!(check(&q, put("/upload/a.jpg", Some(100)), 0), Ok(()));
        assert_eq!(
            check(&q, put("/upload/a.jpg", Some(101)), 0),
            Err(SignatureError::TooLarge(100))
        );
        assert_eq!(
            check(&q, put("/upload/a.jpg", None), 0),
            Err(SignatureError::NoLength)
        );
        // Dropping the bound breaks the signature.
        let unbound = q.replace("&max_size=100", "");
        assert_eq!(
            check(&unbound, put("/upload/a.jpg", Some(101)), 0),
            Err(SignatureError::Mismatch)
        );
        let q = sign(SECRET, "GET", "/images/a.jpg", 1000, None);
        let head = Signed {
            method: "HEAD",
            path: "/images/a.jpg",
            content_length: None,
            is_write: false,
        };
        assert_eq!(check(&q, head, 0), Ok(()));
    }
}

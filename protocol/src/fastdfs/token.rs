//! The anti-steal token of fastdfs-nginx-module (`fdfs_http_gen_token`).
//!
//! ```text
//! token = lower-case hex( md5( remote name + secret + decimal ts ) )
//!         remote name = the file ID without "group/", e.g. M00/00/00/xxx.jpg
//!         ts          = unix seconds as a signed 32-bit decimal ("%d")
//! ```
//!
//! FastDFS accepts a token when it is 32 characters, `now - ts <= ttl`, and
//! it matches byte for byte; `ts = 0` never expires and a future `ts` is
//! always accepted. [`verify`] keeps the format and the ttl rule but closes
//! both holes unless told otherwise: `ts = 0` is refused without
//! [`TokenPolicy::allow_ts_zero`], and a `ts` more than `ttl` ahead of the
//! clock is refused (a token minted "now" elsewhere never is). The token is
//! read by [`crate::hex::decode`] (exactly 32 of `[0-9a-f]`, as FastDFS's
//! byte compare against its lower-case digest also demands) and the digests
//! are compared in constant time.

use md5::{Digest, Md5};

/// How tokens are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// How long a token stays valid after `ts`, in seconds.
    pub ttl: u64,
    /// Accept `ts = 0`, which FastDFS treats as "never expires".
    pub allow_ts_zero: bool,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// `ts` is not a 32-bit decimal number.
    #[error("ts is not a valid timestamp")]
    BadTimestamp,
    /// The token is not 32 lower-case hex characters.
    #[error("token must be 32 lower-case hex characters")]
    Malformed,
    /// `ts = 0` and the policy refuses never-expiring tokens.
    #[error("ts=0 tokens are not accepted")]
    ZeroTimestamp,
    /// `ts` is older than the ttl.
    #[error("token expired")]
    Expired,
    /// `ts` lies further in the future than the ttl.
    #[error("token timestamp is in the future")]
    FromFuture,
    /// The token does not match.
    #[error("token does not match")]
    Mismatch,
}

/// The token for `remote_name` at `ts`.
pub fn generate(remote_name: &str, secret: &[u8], ts: i32) -> String {
    crate::hex::encode(&digest(remote_name, secret, ts))
}

fn digest(remote_name: &str, secret: &[u8], ts: i32) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(remote_name.as_bytes());
    md5.update(secret);
    md5.update(ts.to_string().as_bytes());
    md5.finalize().into()
}

/// Parses the `ts` parameter strictly (FastDFS's `atoi` reads garbage as 0,
/// which would mean "never expires").
pub fn parse_ts(ts: &str) -> Result<i32, TokenError> {
    let digits = ts.strip_prefix('-').unwrap_or(ts);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(TokenError::BadTimestamp);
    }
    ts.parse().map_err(|_| TokenError::BadTimestamp)
}

/// Checks `token` and `ts` for `remote_name` at time `now` (unix seconds).
pub fn verify(
    remote_name: &str,
    secret: &[u8],
    token: &str,
    ts: i32,
    now: i64,
    policy: TokenPolicy,
) -> Result<(), TokenError> {
    let given: [u8; 16] = crate::hex::decode(token).ok_or(TokenError::Malformed)?;
    let ttl = i64::try_from(policy.ttl).unwrap_or(i64::MAX);
    // Saturating: a clock or ts at the ends of the range must not overflow.
    let age = now.saturating_sub(i64::from(ts));
    if ts == 0 {
        if !policy.allow_ts_zero {
            return Err(TokenError::ZeroTimestamp);
        }
    } else if age > ttl {
        return Err(TokenError::Expired);
    } else if age < -ttl {
        return Err(TokenError::FromFuture);
    }
    if constant_time_eq(&given, &digest(remote_name, secret, ts)) {
        Ok(())
    } else {
        Err(TokenError::Mismatch)
    }
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell an attacker how many leading characters were right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "M00/00/00/fwAAAmsBrKmAGkPLAAAnEGDVwFE623.bin";
    const SECRET: &[u8] = b"FastDFS1234567890";
    const TS: i32 = 1_795_271_863;
    const TOKEN: &str = "404e80eee38dcb09c5de2cc532ba85a3";
    const POLICY: TokenPolicy = TokenPolicy {
        ttl: 900,
        allow_ts_zero: false,
    };

    #[test]
    fn matches_the_documented_example() {
        assert_eq!(generate(NAME, SECRET, TS), TOKEN);
    }

    #[test]
    fn accepts_within_ttl_and_refuses_the_rest() {
        let now = i64::from(TS) + 900;
        assert_eq!(verify(NAME, SECRET, TOKEN, TS, now, POLICY), Ok(()));
        assert_eq!(
            verify(NAME, SECRET, TOKEN, TS, now + 1, POLICY),
            Err(TokenError::Expired)
        );
        let upper = TOKEN.to_uppercase();
        assert_eq!(
            verify(NAME, SECRET, &upper, TS, now, POLICY),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            verify(NAME, SECRET, &TOKEN[1..], TS, now, POLICY),
            Err(TokenError::Malformed)
        );
        // The pair "09" spelled "+9": what a radix parser would take.
        assert_eq!(&TOKEN[14..16], "09");
        let signed = format!("{}+9{}", &TOKEN[..14], &TOKEN[16..]);
        assert_eq!(
            verify(NAME, SECRET, &signed, TS, now, POLICY),
            Err(TokenError::Malformed)
        );
        let with_group = format!("group1/{NAME}");
        assert_eq!(
            verify(&with_group, SECRET, TOKEN, TS, now, POLICY),
            Err(TokenError::Mismatch)
        );
    }

    #[test]
    fn zero_and_future_timestamps() {
        let zero = generate(NAME, SECRET, 0);
        let now = i64::from(TS);
        assert_eq!(
            verify(NAME, SECRET, &zero, 0, now, POLICY),
            Err(TokenError::ZeroTimestamp)
        );
        let lax = TokenPolicy {
            allow_ts_zero: true,
            ..POLICY
        };
        assert_eq!(verify(NAME, SECRET, &zero, 0, now, lax), Ok(()));
        let ahead = TS + 901;
        let token = generate(NAME, SECRET, ahead);
        assert_eq!(
            verify(NAME, SECRET, &token, ahead, now, POLICY),
            Err(TokenError::FromFuture)
        );
        let near = generate(NAME, SECRET, TS + 60);
        assert_eq!(verify(NAME, SECRET, &near, TS + 60, now, POLICY), Ok(()));
    }

    #[test]
    fn extreme_clocks_do_not_overflow() {
        let token = generate(NAME, SECRET, TS);
        for now in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let refused = verify(NAME, SECRET, &token, TS, now, POLICY);
            assert!(refused.is_err(), "{now}: {refused:?}");
        }
        let forever = TokenPolicy {
            ttl: u64::MAX,
            allow_ts_zero: false,
        };
        assert_eq!(verify(NAME, SECRET, &token, TS, 0, forever), Ok(()));
    }

    #[test]
    fn timestamps_parse_strictly() {
        assert_eq!(parse_ts("1795271863"), Ok(TS));
        assert_eq!(parse_ts("-5"), Ok(-5));
        for bad in ["", "abc", "12a", "+5", " 5", "99999999999", "-"] {
            assert_eq!(parse_ts(bad), Err(TokenError::BadTimestamp), "{bad:?}");
        }
    }
}

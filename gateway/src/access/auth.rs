//! Credentials: HTTP Basic against an htpasswd file, and bearer tokens.
//!
//! htpasswd lines are `user:hash`, with the hash either bcrypt (`$2y$`,
//! `$2a$`, `$2b$`, as `htpasswd -B` writes) or `{SHA}` + base64 of the
//! password's SHA-1 (`htpasswd -s`). Other schemes (apr1 MD5, crypt) are
//! refused when the file is loaded, naming the line, so `check-config`
//! reports them instead of every login failing.
//!
//! bcrypt is slow on purpose (tens of milliseconds): it runs on the blocking
//! pool, never on a worker's event loop, and a successful check is
//! remembered for a few minutes under a SHA-256 of the user and password (the
//! password itself is never kept). Credentials never reach the log.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::Engine as _;
use sha1::Digest as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// How long a successful bcrypt check is remembered.
const VERIFIED_TTL: Duration = Duration::from_secs(300);

/// A password hash from an htpasswd line.
#[derive(Debug, Clone)]
enum Hash {
    Bcrypt(String),
    Sha1([u8; 20]),
}

/// A loaded htpasswd file.
#[derive(Debug, Clone)]
pub struct Htpasswd {
    users: HashMap<String, Hash>,
}

impl Htpasswd {
    /// Reads and parses `path`; errors name the path and line.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read htpasswd file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses htpasswd text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err(format!("line {}: expected user:hash", n + 1));
            };
            let hash =
                parse_hash(hash).map_err(|e| format!("line {} (user {user:?}): {e}", n + 1))?;
            users.insert(user.to_owned(), hash);
        }
        if users.is_empty() {
            return Err("no users".into());
        }
        Ok(Htpasswd { users })
    }

    /// True when `password` is `user`'s (blocking: bcrypt).
    fn verify(&self, user: &str, password: &str) -> bool {
        match self.users.get(user) {
            Some(Hash::Bcrypt(hash)) => bcrypt::verify(password, hash).unwrap_or(false),
            Some(Hash::Sha1(digest)) => {
                let got: [u8; 20] = sha1::Sha1::digest(password.as_bytes()).into();
                got.ct_eq(digest).into()
            }
            None => false,
        }
    }
}

fn parse_hash(hash: &str) -> Result<Hash, String> {
    if let Some(b64) = hash.strip_prefix("{SHA}") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "the {SHA} hash is not base64".to_string())?;
        let digest: [u8; 20] = bytes
            .try_into()
            .map_err(|_| "the {SHA} hash is not 20 bytes".to_string())?;
        return Ok(Hash::Sha1(digest));
    }
    if ["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) {
        // A malformed hash would fail every login; catch it at load.
        bcrypt::verify("", hash).map_err(|e| format!("bad bcrypt hash: {e}"))?;
        return Ok(Hash::Bcrypt(hash.to_owned()));
    }
    Err("unsupported hash scheme: use bcrypt (htpasswd -B) or {SHA} (htpasswd -s)".into())
}

/// Bearer tokens from a file: one per line, blank lines and `#` comments skipped.
pub fn read_token_file(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if tokens.is_empty() {
        return Err(format!("token file {} holds no token", path.display()));
    }
    Ok(tokens)
}

/// The result of looking at a request's `Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// None given (or a scheme not configured here): answer 401.
    Missing,
    /// Given and wrong: answer 403.
    Refused,
    /// Accepted.
    Granted,
}

/// Basic and bearer checking for one location.
#[derive(Debug, Clone)]
pub struct Authenticator {
    htpasswd: Option<Arc<Htpasswd>>,
    tokens: Vec<String>,
    realm: String,
    verified: moka::sync::Cache<[u8; 32], ()>,
}

impl Authenticator {
    /// Loads the htpasswd and token files (done again on each config reload).
    pub fn new(
        htpasswd: Option<&PathBuf>,
        tokens: &[String],
        token_file: Option<&PathBuf>,
        realm: &str,
    ) -> Result<Self, String> {
        let htpasswd = htpasswd
            .map(|p| Htpasswd::load(p))
            .transpose()?
            .map(Arc::new);
        let mut tokens = tokens.to_vec();
        if let Some(path) = token_file {
            tokens.extend(read_token_file(path)?);
        }
        Ok(Authenticator {
            htpasswd,
            tokens,
            realm: realm.to_owned(),
            verified: moka::sync::Cache::builder()
                .max_capacity(1024)
                .time_to_live(VERIFIED_TTL)
                .build(),
        })
    }

    /// True when Basic or bearer credentials are configured.
    pub fn is_configured(&self) -> bool {
        self.htpasswd.is_some() || !self.tokens.is_empty()
    }

    /// Checks the request's `Authorization` header.
    pub async fn check(&self, headers: &HeaderMap) -> Outcome {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Outcome::Missing;
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") && !self.tokens.is_empty() {
            return granted_if(token_matches(&self.tokens, rest.trim()));
        }
        match (&self.htpasswd, scheme.eq_ignore_ascii_case("basic")) {
            (Some(file), true) => granted_if(self.check_basic(file, rest.trim()).await),
            _ => Outcome::Missing,
        }
    }

    async fn check_basic(&self, file: &Arc<Htpasswd>, encoded: &str) -> bool {
        let Some((user, password)) = decode_basic(encoded) else {
            return false;
        };
        let fingerprint: [u8; 32] = sha2::Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        if self.verified.contains_key(&fingerprint) {
            return true;
        }
        let file = file.clone();
        let ok = tokio::task::spawn_blocking(move || file.verify(&user, &password))
            .await
            .unwrap_or(false);
        if ok {
            self.verified.insert(fingerprint, ());
        }
        ok
    }

    /// The `WWW-Authenticate` values of a 401.
    pub fn challenges(&self) -> Vec<HeaderValue> {
        let realm = self.realm.replace(['"', '\\'], "");
        let mut out = Vec::new();
        if self.htpasswd.is_some() {
            out.extend(
                HeaderValue::from_str(&format!("Basic realm=\"{realm}\", charset=\"UTF-8\"")).ok(),
            );
        }
        if !self.tokens.is_empty() {
            out.extend(HeaderValue::from_str(&format!("Bearer realm=\"{realm}\"")).ok());
        }
        out
    }
}

fn granted_if(ok: bool) -> Outcome {
    if ok {
        Outcome::Granted
    } else {
        Outcome::Refused
    }
}

/// Compares `given` with every token in constant time per token.
pub fn token_matches(tokens: &[String], given: &str) -> bool {
    tokens.iter().fold(false, |found, t| {
        found | bool::from(t.as_bytes().ct_eq(given.as_bytes()))
    })
}

fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // `htpasswd -nbs alice secret`: {SHA} of "secret".
    const SHA_LINE: &str = "alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=";

    fn basic(user: &str, password: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        h.insert(header::AUTHORIZATION, format!("Basic {v}").parse().unwrap());
        h
    }

    fn with_file(text: &str) -> (Authenticator, tempfile::NamedTempFile) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        let path = file.path().to_path_buf();
        (
            Authenticator::new(Some(&path), &[], None, "r").unwrap(),
            file,
        )
    }

    #[tokio::test]
    async fn sha_and_bcrypt_entries_verify() {
        let bcrypt_hash = bcrypt::hash("hunter2hunter2", 4)
            .unwrap()
            .replace("$2b$", "$2y$");
        let (auth, _f) = with_file(&format!("{SHA_LINE}\nbob:{bcrypt_hash}\n"));
        assert_eq!(
            auth.check(&basic("alice", "secret")).await,
            Outcome::Granted
        );
        assert_eq!(
            auth.check(&basic("alice", "Secret")).await,
            Outcome::Refused
        );
        assert_eq!(
            auth.check(&basic("bob", "hunter2hunter2")).await,
            Outcome::Granted
        );
        // Remembered, and still right the second time.
        assert_eq!(
            auth.check(&basic("bob", "hunter2hunter2")).await,
            Outcome::Granted
        );
        assert_eq!(auth.check(&basic("bob", "hunter3")).await, Outcome::Refused);
        assert_eq!(
            auth.check(&basic("carol", "secret")).await,
            Outcome::Refused
        );
        assert_eq!(auth.check(&HeaderMap::new()).await, Outcome::Missing);
    }

    #[test]
    fn unsupported_and_malformed_lines_are_named() {
        let err = Htpasswd::parse("# users\nalice:$apr1$abc$def\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("alice"), "{err}");
        assert!(Htpasswd::parse("alice").unwrap_err().contains("line 1"));
        assert!(Htpasswd::parse("alice:{SHA}c2hvcnQ=")
            .unwrap_err()
            .contains("20 bytes"));
        assert!(Htpasswd::parse("").unwrap_err().contains("no users"));
    }

    #[tokio::test]
    async fn bearer_tokens() {
        let auth = Authenticator::new(None, &["0123456789abcdef-one".into()], None, "r").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Bearer 0123456789abcdef-one".parse().unwrap(),
        );
        assert_eq!(auth.check(&h).await, Outcome::Granted);
        h.insert(
            header::AUTHORIZATION,
            "Bearer 0123456789abcdef-two".parse().unwrap(),
        );
        assert_eq!(auth.check(&h).await, Outcome::Refused);
        // Basic is not configured here: as if nothing was sent.
        assert_eq!(auth.check(&basic("a", "b")).await, Outcome::Missing);
        assert_eq!(auth.challenges()[0], "Bearer realm=\"r\"");
    }
}

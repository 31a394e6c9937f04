//! CORS for one location (the Fetch standard's CORS protocol).
//!
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//!   is answered here: 204 with the allow headers when the origin, method and
//!   every requested header are allowed, otherwise 403 with no CORS header at
//!   all, so the browser blocks the request.
//! - Other requests from an allowed origin get `Access-Control-Allow-Origin`
//!   (and `-Allow-Credentials`, `-Expose-Headers`); a disallowed origin gets
//!   none. Responses carry `Vary: Origin` whenever they depend on it, so a
//!   shared cache never serves one origin's answer to another.
//! - An origin is echoed only when it is listed exactly. `"*"` is answered
//!   with a literal `*`, which browsers never honour for credentialed
//!   requests; with `credentials` it allows nothing (the configuration
//!   refuses that pair: echoing every origin, `null` from sandboxed frames
//!   and `file:` pages included, would let any site read what a user's
//!   cookies or `Authorization` unlock). `null` is allowed only when
//!   `"null"` itself is listed.

use crate::config::access::CorsConfig;
use crate::config::Method;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A location's CORS rules, ready to apply.
#[derive(Debug, Clone)]
pub struct Cors {
    any_origin: bool,
    origins: Vec<String>,
    methods: Vec<&'static str>,
    headers: Vec<String>,
    expose: Option<HeaderValue>,
    max_age: HeaderValue,
    credentials: bool,
}

impl Cors {
    /// From the config; methods default to the location's.
    pub fn new(config: &CorsConfig, location_methods: &[Method]) -> Self {
        let mut methods: Vec<&'static str> = config
            .methods
            .as_deref()
            .unwrap_or(location_methods)
            .iter()
            .map(|m| m.as_str())
            .collect();
        if methods.contains(&"GET") && !methods.contains(&"HEAD") {
            methods.push("HEAD");
        }
        Cors {
            any_origin: config.origins.iter().any(|o| o == "*") && !config.credentials,
            origins: config.origins.clone(),
            methods,
            headers: config
                .headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            expose: (!config.expose_headers.is_empty())
                .then(|| HeaderValue::from_str(&config.expose_headers.join(", ")).ok())
                .flatten(),
            max_age: HeaderValue::from(config.max_age.0.as_secs()),
            credentials: config.credentials,
        }
    }

    fn allows_origin(&self, origin: &str) -> bool {
        self.any_origin || self.origins.iter().any(|o| o == origin)
    }

    /// Whether the answer names the request's origin (else it is `*`).
    fn varies(&self) -> bool {
        !self.any_origin
    }

    /// The answer to a preflight request, or `None` when `headers` are not one.
    pub fn preflight(&self, method: &axum::http::Method, headers: &HeaderMap) -> Option<Response> {
        if method != axum::http::Method::OPTIONS {
            return None;
        }
        let origin = headers.get(header::ORIGIN)?;
        let asked = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
        let ok = origin.to_str().is_ok_and(|o| self.allows_origin(o))
            && asked.to_str().is_ok_and(|m| self.methods.contains(&m))
            && self.allows_headers(headers);
        let mut response = if ok {
            StatusCode::NO_CONTENT.into_response()
        } else {
            crate::error::error_response(
                StatusCode::FORBIDDEN,
                "CORS preflight refused".into(),
                "CORS preflight refused: origin, method or headers not allowed".into(),
            )
        };
        let h = response.headers_mut();
        if self.varies() {
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        if ok {
            self.allow_origin(h, origin);
            let methods = self.methods.join(", ");
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_str(&methods).ok()?,
            );
            if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            }
            h.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        }
        Some(response)
    }

    fn allows_headers(&self, headers: &HeaderMap) -> bool {
        let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) else {
            return true;
        };
        let Ok(asked) = asked.to_str() else {
            return false;
        };
        asked
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .all(|h| self.headers.contains(&h))
    }

    fn allow_origin(&self, h: &mut HeaderMap, origin: &HeaderValue) {
        let value = if self.varies() {
            origin.clone()
        } else {
            HeaderValue::from_static("*")
        };
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn apply(&self, origin: Option<&HeaderValue>, h: &mut HeaderMap) {
        if self.varies() {
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        let Some(origin) = origin.filter(|o| o.to_str().is_ok_and(|o| self.allows_origin(o)))
        else {
            return;
        };
        self.allow_origin(h, origin);
        if let Some(expose) = &self.expose {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(toml_text: &str) -> Cors {
        let config: CorsConfig = toml::from_str(toml_text).expect("a cors table");
        Cors::new(&config, &[Method::Get])
    }

    fn allow_origin(cors: &Cors, origin: &'static str) -> Option<HeaderValue> {
        let mut h = HeaderMap::new();
        cors.apply(Some(&HeaderValue::from_static(origin)), &mut h);
        h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).cloned()
    }

    #[test]
    fn any_origin_with_credentials_echoes_nothing() {
        // `check-config` refuses this pair; built anyway, it allows no origin
        // rather than every one.
        let c = cors("origins = [\"*\"]\ncredentials = true");
        for origin in ["null", "http://evil.test"] {
            assert_eq!(allow_origin(&c, origin), None, "{origin}");
        }
        let c = cors("origins = [\"*\", \"http://app.test\"]\ncredentials = true");
        assert_eq!(allow_origin(&c, "null"), None);
        assert_eq!(
            allow_origin(&c, "http://app.test").unwrap(),
            "http://app.test"
        );
    }
}

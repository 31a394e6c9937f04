//! The admin side (`/healthz`, `/readyz`, `/metrics` and the status page at
//! `server.status_path` with its `.json`): `[server.access.admin]` may
//! restrict it by address and by bearer token.
//!
//! With nothing configured it stays open, as before. With tokens set, health
//! checks still need none unless `health_needs_token` is set: a local load
//! balancer probing `/healthz` keeps working while `/metrics` is protected.

use super::client_addr::RealIp;
use super::{auth, permits, Refusal};
use crate::config::access::{Rule, ServerAccess};
use crate::routes::Live;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The admin side's rules.
#[derive(Debug, Clone, Default)]
pub struct AdminPolicy {
    real_ip: RealIp,
    clients: Vec<Rule>,
    tokens: Vec<String>,
    health_needs_token: bool,
}

impl AdminPolicy {
    /// From `[server.access]`.
    pub fn new(server: &ServerAccess) -> Self {
        AdminPolicy {
            real_ip: RealIp::new(&server.trusted_proxies, server.real_ip_header),
            clients: server.admin.clients.clone(),
            tokens: server.admin.tokens.clone(),
            health_needs_token: server.admin.health_needs_token,
        }
    }

    /// `Err` with the answer when `request` may not see the admin page.
    pub fn check(&self, request: &Request) -> Result<(), Refusal> {
        let client = self
            .real_ip
            .client(super::peer_of(request), request.headers());
        if !permits(&self.clients, client) {
            return Err(Refusal::Address);
        }
        let health = matches!(request.uri().path(), "/healthz" | "/readyz");
        if self.tokens.is_empty() || (health && !self.health_needs_token) {
            return Ok(());
        }
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            Some(token) if auth::token_matches(&self.tokens, token.trim()) => Ok(()),
            Some(_) => Err(Refusal::BadCredentials),
            None => Err(Refusal::Unauthorized(vec![HeaderValue::from_static(
                "Bearer realm=\"dfs-gateway admin\"",
            )])),
        }
    }
}

/// Middleware on the admin routes.
pub async fn guard(State(live): State<Arc<Live>>, request: Request, next: Next) -> Response {
    let refusal = live.current().admin_access().check(&request).err();
    match refusal {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    }
}

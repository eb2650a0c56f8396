//! The one gate every request passes (an axum middleware over the whole
//! router). In order:
//! 1. cross-site requests are refused in every mode — an unsafe request not
//!    carrying an `Authorization` header whose `Sec-Fetch-Site` / `Origin`
//!    name another site, and a WebSocket upgrade from a foreign `Origin`;
//! 2. on loopback without credentials (`auto`), a foreign `Host` (DNS
//!    rebinding) or proxy headers (a reverse proxy would make the open
//!    server public) are refused;
//! 3. when credentials are required, the request's credential (bearer token,
//!    WebSocket subprotocol token, or session cookie) must grant what the
//!    method and path need (`need_of`) — decided here, never in a handler.

use super::secret::{hash_secret, looks_like_token};
use super::{AccessStore, Identity, Need, Scope};
use app::error::TraceError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tracevis_session";
/// The WebSocket subprotocol a browser client asks for; a token rides next
/// to it as `bearer.<base64url token>` (browsers cannot set headers there).
pub const WS_PROTOCOL: &str = "tracevis.v1";
/// A cached token is looked up again after this long, so a token revoked by
/// the CLI or another instance stops working within it on every server.
const REVALIDATE: Duration = Duration::from_secs(1);
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// How the gate behaves, resolved from the configuration at start-up.
#[derive(Clone, Debug)]
pub struct GateSettings {
    /// Requests need a credential.
    pub required: bool,
    /// Open on loopback: refuse foreign `Host`s and proxy headers.
    pub loopback_guard: bool,
    /// `TRACEVIS_ADMIN_TOKEN`, if set (at least 32 characters).
    pub admin_token: Option<String>,
    /// Origins besides tracevis's own that may open WebSockets and send
    /// cookie-authenticated writes (`https://host[:port]`, lower case).
    pub trusted_origins: Vec<String>,
    /// Host names besides loopback ones accepted in open loopback mode.
    pub allowed_hosts: Vec<String>,
    /// Mark the session cookie `Secure` (tracevis is reached over https).
    pub secure_cookies: bool,
    /// Sign-in attempts and refused credentials a client may make at once
    /// before `429` (then one more every 6 seconds).
    pub failed_attempts_burst: u32,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            required: false,
            loopback_guard: false,
            admin_token: None,
            trusted_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            secure_cookies: false,
            failed_attempts_burst: 10,
        }
    }
}

/// Sign-in attempts and refused credentials per client address: a burst
/// (10 by default), then one more every 6 seconds. governor's keyed GCRA limiter is
/// made for exactly this (no background task, constant memory per client).
pub struct Limiter(governor::DefaultKeyedRateLimiter<std::net::IpAddr>);

impl Limiter {
    fn new(burst: u32) -> Self {
        let burst = std::num::NonZeroU32::new(burst.max(1)).expect("at least one");
        let quota = governor::Quota::with_period(Duration::from_secs(6))
            .expect("non-zero period")
            .allow_burst(burst);
        Self(governor::RateLimiter::keyed(quota))
    }

    /// Counts one attempt by `client`; `Some(wait)` when it is over the limit.
    pub fn hit(&self, client: std::net::IpAddr) -> Option<Duration> {
        use governor::clock::{Clock, DefaultClock};
        if self.0.len() > 100_000 {
            // Bounded memory under a spray of addresses.
            self.0.retain_recent();
        }
        self.0
            .check_key(&client)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// `429` with `Retry-After` in whole seconds.
pub fn too_many_requests(wait: Duration) -> Response {
    let mut response = refusal(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many failed attempts from this address; wait and retry",
    );
    let secs = wait.as_secs().max(1).to_string();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from_str(&secs).expect("digits"),
    );
    response
}

/// The access gate: settings, the token store and a short-lived token cache.
#[derive(Clone)]
pub struct Gate(Arc<Inner>);

struct Inner {
    settings: GateSettings,
    limiter: Limiter,
    admin_hash: Option<[u8; 32]>,
    store: AccessStore,
    tokens: Mutex<HashMap<[u8; 32], Cached>>,
}

#[derive(Clone)]
struct Cached {
    name: String,
    scope: Scope,
    checked: Instant,
    touched: Instant,
}

/// The credential a request carried, kept so a long-lived WebSocket can
/// check it again (a revoked token or removed person is cut off).
#[derive(Clone, Debug)]
pub enum Credential {
    None,
    Token(String),
    Session([u8; 32]),
}

/// Put in a request's extensions next to its `Identity`: lets a WebSocket
/// ask, at every heartbeat, whether its credential still holds.
#[derive(Clone)]
pub struct Recheck {
    gate: Gate,
    credential: Credential,
}

impl Recheck {
    /// Whether the credential this request was let in with is still valid.
    pub async fn still_valid(&self) -> bool {
        if !self.gate.0.settings.required {
            return true;
        }
        // A store error is not a revocation: keep the socket.
        !matches!(self.gate.identify(&self.credential).await, Ok(None))
    }
}

impl Gate {
    pub fn new(settings: GateSettings, store: AccessStore) -> Self {
        let admin_hash = settings.admin_token.as_deref().map(hash_secret);
        let limiter = Limiter::new(settings.failed_attempts_burst);
        Self(Arc::new(Inner {
            settings,
            limiter,
            admin_hash,
            store,
            tokens: Mutex::new(HashMap::new()),
        }))
    }

    /// The per-client limit on sign-in attempts and refused credentials.
    pub fn limiter(&self) -> &Limiter {
        &self.0.limiter
    }

    /// Whether the session cookie is marked `Secure` (served over https).
    pub fn secure_cookies(&self) -> bool {
        self.0.settings.secure_cookies
    }

    /// Whether requests need a credential.
    pub fn required(&self) -> bool {
        self.0.settings.required
    }

    /// The access rows this gate checks against.
    pub fn store(&self) -> &AccessStore {
        &self.0.store
    }

    /// Who `credential` is; `Ok(None)` when it is missing, unknown, revoked or expired.
    pub async fn identify(&self, credential: &Credential) -> Result<Option<Identity>, TraceError> {
        match credential {
            Credential::None => Ok(None),
            Credential::Token(token) => self.identify_token(token).await,
            Credential::Session(id_hash) => Ok(self
                .0
                .store
                .session_user(id_hash, Utc::now())
                .await?
                .map(|(name, role)| Identity::Person { name, role })),
        }
    }

    async fn identify_token(&self, token: &str) -> Result<Option<Identity>, TraceError> {
        let hash = hash_secret(token);
        if let Some(admin) = &self.0.admin_hash {
            if bool::from(admin.ct_eq(&hash)) {
                return Ok(Some(Identity::AdminToken));
            }
        }
        if !looks_like_token(token) {
            return Ok(None);
        }
        let now = Instant::now();
        let cached = self.0.tokens.lock().expect("token cache").get(&hash).cloned();
        if let Some(c) = &cached {
            if now.duration_since(c.checked) < REVALIDATE {
                return Ok(Some(Identity::Token {
                    name: c.name.clone(),
                    scope: c.scope,
                }));
            }
        }
        let Some(row) = self.0.store.token_by_hash(&hash).await? else {
            self.0.tokens.lock().expect("token cache").remove(&hash);
            return Ok(None);
        };
        let touched = match cached {
            Some(c) if now.duration_since(c.touched) < TOUCH_EVERY => c.touched,
            _ => {
                // Recorded in the background: a request never waits for it.
                let (store, id) = (self.0.store.clone(), row.id.clone());
                tokio::spawn(async move {
                    if let Err(e) = store.touch_token(&id, Utc::now()).await {
                        tracing::warn!(error = %e, "could not record a token's last use");
                    }
                });
                now
            }
        };
        let identity = Identity::Token {
            name: row.name.clone(),
            scope: row.scope,
        };
        self.0.tokens.lock().expect("token cache").insert(
            hash,
            Cached {
                name: row.name,
                scope: row.scope,
                checked: now,
                touched,
            },
        );
        Ok(Some(identity))
    }

    /// Forgets every cached token (after a revocation in this process).
    pub fn forget_tokens(&self) {
        self.0.tokens.lock().expect("token cache").clear();
    }

    fn origin_is_ours(&self, origin: &str, headers: &HeaderMap) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.0.settings.trusted_origins.contains(&origin) {
            return true;
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase);
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        matches!((origin_host, host), (Some(o), Some(h)) if o == h)
    }

    fn host_is_loopback_or_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return true;
        };
        let name = host_name(host).to_ascii_lowercase();
        name == "localhost"
            || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || self.0.settings.allowed_hosts.contains(&name)
    }
}

/// The host part of a `Host` header: without the port, IPv6 without brackets.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Whether `path` answers in the API's JSON shape (else it is a page).
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/v1/") || path == "/otlp" || path.starts_with("/otlp/")
}

/// What a request needs. Anything not named here needs `Read` to look and
/// `Admin` to change, so a new route is closed until someone opens it.
pub fn need_of(method: &Method, path: &str) -> Need {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if matches!(path, "/healthz" | "/login" | "/logout" | "/favicon.svg") || path.starts_with("/pkg/") {
        return Need::Public;
    }
    if path == "/otlp" || path.starts_with("/otlp/") || path.starts_with("/v1/") {
        return Need::Ingest;
    }
    // Alert rules hold webhook URLs (often carrying a receiver's secret):
    // reading them is an admin's, like managing them.
    if path == "/access" || path == "/alerts" || path.starts_with("/api/v1/alert-rules") {
        return Need::Admin;
    }
    if safe {
        return Need::Read;
    }
    if let Some(rest) = path.strip_prefix("/api/v1/") {
        let segments: Vec<&str> = rest.split('/').collect();
        return match segments.as_slice() {
            ["executions"] | ["executions", _, "events"] | ["executions", _, "complete"] => Need::Ingest,
            _ => Need::Admin,
        };
    }
    if let Some(name) = path.strip_prefix("/api/") {
        // Leptos server functions: the pages' reads, and the access page's
        // management calls.
        return if name.starts_with("access_") || name.starts_with("alerts_") {
            Need::Admin
        } else {
            Need::Read
        };
    }
    Need::Admin
}

/// The credential a request carries: `Authorization: Bearer`, a WebSocket
/// subprotocol `bearer.<base64url token>`, or the session cookie — never a
/// query parameter (URLs end up in logs).
pub(super) fn credential_of(headers: &HeaderMap) -> Result<Credential, &'static str> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value
            .to_str()
            .map_err(|_| "the Authorization header is not text")?;
        let (scheme, token) = text
            .split_once(' ')
            .ok_or("the Authorization header must be \"Bearer <token>\"")?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err("the Authorization header must be \"Bearer <token>\"");
        }
        return Ok(Credential::Token(token.trim().to_owned()));
    }
    if let Some(protocols) = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(encoded) = protocols
            .split(',')
            .find_map(|p| p.trim().strip_prefix("bearer."))
        {
            let token = URL_SAFE_NO_PAD
                .decode(encoded)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or("the bearer.* WebSocket subprotocol must hold a base64url token")?;
            return Ok(Credential::Token(token));
        }
    }
    let session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='));
    Ok(match session {
        Some(id) if !id.is_empty() => Credential::Session(hash_secret(id)),
        _ => Credential::None,
    })
}

/// A refusal in the API's error shape (`{"error", "code"}`).
pub(super) fn refusal(status: StatusCode, code: &'static str, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(serde_json::json!({"error": message, "code": code})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// Where a page request without a credential is sent: the sign-in page,
/// which brings the person back to where they were going.
fn to_login(request: &Request) -> Response {
    let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let next: String = url_encode(target);
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The middleware: see the module documentation for the order of checks.
pub async fn check(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let api = is_api(request.uri().path());
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if upgrade {
        if let Some(origin) = origin {
            if !gate.origin_is_ours(origin, headers) {
                return refusal(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "WebSocket from another site refused (its Origin is neither this server nor in TRACEVIS_TRUSTED_ORIGINS)",
                );
            }
        }
    } else if !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !headers.contains_key(header::AUTHORIZATION)
    {
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let cross_site = match fetch_site {
            Some("same-origin" | "none") => false,
            Some(_) => true,
            None => origin.is_some_and(|o| !gate.origin_is_ours(o, headers)),
        };
        if cross_site {
            return refusal(
                StatusCode::FORBIDDEN,
                "forbidden",
                "request from another site refused (Sec-Fetch-Site / Origin); programs send an Authorization header",
            );
        }
    }
    if gate.0.settings.loopback_guard {
        if !gate.host_is_loopback_or_allowed(headers) {
            return refusal(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this tracevis listens on loopback without sign-in and answers only to localhost; to serve other hosts set TRACEVIS_AUTH=required (or add the name to TRACEVIS_ALLOWED_HOSTS)",
            );
        }
        if headers.contains_key(header::FORWARDED) || headers.contains_key("x-forwarded-for") {
            return refusal(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this tracevis runs without sign-in on loopback and refuses proxied requests, which would make it public; behind a reverse proxy set TRACEVIS_AUTH=required",
            );
        }
    }
    let need = need_of(request.method(), request.uri().path());
    if !gate.required() {
        request.extensions_mut().insert(Identity::Anonymous);
        return next.run(request).await;
    }
    let credential = match credential_of(headers) {
        Ok(c) => c,
        Err(_) if need == Need::Public => Credential::None,
        Err(message) => return refusal(StatusCode::UNAUTHORIZED, "unauthorized", message),
    };
    let identity = match gate.identify(&credential).await {
        Ok(identity) => identity,
        Err(_) if need == Need::Public => None,
        Err(e) => {
            tracing::error!(error = %e, "cannot check a credential");
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "credentials cannot be checked right now; retry shortly",
            );
        }
    };
    match identity {
        Some(identity) if identity.scope().allows(need) => {
            request.extensions_mut().insert(Recheck {
                gate: gate.clone(),
                credential,
            });
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        _ if need == Need::Public => next.run(request).await,
        Some(identity) => {
            let message = format!(
                "this needs the {} scope; the credential has {}",
                match need {
                    Need::Ingest => "ingest",
                    Need::Read => "read",
                    _ => "admin",
                },
                identity.scope()
            );
            if api {
                refusal(StatusCode::FORBIDDEN, "forbidden", &message)
            } else {
                (StatusCode::FORBIDDEN, message).into_response()
            }
        }
        None if api => {
            let client = request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip());
            if let Some(wait) = client.and_then(|ip| gate.limiter().hit(ip)) {
                return too_many_requests(wait);
            }
            let message = if matches!(credential, Credential::None) {
                "sign-in required: send Authorization: Bearer <token>"
            } else {
                "unknown, revoked or expired credential"
            };
            refusal(StatusCode::UNAUTHORIZED, "unauthorized", message)
        }
        None => to_login(&request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_route_needs_what_api_md_says() {
        let cases = [
            (Method::GET, "/healthz", Need::Public),
            (Method::GET, "/pkg/tracevis.wasm", Need::Public),
            (Method::POST, "/login", Need::Public),
            (Method::POST, "/v1/traces", Need::Ingest),
            (Method::POST, "/otlp/v1/traces", Need::Ingest),
            (Method::POST, "/otlp", Need::Ingest),
            (Method::POST, "/api/v1/executions", Need::Ingest),
            (Method::POST, "/api/v1/executions/r1/events", Need::Ingest),
            (Method::POST, "/api/v1/executions/r1/complete", Need::Ingest),
            (Method::POST, "/api/v1/import", Need::Admin),
            (Method::DELETE, "/api/v1/executions/r1", Need::Admin),
            (Method::POST, "/api/v1/executions/r1/somethingnew", Need::Admin),
            (Method::GET, "/api/v1/executions", Need::Read),
            (Method::GET, "/api/v1/live", Need::Read),
            (Method::GET, "/executions/r1", Need::Read),
            (Method::GET, "/", Need::Read),
            (Method::POST, "/api/list_executions", Need::Read),
            (Method::POST, "/api/access_create_token", Need::Admin),
            (Method::PUT, "/somewhere", Need::Admin),
            (Method::GET, "/access", Need::Admin),
            (Method::GET, "/alerts", Need::Admin),
            (Method::GET, "/api/v1/alert-rules", Need::Admin),
            (Method::GET, "/api/v1/alert-rules/r/deliveries", Need::Admin),
            (Method::POST, "/api/alerts_list_rules", Need::Admin),
        ];
        for (method, path, need) in cases {
            assert_eq!(need_of(&method, path), need, "{method} {path}");
        }
    }

    #[test]
    fn credentials_come_from_the_header_the_subprotocol_or_the_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer tvr_abc".parse().unwrap());
        assert!(matches!(credential_of(&h), Ok(Credential::Token(t)) if t == "tvr_abc"));
        h.insert(header::AUTHORIZATION, "Basic dXNlcg==".parse().unwrap());
        assert!(credential_of(&h).is_err());

        let mut h = HeaderMap::new();
        let encoded = URL_SAFE_NO_PAD.encode("tvr_xyz");
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            format!("tracevis.v1, bearer.{encoded}").parse().unwrap(),
        );
        assert!(matches!(credential_of(&h), Ok(Credential::Token(t)) if t == "tvr_xyz"));

        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "theme=dark; tracevis_session=s3cr3t".parse().unwrap(),
        );
        assert!(matches!(credential_of(&h), Ok(Credential::Session(hash)) if hash == hash_secret("s3cr3t")));
        assert!(matches!(credential_of(&HeaderMap::new()), Ok(Credential::None)));
    }

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name("localhost:3000"), "localhost");
        assert_eq!(host_name("[::1]:3000"), "::1");
        assert_eq!(host_name("example.com"), "example.com");
    }
}

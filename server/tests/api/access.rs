//! Access (API.md "Access") against a real server: who may call what with
//! which credential, signing in and out, the CLI's tokens taking effect on
//! a running server, and the cross-site doors closed in every mode.

use crate::helpers::{serve_with_gate, TestDatabase};
use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tracevis::access::{hash_secret, new_token, AccessStore, GateSettings, Role, Scope};

const ADMIN_ENV_TOKEN: &str = "an-admin-token-from-the-environment-0123456789";

/// A server that requires sign-in, with its database's access rows.
struct Secured {
    addr: SocketAddr,
    access: AccessStore,
    client: reqwest::Client,
    db: TestDatabase,
}

async fn secured() -> Secured {
    secured_with_burst(GateSettings::default().failed_attempts_burst).await
}

/// `secured()` allowing `burst` refused attempts per client before 429.
async fn secured_with_burst(burst: u32) -> Secured {
    let db = TestDatabase::new();
    let settings = GateSettings {
        required: true,
        admin_token: Some(ADMIN_ENV_TOKEN.into()),
        failed_attempts_burst: burst,
        ..GateSettings::default()
    };
    let addr = serve_with_gate(&db.url, tracevis::web::Limits::default(), settings).await;
    let (_, access) = tracevis::store::open_with_access(&db.url).await.unwrap();
    Secured {
        addr,
        access,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db,
    }
}

impl Secured {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn token(&self, name: &str, scope: Scope) -> String {
        let (token, display) = new_token(scope);
        self.access
            .create_token(name, scope, &hash_secret(&token), &display, Utc::now())
            .await
            .unwrap();
        token
    }

    async fn person(&self, name: &str, role: Role, password: &str) {
        let hash = tracevis::access::hash_password(password).unwrap();
        self.access.add_user(name, role, &hash, Utc::now()).await.unwrap();
    }

    async fn call(&self, method: Method, path: &str, credential: &Credential) -> reqwest::Response {
        let mut request = self.client.request(method.clone(), self.url(path));
        if method == Method::POST {
            request = request.header("content-type", "application/json").body("{}");
        }
        match credential {
            Credential::None => {}
            Credential::Header(value) => request = request.header("authorization", value.as_str()),
            Credential::Cookie(value) => request = request.header("cookie", value.as_str()),
        }
        request.send().await.unwrap()
    }

    /// Signs in through the form; the session cookie's `name=value`, or the
    /// redirect target when sign-in failed.
    async fn sign_in(&self, name: &str, password: &str) -> Result<String, String> {
        let r = self
            .client
            .post(self.url("/login"))
            .form(&[("name", name), ("password", password), ("next", "/executions/r1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        match r.headers().get("set-cookie") {
            Some(cookie) => {
                let cookie = cookie.to_str().unwrap();
                assert!(
                    cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
                    "{cookie}"
                );
                assert_eq!(location, "/executions/r1");
                Ok(cookie.split(';').next().unwrap().to_owned())
            }
            None => Err(location),
        }
    }
}

#[derive(Clone, Debug)]
enum Credential {
    None,
    Header(String),
    Cookie(String),
}

fn bearer(token: &str) -> Credential {
    Credential::Header(format!("Bearer {token}"))
}

/// The doors, one request each, with what each needs. A route not listed
/// here still needs `read` to look and `admin` to change (see the last rows).
const DOORS: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/executions", "ingest"),
    ("POST", "/api/v1/executions/r1/events", "ingest"),
    ("POST", "/api/v1/executions/r1/complete", "ingest"),
    ("POST", "/v1/traces", "ingest"),
    ("POST", "/otlp/v1/traces", "ingest"),
    ("POST", "/v1/metrics", "ingest"),
    ("POST", "/v1/logs", "ingest"),
    ("POST", "/otlp", "ingest"),
    ("POST", "/otlp/v1/metrics", "ingest"),
    ("POST", "/otlp/v1/logs", "ingest"),
    ("GET", "/api/v1/executions/r1/live", "read"),
    ("GET", "/api/v1/live", "read"),
    ("GET", "/api/v1/executions", "read"),
    ("GET", "/api/v1/executions/r1", "read"),
    ("GET", "/api/v1/executions/r1/timeline", "read"),
    ("GET", "/api/v1/executions/r1/states", "read"),
    ("GET", "/api/v1/executions/r1/replays", "read"),
    ("GET", "/api/v1/executions/r1/export", "read"),
    ("GET", "/api/v1/compare?a=r1&b=r2", "read"),
    ("GET", "/api/v1/statistics", "read"),
    ("GET", "/api/v1/statistics/slow", "read"),
    ("GET", "/api/v1/openapi.json", "read"),
    ("POST", "/api/list_executions", "read"),
    ("POST", "/api/import_something_new", "read"),
    ("POST", "/api/v1/import", "admin"),
    ("POST", "/api/v1/something_new", "admin"),
    ("DELETE", "/api/v1/executions/r1", "admin"),
    ("GET", "/api/v1/alert-rules", "admin"),
    ("POST", "/api/v1/alert-rules", "admin"),
    ("GET", "/api/v1/alert-rules/rule_x", "admin"),
    ("PUT", "/api/v1/alert-rules/rule_x", "admin"),
    ("DELETE", "/api/v1/alert-rules/rule_x", "admin"),
    ("GET", "/api/v1/alert-rules/rule_x/deliveries", "admin"),
    (
        "POST",
        "/api/v1/alert-rules/rule_x/deliveries/msg_x/redeliver",
        "admin",
    ),
    ("GET", "/healthz", "public"),
    // Last: signing out with a session ends it for the rows after.
    ("POST", "/login", "public"),
    ("POST", "/logout", "public"),
];

/// Every route the routers declare (read from their sources, so a route
/// added there without a row in `DOORS` fails this test) is in the matrix,
/// with each of its methods.
#[test]
fn the_matrix_covers_every_route_the_router_declares() {
    let mut missing = vec![];
    for (method, path) in crate::helpers::declared_routes() {
        let concrete = path
            .replace("{execution_id}", "r1")
            .replace("{rule_id}", "rule_x")
            .replace("{webhook_id}", "msg_x");
        let covered = DOORS
            .iter()
            .any(|(m, p, _)| *m == method && p.split('?').next().unwrap() == concrete);
        if !covered {
            missing.push(format!("{method} {path}"));
        }
    }
    assert!(missing.is_empty(), "routes missing from DOORS: {missing:?}");
}

fn allowed(need: &str, scope: Option<&str>) -> bool {
    match (need, scope) {
        ("public", _) => true,
        (_, Some("admin")) => true,
        (need, Some(scope)) => need == scope,
        (_, None) => false,
    }
}

#[tokio::test]
async fn every_door_lets_in_exactly_the_scopes_api_md_names() {
    // Hundreds of refusals from one address: no rate limit in the way.
    let app = secured_with_burst(100_000).await;
    let ingest = app.token("producer", Scope::Ingest).await;
    let read = app.token("dashboard", Scope::Read).await;
    let admin = app.token("ops", Scope::Admin).await;
    let revoked = app.token("old", Scope::Admin).await;
    assert!(app.access.revoke_token("old", Utc::now()).await.unwrap());
    app.person("vera", Role::Viewer, "viewer-password").await;
    app.person("ada", Role::Admin, "admin-password").await;
    let viewer_cookie = app.sign_in("vera", "viewer-password").await.unwrap();
    let admin_cookie = app.sign_in("ada", "admin-password").await.unwrap();
    let long_ago = Utc::now() - chrono::Duration::days(30);
    app.access
        .create_session(
            &hash_secret("expired-session"),
            "ada",
            long_ago,
            long_ago + chrono::Duration::days(7),
        )
        .await
        .unwrap();

    let credentials: Vec<(&str, Credential, Option<&str>)> = vec![
        ("none", Credential::None, None),
        ("ingest token", bearer(&ingest), Some("ingest")),
        ("read token", bearer(&read), Some("read")),
        ("admin token", bearer(&admin), Some("admin")),
        ("environment admin token", bearer(ADMIN_ENV_TOKEN), Some("admin")),
        ("viewer session", Credential::Cookie(viewer_cookie), Some("read")),
        ("admin session", Credential::Cookie(admin_cookie), Some("admin")),
        ("revoked token", bearer(&revoked), None),
        (
            "token of the wrong prefix",
            bearer(&format!("tvx_{}", &admin[4..])),
            None,
        ),
        ("unknown token", bearer(&new_token(Scope::Admin).0), None),
        ("malformed header", Credential::Header("Token abc".into()), None),
        (
            "unknown session",
            Credential::Cookie("tracevis_session=nope".into()),
            None,
        ),
    ];
    for (method, path, need) in DOORS {
        for (what, credential, scope) in &credentials {
            let r = app.call(method.parse().unwrap(), path, credential).await;
            let status = r.status();
            if allowed(need, *scope) {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{method} {path} with {what}: expected to pass the gate, got {status}"
                );
            } else {
                let expected = if scope.is_some() {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::UNAUTHORIZED
                };
                assert_eq!(status, expected, "{method} {path} with {what}");
                let body: serde_json::Value = r.json().await.unwrap();
                let code = if scope.is_some() {
                    "forbidden"
                } else {
                    "unauthorized"
                };
                assert_eq!(body["code"], code, "{method} {path} with {what}");
            }
        }
    }
}

#[tokio::test]
async fn a_signed_in_browser_cannot_be_made_to_write_by_another_site() {
    let app = secured().await;
    app.person("ada", Role::Admin, "admin-password").await;
    let Ok(cookie) = app.sign_in("ada", "admin-password").await else {
        panic!("signs in")
    };
    let start = json!({"execution_id": "forged", "graph_type": "g"}).to_string();
    let forged = |content_type: &'static str, site: (&'static str, &'static str)| {
        app.client
            .post(app.url("/api/v1/executions"))
            .header("cookie", cookie.as_str())
            .header("content-type", content_type)
            .header(site.0, site.1)
            .body(start.clone())
            .send()
    };
    for (content_type, site) in [
        (
            "application/x-www-form-urlencoded",
            ("sec-fetch-site", "cross-site"),
        ),
        ("text/plain", ("origin", "https://evil.example")),
        ("application/json", ("origin", "https://evil.example")),
        ("application/json", ("sec-fetch-site", "same-site")),
    ] {
        let r = forged(content_type, site).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{content_type} with {site:?}");
    }
    // A server function (form-encoded, as pages call them) from another site.
    let r = app
        .client
        .post(app.url("/api/list_executions"))
        .header("cookie", cookie.as_str())
        .header("origin", "https://evil.example")
        .form(&[("filter[limit]", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .call(
            Method::GET,
            "/api/v1/executions/forged",
            &Credential::Cookie(cookie.clone()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "nothing was stored");
    // The same person's own page writes.
    let own = format!("http://{}", app.addr);
    let r = app
        .client
        .post(app.url("/api/v1/executions"))
        .header("cookie", cookie.as_str())
        .header("origin", own)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/json")
        .body(start.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_page_without_sign_in_goes_to_the_login_page_and_comes_back() {
    let app = secured().await;
    let r = app
        .call(Method::GET, "/executions/r1?tab=state", &Credential::None)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/login?next=/executions/r1%3Ftab%3Dstate"
    );
    // The sign-in page's assets are public.
    let r = app.call(Method::GET, "/favicon.svg", &Credential::None).await;
    assert_ne!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_in_out_and_changing_who_may_sign_in() {
    let app = secured().await;
    app.person("vera", Role::Viewer, "right-password").await;
    assert_eq!(
        app.sign_in("vera", "wrong-password").await,
        Err("/login?failed=1&next=/executions/r1".into())
    );
    assert!(
        app.sign_in("nobody", "right-password").await.is_err(),
        "unknown names fail the same way"
    );
    let cookie = Credential::Cookie(app.sign_in("vera", "right-password").await.unwrap());
    assert_eq!(
        app.call(Method::GET, "/api/v1/executions", &cookie)
            .await
            .status(),
        StatusCode::OK
    );

    // Signing out ends the session on the server, not only in the browser.
    let Credential::Cookie(raw) = &cookie else {
        unreachable!()
    };
    let r = app
        .client
        .post(app.url("/logout"))
        .header("cookie", raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(
        app.call(Method::GET, "/api/v1/executions", &cookie)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // A password change and a removal end the sessions at once.
    let cookie = Credential::Cookie(app.sign_in("vera", "right-password").await.unwrap());
    let hash = tracevis::access::hash_password("another-password").unwrap();
    assert!(app.access.set_password("vera", &hash).await.unwrap());
    assert_eq!(
        app.call(Method::GET, "/api/v1/executions", &cookie)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let cookie = Credential::Cookie(app.sign_in("vera", "another-password").await.unwrap());
    assert!(app.access.remove_user("vera").await.unwrap());
    assert_eq!(
        app.call(Method::GET, "/api/v1/executions", &cookie)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn guessing_passwords_is_slowed_down_to_429() {
    let app = secured().await;
    app.person("vera", Role::Viewer, "right-password").await;
    let mut limited = None;
    for attempt in 0..30 {
        let r = app
            .client
            .post(app.url("/login"))
            .form(&[("name", "vera"), ("password", &format!("guess-{attempt}"))])
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((attempt, r.headers()["retry-after"].to_str().unwrap().to_owned()));
            break;
        }
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let (attempt, retry_after) = limited.expect("30 wrong passwords are refused with 429");
    assert!(attempt <= 11, "limited only after {attempt} attempts");
    assert!(retry_after.parse::<u64>().unwrap() >= 1);
    // Refused tokens count too.
    let mut status = StatusCode::OK;
    for _ in 0..30 {
        status = app
            .call(Method::GET, "/api/v1/executions", &bearer("tvr_guess"))
            .await
            .status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Runs the `tracevis` binary on `db_url`; returns stdout, failing on a non-zero exit.
fn cli(db_url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tracevis"))
        .args(args)
        .args(["--database-url", db_url])
        .env("TRACEVIS_CONFIG", "/nonexistent/tracevis.toml")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tracevis {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn tokens_made_and_revoked_with_the_cli_work_on_the_running_server_at_once() {
    let app = secured().await;
    let url = app.db.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        cli(&url, &["token", "create", "--name", "ci", "--scope", "ingest"])
    })
    .await
    .unwrap();
    let token = out.trim().to_owned();
    assert_eq!(out.lines().count(), 1, "the token alone on stdout: {out:?}");
    assert!(token.starts_with("tvi_"));

    let start = json!({"execution_id": "r1", "graph_type": "g", "start_time": "2025-10-21T10:00:00Z"});
    let post = |token: String| {
        let (client, url, start) = (app.client.clone(), app.url("/api/v1/executions"), start.clone());
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&start)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post(token.clone()).await, StatusCode::CREATED);

    let url = app.db.url.clone();
    let listed = tokio::task::spawn_blocking(move || cli(&url, &["token", "list"]))
        .await
        .unwrap();
    assert!(
        listed.contains("ci") && listed.contains("ingest") && listed.contains("active"),
        "{listed}"
    );
    assert!(
        !listed.contains(&token[4..]),
        "a listing never shows a secret: {listed}"
    );

    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || cli(&url, &["token", "revoke", "ci"]))
        .await
        .unwrap();
    // Revoked in another process: refused within the cache's second.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match post(token.clone()).await {
            StatusCode::UNAUTHORIZED => break,
            other => assert!(Instant::now() < deadline, "still {other} 5 s after revoking"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_browser_client_sends_its_token_as_a_websocket_subprotocol() {
    use base64::Engine;
    let app = secured().await;
    let read = app.token("widget", Scope::Read).await;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&read);
    let mut request = format!("ws://{}/api/v1/live", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("tracevis.v1, bearer.{encoded}")).unwrap(),
    );
    let (_, response) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    assert_eq!(response.headers()["sec-websocket-protocol"], "tracevis.v1");

    let refused = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/live", app.addr)).await;
    assert_eq!(http_status(refused), Some(StatusCode::UNAUTHORIZED.as_u16()));
}

#[tokio::test]
async fn a_revoked_tokens_open_socket_is_closed_at_the_next_heartbeat() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = secured().await;
    let read = app.token("watcher", Scope::Read).await;
    let mut request = format!("ws://{}/api/v1/live", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {read}")).unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    assert!(app.access.revoke_token("watcher", Utc::now()).await.unwrap());
    let heartbeat = tracevis::api::LIVE_HEARTBEAT;
    let closed = tokio::time::timeout(heartbeat + Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the socket of a revoked token is closed within a heartbeat");
    assert_eq!(closed, Some(1008), "closed as a policy violation");
}

fn http_status<T>(result: Result<T, tokio_tungstenite::tungstenite::Error>) -> Option<u16> {
    match result {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Some(response.status().as_u16()),
        _ => None,
    }
}

#[tokio::test]
async fn other_sites_cannot_write_or_listen_through_a_browser_in_any_mode() {
    // The default loopback server: no sign-in, but the cross-site doors are shut.
    let app = crate::helpers::spawn_app().await;
    let start =
        json!({"execution_id": "x1", "graph_type": "g", "start_time": "2025-10-21T10:00:00Z"}).to_string();
    let send = |headers: &[(&'static str, &str)], content_type: &str| {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        app.client
            .post(app.url("/api/v1/executions"))
            .header("content-type", content_type)
            .headers(map)
            .body(start.clone())
            .send()
    };
    // A form or text/plain post needs no preflight: refused as such.
    assert_eq!(
        send(&[], "text/plain").await.unwrap().status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        send(&[], "application/x-www-form-urlencoded")
            .await
            .unwrap()
            .status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        send(&[("origin", "https://evil.example")], "application/json")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&[("sec-fetch-site", "cross-site")], "application/json")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&[("sec-fetch-site", "same-site")], "application/json")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = app.get("/api/v1/executions/x1").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "nothing was stored");
    // Its own pages, and programs, still write.
    let own = format!("http://{}", app.addr);
    assert_eq!(
        send(
            &[("origin", &own), ("sec-fetch-site", "same-origin")],
            "application/json"
        )
        .await
        .unwrap()
        .status(),
        StatusCode::CREATED
    );

    // A WebSocket from another site's page is refused before upgrading.
    let mut request = format!("ws://{}/api/v1/live", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_static("https://evil.example"));
    assert_eq!(
        http_status(tokio_tungstenite::connect_async(request).await),
        Some(403)
    );
    let mut request = format!("ws://{}/api/v1/live", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(&own).unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());

    // DNS rebinding and proxies: the open loopback server answers only to localhost.
    let r = app
        .client
        .get(app.url("/api/v1/executions"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("TRACEVIS_AUTH=required"),
        "{body}"
    );
    let r = app
        .client
        .get(app.url("/api/v1/executions"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for host in ["localhost", "127.0.0.1"] {
        let r = app
            .client
            .get(app.url("/api/v1/executions"))
            .header("host", format!("{host}:{}", app.addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
}

//! Signing in and out (API.md "Access"): `POST /login` takes a name and
//! password from the sign-in form and starts a server-side session;
//! `POST /logout` ends it. The `/login` page itself is a Leptos page.

use super::gate::{url_encode, SESSION_COOKIE};
use super::secret::{hash_secret, random_secret, verify_password};
use super::Gate;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;
use std::net::SocketAddr;

/// How long a session lasts from sign-in.
pub const SESSION_DAYS: i64 = 7;

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Where to go after signing in: a path on this server only (never
/// `//other.site` or `https://…`, which would make the form an open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie text is ASCII")
}

/// `POST /login`.
pub async fn sign_in(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    // Refused in the API's error shape, like a body at any other door.
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return super::gate::refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is larger than the configured limit (max_body_bytes)",
            )
        }
        Err(rejection) => {
            return super::gate::refusal(rejection.status(), "unreadable_body", &rejection.body_text())
        }
    };
    let next = safe_next(form.next.as_deref()).to_owned();
    // Every attempt counts, so guessing is slow whatever the answers are.
    if let Some(wait) = gate.limiter().hit(peer.ip()) {
        return super::gate::too_many_requests(wait);
    }
    let failed = || Redirect::to(&format!("/login?failed=1&next={}", url_encode(&next))).into_response();
    let stored = match gate.store().user_credentials(form.name.trim()).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a person's credentials");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "sign-in is unavailable right now",
            )
                .into_response();
        }
    };
    // A missing person costs the same hash as a wrong password, so the
    // answer's timing does not tell which names exist.
    let hash = stored
        .as_ref()
        .map_or(super::secret::DUMMY_PASSWORD_HASH.as_str(), |(_, h)| h.as_str())
        .to_owned();
    let password = form.password.clone();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if !matches || stored.is_none() {
        tracing::info!(client = %peer.ip(), "failed sign-in");
        return failed();
    }
    let id = random_secret();
    let now = Utc::now();
    let expires = now + chrono::Duration::days(SESSION_DAYS);
    if let Err(e) = gate
        .store()
        .create_session(&hash_secret(&id), form.name.trim(), now, expires)
        .await
    {
        tracing::error!(error = %e, "cannot start a session");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "sign-in is unavailable right now",
        )
            .into_response();
    }
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&id, SESSION_DAYS * 86_400, gate.secure_cookies()),
    );
    response
}

/// `POST /logout`: ends the session (if any) and clears the cookie.
pub async fn sign_out(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    if let Ok(super::gate::Credential::Session(id_hash)) = super::gate::credential_of(&headers) {
        if let Err(e) = gate.store().delete_session(&id_hash).await {
            tracing::error!(error = %e, "cannot end a session");
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", 0, gate.secure_cookies()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_server_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/executions/r1?tab=state")),
            "/executions/r1?tab=state"
        );
        assert_eq!(safe_next(Some("//evil.example/x")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}

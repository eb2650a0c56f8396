//! Security headers on every answer, and the pages' Content-Security-Policy.
//!
//! The policy allows scripts only from this server and inline ones carrying
//! the request's nonce (leptos_axum makes one per request and puts it on its
//! hydration and streaming scripts; the theme script takes it from
//! `use_nonce`), WebAssembly compilation (`'wasm-unsafe-eval'`), and no
//! framing by any site.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy of a page rendered with `nonce`. `host` (the
/// request's `Host`) names the WebSocket origins explicitly, for browsers
/// whose `'self'` does not cover `ws:`/`wss:`.
pub fn content_security_policy(nonce: &str, host: Option<&str>) -> String {
    let sockets = host
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'{sockets}; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'; object-src 'none'; manifest-src 'self'"
    )
}

/// Adds the headers every answer carries. Nothing tracevis answers may be
/// cached by a shared cache (runs are private), except the hashed static
/// assets under `/pkg`.
pub async fn add(request: Request, next: Next) -> Response {
    let cacheable = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !cacheable {
        set(header::CACHE_CONTROL, "no-store");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_nonce_and_refuses_framing_and_foreign_scripts() {
        let csp = content_security_policy("abc123", Some("tracevis.example:3000"));
        assert!(
            csp.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        let scripts = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src "))
            .unwrap();
        assert!(
            !scripts.contains("unsafe-inline") && !scripts.contains('*'),
            "{scripts}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("connect-src 'self' ws://tracevis.example:3000 wss://tracevis.example:3000;"));
        // A Host header cannot smuggle in another directive.
        let csp = content_security_policy("n", Some("evil; script-src *"));
        assert!(csp.contains("connect-src 'self';"), "{csp}");
    }
}

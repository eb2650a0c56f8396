//! Server configuration: built-in defaults, then an optional TOML file, then
//! environment variables, then command-line flags — each overriding the last.

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

/// Everything `tracevis serve` needs to know.
#[derive(Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address to listen on (`TRACEVIS_ADDR`).
    pub addr: SocketAddr,
    /// Database URL (`DATABASE_URL`): `sqlite://file.db`.
    pub database_url: String,
    /// Largest accepted request body in bytes (`TRACEVIS_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Seconds any HTTP request may take, reading its body included, before
    /// it is answered `503` (`TRACEVIS_REQUEST_TIMEOUT_SECS`).
    pub request_timeout_secs: u64,
    /// Where the built site (WASM, CSS, assets) lives (`TRACEVIS_SITE_ROOT`,
    /// or `LEPTOS_SITE_ROOT` as cargo-leptos sets it).
    pub site_root: String,
    /// Delete runs that started more than this many days ago
    /// (`TRACEVIS_RETENTION_DAYS`); unset keeps everything.
    pub retention_days: Option<f64>,
    /// How often the retention task runs, in seconds (`TRACEVIS_RETENTION_INTERVAL_SECS`).
    pub retention_interval_secs: u64,
    /// Seconds without a new span after which a run born from OpenTelemetry
    /// spans, still waiting for its run span, is marked failed
    /// (`TRACEVIS_OTLP_QUIET_SECS`).
    pub otlp_quiet_secs: u64,
    /// Whether requests need credentials (`TRACEVIS_AUTH`: auto, required, off).
    pub auth: crate::access::AuthMode,
    /// An admin token that needs no database row (`TRACEVIS_ADMIN_TOKEN`,
    /// at least 32 characters); only removing the variable revokes it.
    pub admin_token: Option<String>,
    /// Comma-separated origins (`https://host[:port]`) besides tracevis's own
    /// that may open its WebSockets and send signed-in writes
    /// (`TRACEVIS_TRUSTED_ORIGINS`).
    pub trusted_origins: String,
    /// Comma-separated host names accepted besides localhost when tracevis
    /// listens on loopback without sign-in (`TRACEVIS_ALLOWED_HOSTS`).
    pub allowed_hosts: String,
    /// The address people reach tracevis at, when it differs from the
    /// listen address (`TRACEVIS_PUBLIC_URL`, e.g. behind a TLS proxy):
    /// an `https://` URL marks the session cookie `Secure`.
    pub public_url: Option<String>,
    /// Whether alert webhooks may target loopback, private and link-local
    /// addresses (`TRACEVIS_ALLOW_PRIVATE_WEBHOOKS`; off: a rule's URL must
    /// not reach into the network tracevis runs in).
    pub allow_private_webhooks: bool,
    /// Seconds between evaluations of baseline alert rules.
    pub baseline_interval_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: "sqlite://tracevis.db".into(),
            max_body_bytes: crate::web::Limits::default().max_body_bytes,
            request_timeout_secs: crate::web::Limits::default().request_timeout.as_secs(),
            site_root: "target/site".into(),
            retention_days: None,
            retention_interval_secs: 600,
            otlp_quiet_secs: 1800,
            auth: crate::access::AuthMode::Auto,
            admin_token: None,
            trusted_origins: String::new(),
            allowed_hosts: String::new(),
            public_url: None,
            allow_private_webhooks: false,
            baseline_interval_secs: 300,
        }
    }
}

impl Config {
    /// Loads defaults < `file` (if it exists) < environment.
    pub fn load(file: &Path) -> anyhow::Result<Self> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database_url".into()))
            .merge(Env::raw().only(&["LEPTOS_SITE_ROOT"]).map(|_| "site_root".into()))
            .merge(Env::prefixed("TRACEVIS_").ignore(&["CONFIG", "SEED_DEMO"]))
            .extract()
            .with_context(|| format!("invalid configuration (file {}, environment)", file.display()))
    }
}

/// The database URL with any password replaced, safe for logs: the
/// `user:password@` part and `password=`-like query parameters (a URL
/// parser, not pattern matching, so every spelling the drivers accept is
/// caught). Something that does not parse as a URL is not echoed at all.
pub fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "(a database URL that does not parse)".to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let secret = |key: &str| {
        let key = key.to_ascii_lowercase();
        key.contains("password") || key == "pass" || key == "passwd"
    };
    if url.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

impl Config {
    /// The limits every request is held to; an error names a timeout of 0.
    pub fn limits(&self) -> anyhow::Result<crate::web::Limits> {
        anyhow::ensure!(
            self.request_timeout_secs > 0,
            "request_timeout_secs (TRACEVIS_REQUEST_TIMEOUT_SECS) must be at least 1"
        );
        Ok(crate::web::Limits {
            max_body_bytes: self.max_body_bytes,
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs),
        })
    }

    /// The access gate's settings for this configuration; an error names
    /// what is wrong (an admin token too short to be safe).
    pub fn gate_settings(&self) -> anyhow::Result<crate::access::GateSettings> {
        if let Some(token) = &self.admin_token {
            if token.chars().count() < 32 {
                anyhow::bail!("TRACEVIS_ADMIN_TOKEN must have at least 32 characters");
            }
        }
        let (required, _) = self.auth.resolve(self.addr);
        let list = |text: &str| -> Vec<String> {
            text.split(',')
                .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let mut trusted_origins = list(&self.trusted_origins);
        if let Some(url) = &self.public_url {
            trusted_origins.push(url.trim_end_matches('/').to_ascii_lowercase());
        }
        Ok(crate::access::GateSettings {
            required,
            loopback_guard: !required && self.auth == crate::access::AuthMode::Auto,
            admin_token: self.admin_token.clone(),
            trusted_origins,
            allowed_hosts: list(&self.allowed_hosts),
            secure_cookies: self
                .public_url
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://")),
            ..crate::access::GateSettings::default()
        })
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &redact_url(&self.database_url))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("site_root", &self.site_root)
            .field("retention_days", &self.retention_days)
            .field("retention_interval_secs", &self.retention_interval_secs)
            .field("otlp_quiet_secs", &self.otlp_quiet_secs)
            .field("auth", &self.auth)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .field("trusted_origins", &self.trusted_origins)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("public_url", &self.public_url)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_password_never_reaches_the_debug_output() {
        let config = Config {
            database_url: "postgres://tracevis:s3cret@db:5432/tracevis".into(),
            admin_token: Some("s3cret-admin-token-of-at-least-32-chars".into()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://tracevis:***@db:5432/tracevis"),
            "{shown}"
        );
        for url in [
            "postgres://db/tracevis?user=tv&password=s3cret",
            "postgres://db/tracevis?sslpassword=s3cret&sslmode=require",
            "postgresql://tv:s3cret@db/tracevis?application_name=x",
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains("s3cret") && shown.contains("***"), "{shown}");
        }
        assert_eq!(redact_url("sqlite://tracevis.db"), "sqlite://tracevis.db");
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API returns its own large error"
    )]
    fn environment_overrides_the_file_which_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("t.toml", "addr = \"127.0.0.1:4000\"\nmax_body_bytes = 10")?;
            jail.set_env("TRACEVIS_MAX_BODY_BYTES", "20");
            let config = Config::load(Path::new("t.toml")).expect("config loads");
            assert_eq!(config.addr.port(), 4000);
            assert_eq!(config.max_body_bytes, 20);
            assert_eq!(config.database_url, "sqlite://tracevis.db");
            Ok(())
        });
    }
}

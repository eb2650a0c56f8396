//! Delivering the webhook outbox (#17): a worker claims due deliveries,
//! POSTs each signed per the Standard Webhooks spec, and records how it
//! went: a 2xx is done, `410 Gone` disables the rule, anything else is
//! retried with exponential backoff and jitter, then given up.
//!
//! Targets on loopback, private, link-local or other internal addresses are
//! refused (a rule's URL must not reach into the network tracevis runs in)
//! unless `allow_private` is set — checked on the resolved addresses, so a
//! public name pointing inside is refused too. Redirects are not followed.

use super::store::{AlertStore, AttemptOutcome, DueDelivery};
use app::alerts::{WebhookFormat, WebhookUrl};
use app::error::TraceError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tracing::warn;

/// How deliveries are made.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// The base of the run links in alerts (`https://tracevis.example`).
    pub public_url: String,
    /// Whether targets on internal addresses are allowed (tests, a receiver
    /// on the same host).
    pub allow_private: bool,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The waits before each retry; after the last, the delivery fails.
    pub retry_after: Vec<Duration>,
    /// How often the worker looks for due deliveries when idle.
    pub poll: Duration,
}

impl DeliverySettings {
    /// The schedule a team's server uses: 10 s, 1 min, 5 min, 30 min, 2 h,
    /// 6 h (7 attempts over about 8.6 hours).
    pub fn new(public_url: String, allow_private: bool) -> Self {
        Self {
            public_url,
            allow_private,
            timeout: Duration::from_secs(10),
            retry_after: [10, 60, 300, 1_800, 7_200, 21_600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            poll: Duration::from_secs(1),
        }
    }

    /// When to try again after `attempts` failed attempts (±10 % jitter, so
    /// a receiver's outage does not bring every retry back at once); `None`
    /// to give up.
    pub fn retry_at(&self, attempts: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wait = *self
            .retry_after
            .get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
        let jittered = wait.mul_f64(rand::rng().random_range(0.9..1.1));
        Some(now + chrono::Duration::from_std(jittered).ok()?)
    }
}

/// Whether `ip` is an address a webhook must not reach by default:
/// loopback, private, link-local (cloud metadata), carrier-grade NAT,
/// unspecified, broadcast, multicast, unique-local.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [first, second, ..] = a.octets();
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || (first == 100 && (second & 0xc0) == 64)
                || first == 0
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

/// Whether `url` names an internal host outright (an internal IP address
/// or `localhost`): such rules are refused when they are made.
pub fn names_internal_host(url: &WebhookUrl) -> bool {
    let host = url.host();
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(is_internal)
}

/// Resolves names to their public addresses only.
struct PublicAddresses;

impl reqwest::dns::Resolve for PublicAddresses {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| !is_internal(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{} resolves only to internal addresses", name.as_str()).into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client deliveries go through.
pub fn client(settings: &DeliverySettings) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tracevis-webhooks/", env!("CARGO_PKG_VERSION")));
    if !settings.allow_private {
        builder = builder.dns_resolver(std::sync::Arc::new(PublicAddresses));
    }
    builder.build().expect("the webhook client's settings are valid")
}

/// A Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}`, keyed with the secret's base64 part.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, TraceError> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| TraceError::Internal(format!("a stored webhook secret is not base64: {e}")))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|e| TraceError::Internal(format!("webhook secret: {e}")))?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// A new signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The body a delivery POSTs, built from its stored payload.
pub fn body(
    format: WebhookFormat,
    rule_id: &str,
    payload: &serde_json::Value,
    public_url: &str,
) -> serde_json::Value {
    let rule_name = payload["rule_name"].as_str().unwrap_or_default();
    let base = public_url.trim_end_matches('/');
    let execution = &payload["execution"];
    let url = match execution["execution_id"].as_str() {
        Some(id) => format!("{base}/executions/{id}"),
        None => format!("{base}/stats"),
    };
    match format {
        WebhookFormat::Json => {
            let mut body = serde_json::json!({
                "type": "alert",
                "rule": {"id": rule_id, "name": rule_name},
                "url": url,
            });
            for key in ["execution", "baseline"] {
                if !payload[key].is_null() {
                    body[key] = payload[key].clone();
                }
            }
            body
        }
        WebhookFormat::Slack => {
            let text = match execution["execution_id"].as_str() {
                Some(id) => {
                    let took = execution["total_duration_ms"]
                        .as_f64()
                        .map(|ms| format!(" after {}", app::format::duration_ms(ms)))
                        .unwrap_or_default();
                    format!(
                        "tracevis alert \"{rule_name}\": run {id} ({}) {}{took} <{url}|open the run>",
                        execution["graph_type"].as_str().unwrap_or_default(),
                        execution["status"].as_str().unwrap_or_default(),
                    )
                }
                None => format!(
                    "tracevis alert \"{rule_name}\": {} <{url}|open the metrics>",
                    payload["baseline"]["summary"].as_str().unwrap_or_default()
                ),
            };
            serde_json::json!({ "text": text })
        }
    }
}

/// Makes one attempt at `due` and says how it went.
async fn attempt(
    alerts: &AlertStore,
    http: &reqwest::Client,
    settings: &DeliverySettings,
    due: &DueDelivery,
) -> Result<AttemptOutcome, TraceError> {
    let now = Utc::now();
    let give_up_or_retry = |status: Option<u16>, error: String| AttemptOutcome::Failed {
        status,
        error,
        retry_at: settings.retry_at(due.attempts, now),
    };
    let record = alerts.rule_record(&due.rule_id).await?;
    let rule = record.rule()?;
    if !rule.spec.enabled {
        return Ok(AttemptOutcome::Failed {
            status: None,
            error: "not sent: the rule is disabled".into(),
            retry_at: None,
        });
    }
    let url = &rule.spec.webhook_url;
    if !settings.allow_private && names_internal_host(url) {
        return Ok(AttemptOutcome::Failed {
            status: None,
            error: "not sent: the URL names an internal address (TRACEVIS_ALLOW_PRIVATE_WEBHOOKS)".into(),
            retry_at: None,
        });
    }
    let payload: serde_json::Value = crate::store::json_column(&due.payload, "payload")?;
    let body = body(rule.spec.format, &rule.id, &payload, &settings.public_url).to_string();
    let timestamp = now.timestamp();
    let signature = sign(&record.secret, &due.webhook_id, timestamp, &body)?;
    let sent = http
        .post(url.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", due.webhook_id.as_str())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    Ok(match sent {
        Ok(response) if response.status().is_success() => AttemptOutcome::Delivered {
            status: response.status().as_u16(),
        },
        Ok(response) if response.status() == reqwest::StatusCode::GONE => AttemptOutcome::Gone,
        Ok(response) => {
            let status = response.status();
            let what = if status.is_redirection() {
                format!("answered {status} (redirects are not followed)")
            } else {
                format!("answered {status}")
            };
            give_up_or_retry(Some(status.as_u16()), what)
        }
        Err(e) => {
            // reqwest's own message is generic; its sources say what failed.
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            give_up_or_retry(None, message)
        }
    })
}

/// Claims and delivers what is due, repeatedly, until the task is aborted.
pub fn spawn(alerts: AlertStore, settings: DeliverySettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = client(&settings);
        // An attempt may take the whole timeout: the lease covers it and more.
        let lease = chrono::Duration::from_std(settings.timeout * 3).unwrap_or(chrono::Duration::seconds(60));
        loop {
            let due = match alerts.claim_due(Utc::now(), lease, 16).await {
                Ok(due) => due,
                Err(e) => {
                    warn!(error = %e, "webhook deliveries could not be claimed; retrying");
                    Vec::new()
                }
            };
            if due.is_empty() {
                tokio::time::sleep(settings.poll).await;
                continue;
            }
            // Side by side: one slow receiver does not hold up the others.
            let mut attempts = tokio::task::JoinSet::new();
            for delivery in due {
                let (alerts, http, settings) = (alerts.clone(), http.clone(), settings.clone());
                attempts.spawn(async move {
                    let outcome = match attempt(&alerts, &http, &settings, &delivery).await {
                        Ok(outcome) => outcome,
                        Err(e) => AttemptOutcome::Failed {
                            status: None,
                            error: e.to_string(),
                            retry_at: settings.retry_at(delivery.attempts, Utc::now()),
                        },
                    };
                    if let Err(e) = alerts.record_attempt(&delivery, &outcome, Utc::now()).await {
                        warn!(error = %e, webhook_id = %delivery.webhook_id, "a delivery's outcome was not recorded; it is retried after its lease");
                    }
                });
            }
            while attempts.join_next().await.is_some() {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(new_secret().starts_with("whsec_"));
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
        let url = |u: &str| WebhookUrl::parse(u).unwrap();
        assert!(names_internal_host(&url("http://localhost:9000/hook")));
        assert!(names_internal_host(&url("http://[::1]/hook")));
        assert!(!names_internal_host(&url("https://hooks.slack.com/services/x")));
    }

    #[test]
    fn retries_back_off_then_give_up() {
        let settings = DeliverySettings::new("http://t".into(), false);
        let now = Utc::now();
        let first = settings.retry_at(1, now).unwrap() - now;
        assert!((9..=11).contains(&first.num_seconds()), "{first}");
        let last = settings.retry_at(6, now).unwrap() - now;
        assert!(last.num_hours() >= 5, "{last}");
        assert_eq!(settings.retry_at(7, now), None);
    }
}

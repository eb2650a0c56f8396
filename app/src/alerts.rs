//! Alert rules and their webhook deliveries (#17, API.md "Search, metadata
//! filters and alerts"): what a rule says, validated once at the edge, and
//! which finished runs fire it. The server keeps the outbox and delivers.

// The Alerts form's server function takes one argument per form field (how
// leptos reads a form); the lint fires on the items its macro generates.
#![allow(clippy::too_many_arguments)]

use crate::model::{check_metadata_filters, ExecutionStatus, ExecutionSummary, Label};
use leptos::server;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest webhook URL accepted.
pub const MAX_WEBHOOK_URL_LEN: usize = 2_048;
/// Longest cool-down: 30 days.
pub const MAX_COOLDOWN_SECS: u32 = 30 * 86_400;

/// A webhook target: an absolute `http` or `https` URL with a host and no
/// credentials in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(value_type = String))]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Checks `text` against the rules above.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_WEBHOOK_URL_LEN {
            return Err(format!("at most {MAX_WEBHOOK_URL_LEN} bytes"));
        }
        let url = url::Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("must be http or https, not {}", url.scheme()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password (put a token in the path)".into());
        }
        Ok(Self(url.into()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its host (a name, or an IP address without brackets).
    pub fn host(&self) -> String {
        url::Url::parse(&self.0)
            .ok()
            .and_then(|u| u.host().map(|h| h.to_string()))
            .unwrap_or_default()
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned()
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<WebhookUrl> for String {
    fn from(url: WebhookUrl) -> Self {
        url.0
    }
}

/// A positive number of milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(value_type = f64))]
#[serde(try_from = "f64", into = "f64")]
pub struct ThresholdMs(f64);

impl ThresholdMs {
    /// The milliseconds.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for ThresholdMs {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if value.is_finite() && value > 0.0 && value <= crate::model::MAX_DURATION_MS {
            Ok(Self(value))
        } else {
            Err(format!(
                "must be a number of milliseconds above 0 and at most {}",
                crate::model::MAX_DURATION_MS
            ))
        }
    }
}

impl From<ThresholdMs> for f64 {
    fn from(t: ThresholdMs) -> Self {
        t.0
    }
}

/// How many times slower than its baseline a node type must be: above 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(value_type = f64))]
#[serde(try_from = "f64", into = "f64")]
pub struct Factor(f64);

impl Factor {
    /// The factor.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Factor {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if value.is_finite() && value > 1.0 && value <= 1_000.0 {
            Ok(Self(value))
        } else {
            Err("must be a number above 1 and at most 1000".into())
        }
    }
}

impl From<Factor> for f64 {
    fn from(f: Factor) -> Self {
        f.0
    }
}

/// What makes a rule fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertCondition {
    /// A run finished as failed.
    RunFailed,
    /// A run finished and took longer than `threshold_ms`.
    RunSlowerThan {
        #[cfg_attr(feature = "ssr", schema(exclusive_minimum = 0))]
        threshold_ms: ThresholdMs,
    },
    /// A run finished in which this node failed.
    NodeFailed { node_id: Label },
    /// The node type's p95 over the last hour is more than `factor` times
    /// its p95 over the seven days before, with at least `min_count`
    /// visits in the last hour (so one slow visit is not an alert).
    NodeSlowerThanBaseline {
        node_id: Label,
        #[cfg_attr(feature = "ssr", schema(exclusive_minimum = 1, maximum = 1000))]
        factor: Factor,
        #[cfg_attr(feature = "ssr", schema(minimum = 1))]
        min_count: u32,
    },
}

impl AlertCondition {
    /// Whether the condition is about one finished run (checked when a run
    /// finishes) rather than a trend (checked periodically).
    pub fn is_per_run(&self) -> bool {
        !matches!(self, Self::NodeSlowerThanBaseline { .. })
    }
}

/// How a delivery's body is shaped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// `{"type": "alert", "rule", "execution", "url"}`.
    #[default]
    Json,
    /// Slack's incoming webhooks: `{"text": …}`.
    Slack,
}

impl WebhookFormat {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Slack => "slack",
        }
    }
}

fn enabled_by_default() -> bool {
    true
}

/// A rule as a person writes it (the body of POST and PUT).
///
/// Unknown fields are ignored, so that a rule read with GET can be changed
/// and sent back with PUT as it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertRuleSpec {
    /// What the rule is called in the UI and in deliveries.
    pub name: Label,
    /// A disabled rule never fires.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Only runs of this graph type.
    #[serde(default)]
    pub graph_type: Option<Label>,
    /// Only runs whose `metadata.KEY` equals VALUE, for every pair.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// When it fires.
    pub condition: AlertCondition,
    /// Where deliveries are POSTed.
    pub webhook_url: WebhookUrl,
    /// The body's shape.
    #[serde(default)]
    pub format: WebhookFormat,
    /// After a firing, further firings within this many seconds are
    /// dropped (0: every matching run fires).
    #[serde(default)]
    pub cooldown_secs: u32,
}

impl AlertRuleSpec {
    /// The rules serde cannot say: metadata pairs as the metadata filters
    /// allow them, the cool-down's range. Errors name the field.
    pub fn check(&self) -> Result<(), crate::error::TraceError> {
        let pairs: Vec<(String, String)> = self.metadata.clone().into_iter().collect();
        check_metadata_filters(&pairs).map_err(|e| match e {
            crate::error::TraceError::Invalid { field, message } => crate::error::TraceError::Invalid {
                field: field.replacen("meta.", "metadata.", 1),
                message,
            },
            other => other,
        })?;
        if self.cooldown_secs > MAX_COOLDOWN_SECS {
            return Err(crate::error::TraceError::Invalid {
                field: "cooldown_secs".into(),
                message: format!("at most {MAX_COOLDOWN_SECS} (30 days)"),
            });
        }
        if let AlertCondition::NodeSlowerThanBaseline { min_count: 0, .. } = self.condition {
            return Err(crate::error::TraceError::Invalid {
                field: "condition.min_count".into(),
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Whether a finished run fires this rule by its per-run condition;
    /// `failed_nodes` are the nodes that failed in it.
    pub fn fires_for(&self, run: &ExecutionSummary, failed_nodes: &[String]) -> bool {
        if !self.enabled || run.status == ExecutionStatus::Running {
            return false;
        }
        if self
            .graph_type
            .as_ref()
            .is_some_and(|g| g.as_str() != run.graph_type)
        {
            return false;
        }
        let metadata_holds = self.metadata.iter().all(|(key, value)| {
            run.metadata.get(key).is_some_and(|found| match found {
                serde_json::Value::String(s) => s == value,
                other => {
                    // Numbers and booleans compare as their JSON text, as
                    // the metadata filters of the run list do.
                    let text = other.to_string();
                    text == *value
                }
            })
        });
        if !metadata_holds {
            return false;
        }
        match &self.condition {
            AlertCondition::RunFailed => run.status == ExecutionStatus::Failed,
            AlertCondition::RunSlowerThan { threshold_ms } => {
                run.total_duration_ms.is_some_and(|d| d > threshold_ms.get())
            }
            AlertCondition::NodeFailed { node_id } => failed_nodes.iter().any(|n| n == node_id.as_str()),
            AlertCondition::NodeSlowerThanBaseline { .. } => false,
        }
    }
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertRule {
    /// The rule's id.
    pub id: String,
    /// What it says.
    #[serde(flatten)]
    pub spec: AlertRuleSpec,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Why it was disabled by tracevis (a receiver answered `410 Gone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_…`): in the answer that created the rule
    /// only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// A 2xx answered.
    Succeeded,
    /// Every attempt failed.
    Failed,
    /// The receiver answered `410 Gone`; the rule was disabled.
    Disabled,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Disabled => "disabled",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// One firing of a rule and its delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The Standard Webhooks message id (`webhook-id`): the same on every
    /// attempt, for the receiver to deduplicate on.
    pub webhook_id: String,
    /// The rule that fired.
    pub rule_id: String,
    /// The run that fired it (`null` for a baseline alert).
    pub execution_id: Option<String>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i64,
    /// The HTTP status of the last attempt, if one answered.
    pub last_status: Option<i64>,
    /// What went wrong on the last attempt.
    pub last_error: Option<String>,
    /// When it fired.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Managing alert rules, as the server provides it in the page context
/// (the gate lets only admins call the `alerts_*` server functions).
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait AlertAdmin: Send + Sync {
    async fn rules(&self) -> Result<Vec<AlertRule>, crate::error::TraceError>;
    /// Stores a rule; the answer carries its secret, once.
    async fn create(&self, spec: &AlertRuleSpec) -> Result<AlertRule, crate::error::TraceError>;
    async fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), crate::error::TraceError>;
    async fn delete(&self, id: &str) -> Result<(), crate::error::TraceError>;
    async fn deliveries(&self, id: &str) -> Result<Vec<Delivery>, crate::error::TraceError>;
    async fn redeliver(&self, id: &str, webhook_id: &str) -> Result<(), crate::error::TraceError>;
}

/// The handle server functions find in their context.
#[cfg(feature = "ssr")]
pub type SharedAlertAdmin = std::sync::Arc<dyn AlertAdmin>;

#[cfg(feature = "ssr")]
fn admin() -> Result<SharedAlertAdmin, crate::error::PageError> {
    leptos::prelude::use_context::<SharedAlertAdmin>().ok_or_else(|| {
        crate::server_fns::failed(crate::error::TraceError::Internal(
            "alert administration missing from context".into(),
        ))
    })
}

/// The rule the Alerts page's form describes, read field by field so an
/// error names the field as the form labels it.
pub fn spec_from_form(
    name: &str,
    kind: &str,
    threshold_ms: &str,
    node_id: &str,
    factor: &str,
    min_count: &str,
    graph_type: &str,
    metadata: &str,
    webhook_url: &str,
    format: &str,
    cooldown_secs: &str,
) -> Result<AlertRuleSpec, String> {
    let label =
        |field: &str, text: &str| Label::parse(text.trim().to_owned()).map_err(|e| format!("{field}: {e}"));
    let number = |field: &str, text: &str| {
        text.trim()
            .parse::<f64>()
            .map_err(|_| format!("{field}: expected a number, got {text:?}"))
    };
    let node = || label("Node", node_id);
    let condition = match kind {
        "run_failed" => AlertCondition::RunFailed,
        "run_slower_than" => AlertCondition::RunSlowerThan {
            threshold_ms: ThresholdMs::try_from(number("Threshold (ms)", threshold_ms)?)
                .map_err(|e| format!("Threshold (ms): {e}"))?,
        },
        "node_failed" => AlertCondition::NodeFailed { node_id: node()? },
        "node_slower_than_baseline" => AlertCondition::NodeSlowerThanBaseline {
            node_id: node()?,
            factor: Factor::try_from(number("Factor", factor)?).map_err(|e| format!("Factor: {e}"))?,
            min_count: min_count
                .trim()
                .parse()
                .map_err(|_| format!("Minimum visits: expected a whole number, got {min_count:?}"))?,
        },
        other => return Err(format!("Condition: unknown kind {other:?}")),
    };
    let metadata = metadata
        .split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| format!("Metadata: expected key=value, got {pair:?}"))
        })
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    Ok(AlertRuleSpec {
        name: label("Name", name)?,
        enabled: true,
        graph_type: Some(graph_type.trim())
            .filter(|g| !g.is_empty())
            .map(|g| label("Graph type", g))
            .transpose()?,
        metadata,
        condition,
        webhook_url: WebhookUrl::parse(webhook_url.trim()).map_err(|e| format!("Webhook URL: {e}"))?,
        format: if format == "slack" {
            WebhookFormat::Slack
        } else {
            WebhookFormat::Json
        },
        cooldown_secs: Some(cooldown_secs.trim())
            .filter(|c| !c.is_empty())
            .map(|c| {
                c.parse()
                    .map_err(|_| format!("Cool-down (s): expected a whole number, got {c:?}"))
            })
            .transpose()?
            .unwrap_or(0),
    })
}

/// Every rule, oldest first.
#[server(output = crate::answer_encoding::JsonAnswer)]
pub async fn alerts_list_rules() -> Result<Vec<AlertRule>, crate::error::PageError> {
    admin()?.rules().await.map_err(crate::server_fns::failed)
}

/// Creates a rule from the Alerts page's form; its secret comes back once.
#[server(output = crate::answer_encoding::JsonAnswer)]
pub async fn alerts_create_rule(
    name: String,
    kind: String,
    threshold_ms: String,
    node_id: String,
    factor: String,
    min_count: String,
    graph_type: String,
    metadata: String,
    webhook_url: String,
    format: String,
    cooldown_secs: String,
) -> Result<AlertRule, crate::error::PageError> {
    let spec = spec_from_form(
        &name,
        &kind,
        &threshold_ms,
        &node_id,
        &factor,
        &min_count,
        &graph_type,
        &metadata,
        &webhook_url,
        &format,
        &cooldown_secs,
    )
    .map_err(|e| {
        let (field, message) = e.split_once(": ").unwrap_or(("form", e.as_str()));
        crate::server_fns::failed(crate::error::TraceError::Invalid {
            field: field.to_owned(),
            message: message.to_owned(),
        })
    })?;
    admin()?.create(&spec).await.map_err(crate::server_fns::failed)
}

/// Turns a rule on or off.
#[server(output = crate::answer_encoding::JsonAnswer)]
pub async fn alerts_set_enabled(id: String, enabled: bool) -> Result<(), crate::error::PageError> {
    admin()?
        .set_enabled(&id, enabled)
        .await
        .map_err(crate::server_fns::failed)
}

/// Deletes a rule and its deliveries.
#[server(output = crate::answer_encoding::JsonAnswer)]
pub async fn alerts_delete_rule(id: String) -> Result<(), crate::error::PageError> {
    admin()?.delete(&id).await.map_err(crate::server_fns::failed)
}

/// A rule's newest deliveries.
#[server(output = crate::answer_encoding::JsonAnswer)]
pub async fn alerts_deliveries(id: String) -> Result<Vec<Delivery>, crate::error::PageError> {
    admin()?.deliveries(&id).await.map_err(crate::server_fns::failed)
}

/// Sends a delivery again.
#[server(output = crate::answer_encoding::JsonAnswer)]
pub async fn alerts_redeliver(id: String, webhook_id: String) -> Result<(), crate::error::PageError> {
    admin()?
        .redeliver(&id, &webhook_id)
        .await
        .map_err(crate::server_fns::failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> Result<AlertRuleSpec, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn a_rule_is_read_whole_or_refused_naming_what_is_wrong() {
        let rule = spec(json!({"name": "failures", "condition": {"kind": "run_failed"},
                               "webhook_url": "https://hooks.example/a?b=c"}))
        .unwrap();
        assert!(rule.enabled);
        assert_eq!((rule.format, rule.cooldown_secs), (WebhookFormat::Json, 0));
        for (bad, mention) in [
            (json!({"kind": "run_sloth"}), "unknown variant"),
            (json!({"kind": "run_slower_than", "threshold_ms": -5}), "above 0"),
            (json!({"kind": "run_slower_than"}), "threshold_ms"),
            (
                json!({"kind": "node_slower_than_baseline", "node_id": "N", "factor": 0.5, "min_count": 3}),
                "above 1",
            ),
        ] {
            let e =
                spec(json!({"name": "x", "condition": bad, "webhook_url": "https://h.example"})).unwrap_err();
            assert!(e.contains(mention), "{e}");
        }
        for (url, mention) in [
            ("not a url", "not a URL"),
            ("ftp://h.example/x", "http or https"),
            ("https://user:pw@h.example/", "password"),
        ] {
            let e = spec(json!({"name": "x", "condition": {"kind": "run_failed"}, "webhook_url": url}))
                .unwrap_err();
            assert!(e.contains(mention), "{url}: {e}");
        }
        let long_cooldown = spec(json!({"name": "x", "condition": {"kind": "run_failed"},
            "webhook_url": "https://h.example", "cooldown_secs": MAX_COOLDOWN_SECS + 1}))
        .unwrap();
        assert!(long_cooldown.check().is_err());
        assert_eq!(WebhookUrl::parse("http://[::1]:8080/x").unwrap().host(), "::1");
    }

    #[test]
    fn a_finished_run_fires_the_rules_it_matches() {
        let run = |status: &str, duration: f64, metadata: serde_json::Value| -> ExecutionSummary {
            serde_json::from_value(json!({
                "execution_id": "r", "graph_type": "g", "status": status,
                "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T00:00:01Z",
                "total_duration_ms": duration, "total_nodes": 1, "failed_nodes": 0, "cached_nodes": 0,
                "total_llm_calls": 0, "total_tokens": null, "original_inputs": {}, "final_state": null,
                "metadata": metadata, "graph": null, "is_replay": false, "original_execution_id": null,
                "error": null, "last_seq": 1
            }))
            .unwrap()
        };
        let rule = |condition: serde_json::Value, extra: serde_json::Value| {
            let mut value = json!({"name": "r", "condition": condition, "webhook_url": "https://h.example"});
            value
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            spec(value).unwrap()
        };
        let failed = rule(json!({"kind": "run_failed"}), json!({}));
        assert!(failed.fires_for(&run("failed", 5.0, json!({})), &[]));
        assert!(!failed.fires_for(&run("completed", 5.0, json!({})), &[]));
        let slow = rule(
            json!({"kind": "run_slower_than", "threshold_ms": 1000}),
            json!({}),
        );
        assert!(slow.fires_for(&run("completed", 1000.5, json!({})), &[]));
        assert!(!slow.fires_for(&run("completed", 1000.0, json!({})), &[]));
        let node = rule(json!({"kind": "node_failed", "node_id": "Fetch"}), json!({}));
        assert!(node.fires_for(&run("completed", 1.0, json!({})), &["Fetch".into()]));
        assert!(!node.fires_for(&run("failed", 1.0, json!({})), &["Plan".into()]));
        let prod = rule(
            json!({"kind": "run_failed"}),
            json!({"graph_type": "g", "metadata": {"env": "prod", "v": "2"}}),
        );
        assert!(prod.fires_for(&run("failed", 1.0, json!({"env": "prod", "v": 2})), &[]));
        assert!(!prod.fires_for(&run("failed", 1.0, json!({"env": "dev", "v": 2})), &[]));
        let other_type = rule(json!({"kind": "run_failed"}), json!({"graph_type": "h"}));
        assert!(!other_type.fires_for(&run("failed", 1.0, json!({})), &[]));
        let disabled = rule(json!({"kind": "run_failed"}), json!({"enabled": false}));
        assert!(!disabled.fires_for(&run("failed", 1.0, json!({})), &[]));
    }
}

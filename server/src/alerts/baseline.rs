//! Baseline alerts (#17): a node type whose p95 duration over the last hour
//! is more than `factor` times its p95 over the seven days before, with at
//! least `min_count` recent visits. Read from the hourly node histograms
//! the store keeps on write (one index range per rule), never from node
//! events; evaluated by a periodic task.
//!
//! "The last hour" is the hour now is in and the one before (the histograms
//! are per hour, by the hour a run started), and the baseline the 168 hours
//! before those. A rule fires at most once per hour (the delivery's id is
//! made from the hour, so instances evaluating side by side store it once),
//! and no more often than its cool-down allows.

use super::store::AlertStore;
use app::alerts::{AlertCondition, AlertRule};
use app::error::TraceError;
use app::histogram::NODE_SCALE;
use chrono::{DateTime, Utc};
use std::time::Duration;
use tracing::{info, warn};

/// Hours the baseline covers before the recent window.
const BASELINE_HOURS: i64 = 7 * 24;

/// What a baseline rule found.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub recent_p95_ms: f64,
    pub baseline_p95_ms: f64,
    pub recent_visits: i64,
}

/// Evaluates `rule` (a baseline rule) at `now`: the figures, when both
/// windows have visits.
async fn find(
    alerts: &AlertStore,
    rule: &AlertRule,
    now: DateTime<Utc>,
) -> Result<Option<Finding>, TraceError> {
    let AlertCondition::NodeSlowerThanBaseline { node_id, .. } = &rule.spec.condition else {
        return Ok(None);
    };
    let hour = crate::store::time::hour_of(&now);
    let graph_type = rule.spec.graph_type.as_ref().map(|g| g.as_str());
    let recent = alerts
        .node_histogram(node_id.as_str(), graph_type, hour - 1, hour)
        .await?;
    let baseline = alerts
        .node_histogram(node_id.as_str(), graph_type, hour - 1 - BASELINE_HOURS, hour - 2)
        .await?;
    let (Some(recent_p95_ms), Some(baseline_p95_ms)) = (
        NODE_SCALE.quantile(&recent, 0.95),
        NODE_SCALE.quantile(&baseline, 0.95),
    ) else {
        return Ok(None);
    };
    Ok(Some(Finding {
        recent_p95_ms,
        baseline_p95_ms,
        recent_visits: recent.iter().map(|(_, c)| c).sum(),
    }))
}

/// Evaluates every enabled baseline rule once; returns how many fired.
pub async fn evaluate(alerts: &AlertStore, now: DateTime<Utc>) -> Result<u32, TraceError> {
    let mut fired = 0;
    for rule in alerts.list_rules().await? {
        let AlertCondition::NodeSlowerThanBaseline {
            node_id,
            factor,
            min_count,
        } = &rule.spec.condition
        else {
            continue;
        };
        if !rule.spec.enabled {
            continue;
        }
        let Some(found) = find(alerts, &rule, now).await? else {
            continue;
        };
        if found.recent_visits < i64::from(*min_count)
            || found.recent_p95_ms <= factor.get() * found.baseline_p95_ms
        {
            continue;
        }
        let summary = format!(
            "{}{} p95 {} over the last hour ({} visits), {:.1}× its p95 of {} over the week before",
            node_id.as_str(),
            rule.spec
                .graph_type
                .as_ref()
                .map(|g| format!(" in {}", g.as_str()))
                .unwrap_or_default(),
            app::format::duration_ms(found.recent_p95_ms),
            found.recent_visits,
            found.recent_p95_ms / found.baseline_p95_ms,
            app::format::duration_ms(found.baseline_p95_ms),
        );
        let payload = serde_json::json!({
            "rule_name": rule.spec.name.as_str(),
            "baseline": {
                "node_id": node_id.as_str(),
                "graph_type": rule.spec.graph_type.as_ref().map(|g| g.as_str()),
                "recent_p95_ms": found.recent_p95_ms,
                "baseline_p95_ms": found.baseline_p95_ms,
                "recent_visits": found.recent_visits,
                "factor": factor.get(),
                "summary": summary,
            },
        });
        let window = format!("h{}", crate::store::time::hour_of(&now));
        if alerts.fire_window(&rule, &window, &payload, now).await? {
            fired += 1;
        }
    }
    Ok(fired)
}

/// Evaluates the baseline rules every `every` until the task is aborted.
pub fn spawn(alerts: AlertStore, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match evaluate(&alerts, Utc::now()).await {
                Ok(0) => {}
                Ok(n) => info!("baseline alerts: {n} rules fired"),
                Err(e) => {
                    warn!(error = %e, "baseline alerts were not evaluated; retrying at the next interval")
                }
            }
        }
    })
}

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
use std::collections::{BTreeMap, HashMap};
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

/// Which histograms a rule reads: its node type, in its graph type or all.
type RuleKey = (String, Option<String>);

/// Histogram rows by node type and graph type (`AlertStore::node_histograms`).
struct Histograms(HashMap<(String, String), Vec<(i32, i64)>>);

impl Histograms {
    fn of(rows: Vec<(String, String, i32, i64)>) -> Self {
        let mut by_key: HashMap<(String, String), Vec<(i32, i64)>> = HashMap::new();
        for (node_id, graph_type, bucket, count) in rows {
            by_key
                .entry((node_id, graph_type))
                .or_default()
                .push((bucket, count));
        }
        Self(by_key)
    }

    /// The sorted `(bucket, count)` pairs of a rule's node type, summed
    /// over graph types when the rule names none.
    fn of_rule(&self, (node_id, graph_type): &RuleKey) -> Vec<(i32, i64)> {
        let mut buckets: BTreeMap<i32, i64> = BTreeMap::new();
        for ((node, graph), pairs) in &self.0 {
            if node == node_id && graph_type.as_ref().is_none_or(|g| g == graph) {
                for (bucket, count) in pairs {
                    *buckets.entry(*bucket).or_default() += count;
                }
            }
        }
        buckets.into_iter().collect()
    }
}

/// The baselines' p95 of one hour, by rule key, kept between evaluations
/// by the periodic task (an evaluation with a new one reads them again).
#[derive(Debug, Default)]
pub struct Baselines {
    hour: i64,
    p95: HashMap<RuleKey, Option<f64>>,
}

/// An enabled baseline rule with its condition's figures.
struct BaselineRule {
    rule: AlertRule,
    key: RuleKey,
    factor: f64,
    min_count: u32,
}

/// Evaluates every enabled baseline rule once, with the baselines of the
/// hour kept in `baselines`; returns how many fired.
pub async fn evaluate(
    alerts: &AlertStore,
    baselines: &mut Baselines,
    now: DateTime<Utc>,
) -> Result<u32, TraceError> {
    let rules: Vec<BaselineRule> = alerts
        .list_rules()
        .await?
        .into_iter()
        .filter(|rule| rule.spec.enabled)
        .filter_map(|rule| match &rule.spec.condition {
            AlertCondition::NodeSlowerThanBaseline {
                node_id,
                factor,
                min_count,
            } => Some(BaselineRule {
                key: (
                    node_id.as_str().to_owned(),
                    rule.spec.graph_type.as_ref().map(|g| g.as_str().to_owned()),
                ),
                factor: factor.get(),
                min_count: *min_count,
                rule,
            }),
            _ => None,
        })
        .collect();
    if rules.is_empty() {
        return Ok(0);
    }
    let hour = crate::store::time::hour_of(&now);
    if baselines.hour != hour {
        *baselines = Baselines {
            hour,
            p95: HashMap::new(),
        };
    }
    let nodes = |rules: &[&BaselineRule]| -> Vec<String> {
        let mut nodes: Vec<String> = rules.iter().map(|r| r.key.0.clone()).collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    };
    let unknown: Vec<&BaselineRule> = rules
        .iter()
        .filter(|r| !baselines.p95.contains_key(&r.key))
        .collect();
    if !unknown.is_empty() {
        let node_ids = nodes(&unknown);
        let ids: Vec<&str> = node_ids.iter().map(String::as_str).collect();
        let week = Histograms::of(
            alerts
                .node_histograms(&ids, hour - 1 - BASELINE_HOURS, hour - 2)
                .await?,
        );
        for rule in unknown {
            let p95 = NODE_SCALE.quantile(&week.of_rule(&rule.key), 0.95);
            baselines.p95.insert(rule.key.clone(), p95);
        }
    }
    let node_ids = nodes(&rules.iter().collect::<Vec<_>>());
    let ids: Vec<&str> = node_ids.iter().map(String::as_str).collect();
    let recent = Histograms::of(alerts.node_histograms(&ids, hour - 1, hour).await?);
    let mut fired = 0;
    for BaselineRule {
        rule,
        key,
        factor,
        min_count,
    } in &rules
    {
        let recent = recent.of_rule(key);
        let (Some(recent_p95_ms), Some(Some(baseline_p95_ms))) = (
            NODE_SCALE.quantile(&recent, 0.95),
            baselines.p95.get(key).copied(),
        ) else {
            continue;
        };
        let found = Finding {
            recent_p95_ms,
            baseline_p95_ms,
            recent_visits: recent.iter().map(|(_, c)| c).sum(),
        };
        let node_id = &key.0;
        let factor = *factor;
        if found.recent_visits < i64::from(*min_count)
            || found.recent_p95_ms <= factor * found.baseline_p95_ms
        {
            continue;
        }
        let summary = format!(
            "{}{} p95 {} over the last hour ({} visits), {:.1}× its p95 of {} over the week before",
            node_id,
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
                "node_id": node_id,
                "graph_type": rule.spec.graph_type.as_ref().map(|g| g.as_str()),
                "recent_p95_ms": found.recent_p95_ms,
                "baseline_p95_ms": found.baseline_p95_ms,
                "recent_visits": found.recent_visits,
                "factor": factor,
                "summary": summary,
            },
        });
        let window = format!("h{hour}");
        if alerts.fire_window(rule, &window, &payload, now).await? {
            fired += 1;
        }
    }
    Ok(fired)
}

/// Evaluates the baseline rules every `every` until the task is aborted.
pub fn spawn(alerts: AlertStore, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut baselines = Baselines::default();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match evaluate(&alerts, &mut baselines, Utc::now()).await {
                Ok(0) => {}
                Ok(n) => info!("baseline alerts: {n} rules fired"),
                Err(e) => {
                    warn!(error = %e, "baseline alerts were not evaluated; retrying at the next interval")
                }
            }
        }
    })
}

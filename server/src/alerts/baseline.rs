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

use super::store::{AlertStore, HourHistogram};
use app::alerts::{AlertCondition, AlertRule};
use app::error::TraceError;
use app::histogram::NODE_SCALE;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use tracing::{info, warn};

/// Hours the baseline covers before the recent window.
const BASELINE_HOURS: i64 = 7 * 24;

/// Node types whose week one evaluation reads at most: a week of 100 node
/// types is some 160,000 histogram rows, so a process that starts with
/// many rules reads them over a few evaluations, one second apart (`spawn`),
/// each bounded, and evaluates a rule once its node type's week is read.
pub const WEEKS_READ_PER_EVALUATION: usize = 25;

/// Pause between evaluations while the week is still being read.
const CATCH_UP_PAUSE: Duration = Duration::from_secs(1);

/// What a baseline rule found.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub recent_p95_ms: f64,
    pub baseline_p95_ms: f64,
    pub recent_visits: i64,
}

/// Which histograms a rule reads: its node type, in its graph type or all.
type RuleKey = (String, Option<String>);

/// Histogram rows of some hours, by node type, then graph type, then bucket.
#[derive(Debug, Default, PartialEq)]
struct Histograms(HashMap<String, HashMap<String, BTreeMap<i32, i64>>>);

impl Histograms {
    fn add(&mut self, hour: HourHistogram) {
        let buckets = self
            .0
            .entry(hour.node_id)
            .or_default()
            .entry(hour.graph_type)
            .or_default();
        for (bucket, count) in hour.buckets {
            *buckets.entry(bucket).or_default() += count;
        }
    }

    /// Adds a rule's `(node_id, graph_type)` buckets to `into`, summed over
    /// graph types when the rule names none.
    fn add_rule_to(&self, (node_id, graph_type): &RuleKey, into: &mut BTreeMap<i32, i64>) {
        for (graph, buckets) in self.0.get(node_id).into_iter().flatten() {
            if graph_type.as_ref().is_none_or(|g| g == graph) {
                for (bucket, count) in buckets {
                    *into.entry(*bucket).or_default() += count;
                }
            }
        }
    }

    /// A rule's sorted `(bucket, count)` pairs.
    fn of_rule(&self, key: &RuleKey) -> Vec<(i32, i64)> {
        let mut buckets = BTreeMap::new();
        self.add_rule_to(key, &mut buckets);
        buckets.into_iter().collect()
    }
}

/// What the periodic task keeps between evaluations: the week's hourly
/// histograms of the rules' node types, each hour read once (when it enters
/// the week, or when a rule names a node type not read before), and the
/// rules' baseline p95 for the current hour. So an evaluation reads the
/// last two hours, plus one hour when the hour has moved on; only the first
/// evaluation of a process reads the whole week.
///
/// An hour's histograms are read when it becomes the baseline's newest
/// hour, two hours after it began: visits of runs that started in it and
/// go on longer than that are not in the baseline until the process starts
/// again (a baseline is a week's p95, which a few late visits barely move).
#[derive(Debug, Default, PartialEq)]
pub struct Baselines {
    /// The hour `p95` is for.
    hour: i64,
    p95: HashMap<RuleKey, Option<f64>>,
    /// The node types whose hours `hours` holds.
    nodes: BTreeSet<String>,
    /// The week's histograms, hour by hour.
    hours: BTreeMap<i64, Histograms>,
    /// Whether some rule's node type still lacks its week.
    behind: bool,
}

impl Baselines {
    /// Reads what the week of `hour` lacks for the node types `wanted`,
    /// and forgets hours, node types and p95 that no longer hold.
    async fn refresh(
        &mut self,
        alerts: &AlertStore,
        hour: i64,
        wanted: &BTreeSet<String>,
    ) -> Result<(), TraceError> {
        if self.hour != hour {
            self.hour = hour;
            self.p95.clear();
        }
        let (first, last) = (hour - 1 - BASELINE_HOURS, hour - 2);
        self.hours.retain(|h, _| (first..=last).contains(h));
        if self.nodes.iter().any(|n| !wanted.contains(n)) {
            self.nodes.retain(|n| wanted.contains(n));
            for histograms in self.hours.values_mut() {
                histograms.0.retain(|n, _| wanted.contains(n));
            }
        }
        // Hours new to the week (one when the hour has moved on), for the
        // node types read before; then the whole week of node types new
        // to the task.
        let missing: BTreeSet<i64> = (first..=last).filter(|h| !self.hours.contains_key(h)).collect();
        let known: Vec<&str> = self.nodes.iter().map(String::as_str).collect();
        if let (false, Some(from), Some(to)) = (known.is_empty(), missing.first(), missing.last()) {
            Self::read(&mut self.hours, alerts, &known, *from, *to, |h| {
                missing.contains(&h)
            })
            .await?;
        }
        let unread: Vec<&str> = wanted
            .iter()
            .filter(|n| !self.nodes.contains(*n))
            .map(String::as_str)
            .collect();
        self.behind = unread.len() > WEEKS_READ_PER_EVALUATION;
        let new = &unread[..unread.len().min(WEEKS_READ_PER_EVALUATION)];
        if !new.is_empty() {
            Self::read(&mut self.hours, alerts, new, first, last, |_| true).await?;
            // A p95 kept for a node type read again (its rules were gone
            // for a while) is of the week as it was then.
            self.p95.retain(|(node, _), _| !new.contains(&node.as_str()));
        }
        for h in first..=last {
            self.hours.entry(h).or_default();
        }
        let new: Vec<String> = new.iter().map(|n| (*n).to_owned()).collect();
        self.nodes.extend(new);
        Ok(())
    }

    /// Whether every rule's node type had its week read at the last
    /// evaluation (so every rule was evaluated).
    pub fn caught_up(&self) -> bool {
        !self.behind
    }

    /// Adds the histograms of `node_ids` over the hours `first..=last`
    /// that `take` accepts to the kept hours.
    async fn read(
        hours: &mut BTreeMap<i64, Histograms>,
        alerts: &AlertStore,
        node_ids: &[&str],
        first: i64,
        last: i64,
        take: impl Fn(i64) -> bool,
    ) -> Result<(), TraceError> {
        for histogram in alerts
            .node_histograms(node_ids, first, last)
            .await?
            .into_iter()
            .filter(|h| take(h.hour))
        {
            hours.entry(histogram.hour).or_default().add(histogram);
        }
        Ok(())
    }

    /// A rule's baseline p95 over the kept week, worked out once an hour.
    fn p95(&mut self, key: &RuleKey) -> Option<f64> {
        let hours = &self.hours;
        *self.p95.entry(key.clone()).or_insert_with(|| {
            let mut buckets = BTreeMap::new();
            for histograms in hours.values() {
                histograms.add_rule_to(key, &mut buckets);
            }
            NODE_SCALE.quantile(&buckets.into_iter().collect::<Vec<_>>(), 0.95)
        })
    }
}

/// An enabled baseline rule with its condition's figures.
struct BaselineRule {
    rule: AlertRule,
    key: RuleKey,
    factor: f64,
    min_count: u32,
}

/// Evaluates every enabled baseline rule once, with what earlier
/// evaluations kept in `baselines`; returns how many fired.
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
    let wanted: BTreeSet<String> = rules.iter().map(|r| r.key.0.clone()).collect();
    baselines.refresh(alerts, hour, &wanted).await?;
    let ids: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let mut recent = Histograms::default();
    for histogram in alerts.node_histograms(&ids, hour - 1, hour).await? {
        recent.add(histogram);
    }
    let mut fired = 0;
    for BaselineRule {
        rule,
        key,
        factor,
        min_count,
    } in &rules
    {
        if !baselines.nodes.contains(&key.0) {
            // Its week is read at one of the next evaluations.
            continue;
        }
        let recent = recent.of_rule(key);
        let (Some(recent_p95_ms), Some(baseline_p95_ms)) =
            (NODE_SCALE.quantile(&recent, 0.95), baselines.p95(key))
        else {
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
            let evaluated = evaluate(&alerts, &mut baselines, Utc::now()).await;
            if !baselines.caught_up() {
                tick.reset_after(CATCH_UP_PAUSE);
            }
            match evaluated {
                Ok(0) => {}
                Ok(n) => info!("baseline alerts: {n} rules fired"),
                Err(e) => {
                    warn!(error = %e, "baseline alerts were not evaluated; retrying at the next interval")
                }
            }
        }
    })
}

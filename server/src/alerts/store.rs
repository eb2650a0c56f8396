//! Alert rules and the webhook outbox in the run database (migration
//! `0013_alerts.sql`), on SQLite or PostgreSQL. As in the access store, the
//! SQL is the same on both (numbered `$n` parameters work on each), so every
//! method is written once and run on whichever pool this store holds. The
//! firing itself happens inside the run's completion (`store::alert_outbox`).

use crate::store::db_error;
use crate::store::db_pool::{on_pool, DbPool};
use crate::store::time::{from_micros, to_micros};
use app::alerts::{AlertRule, AlertRuleSpec, Delivery, DeliveryStatus};
use app::error::TraceError;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, SqlitePool};

/// One hour of one node type's duration histogram in one graph type.
#[derive(Debug)]
pub struct HourHistogram {
    pub hour: i64,
    pub node_id: String,
    pub graph_type: String,
    /// `(bucket, count)` pairs.
    pub buckets: Vec<(i32, i64)>,
}

/// The numbers of a comma-separated list the database built.
fn numbers<T: std::str::FromStr>(list: &str) -> Result<Vec<T>, TraceError> {
    list.split(',')
        .map(|n| {
            n.parse()
                .map_err(|_| TraceError::Internal(format!("a node histogram list holds {n:?}")))
        })
        .collect()
}

/// Alert rows on the configured database.
#[derive(Clone)]
pub struct AlertStore {
    pool: DbPool,
}

/// An `alert_rules` row.
#[derive(sqlx::FromRow)]
pub(crate) struct RuleRecord {
    pub id: String,
    pub enabled: i64,
    pub spec: String,
    pub secret: String,
    pub created_at: i64,
    pub disabled_reason: Option<String>,
}

impl RuleRecord {
    /// The rule (without its secret).
    pub fn rule(&self) -> Result<AlertRule, TraceError> {
        let mut spec: AlertRuleSpec = crate::store::json_column(&self.spec, "spec")?;
        spec.enabled = self.enabled != 0;
        Ok(AlertRule {
            id: self.id.clone(),
            spec,
            created_at: from_micros(self.created_at)?,
            disabled_reason: self.disabled_reason.clone(),
            secret: None,
        })
    }
}

/// The columns a `RuleRecord` reads.
pub(crate) const RULE_COLUMNS: &str = "id, enabled, spec, secret, created_at, disabled_reason";

/// Takes a rule's cool-down atomically: its last firing ($1 = now) moves only
/// if the one before is at or before the cut-off ($3); one row changed means
/// the rule may fire. Binds: now, rule id, cut-off.
pub(crate) const TAKE_COOLDOWN: &str = "UPDATE alert_rules SET last_fired_at = $1 WHERE id = $2 \
     AND (last_fired_at IS NULL OR last_fired_at <= $3)";

/// A `webhook_deliveries` row as listed.
#[derive(sqlx::FromRow)]
struct DeliveryRecord {
    webhook_id: String,
    rule_id: String,
    execution_id: Option<String>,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

impl TryFrom<DeliveryRecord> for Delivery {
    type Error = TraceError;
    fn try_from(d: DeliveryRecord) -> Result<Self, TraceError> {
        let status = DeliveryStatus::parse(&d.status)
            .ok_or_else(|| TraceError::Internal(format!("unknown delivery status {:?}", d.status)))?;
        Ok(Delivery {
            webhook_id: d.webhook_id,
            rule_id: d.rule_id,
            execution_id: d.execution_id,
            status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: from_micros(d.created_at)?,
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then(|| from_micros(d.next_attempt_at))
                .transpose()?,
        })
    }
}

/// A delivery claimed for an attempt, with what sending it needs.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DueDelivery {
    pub webhook_id: String,
    pub rule_id: String,
    pub payload: String,
    /// Attempts including this one.
    pub attempts: i64,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptOutcome {
    /// A 2xx.
    Delivered { status: u16 },
    /// `410 Gone`: the receiver wants no more; the rule is disabled.
    Gone,
    /// Anything else; retried at `retry_at`, or given up when `None`.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

impl AlertStore {
    pub(crate) fn sqlite(pool: SqlitePool) -> Self {
        Self {
            pool: DbPool::Sqlite(pool),
        }
    }

    pub(crate) fn postgres(pool: PgPool) -> Self {
        Self {
            pool: DbPool::Postgres(pool),
        }
    }

    /// Stores a new rule with its signing secret.
    pub async fn create_rule(
        &self,
        id: &str,
        spec: &AlertRuleSpec,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<AlertRule, TraceError> {
        let sql = "INSERT INTO alert_rules (id, name, enabled, spec, secret, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, |p| sqlx::query(sql)
            .bind(id)
            .bind(spec.name.as_str())
            .bind(i64::from(spec.enabled))
            .bind(crate::store::to_json_column(spec))
            .bind(secret)
            .bind(to_micros(&now))
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(db_error)?;
        let mut rule = self.rule(id).await?;
        rule.secret = Some(secret.to_owned());
        Ok(rule)
    }

    /// Every rule, oldest first.
    pub async fn list_rules(&self) -> Result<Vec<AlertRule>, TraceError> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY created_at, id");
        let rows: Vec<RuleRecord> =
            on_pool!(self, |p| sqlx::query_as(&sql).fetch_all(p).await).map_err(db_error)?;
        rows.iter().map(RuleRecord::rule).collect()
    }

    /// The rule and its secret (for signing).
    pub(crate) async fn rule_record(&self, id: &str) -> Result<RuleRecord, TraceError> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1");
        let row: Option<RuleRecord> =
            on_pool!(self, |p| sqlx::query_as(&sql).bind(id).fetch_optional(p).await).map_err(db_error)?;
        row.ok_or_else(|| TraceError::NotFound(format!("alert rule {id}")))
    }

    /// One rule.
    pub async fn rule(&self, id: &str) -> Result<AlertRule, TraceError> {
        self.rule_record(id).await?.rule()
    }

    /// Replaces what a rule says (enabling it again clears why tracevis
    /// disabled it).
    pub async fn update_rule(&self, id: &str, spec: &AlertRuleSpec) -> Result<AlertRule, TraceError> {
        let sql = "UPDATE alert_rules SET name = $1, enabled = $2, spec = $3, \
                   disabled_reason = CASE WHEN $2 = 1 THEN NULL ELSE disabled_reason END WHERE id = $4";
        let done = on_pool!(self, |p| sqlx::query(sql)
            .bind(spec.name.as_str())
            .bind(i64::from(spec.enabled))
            .bind(crate::store::to_json_column(spec))
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_error)?;
        if done == 0 {
            return Err(TraceError::NotFound(format!("alert rule {id}")));
        }
        self.rule(id).await
    }

    /// Deletes a rule and its deliveries (pending ones are not sent).
    pub async fn delete_rule(&self, id: &str) -> Result<(), TraceError> {
        let done = on_pool!(self, |p| async {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE rule_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM alert_rules WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(done)
        }
        .await)
        .map_err(db_error)?;
        if done == 0 {
            return Err(TraceError::NotFound(format!("alert rule {id}")));
        }
        Ok(())
    }

    /// A rule's newest deliveries, at most `limit`.
    pub async fn deliveries(&self, rule_id: &str, limit: u32) -> Result<Vec<Delivery>, TraceError> {
        self.rule_record(rule_id).await?;
        let sql = "SELECT webhook_id, rule_id, execution_id, status, attempts, next_attempt_at, \
                   last_status, last_error, created_at FROM webhook_deliveries WHERE rule_id = $1 \
                   ORDER BY created_at DESC, webhook_id DESC LIMIT $2";
        let rows: Vec<DeliveryRecord> = on_pool!(self, |p| sqlx::query_as(sql)
            .bind(rule_id)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await)
        .map_err(db_error)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Queues a delivery again now, whatever became of it (the same
    /// `webhook-id`: it is the same message).
    pub async fn redeliver(
        &self,
        rule_id: &str,
        webhook_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TraceError> {
        let sql = "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1 \
                   WHERE rule_id = $2 AND webhook_id = $3";
        let done = on_pool!(self, |p| sqlx::query(sql)
            .bind(to_micros(&now))
            .bind(rule_id)
            .bind(webhook_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_error)?;
        if done == 0 {
            return Err(TraceError::NotFound(format!(
                "delivery {webhook_id} of alert rule {rule_id}"
            )));
        }
        Ok(())
    }

    /// Claims up to `limit` due deliveries for an attempt: each is pushed
    /// `lease` into the future (so an instance that dies mid-attempt leaves
    /// it to be retried then) and its attempts counted. On PostgreSQL,
    /// `SKIP LOCKED` lets several instances claim side by side.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, TraceError> {
        let claim = |lock: &str| {
            format!(
                "UPDATE webhook_deliveries SET next_attempt_at = $1, attempts = attempts + 1 \
                 WHERE webhook_id IN (SELECT webhook_id FROM webhook_deliveries \
                 WHERE status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3{lock}) \
                 RETURNING webhook_id, rule_id, payload, attempts"
            )
        };
        let until = to_micros(&(now + lease));
        let rows: Vec<DueDelivery> = match &self.pool {
            DbPool::Sqlite(p) => {
                sqlx::query_as(&claim(""))
                    .bind(until)
                    .bind(to_micros(&now))
                    .bind(i64::from(limit))
                    .fetch_all(p)
                    .await
            }
            DbPool::Postgres(p) => {
                sqlx::query_as(&claim(" FOR UPDATE SKIP LOCKED"))
                    .bind(until)
                    .bind(to_micros(&now))
                    .bind(i64::from(limit))
                    .fetch_all(p)
                    .await
            }
        }
        .map_err(db_error)?;
        Ok(rows)
    }

    /// Records how an attempt ended.
    pub async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), TraceError> {
        let sql = "UPDATE webhook_deliveries SET status = $1, last_status = $2, last_error = $3, \
                   next_attempt_at = $4, delivered_at = $5 WHERE webhook_id = $6";
        let (status, last_status, error, next, delivered) = match outcome {
            AttemptOutcome::Delivered { status } => (
                DeliveryStatus::Succeeded,
                Some(i64::from(*status)),
                None,
                now,
                Some(to_micros(&now)),
            ),
            AttemptOutcome::Gone => (
                DeliveryStatus::Disabled,
                Some(410),
                Some("the receiver answered 410 Gone: the rule was disabled".to_owned()),
                now,
                None,
            ),
            AttemptOutcome::Failed {
                status,
                error,
                retry_at,
            } => (
                if retry_at.is_some() {
                    DeliveryStatus::Pending
                } else {
                    DeliveryStatus::Failed
                },
                status.map(i64::from),
                Some(error.clone()),
                retry_at.unwrap_or(now),
                None,
            ),
        };
        // The delivery and, on a 410, its rule change together: whoever
        // reads the delivery as disabled reads the rule as off.
        let reason = (*outcome == AttemptOutcome::Gone).then(|| {
            format!(
                "disabled at {}: the webhook answered 410 Gone",
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        });
        on_pool!(self, |p| async {
            let mut tx = p.begin().await?;
            sqlx::query(sql)
                .bind(status.as_str())
                .bind(last_status)
                .bind(error.as_deref())
                .bind(to_micros(&next))
                .bind(delivered)
                .bind(delivery.webhook_id.as_str())
                .execute(&mut *tx)
                .await?;
            if let Some(reason) = &reason {
                sqlx::query("UPDATE alert_rules SET enabled = 0, disabled_reason = $1 WHERE id = $2")
                    .bind(reason.as_str())
                    .bind(delivery.rule_id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await)
        .map_err(db_error)?;
        Ok(())
    }

    /// The duration histograms of the node types `node_ids` over the hours
    /// `first..=last`, one `(hour, node_id, graph_type, [(bucket, count)])`
    /// per stored hour and graph type: one statement for every baseline
    /// rule, each node type one range of the covering index
    /// `node_duration_buckets_by_node`, grouped in its order (no sort). A
    /// week of 100 node types is some 160,000 bucket rows; read as rows
    /// they cost sqlx far more than the database (a row at a time), so each
    /// node type's come as one row of lists.
    pub async fn node_histograms(
        &self,
        node_ids: &[&str],
        first: i64,
        last: i64,
    ) -> Result<Vec<HourHistogram>, TraceError> {
        // The node ids are bound as one JSON array, which each backend
        // unpacks its own way; graph types come as a JSON array (a name
        // may hold a comma), the numbers as comma-separated lists.
        let (listed, names) = match &self.pool {
            DbPool::Sqlite(_) => (
                "node_id IN (SELECT value FROM json_each($1))",
                "json_group_array(graph_type)",
            ),
            DbPool::Postgres(_) => (
                "node_id = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($1 AS JSONB))))",
                "CAST(json_agg(graph_type) AS TEXT)",
            ),
        };
        // No ORDER BY in the aggregates: all see the group's rows in the
        // same order, which is all the pairing needs, and PostgreSQL 15
        // would sort every group for one (twice the time).
        let numbers_of = |column: &str| match &self.pool {
            DbPool::Sqlite(_) => format!("group_concat({column})"),
            DbPool::Postgres(_) => format!("string_agg(CAST({column} AS TEXT), ',')"),
        };
        let sql = format!(
            "SELECT node_id, {}, {names}, {}, {} FROM node_duration_buckets \
             WHERE {listed} AND hour >= $2 AND hour <= $3 GROUP BY node_id",
            numbers_of("hour"),
            numbers_of("bucket"),
            numbers_of("count"),
        );
        let ids = serde_json::Value::from(node_ids.to_vec()).to_string();
        let rows: Vec<(String, String, String, String, String)> = on_pool!(self, |p| sqlx::query_as(&sql)
            .bind(ids.as_str())
            .bind(first)
            .bind(last)
            .fetch_all(p)
            .await)
        .map_err(db_error)?;
        let mut out: Vec<HourHistogram> = Vec::new();
        for (node_id, hours, graph_types, buckets, counts) in rows {
            let hours = numbers::<i64>(&hours)?;
            let graph_types: Vec<String> = serde_json::from_str(&graph_types)
                .map_err(|e| TraceError::Internal(format!("a node histogram's graph types: {e}")))?;
            let (buckets, counts) = (numbers::<i32>(&buckets)?, numbers::<i64>(&counts)?);
            if [graph_types.len(), buckets.len(), counts.len()] != [hours.len(); 3] {
                return Err(TraceError::Internal(
                    "a node histogram's lists differ in length".into(),
                ));
            }
            // Consecutive rows of one hour and graph type are one histogram
            // (an hour split in two by another order would still add up).
            for (((hour, graph_type), bucket), count) in
                hours.into_iter().zip(graph_types).zip(buckets).zip(counts)
            {
                match out.last_mut() {
                    Some(last)
                        if last.hour == hour && last.graph_type == graph_type && last.node_id == node_id =>
                    {
                        last.buckets.push((bucket, count));
                    }
                    _ => out.push(HourHistogram {
                        hour,
                        node_id: node_id.clone(),
                        graph_type,
                        buckets: vec![(bucket, count)],
                    }),
                }
            }
        }
        Ok(out)
    }

    /// Fires a rule outside a run (a baseline alert): one delivery per rule
    /// and `window` (its id is made from them, so instances evaluating the
    /// same window side by side store it once), unless the rule's
    /// cool-down holds. Returns whether it fired.
    pub async fn fire_window(
        &self,
        rule: &AlertRule,
        window: &str,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool, TraceError> {
        let webhook_id = format!("msg_{}_{window}", rule.id);
        let cutoff = to_micros(&(now - chrono::Duration::seconds(i64::from(rule.spec.cooldown_secs))));
        let fired = on_pool!(self, |p| async {
            let mut tx = p.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, rule_id, execution_id, payload, status, \
                 next_attempt_at, created_at) VALUES ($1, $2, NULL, $3, 'pending', $4, $4) \
                 ON CONFLICT (webhook_id) DO NOTHING",
            )
            .bind(webhook_id.as_str())
            .bind(rule.id.as_str())
            .bind(payload.to_string())
            .bind(to_micros(&now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // The cool-down, taken atomically: the rule's last firing moves
            // only if it is old enough.
            let claimed = if inserted == 1 {
                sqlx::query(TAKE_COOLDOWN)
                    .bind(to_micros(&now))
                    .bind(rule.id.as_str())
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            } else {
                0
            };
            if claimed == 1 {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok::<bool, sqlx::Error>(claimed == 1)
        }
        .await)
        .map_err(db_error)?;
        Ok(fired)
    }
}

//! Firing alert rules when a run finishes (#17): inside the transaction that
//! finishes it, every enabled per-run rule the run matches gets a row in the
//! webhook outbox. Whatever commits the run commits its alerts, so a crash
//! loses none and only the instance that finished the run fires (no
//! duplicates when several run). Delivery is `crate::alerts::delivery`'s.
//!
//! The SQL is the same on both backends (`$n` parameters work on each); one
//! body serves both connection types.

use super::time::to_micros;
use crate::alerts::store::{RuleRecord, RULE_COLUMNS, TAKE_COOLDOWN};
use app::error::TraceError;
use app::model::ExecutionSummary;
use chrono::{DateTime, Utc};

/// What a run's firing delivers: fixed when it fires, so a redelivery sends
/// the same alert. The run's summary keeps its metadata (where it ran) but
/// not its inputs, final state or graph.
pub fn run_payload(rule_name: &str, run: &ExecutionSummary) -> serde_json::Value {
    let execution = ExecutionSummary {
        metadata: run.metadata.clone(),
        ..run.without_payloads()
    };
    serde_json::json!({"rule_name": rule_name, "execution": execution})
}

macro_rules! fire_alerts_in {
    ($name:ident, $conn:ty) => {
        /// Fires the enabled per-run rules `run` (just finished) matches.
        pub async fn $name(
            conn: &mut $conn,
            run: &ExecutionSummary,
            now: DateTime<Utc>,
        ) -> Result<(), TraceError> {
            let db = super::db_error;
            let rules: Vec<RuleRecord> = sqlx::query_as(&format!(
                "SELECT {RULE_COLUMNS} FROM alert_rules WHERE enabled = 1"
            ))
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            if rules.is_empty() {
                return Ok(());
            }
            let failed_nodes: Vec<String> = if run.failed_nodes > 0 {
                sqlx::query_scalar(
                    "SELECT DISTINCT node_id FROM node_events \
                     WHERE run_key = (SELECT run_key FROM executions WHERE execution_id = $1) \
                     AND event_type = 'failed'",
                )
                .bind(run.execution_id.as_str())
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?
            } else {
                Vec::new()
            };
            for record in rules {
                let rule = record.rule()?;
                if !rule.spec.fires_for(run, &failed_nodes) {
                    continue;
                }
                let cutoff = now - chrono::Duration::seconds(i64::from(rule.spec.cooldown_secs));
                let claimed = sqlx::query(TAKE_COOLDOWN)
                    .bind(to_micros(&now))
                    .bind(rule.id.as_str())
                    .bind(to_micros(&cutoff))
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?
                    .rows_affected();
                if claimed == 0 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, rule_id, execution_id, payload, status, \
                     next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
                )
                .bind(format!("msg_{}", uuid::Uuid::now_v7().simple()))
                .bind(rule.id.as_str())
                .bind(run.execution_id.as_str())
                .bind(run_payload(rule.spec.name.as_str(), run).to_string())
                .bind(to_micros(&now))
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            }
            Ok(())
        }
    };
}

fire_alerts_in!(fire_in_sqlite, sqlx::SqliteConnection);
fire_alerts_in!(fire_in_postgres, sqlx::PgConnection);

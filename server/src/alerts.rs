//! Alerts (#17): rules that fire on finished runs or on a node type slowing
//! down against its own past, delivered as signed webhooks. The rules'
//! meaning is `app::alerts`; here are their storage (`store`), the firing
//! of trend rules (`baseline`; per-run rules fire inside the run's
//! completion, `store::alert_outbox`) and delivery (`delivery`).

pub mod baseline;
pub mod delivery;
pub mod store;

use app::alerts::{AlertRule, AlertRuleSpec};
use app::error::TraceError;
use chrono::Utc;
use store::AlertStore;

/// Rules as the API and the Alerts page manage them: each door's input is
/// checked the same way here.
#[derive(Clone)]
pub struct Alerts {
    pub store: AlertStore,
    /// Whether rules may target internal addresses
    /// (`TRACEVIS_ALLOW_PRIVATE_WEBHOOKS`).
    pub allow_private: bool,
}

impl Alerts {
    /// The checks serde cannot make, naming the field.
    fn check(&self, spec: &AlertRuleSpec) -> Result<(), TraceError> {
        spec.check()?;
        if !self.allow_private && delivery::names_internal_host(&spec.webhook_url) {
            return Err(TraceError::Invalid {
                field: "webhook_url".into(),
                message: "names a loopback, private or link-local address; set \
                          TRACEVIS_ALLOW_PRIVATE_WEBHOOKS=true to allow internal receivers"
                    .into(),
            });
        }
        if !spec.condition.is_per_run() && !spec.metadata.is_empty() {
            return Err(TraceError::Invalid {
                field: "metadata".into(),
                message: "a baseline rule reads hourly node aggregates, which do not know run \
                          metadata: leave metadata out"
                    .into(),
            });
        }
        Ok(())
    }

    /// Stores a new rule; the answer carries its signing secret, once.
    pub async fn create(&self, spec: &AlertRuleSpec) -> Result<AlertRule, TraceError> {
        self.check(spec)?;
        let id = format!("rule_{}", uuid::Uuid::now_v7().simple());
        self.store
            .create_rule(&id, spec, &delivery::new_secret(), Utc::now())
            .await
    }

    /// Replaces what a rule says (its secret stays).
    pub async fn update(&self, id: &str, spec: &AlertRuleSpec) -> Result<AlertRule, TraceError> {
        self.check(spec)?;
        self.store.update_rule(id, spec).await
    }
}

#[async_trait::async_trait]
impl app::alerts::AlertAdmin for Alerts {
    async fn rules(&self) -> Result<Vec<AlertRule>, TraceError> {
        self.store.list_rules().await
    }

    async fn create(&self, spec: &AlertRuleSpec) -> Result<AlertRule, TraceError> {
        Alerts::create(self, spec).await
    }

    async fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), TraceError> {
        let mut spec = self.store.rule(id).await?.spec;
        spec.enabled = enabled;
        self.store.update_rule(id, &spec).await.map(|_| ())
    }

    async fn delete(&self, id: &str) -> Result<(), TraceError> {
        self.store.delete_rule(id).await
    }

    async fn deliveries(&self, id: &str) -> Result<Vec<app::alerts::Delivery>, TraceError> {
        self.store.deliveries(id, 100).await
    }

    async fn redeliver(&self, id: &str, webhook_id: &str) -> Result<(), TraceError> {
        self.store.redeliver(id, webhook_id, Utc::now()).await
    }
}

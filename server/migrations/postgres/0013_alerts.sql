-- Alert rules and the webhook outbox (#17; app/src/alerts.rs,
-- server/src/alerts/). A firing is written here in the same transaction that
-- finishes the run, so no alert is lost or doubled when an instance dies;
-- delivery workers claim due rows and record each attempt.
CREATE TABLE alert_rules (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    enabled         BIGINT NOT NULL,          -- 1 or 0, the same column type on both backends
    spec            TEXT NOT NULL,            -- the rule as JSON (AlertRuleSpec)
    secret          TEXT NOT NULL,            -- whsec_…, shown once, kept to sign
    created_at      BIGINT NOT NULL,
    last_fired_at   BIGINT,
    disabled_reason TEXT
);

CREATE TABLE webhook_deliveries (
    webhook_id      TEXT PRIMARY KEY NOT NULL,
    rule_id         TEXT NOT NULL,
    execution_id    TEXT,
    -- What is delivered, fixed at firing: {"rule_name", "execution"} or a
    -- baseline alert's figures; the body is built from it on each attempt.
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,            -- pending | succeeded | failed | disabled
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_rule ON webhook_deliveries (rule_id, created_at DESC);

-- Baseline alerts read one node type's hourly histograms over a week.
CREATE INDEX node_duration_buckets_by_node ON node_duration_buckets (node_id, hour, graph_type, bucket, count);

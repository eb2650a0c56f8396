-- Same shape as the SQLite schema, so both backends answer identically:
-- times are microseconds since the Unix epoch (UTC) in BIGINT columns; JSON
-- documents are TEXT, written and read whole (JSONB would reorder keys and
-- rewrite numbers, and tracevis returns what producers sent).

CREATE TABLE executions (
    execution_id          TEXT PRIMARY KEY,
    graph_type            TEXT NOT NULL,
    status                TEXT NOT NULL,
    start_time            BIGINT NOT NULL,
    end_time              BIGINT,
    total_duration_ms     DOUBLE PRECISION,
    total_nodes           BIGINT NOT NULL DEFAULT 0,
    failed_nodes          BIGINT NOT NULL DEFAULT 0,
    cached_nodes          BIGINT NOT NULL DEFAULT 0,
    total_llm_calls       BIGINT NOT NULL DEFAULT 0,
    total_tokens          BIGINT,
    original_inputs       TEXT NOT NULL,
    final_state           TEXT,
    metadata              TEXT NOT NULL,
    graph                 TEXT,
    is_replay             BOOLEAN NOT NULL DEFAULT FALSE,
    original_execution_id TEXT,
    error                 TEXT,
    last_seq              BIGINT NOT NULL DEFAULT 0,
    create_request        TEXT NOT NULL
);

CREATE INDEX executions_by_start ON executions (start_time DESC, execution_id DESC);
CREATE INDEX executions_by_graph_type ON executions (graph_type, start_time DESC);
CREATE INDEX executions_by_status ON executions (status, start_time DESC);
CREATE INDEX executions_by_original ON executions (original_execution_id)
    WHERE original_execution_id IS NOT NULL;

CREATE TABLE node_events (
    execution_id TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    event_id     TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    timestamp    BIGINT NOT NULL,
    duration_ms  DOUBLE PRECISION,
    inputs       TEXT NOT NULL,
    outputs      TEXT NOT NULL,
    error        TEXT,
    metadata     TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
);

CREATE UNIQUE INDEX node_events_by_event_id ON node_events (execution_id, event_id);
CREATE INDEX node_events_by_node ON node_events (execution_id, node_id, seq);

CREATE TABLE state_snapshots (
    execution_id TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    snapshot_id  TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    timestamp    BIGINT NOT NULL,
    state        TEXT NOT NULL,
    diff         TEXT,
    PRIMARY KEY (execution_id, seq)
);

CREATE UNIQUE INDEX state_snapshots_by_id ON state_snapshots (execution_id, snapshot_id);

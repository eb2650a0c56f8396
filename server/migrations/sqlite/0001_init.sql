-- Times are microseconds since the Unix epoch (UTC) in INTEGER columns: they
-- sort and range-scan as numbers and convert losslessly to RFC 3339.
-- JSON documents are TEXT, written and read whole.

CREATE TABLE executions (
    execution_id          TEXT PRIMARY KEY NOT NULL,
    graph_type            TEXT NOT NULL,
    status                TEXT NOT NULL,
    start_time            INTEGER NOT NULL,
    end_time              INTEGER,
    total_duration_ms     REAL,
    total_nodes           INTEGER NOT NULL DEFAULT 0,
    failed_nodes          INTEGER NOT NULL DEFAULT 0,
    cached_nodes          INTEGER NOT NULL DEFAULT 0,
    total_llm_calls       INTEGER NOT NULL DEFAULT 0,
    total_tokens          INTEGER,
    original_inputs       TEXT NOT NULL,
    final_state           TEXT,
    metadata              TEXT NOT NULL,
    graph                 TEXT,
    is_replay             INTEGER NOT NULL DEFAULT 0,
    original_execution_id TEXT,
    error                 TEXT,
    last_seq              INTEGER NOT NULL DEFAULT 0,
    -- The canonical JSON of the start request: a retry must match it exactly.
    create_request        TEXT NOT NULL
);

CREATE INDEX executions_by_start ON executions (start_time DESC, execution_id DESC);
CREATE INDEX executions_by_graph_type ON executions (graph_type, start_time DESC);
CREATE INDEX executions_by_status ON executions (status, start_time DESC);
CREATE INDEX executions_by_original ON executions (original_execution_id)
    WHERE original_execution_id IS NOT NULL;

CREATE TABLE node_events (
    execution_id TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    duration_ms  REAL,
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
    seq          INTEGER NOT NULL,
    snapshot_id  TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    state        TEXT NOT NULL,
    diff         TEXT,
    PRIMARY KEY (execution_id, seq)
);

CREATE UNIQUE INDEX state_snapshots_by_id ON state_snapshots (execution_id, snapshot_id);

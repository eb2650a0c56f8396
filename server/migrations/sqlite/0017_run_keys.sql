-- Events and snapshots name their run by a small integer key instead of
-- its text id (#13, #16). Every event row carried the run's id (32
-- characters for an OpenTelemetry trace id) three times: in the row, in
-- the primary key's index and in the event-id index. An integer key makes
-- each of those entries 8 bytes or less, and since keys grow with each new
-- run, a new run's rows go to the end of every index instead of to a
-- random place in it. Reads find the key through `executions`
-- (`WHERE run_key = (SELECT run_key FROM executions WHERE execution_id = ?)`).
--
-- The key is the run's own: assigned when its row is inserted (the next
-- after the largest, under the store's write lock) and never changed.
-- `rowid` itself is not used: VACUUM may renumber the rowids of a table
-- whose primary key is not an INTEGER PRIMARY KEY.
--
-- Rows are copied through their run's row: an event or snapshot whose run
-- is gone (none is left so by this store: a run's rows go in one
-- transaction with it) could not be read by any request, and is not kept.

ALTER TABLE executions ADD COLUMN run_key INTEGER;
UPDATE executions SET run_key = rowid;
CREATE UNIQUE INDEX executions_by_run_key ON executions (run_key);

CREATE TABLE node_events_keyed (
    run_key     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    node_id     TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    timestamp   INTEGER NOT NULL,
    duration_ms REAL,
    inputs      TEXT NOT NULL,
    outputs     TEXT NOT NULL,
    error       TEXT,
    metadata    TEXT NOT NULL,
    parents     TEXT,
    PRIMARY KEY (run_key, seq)
);
INSERT INTO node_events_keyed (run_key, seq, event_id, node_id, event_type, timestamp, duration_ms,
    inputs, outputs, error, metadata, parents)
SELECT x.run_key, e.seq, e.event_id, e.node_id, e.event_type, e.timestamp, e.duration_ms,
    e.inputs, e.outputs, e.error, e.metadata, e.parents
FROM node_events e JOIN executions x ON x.execution_id = e.execution_id
ORDER BY x.run_key, e.seq;
DROP TABLE node_events;
ALTER TABLE node_events_keyed RENAME TO node_events;
CREATE UNIQUE INDEX node_events_by_event_id ON node_events (run_key, event_id);

CREATE TABLE state_snapshots_keyed (
    run_key     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    snapshot_id TEXT NOT NULL,
    node_id     TEXT NOT NULL,
    timestamp   INTEGER NOT NULL,
    state       TEXT NOT NULL,
    diff        TEXT,
    PRIMARY KEY (run_key, seq)
);
INSERT INTO state_snapshots_keyed (run_key, seq, snapshot_id, node_id, timestamp, state, diff)
SELECT x.run_key, s.seq, s.snapshot_id, s.node_id, s.timestamp, s.state, s.diff
FROM state_snapshots s JOIN executions x ON x.execution_id = s.execution_id
ORDER BY x.run_key, s.seq;
DROP TABLE state_snapshots;
ALTER TABLE state_snapshots_keyed RENAME TO state_snapshots;
CREATE UNIQUE INDEX state_snapshots_by_id ON state_snapshots (run_key, snapshot_id);

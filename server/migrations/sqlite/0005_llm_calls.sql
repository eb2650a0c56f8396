-- No query reads node events by node across runs, and a run's events are
-- read by seq (a node filter applies within that range): the index cost a
-- fourth B-tree insertion per stored event for nothing.
DROP INDEX node_events_by_node;

-- LLM calls of span-born runs, by span id: counted once however often their
-- span comes, and kept waiting when their node visit's span has not come.
CREATE TABLE otlp_llm_calls (
    execution_id TEXT NOT NULL,
    span_id      TEXT NOT NULL,
    -- The span the call waits for; NULL once settled (counted, or in no visit).
    awaiting     TEXT,
    tokens       BIGINT,
    model        TEXT,
    PRIMARY KEY (execution_id, span_id)
);

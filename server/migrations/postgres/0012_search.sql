-- Search across what happened in runs (#17; app/src/search.rs and
-- server/src/store/search.rs). A document is one record's searchable text:
-- a node event (error, inputs, outputs), a state snapshot (what it changed),
-- or the run itself (error, inputs, final state, metadata). Its words are
-- cut by tracevis (the same rule as on SQLite) and stored as a tsvector
-- built from a literal, so PostgreSQL's text parser never re-cuts them;
-- excerpts are cut from the records themselves.
CREATE TABLE search_docs (
    doc_id       BIGSERIAL PRIMARY KEY,
    execution_id TEXT NOT NULL,
    place        TEXT NOT NULL,     -- 'event' | 'snapshot' | 'run'
    seq          BIGINT NOT NULL,   -- the record's seq; 0 for the run
    node_id      TEXT,
    words        TSVECTOR NOT NULL
);
CREATE INDEX search_docs_by_run ON search_docs (execution_id, doc_id);
CREATE INDEX search_docs_words ON search_docs USING GIN (words);

-- Runs stored before search existed: the server indexes them in the
-- background, a few at a time, and removes them from here.
CREATE TABLE search_backfill (execution_id TEXT PRIMARY KEY);
INSERT INTO search_backfill SELECT execution_id FROM executions;

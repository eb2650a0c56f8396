-- Search across what happened in runs (#17; app/src/search.rs and
-- server/src/store/search.rs). A document is one record's searchable text:
-- a node event (error, inputs, outputs), a state snapshot (what it changed),
-- or the run itself (error, inputs, final state, metadata). The words are
-- cut by tracevis (the same rule on both backends) and given to FTS5
-- separated by spaces; FTS5 keeps no copy of them (contentless), excerpts
-- are cut from the records themselves.
CREATE TABLE search_docs (
    doc_id       INTEGER PRIMARY KEY,
    execution_id TEXT NOT NULL,
    place        TEXT NOT NULL,     -- 'event' | 'snapshot' | 'run'
    seq          INTEGER NOT NULL,  -- the record's seq; 0 for the run
    node_id      TEXT
);
CREATE INDEX search_docs_by_run ON search_docs (execution_id, doc_id);

CREATE VIRTUAL TABLE search_words USING fts5(
    words, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TRIGGER search_docs_deleted AFTER DELETE ON search_docs BEGIN
    DELETE FROM search_words WHERE rowid = old.doc_id;
END;

-- Runs stored before search existed: the server indexes them in the
-- background, a few at a time, and removes them from here.
CREATE TABLE search_backfill (execution_id TEXT PRIMARY KEY NOT NULL);
INSERT INTO search_backfill SELECT execution_id FROM executions;

-- Search documents name their run by its integer key (0017) instead of its
-- text id (#16). Each run has about one document per record, so the text
-- id (38 characters for a bench run, 32 for a trace id) was stored once per
-- event in the row and again in the index that finds a run's documents; at
-- ten million runs that was a tenth of the file (BENCHMARKS.md). A search's
-- matched runs are read through `executions_by_run_key`, once per run.
--
-- Documents are copied through their run's row, as 0017 copied events:
-- this store writes a run's documents in the run's transactions and
-- deletes them with it, so none is without its run.

CREATE TABLE search_docs_keyed (
    doc_id  INTEGER PRIMARY KEY,
    run_key INTEGER NOT NULL,
    place   TEXT NOT NULL,     -- 'event' | 'snapshot' | 'run'
    seq     INTEGER NOT NULL,  -- the record's seq; 0 for the run
    node_id TEXT
);
INSERT INTO search_docs_keyed (doc_id, run_key, place, seq, node_id)
SELECT d.doc_id, x.run_key, d.place, d.seq, d.node_id
FROM search_docs d JOIN executions x ON x.execution_id = d.execution_id
ORDER BY d.doc_id;
DROP TABLE search_docs;
ALTER TABLE search_docs_keyed RENAME TO search_docs;
CREATE INDEX search_docs_by_run ON search_docs (run_key, doc_id);

CREATE TRIGGER search_docs_deleted AFTER DELETE ON search_docs BEGIN
    DELETE FROM search_words WHERE rowid = old.doc_id;
END;

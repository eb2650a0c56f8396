-- Search documents name their run by its integer key (0017) instead of its
-- text id (#16). Each run has about one document per record, so the text
-- id (38 characters for a bench run, 32 for a trace id) was stored once per
-- event in the row and again in the index that finds a run's documents:
-- `search_docs` was the largest table of a million runs (3.9 GB,
-- BENCHMARKS.md). A search's matched runs are read through
-- `executions_run_key_key`, once per run.
--
-- Documents are copied through their run's row, as 0017 copied events:
-- this store writes a run's documents in the run's transactions and
-- deletes them with it, so none is without its run. Their ids keep their
-- sequence, so ids stay in the order documents were written.
--
-- The primary key is (run_key, doc_id): every read and delete of documents
-- is by run or through the words' index (whose matches are sorted by id),
-- none by id alone, so one B-tree serves where the id's and the run's took
-- two (225 MB and 367 MB at a million runs).

CREATE TABLE search_docs_keyed (
    doc_id  BIGINT NOT NULL,
    run_key BIGINT NOT NULL,
    place   TEXT NOT NULL,     -- 'event' | 'snapshot' | 'run'
    seq     BIGINT NOT NULL,   -- the record's seq; 0 for the run
    node_id TEXT,
    words   TSVECTOR NOT NULL
);
INSERT INTO search_docs_keyed (doc_id, run_key, place, seq, node_id, words)
SELECT d.doc_id, x.run_key, d.place, d.seq, d.node_id, d.words
FROM search_docs d JOIN executions x ON x.execution_id = d.execution_id
ORDER BY d.doc_id;
ALTER SEQUENCE search_docs_doc_id_seq OWNED BY NONE;
DROP TABLE search_docs;
ALTER TABLE search_docs_keyed RENAME TO search_docs;
ALTER TABLE search_docs ALTER COLUMN doc_id SET DEFAULT nextval('search_docs_doc_id_seq');
ALTER SEQUENCE search_docs_doc_id_seq OWNED BY search_docs.doc_id;
ALTER TABLE search_docs ADD CONSTRAINT search_docs_pkey PRIMARY KEY (run_key, doc_id);
CREATE INDEX search_docs_words ON search_docs USING GIN (words);

-- pg_trgm against tsvector on the search benchmark's data (BENCHMARKS.md,
-- "Search and alerts, second pass"). Run after `tracevis bench
-- --search-runs 100000` filled a PostgreSQL schema, e.g.:
--   psql -h 127.0.0.1 -U postgres -v schema=bench17 -f scripts/pg_trgm_vs_tsvector.sql
-- It builds a trigram index on the events' outputs, times a word of the
-- bench's text both ways, and drops the index again.
\timing on
SET search_path = :schema, public;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
SELECT count(*) AS events_with_text FROM node_events WHERE outputs <> '{}';
CREATE INDEX node_events_outputs_trgm ON node_events USING GIN (outputs gin_trgm_ops);
SELECT pg_size_pretty(pg_relation_size('node_events_outputs_trgm')) AS trgm_index,
       pg_size_pretty(pg_relation_size('search_docs_words')) AS tsvector_gin,
       pg_size_pretty(pg_total_relation_size('search_docs')) AS search_docs_total;
-- 'qivilo' is the bench's search_word(1234), in about 0.75 % of the documents.
SELECT count(*) AS trgm_substring FROM node_events WHERE outputs ILIKE '%qivilo%';
SELECT count(*) AS trgm_word_regex FROM node_events WHERE outputs ~* '\mqivilo\M';
SELECT count(*) AS tsvector_event_docs FROM search_docs WHERE words @@ CAST('''qivilo''' AS tsquery) AND place = 'event';
SELECT count(*) AS trgm_fragment FROM node_events WHERE outputs ILIKE '%kalo%';
EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM node_events WHERE outputs ILIKE '%qivilo%';
DROP INDEX node_events_outputs_trgm;

-- PostgreSQL keeps every version of an updated row until it is pruned or
-- vacuumed, and the aggregate rows are updated by every finished run (the
-- current hour's, day's and week's rows thousands of times an hour). With
-- the counts inside their indexes (the covering indexes of migrations
-- 0010, 0011, 0013 and 0015) no update could be HOT: each wrote a new row
-- version elsewhere and new entries in every index, so at a million runs
-- the 114 live rows of run_stats_weeks took 299 MB and every statistics
-- read scanned them (#16; BENCHMARKS.md, "A million runs filled fast"). Here the
-- indexes keep key columns only, and every aggregate table leaves half of
-- each page free: an update then stays on its page (HOT) and the page
-- drops its dead versions by itself, with or without autovacuum.
-- SQLite updates rows in place; its covering indexes stay.

DROP INDEX run_buckets_by_hour;
CREATE INDEX run_buckets_by_hour ON run_buckets (hour, measure, bucket);
DROP INDEX run_buckets_by_type;
CREATE INDEX run_buckets_by_type ON run_buckets (graph_type, measure, hour, bucket);
DROP INDEX node_duration_buckets_by_hour;
CREATE INDEX node_duration_buckets_by_hour ON node_duration_buckets (hour, node_id, bucket);
DROP INDEX node_duration_buckets_by_type;
CREATE INDEX node_duration_buckets_by_type ON node_duration_buckets (graph_type, hour, node_id, bucket);
DROP INDEX node_duration_buckets_by_node;
CREATE INDEX node_duration_buckets_by_node ON node_duration_buckets (node_id, hour, graph_type, bucket);
DROP INDEX run_stats_days_by_hour;
CREATE INDEX run_stats_days_by_hour ON run_stats_days (hour, status, graph_type);
DROP INDEX run_buckets_days_by_hour;
CREATE INDEX run_buckets_days_by_hour ON run_buckets_days (hour, measure, bucket, graph_type);
DROP INDEX critical_path_stats_days_by_hour;
CREATE INDEX critical_path_stats_days_by_hour ON critical_path_stats_days (hour, node_id, graph_type);
DROP INDEX node_stats_days_by_hour;
CREATE INDEX node_stats_days_by_hour ON node_stats_days (hour, node_id, graph_type);
DROP INDEX node_duration_buckets_days_by_hour;
CREATE INDEX node_duration_buckets_days_by_hour ON node_duration_buckets_days (hour, node_id, bucket, graph_type);
DROP INDEX run_stats_weeks_by_hour;
CREATE INDEX run_stats_weeks_by_hour ON run_stats_weeks (hour, status, graph_type);
DROP INDEX run_buckets_weeks_by_hour;
CREATE INDEX run_buckets_weeks_by_hour ON run_buckets_weeks (hour, measure, bucket, graph_type);
DROP INDEX critical_path_stats_weeks_by_hour;
CREATE INDEX critical_path_stats_weeks_by_hour ON critical_path_stats_weeks (hour, node_id, graph_type);
DROP INDEX node_stats_weeks_by_hour;
CREATE INDEX node_stats_weeks_by_hour ON node_stats_weeks (hour, node_id, graph_type);
DROP INDEX node_duration_buckets_weeks_by_hour;
CREATE INDEX node_duration_buckets_weeks_by_hour ON node_duration_buckets_weeks (hour, node_id, bucket, graph_type);

ALTER TABLE run_stats SET (fillfactor = 50);
ALTER TABLE run_buckets SET (fillfactor = 50);
ALTER TABLE critical_path_stats SET (fillfactor = 50);
ALTER TABLE node_stats SET (fillfactor = 50);
ALTER TABLE node_duration_buckets SET (fillfactor = 50);
ALTER TABLE run_stats_days SET (fillfactor = 50);
ALTER TABLE run_stats_weeks SET (fillfactor = 50);
ALTER TABLE run_buckets_days SET (fillfactor = 50);
ALTER TABLE run_buckets_weeks SET (fillfactor = 50);
ALTER TABLE critical_path_stats_days SET (fillfactor = 50);
ALTER TABLE critical_path_stats_weeks SET (fillfactor = 50);
ALTER TABLE node_stats_days SET (fillfactor = 50);
ALTER TABLE node_stats_weeks SET (fillfactor = 50);
ALTER TABLE node_duration_buckets_days SET (fillfactor = 50);
ALTER TABLE node_duration_buckets_weeks SET (fillfactor = 50);

-- Rewrite each table once, leaving what the old versions took behind.
CLUSTER run_stats USING run_stats_pkey;
CLUSTER run_buckets USING run_buckets_pkey;
CLUSTER critical_path_stats USING critical_path_stats_pkey;
CLUSTER node_stats USING node_stats_pkey;
CLUSTER node_duration_buckets USING node_duration_buckets_pkey;
CLUSTER run_stats_days USING run_stats_days_pkey;
CLUSTER run_stats_weeks USING run_stats_weeks_pkey;
CLUSTER run_buckets_days USING run_buckets_days_pkey;
CLUSTER run_buckets_weeks USING run_buckets_weeks_pkey;
CLUSTER critical_path_stats_days USING critical_path_stats_days_pkey;
CLUSTER critical_path_stats_weeks USING critical_path_stats_weeks_pkey;
CLUSTER node_stats_days USING node_stats_days_pkey;
CLUSTER node_stats_weeks USING node_stats_weeks_pkey;
CLUSTER node_duration_buckets_days USING node_duration_buckets_days_pkey;
CLUSTER node_duration_buckets_weeks USING node_duration_buckets_weeks_pkey;

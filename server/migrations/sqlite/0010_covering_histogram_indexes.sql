-- Statistics filtered by graph type read the hourly histograms through
-- their primary keys; with SQLite's rowid tables every index hit was a
-- second lookup in the table. These indexes hold every column those reads
-- use, so they are read alone (on 515,000 runs: 57 -> 20 ms for the run
-- durations, 32 -> 21 ms for the node types; BENCHMARKS.md).
CREATE INDEX run_buckets_by_type ON run_buckets (graph_type, measure, hour, bucket, count);
CREATE INDEX node_duration_buckets_by_type ON node_duration_buckets (graph_type, hour, node_id, bucket, count);

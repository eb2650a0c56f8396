-- Per node type aggregates, kept up to date on write, so statistics over
-- many runs read a few hundred rows instead of every node event. Keyed by the
-- hour (microseconds / 3.6e9) the run started in, which also makes them a
-- time series and lets retention drop them with the runs.
CREATE TABLE node_stats (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id    TEXT NOT NULL,
    visits     BIGINT NOT NULL,
    failed     BIGINT NOT NULL,
    cached     BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id)
);
CREATE INDEX node_stats_by_hour ON node_stats (hour);

-- Log-scale duration histogram per node type and hour (see app/src/histogram.rs).
CREATE TABLE node_duration_buckets (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id    TEXT NOT NULL,
    bucket     INTEGER NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id, bucket)
);
CREATE INDEX node_duration_buckets_by_hour ON node_duration_buckets (hour);

-- Slow-run queries, slowest first.
CREATE INDEX executions_by_duration ON executions (total_duration_ms DESC)
    WHERE total_duration_ms IS NOT NULL;

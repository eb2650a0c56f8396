-- Per-run aggregates per hour the run started in, graph type and status,
-- kept up to date on write, so run statistics over any window read at most
-- hours x graph types rows instead of every run (#16). Only finished runs
-- are counted here: a running run changes with every batch, and the few runs
-- running at any moment are read directly. The triggers below keep these in
-- step with `executions` whatever writes it (create, complete, revise, OTLP,
-- import, retention); `tracevis check` recounts them from the runs.
--
-- The hour is floor(start_time / 1 h) (`hour_of` in server/src/store/time.rs);
-- duration and parallelism buckets are app::histogram::RUN_SCALE
-- (ceil(ln(v / 0.01) / ln(1.02)), 0 at or below 0.01), whose percentiles are
-- within 1 %.

CREATE TABLE run_stats (
    graph_type    TEXT NOT NULL,
    hour          BIGINT NOT NULL,
    status        TEXT NOT NULL,
    runs          BIGINT NOT NULL,
    nodes         BIGINT NOT NULL,
    cached        BIGINT NOT NULL,
    -- Floats, as the statistics sum them: never an overflow.
    llm_calls     DOUBLE PRECISION NOT NULL,
    tokens        DOUBLE PRECISION NOT NULL,
    parallel_runs BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, status)
);
CREATE INDEX run_stats_by_hour ON run_stats (hour);

-- measure: 'duration' (total_duration_ms) or 'parallelism'.
CREATE TABLE run_buckets (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    measure    TEXT NOT NULL,
    bucket     INTEGER NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (graph_type, hour, measure, bucket)
);
CREATE INDEX run_buckets_by_hour ON run_buckets (hour);

-- Per node type: runs whose critical path went through it, and its ms there.
CREATE TABLE critical_path_stats (
    graph_type TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    node_id    TEXT NOT NULL,
    runs       BIGINT NOT NULL,
    ms         DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (graph_type, hour, node_id)
);
CREATE INDEX critical_path_stats_by_hour ON critical_path_stats (hour);

-- What one run adds to the aggregates: the statistics read runs that the
-- aggregates do not hold (running ones, partial hours at a window's edges,
-- metadata filters) through this view, and `tracevis check` recounts with it.
CREATE VIEW run_contributions AS
SELECT execution_id, graph_type, status, start_time, metadata,
       ((start_time) - ((start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000 AS hour,
       total_nodes AS nodes, cached_nodes AS cached, total_llm_calls AS llm_calls,
       COALESCE(total_tokens, 0) AS tokens, (critical_nodes IS NOT NULL)::INTEGER AS parallel_runs,
       total_duration_ms, CASE WHEN total_duration_ms <= 0.01 THEN 0 ELSE CEIL(LN(total_duration_ms / 0.01::float8) / LN(1.02::float8))::INTEGER END AS duration_bucket,
       parallelism, CASE WHEN parallelism <= 0.01 THEN 0 ELSE CEIL(LN(parallelism / 0.01::float8) / LN(1.02::float8))::INTEGER END AS parallelism_bucket,
       critical_nodes
FROM executions;

-- Runs stored before this migration.
INSERT INTO run_stats (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
SELECT graph_type, hour, status, COUNT(*), SUM(nodes), SUM(cached), SUM(llm_calls), SUM(tokens), SUM(parallel_runs)
FROM run_contributions WHERE status <> 'running'
GROUP BY graph_type, hour, status;
INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
SELECT graph_type, hour, 'duration', duration_bucket, COUNT(*)
FROM run_contributions WHERE status <> 'running' AND total_duration_ms IS NOT NULL
GROUP BY graph_type, hour, duration_bucket;
INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
SELECT graph_type, hour, 'parallelism', parallelism_bucket, COUNT(*)
FROM run_contributions WHERE status <> 'running' AND parallelism IS NOT NULL
GROUP BY graph_type, hour, parallelism_bucket;
INSERT INTO critical_path_stats (graph_type, hour, node_id, runs, ms)
SELECT r.graph_type, r.hour, c->>0, COUNT(*), SUM((c->>1)::float8)
FROM run_contributions r, jsonb_array_elements(r.critical_nodes::jsonb) AS c WHERE r.status <> 'running' AND r.critical_nodes IS NOT NULL
GROUP BY r.graph_type, r.hour, c->>0;

-- Adds (sign 1) or takes away (sign -1) one finished run's share.
CREATE FUNCTION run_stats_apply(r executions, sign INTEGER) RETURNS void AS $$
BEGIN
    IF r.status = 'running' THEN
        RETURN;
    END IF;
    INSERT INTO run_stats (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    VALUES (r.graph_type, ((r.start_time) - ((r.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, r.status, sign, sign * r.total_nodes, sign * r.cached_nodes,
            sign * r.total_llm_calls::FLOAT8, sign * COALESCE(r.total_tokens, 0)::FLOAT8,
            sign * (r.critical_nodes IS NOT NULL)::INTEGER)
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = run_stats.runs + EXCLUDED.runs,
        nodes = run_stats.nodes + EXCLUDED.nodes, cached = run_stats.cached + EXCLUDED.cached,
        llm_calls = run_stats.llm_calls + EXCLUDED.llm_calls, tokens = run_stats.tokens + EXCLUDED.tokens,
        parallel_runs = run_stats.parallel_runs + EXCLUDED.parallel_runs;
    IF r.total_duration_ms IS NOT NULL THEN
        INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
        VALUES (r.graph_type, ((r.start_time) - ((r.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'duration', CASE WHEN r.total_duration_ms <= 0.01 THEN 0 ELSE CEIL(LN(r.total_duration_ms / 0.01::float8) / LN(1.02::float8))::INTEGER END, sign)
        ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = run_buckets.count + EXCLUDED.count;
    END IF;
    IF r.parallelism IS NOT NULL THEN
        INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
        VALUES (r.graph_type, ((r.start_time) - ((r.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'parallelism', CASE WHEN r.parallelism <= 0.01 THEN 0 ELSE CEIL(LN(r.parallelism / 0.01::float8) / LN(1.02::float8))::INTEGER END, sign)
        ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = run_buckets.count + EXCLUDED.count;
    END IF;
    IF r.critical_nodes IS NOT NULL THEN
        INSERT INTO critical_path_stats (graph_type, hour, node_id, runs, ms)
        SELECT r.graph_type, ((r.start_time) - ((r.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, c->>0, sign * COUNT(*), sign * SUM((c->>1)::float8)
        FROM jsonb_array_elements(r.critical_nodes::jsonb) AS c
        GROUP BY c->>0
        ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = critical_path_stats.runs + EXCLUDED.runs,
            ms = critical_path_stats.ms + EXCLUDED.ms;
    END IF;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION run_stats_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM run_stats_apply(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM run_stats_apply(NEW, 1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- A running run counts nowhere here; an update of a finished run (records
-- reaching it, a revision) takes its old share away and adds the new one.
CREATE TRIGGER run_stats_on_insert AFTER INSERT ON executions
FOR EACH ROW WHEN (NEW.status <> 'running') EXECUTE FUNCTION run_stats_trigger();
CREATE TRIGGER run_stats_on_update AFTER UPDATE OF graph_type, status, start_time, total_nodes, cached_nodes, total_llm_calls, total_tokens, total_duration_ms, parallelism, critical_nodes ON executions
FOR EACH ROW WHEN (OLD.status <> 'running' OR NEW.status <> 'running') EXECUTE FUNCTION run_stats_trigger();
CREATE TRIGGER run_stats_on_delete AFTER DELETE ON executions
FOR EACH ROW WHEN (OLD.status <> 'running') EXECUTE FUNCTION run_stats_trigger();

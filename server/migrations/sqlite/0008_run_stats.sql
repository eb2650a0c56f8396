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

-- SQLite as tracevis bundles it has no LN(), so its buckets come from a
-- table of their upper bounds: bucket n holds values in
-- (0.01 * 1.02^(n-1), 0.01 * 1.02^n], bucket 0 everything up to 0.01 — the
-- same buckets as RUN_SCALE (and PostgreSQL's LN() formula) up to rounding
-- at the bounds. 2,500 buckets reach past 10^19 ms.
CREATE TABLE run_bucket_bounds (
    bucket INTEGER PRIMARY KEY,
    upper  REAL NOT NULL
);
INSERT INTO run_bucket_bounds (bucket, upper)
WITH RECURSIVE b (bucket, upper) AS (
    SELECT 0, 0.01 UNION ALL SELECT bucket + 1, upper * 1.02 FROM b WHERE bucket < 2500
)
SELECT bucket, upper FROM b;
CREATE INDEX run_bucket_bounds_by_upper ON run_bucket_bounds (upper);

CREATE TABLE run_stats (
    graph_type    TEXT NOT NULL,
    hour          BIGINT NOT NULL,
    status        TEXT NOT NULL,
    runs          BIGINT NOT NULL,
    nodes         BIGINT NOT NULL,
    cached        BIGINT NOT NULL,
    -- Floats, as the statistics sum them: never an overflow.
    llm_calls     REAL NOT NULL,
    tokens        REAL NOT NULL,
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
    ms         REAL NOT NULL,
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
       COALESCE(total_tokens, 0) AS tokens, (critical_nodes IS NOT NULL) AS parallel_runs,
       total_duration_ms, COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= total_duration_ms ORDER BY upper LIMIT 1), 2500) AS duration_bucket,
       parallelism, COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= parallelism ORDER BY upper LIMIT 1), 2500) AS parallelism_bucket,
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
SELECT r.graph_type, r.hour, json_extract(c.value, '$[0]'), COUNT(*), TOTAL(json_extract(c.value, '$[1]'))
FROM run_contributions r, json_each(r.critical_nodes) AS c WHERE r.status <> 'running' AND r.critical_nodes IS NOT NULL
GROUP BY r.graph_type, r.hour, json_extract(c.value, '$[0]');

-- A running run counts nowhere here; an update of a finished run (records
-- reaching it, a revision) takes its old share away and adds the new one.
CREATE TRIGGER run_stats_on_insert AFTER INSERT ON executions
WHEN new.status <> 'running'
BEGIN
    INSERT INTO run_stats (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT new.graph_type, ((new.start_time) - ((new.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, new.status, 1, new.total_nodes, new.cached_nodes,
           new.total_llm_calls, COALESCE(new.total_tokens, 0), (new.critical_nodes IS NOT NULL)
    WHERE new.status <> 'running'
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs,
        nodes = nodes + excluded.nodes, cached = cached + excluded.cached,
        llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens,
        parallel_runs = parallel_runs + excluded.parallel_runs;
    INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
    SELECT new.graph_type, ((new.start_time) - ((new.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'duration', COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= new.total_duration_ms ORDER BY upper LIMIT 1), 2500), 1
    WHERE new.status <> 'running' AND new.total_duration_ms IS NOT NULL
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
    SELECT new.graph_type, ((new.start_time) - ((new.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'parallelism', COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= new.parallelism ORDER BY upper LIMIT 1), 2500), 1
    WHERE new.status <> 'running' AND new.parallelism IS NOT NULL
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO critical_path_stats (graph_type, hour, node_id, runs, ms)
    SELECT new.graph_type, ((new.start_time) - ((new.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, json_extract(c.value, '$[0]'), COUNT(*), TOTAL(json_extract(c.value, '$[1]'))
    FROM json_each(new.critical_nodes) AS c
    WHERE new.status <> 'running' AND new.critical_nodes IS NOT NULL
    GROUP BY json_extract(c.value, '$[0]')
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
END;

CREATE TRIGGER run_stats_on_update AFTER UPDATE OF graph_type, status, start_time, total_nodes, cached_nodes, total_llm_calls, total_tokens, total_duration_ms, parallelism, critical_nodes ON executions
WHEN old.status <> 'running' OR new.status <> 'running'
BEGIN
    INSERT INTO run_stats (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT old.graph_type, ((old.start_time) - ((old.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, old.status, -1, -old.total_nodes, -old.cached_nodes,
           -old.total_llm_calls, -COALESCE(old.total_tokens, 0), -(old.critical_nodes IS NOT NULL)
    WHERE old.status <> 'running'
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs,
        nodes = nodes + excluded.nodes, cached = cached + excluded.cached,
        llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens,
        parallel_runs = parallel_runs + excluded.parallel_runs;
    INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
    SELECT old.graph_type, ((old.start_time) - ((old.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'duration', COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= old.total_duration_ms ORDER BY upper LIMIT 1), 2500), -1
    WHERE old.status <> 'running' AND old.total_duration_ms IS NOT NULL
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
    SELECT old.graph_type, ((old.start_time) - ((old.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'parallelism', COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= old.parallelism ORDER BY upper LIMIT 1), 2500), -1
    WHERE old.status <> 'running' AND old.parallelism IS NOT NULL
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO critical_path_stats (graph_type, hour, node_id, runs, ms)
    SELECT old.graph_type, ((old.start_time) - ((old.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, json_extract(c.value, '$[0]'), -COUNT(*), -TOTAL(json_extract(c.value, '$[1]'))
    FROM json_each(old.critical_nodes) AS c
    WHERE old.status <> 'running' AND old.critical_nodes IS NOT NULL
    GROUP BY json_extract(c.value, '$[0]')
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
    INSERT INTO run_stats (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT new.graph_type, ((new.start_time) - ((new.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, new.status, 1, new.total_nodes, new.cached_nodes,
           new.total_llm_calls, COALESCE(new.total_tokens, 0), (new.critical_nodes IS NOT NULL)
    WHERE new.status <> 'running'
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs,
        nodes = nodes + excluded.nodes, cached = cached + excluded.cached,
        llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens,
        parallel_runs = parallel_runs + excluded.parallel_runs;
    INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
    SELECT new.graph_type, ((new.start_time) - ((new.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'duration', COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= new.total_duration_ms ORDER BY upper LIMIT 1), 2500), 1
    WHERE new.status <> 'running' AND new.total_duration_ms IS NOT NULL
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
    SELECT new.graph_type, ((new.start_time) - ((new.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'parallelism', COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= new.parallelism ORDER BY upper LIMIT 1), 2500), 1
    WHERE new.status <> 'running' AND new.parallelism IS NOT NULL
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO critical_path_stats (graph_type, hour, node_id, runs, ms)
    SELECT new.graph_type, ((new.start_time) - ((new.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, json_extract(c.value, '$[0]'), COUNT(*), TOTAL(json_extract(c.value, '$[1]'))
    FROM json_each(new.critical_nodes) AS c
    WHERE new.status <> 'running' AND new.critical_nodes IS NOT NULL
    GROUP BY json_extract(c.value, '$[0]')
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
END;

CREATE TRIGGER run_stats_on_delete AFTER DELETE ON executions
WHEN old.status <> 'running'
BEGIN
    INSERT INTO run_stats (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs)
    SELECT old.graph_type, ((old.start_time) - ((old.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, old.status, -1, -old.total_nodes, -old.cached_nodes,
           -old.total_llm_calls, -COALESCE(old.total_tokens, 0), -(old.critical_nodes IS NOT NULL)
    WHERE old.status <> 'running'
    ON CONFLICT (graph_type, hour, status) DO UPDATE SET runs = runs + excluded.runs,
        nodes = nodes + excluded.nodes, cached = cached + excluded.cached,
        llm_calls = llm_calls + excluded.llm_calls, tokens = tokens + excluded.tokens,
        parallel_runs = parallel_runs + excluded.parallel_runs;
    INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
    SELECT old.graph_type, ((old.start_time) - ((old.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'duration', COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= old.total_duration_ms ORDER BY upper LIMIT 1), 2500), -1
    WHERE old.status <> 'running' AND old.total_duration_ms IS NOT NULL
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO run_buckets (graph_type, hour, measure, bucket, count)
    SELECT old.graph_type, ((old.start_time) - ((old.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, 'parallelism', COALESCE((SELECT bucket FROM run_bucket_bounds WHERE upper >= old.parallelism ORDER BY upper LIMIT 1), 2500), -1
    WHERE old.status <> 'running' AND old.parallelism IS NOT NULL
    ON CONFLICT (graph_type, hour, measure, bucket) DO UPDATE SET count = count + excluded.count;
    INSERT INTO critical_path_stats (graph_type, hour, node_id, runs, ms)
    SELECT old.graph_type, ((old.start_time) - ((old.start_time) % 3600000000 + 3600000000) % 3600000000) / 3600000000, json_extract(c.value, '$[0]'), -COUNT(*), -TOTAL(json_extract(c.value, '$[1]'))
    FROM json_each(old.critical_nodes) AS c
    WHERE old.status <> 'running' AND old.critical_nodes IS NOT NULL
    GROUP BY json_extract(c.value, '$[0]')
    ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET runs = runs + excluded.runs, ms = ms + excluded.ms;
END;

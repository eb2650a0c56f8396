-- Statistics over a time window read the hourly histograms by hour; like
-- the graph-type indexes of 0010, these hold every column those reads use
-- (retention's `hour < cutoff` uses them too).
DROP INDEX run_buckets_by_hour;
CREATE INDEX run_buckets_by_hour ON run_buckets (hour, measure, bucket, count);
DROP INDEX node_duration_buckets_by_hour;
CREATE INDEX node_duration_buckets_by_hour ON node_duration_buckets (hour, node_id, bucket, count);

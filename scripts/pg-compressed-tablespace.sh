#!/usr/bin/env bash
# A PostgreSQL database whose files live on a zstd-compressed btrfs
# filesystem, for benchmarks at a scale the disk would not otherwise hold
# (#16: ten million small runs take about 92 GB on PostgreSQL uncompressed;
# BENCHMARKS.md). Not used by the tests or CI.
#
#   scripts/pg-compressed-tablespace.sh create DBNAME [SIZE]   # SIZE: 150G
#   scripts/pg-compressed-tablespace.sh remove DBNAME
#
# `create` makes a sparse image file (it takes disk only as data is
# written, compressed), formats it btrfs, mounts it with
# `compress-force=zstd:1`, creates a tablespace on it and the database in
# that tablespace, and prints the database URL. Every table tracevis's
# migrations create there goes to the compressed filesystem; the
# write-ahead log stays where the server keeps it. Run as root, on the
# machine PostgreSQL runs on (psql connects as `postgres` on
# 127.0.0.1:5432 unless PGHOST / PGUSER / PGPORT say otherwise).
# `compsize MOUNT` (Debian's btrfs-compsize) shows the compressed size.
#
# Compression ratios depend on the data: the bench's generated runs repeat
# the same payloads and compress far better than a real team's runs would.
set -euo pipefail

usage() { echo "usage: $0 create DBNAME [SIZE] | remove DBNAME" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1 db=$2 size=${3:-150G}
case "$db" in *[!a-z0-9_]*) echo "DBNAME: lowercase letters, digits and _ only" >&2; exit 2 ;; esac

image=${TRACEVIS_PGZ_IMAGE:-/var/tmp/tracevis-pgz-$db.img}
mount_point=/mnt/tracevis-pgz-$db
tablespace=tracevis_pgz_$db
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres} PGPORT=${PGPORT:-5432}
sql() { psql -v ON_ERROR_STOP=1 -qAt -d postgres -c "$1"; }

case "$action" in
create)
  if ! command -v mkfs.btrfs >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq btrfs-progs >/dev/null
  fi
  if ! mountpoint -q "$mount_point"; then
    [ -f "$image" ] || { truncate -s "$size" "$image"; mkfs.btrfs -q "$image" >/dev/null; }
    mkdir -p "$mount_point"
    # discard=async gives deleted space back to the disk the image is on.
    mount -o loop,compress-force=zstd:1,noatime,discard=async "$image" "$mount_point"
  fi
  mkdir -p "$mount_point/ts"
  chown postgres:postgres "$mount_point/ts"
  if [ -z "$(sql "SELECT 1 FROM pg_tablespace WHERE spcname = '$tablespace'")" ]; then
    sql "CREATE TABLESPACE $tablespace LOCATION '$mount_point/ts'"
  fi
  if [ -z "$(sql "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    sql "CREATE DATABASE $db TABLESPACE $tablespace"
  fi
  echo "postgres://$PGUSER@$PGHOST:$PGPORT/$db"
  ;;
remove)
  sql "DROP DATABASE IF EXISTS $db"
  sql "DROP TABLESPACE IF EXISTS $tablespace"
  if mountpoint -q "$mount_point"; then umount "$mount_point"; fi
  rm -f "$image"
  rmdir "$mount_point" 2>/dev/null || true
  ;;
*) usage ;;
esac

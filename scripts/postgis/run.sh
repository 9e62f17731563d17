#!/bin/sh
# Side-by-side timing of the DuckDB floor, `databaker bake` and PostGIS on
# the same synthetic data. internal/pgtest starts a throwaway PostgreSQL 15 +
# PostGIS cluster (initdb in a temp dir, as user postgres when run as root)
# and removes it afterwards. Needs: apt-get install -y postgresql-15
# postgresql-15-postgis-3, and npm ci --prefix internal/bake/testdata/duckfloor
#
# Usage: scripts/postgis/run.sh [100k|1M|10M]   (default 1M; 10M takes ~15 min)
set -eu
size=${1:-1M}
cd "$(dirname "$0")/../.."
exec go test ./internal/bake -run '^$' -bench "^BenchmarkBakeVsPostGIS\$/^addresses=${size}\$" -benchtime 1x -timeout 90m

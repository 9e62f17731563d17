#!/bin/sh
# Side-by-side timing of `databaker bake` and PostGIS on the same synthetic
# data. internal/pgtest starts a throwaway PostgreSQL 15 + PostGIS cluster
# (initdb in a temp dir, as user postgres when run as root) and removes it
# afterwards. Needs: apt-get install -y postgresql-15 postgresql-15-postgis-3
#
# Usage: scripts/postgis/run.sh [100k|1M]   (default 1M)
set -eu
size=${1:-1M}
cd "$(dirname "$0")/../.."
exec go test ./internal/bake -run '^$' -bench "BakeVsPostGIS/addresses=${size}\$" -benchtime 1x -timeout 60m

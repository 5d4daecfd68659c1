#!/bin/sh
# Nightly: an online backup of the database, then a restore of it into a scratch database,
# checked (see docs/operations.md). Keeps two weeks of backups. Exits non-zero, so cron
# mails the error, when either step fails.
#
#   scripts/backup-and-check.sh DIRECTORY
#
# Runs with the same environment as the app (EXCHANGE_DATABASE_URL, ...); EXCHANGE is
# the `exchange` command to use (default: the one on the PATH).
set -eu

dir=${1:?usage: backup-and-check.sh DIRECTORY}
exchange=${EXCHANGE:-exchange}
file="$dir/exchange-$(date -u +%Y%m%dT%H%M%SZ).backup"

mkdir -p "$dir"
"$exchange" backup "$file"
"$exchange" restore-check "$file"
find "$dir" -name 'exchange-*.backup' -mtime +14 -delete

#!/usr/bin/env bash
# Run the whole suite on SQLite, then again on a throw-away PostgreSQL cluster.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0

echo "== ruff =="
$BIN/ruff check . || status=1

echo "== Test run 1 of 2: SQLite (embedded default) =="
env -u TEST_DATABASE_URL $BIN/pytest "$@"
result=$?
[ $result -eq 0 ] || status=1

echo "== Test run 2 of 2: PostgreSQL (throw-away cluster) =="
# The browser journeys drive pages whose database work the rest of the suite covers on
# PostgreSQL too; they run once, on SQLite, to keep CI within its time.
scripts/with-postgres.sh $BIN/pytest -m "not e2e" "$@"
result=$?
[ $result -eq 0 ] || status=1

if [ $status -eq 0 ]; then
  echo "== All checks passed on SQLite and PostgreSQL =="
else
  echo "== Some checks FAILED (see above) ==" >&2
fi
exit $status

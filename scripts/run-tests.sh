#!/usr/bin/env bash
# Run the whole suite on SQLite and, at the same time, on a throw-away PostgreSQL cluster.
#
# The two runs share nothing but the instance folder's keys, which are made first; each
# run's output is kept apart and shown whole when it ends, SQLite first.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

echo "== ruff =="
$BIN/ruff check . || status=1

# Keys the development settings keep in instance/ (secret key, demo provider key): made
# once here, so two runs starting together never race to write them.
$BIN/python -c "from portal import create_app; create_app()" || status=1

# Three runs share the two cores: the suite on SQLite, the browser tests (also on
# SQLite, in a process of their own so that no core idles while one run is still going),
# and, on PostgreSQL, every test that uses a database. The browser journeys drive pages
# whose database work the rest of the suite covers on PostgreSQL too; they run once.
env -u TEST_DATABASE_URL $BIN/pytest -m "not e2e" "$@" >"$logs/sqlite.log" 2>&1 &
sqlite_run=$!
env -u TEST_DATABASE_URL $BIN/pytest -m e2e "$@" >"$logs/browser.log" 2>&1 &
browser_run=$!
scripts/with-postgres.sh $BIN/pytest -m "not e2e" "$@" >"$logs/postgresql.log" 2>&1 &
postgresql_run=$!

wait $sqlite_run
sqlite_result=$?
echo "== Test run 1 of 3: SQLite (embedded default) =="
cat "$logs/sqlite.log"
[ $sqlite_result -eq 0 ] || status=1

wait $browser_run
browser_result=$?
echo "== Test run 2 of 3: browser tests in Chromium (SQLite) =="
cat "$logs/browser.log"
[ $browser_result -eq 0 ] || status=1

wait $postgresql_run
postgresql_result=$?
echo "== Test run 3 of 3: PostgreSQL (throw-away cluster) =="
cat "$logs/postgresql.log"
[ $postgresql_result -eq 0 ] || status=1

if [ $status -eq 0 ]; then
  echo "== All checks passed on SQLite and PostgreSQL =="
else
  echo "== Some checks FAILED (see above) ==" >&2
fi
exit $status

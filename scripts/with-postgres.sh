#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster in a temporary folder on a free private port,
# run the given command with TEST_DATABASE_URL pointing at it, then remove the cluster.
set -euo pipefail

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ]; then
  echo "PostgreSQL server binaries not found; install the Debian package 'postgresql'." >&2
  exit 1
fi

cluster=$(mktemp -d /tmp/madoguchi-pg.XXXXXX)
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root; Debian's package creates the postgres user.
  chown postgres:postgres "$cluster"
  run_as=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop_cluster() {
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop_cluster EXIT

"${run_as[@]}" "$pg_bin/initdb" -D "$cluster/data" -U madoguchi --auth=trust -E UTF8 \
  --locale=C.UTF-8 >/dev/null
"${run_as[@]}" "$pg_bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w \
  -o "-p $port -k $cluster -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port"

export TEST_DATABASE_URL="postgresql+psycopg://madoguchi@127.0.0.1:$port/postgres"
# Fault tests restart the server through these.
export MADOGUCHI_TEST_PG_CTL="${run_as[*]} $pg_bin/pg_ctl -D $cluster/data -l $cluster/server.log"
"$@"

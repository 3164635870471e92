#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests and benchmarks.
#
#   tests/env/pg.sh start STATE_DIR   initdb + start on a free loopback port; writes
#                                     STATE_DIR/url (postgresql://quack:<pw>@127.0.0.1:<port>/postgres)
#                                     and prints it
#   tests/env/pg.sh stop STATE_DIR    stops the cluster and removes its files
#
# The cluster lives in a fresh directory under $TMPDIR (the state dir only points at it), so a
# build tree on a slow or shared disk does not matter. PostgreSQL refuses to run as root, and CI
# runs as root: then the directory is given to the `postgres` system user (Debian's package
# creates it; `nobody` as a fallback) and every server command runs through runuser.
# Durability is switched off (fsync, synchronous_commit, full_page_writes): the data is thrown
# away, and the tests measure behaviour, not disk flushes.
#
# QUACK_TEST_PG=off makes `start` do nothing (tests then skip); otherwise a failure to start
# exits non-zero with the server log on stderr, so the tests that need the cluster fail.
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [[ -z $cmd || -z $state ]]; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi

bindir=${QUACK_PG_BINDIR:-}
if [[ -z $bindir ]]; then
  for v in 15 16 17; do
    if [[ -x /usr/lib/postgresql/$v/bin/initdb ]]; then bindir=/usr/lib/postgresql/$v/bin; break; fi
  done
fi

as_owner() { # runs "$@" as the cluster's owner
  if [[ $(id -u) -eq 0 ]]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

do_stop() {
  [[ -f $state/dir ]] || return 0
  local dir
  dir=$(cat "$state/dir")
  owner=$(stat -c %U "$dir" 2>/dev/null || echo root)
  if [[ -d $dir/data ]]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  rm -f "$state/dir" "$state/url"
}

case $cmd in
stop)
  do_stop
  ;;
start)
  mkdir -p "$state"
  do_stop # a cluster left behind by an interrupted run
  if [[ ${QUACK_TEST_PG:-} == off ]]; then
    echo "pg.sh: QUACK_TEST_PG=off, not starting PostgreSQL" >&2
    exit 0
  fi
  if [[ -z $bindir ]]; then
    echo "pg.sh: PostgreSQL server binaries not found (run scripts/install-deps.sh)" >&2
    exit 1
  fi
  owner=$(id -un)
  if [[ $(id -u) -eq 0 ]]; then
    owner=postgres
    getent passwd postgres >/dev/null || owner=nobody
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/quack-pg-XXXXXX")
  echo "$dir" >"$state/dir"
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/pwfile"
  chmod 700 "$dir"
  chmod 600 "$dir/pwfile"
  [[ $(id -u) -eq 0 ]] && chown -R "$owner" "$dir"
  # Sockets in the cluster's own directory only; loopback TCP with SCRAM passwords (so the
  # adapter's wrong-credentials path is tested for real), local socket trusted for pg_ctl.
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U quack --pwfile="$dir/pwfile" \
      --auth-host=scram-sha-256 --auth-local=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    echo "pg.sh: initdb failed" >&2
    exit 1
  fi
  started=0
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    ss -Htln "sport = :$port" 2>/dev/null | grep -q . && continue
    # 200 connections: pools of the parallel test processes and the 8-process queue test.
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
            -c max_connections=200 -c shared_buffers=32MB -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off" start >/dev/null 2>&1; then
      started=1
      break
    fi
    # the port was taken between the check and the bind: try another one
  done
  if [[ $started -ne 1 ]]; then
    cat "$dir/server.log" >&2 2>/dev/null || true
    echo "pg.sh: PostgreSQL did not start" >&2
    exit 1
  fi
  url="postgresql://quack:$password@127.0.0.1:$port/postgres"
  printf '%s\n' "$url" >"$state/url"
  chmod 600 "$state/url"
  echo "$url"
  ;;
*)
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
  ;;
esac

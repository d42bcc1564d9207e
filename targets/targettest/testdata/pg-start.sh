#!/bin/sh
# Start a throwaway PostgreSQL cluster for tests (targettest.PostgreSQL).
#
# usage: pg-start.sh DIR PORT [BINDIR]
#   DIR     an empty directory; the cluster goes in DIR/data, the log in
#           DIR/pg.log and the unix socket in DIR itself
#   PORT    the TCP port to listen on, on 127.0.0.1 only
#   BINDIR  the PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#
# Prints the postmaster's PID on stdout. When run as root, initdb and the
# server run as the OS user postgres (they refuse to run as root) and DIR is
# handed to that user. Trust authentication, fsync off: for tests only.
# Connect: postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
# Stop:    kill -INT PID   (or pg_ctl -D DIR/data stop -m fast)
set -eu
DIR=$1
PORT=$2
BIN=${3:-/usr/lib/postgresql/15/bin}
mkdir -p "$DIR"
RUN=""
if [ "$(id -u)" = 0 ]; then
	chown postgres:postgres "$DIR"
	chmod 700 "$DIR"
	RUN="runuser -u postgres --"
fi
if ! $RUN "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1; then
	cat "$DIR/initdb.log" >&2
	exit 1
fi
if ! $RUN "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/pg.log" -w -t 60 \
	-o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
	start >/dev/null; then
	cat "$DIR/pg.log" >&2 || true
	exit 1
fi
head -1 "$DIR/data/postmaster.pid"

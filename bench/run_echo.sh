#!/bin/bash
# TCP echo round trips per second: tulip, a hand-written epoll server and
# libuv, each on one core, against the same load generator
# (bench/echo_client) on another core. 64-byte ping-pong, 100 connections,
# 5 seconds each, 127.0.0.1 only. Prints figures; never fails on slowness.
#
#   bench/run_echo.sh [--csv] [--secs N] [--conns N] [--size N] BUILD_DIR
#
# BUILD_DIR is a configured and built CMake build (its bench/ holds
# echo_client, echo_tulip, echo_epoll, echo_uv); nothing is built here.
# --csv prints "echo,<impl>,<msgs_per_sec>" lines instead of the table.
set -u
CSV=0 SECS=5 CONNS=100 SIZE=64 BUILD=""
while [ $# -gt 0 ]; do
    case "$1" in
    --csv) CSV=1 ;;
    --secs) shift; SECS=$1 ;;
    --conns) shift; CONNS=$1 ;;
    --size) shift; SIZE=$1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) BUILD=$1 ;;
    esac
    shift
done
[ -n "$BUILD" ] || { echo "usage: $0 [--csv] BUILD_DIR" >&2; exit 2; }
B=$BUILD/bench
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
[ "$(nproc)" -ge 2 ] || CLIENT_CPU=$SERVER_CPU
PORT=$((18100 + RANDOM % 50))
PID=""

stop() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
        PID=""
    fi
}
trap stop EXIT

measure() { # NAME PROGRAM
    local name=$1 prog=$2 rate=""
    if [ ! -x "$prog" ]; then
        echo "run_echo: $prog not built: $name skipped" >&2
    else
        PORT=$((PORT + 1))
        taskset -c "$SERVER_CPU" "$prog" "$PORT" >/dev/null 2>&1 &
        PID=$!
        rate=$(taskset -c "$CLIENT_CPU" "$B/echo_client" 127.0.0.1 "$PORT" "$CONNS" "$SIZE" "$SECS" |
            awk -F, '$1 == "msgs_per_sec" { print $2 }')
        stop
    fi
    [ -n "$rate" ] || rate=TODO
    if [ $CSV = 1 ]; then
        echo "echo,$name,$rate"
    else
        printf '%-8s %12s\n' "$name" "$rate"
    fi
    eval "RATE_$name=$rate"
}

[ $CSV = 1 ] || printf 'TCP echo, %d connections, %d-byte ping-pong, %ss each; server on CPU %s, client on CPU %s\n%-8s %12s\n' \
    "$CONNS" "$SIZE" "$SECS" "$SERVER_CPU" "$CLIENT_CPU" server msgs/s
measure tulip "$B/echo_tulip"
measure epoll "$B/echo_epoll"
measure libuv "$B/echo_uv"
if [ $CSV = 0 ]; then
    awk -v t="$RATE_tulip" -v e="$RATE_epoll" -v u="$RATE_libuv" 'BEGIN {
        if (t + 0 > 0 && e + 0 > 0) printf "tulip / epoll  %.2f\n", t / e
        if (t + 0 > 0 && u + 0 > 0) printf "tulip / libuv  %.2f\n", t / u
    }'
fi
exit 0

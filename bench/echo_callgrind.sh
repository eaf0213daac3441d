#!/bin/bash
# User-space instructions per echoed message of each echo server, counted
# by callgrind while bench/echo_client offers a fixed load: the part of a
# server's CPU that is its own code (runtime, event loop, liburing), which
# load-independent counts can compare before/after a change. Kernel work
# (TCP, io_uring, system calls) is not counted; see echo_profile.sh for
# it. Prints Ir/message per server and, with --top N, each server's N
# costliest functions (inclusive of nothing: self cost). Prints figures;
# never fails on them. Wrap in `flock /work/bench.lock` on a shared machine.
#
#   bench/echo_callgrind.sh [--rate N] [--secs N] [--top N] BUILD_DIR [SERVER ...]
#
# SERVER: a name of bench/echo_servers.sh (epoll, uring_raw, tulip_uring, ...);
# default: uring_raw tulip_uring epoll. --rate defaults to 2000 msgs/s (the
# server runs ~50x slower under valgrind and must keep up).
set -u
RATE=2000 SECS=4 TOP=0 BUILD=""
SERVERS=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rate) shift; RATE=$1 ;;
    --secs) shift; SECS=$1 ;;
    --top) shift; TOP=$1 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) if [ -z "$BUILD" ]; then BUILD=$1; else SERVERS="$SERVERS $1"; fi ;;
    esac
    shift
done
[ -n "$BUILD" ] || { echo "usage: $0 [--rate N] [--secs N] [--top N] BUILD_DIR [SERVER ...]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "echo_callgrind: valgrind not found" >&2; exit 0; }
[ -n "$SERVERS" ] || SERVERS="uring_raw tulip_uring epoll"
B=$BUILD/bench
PORT=$((18900 + RANDOM % 50))
TMP=$(mktemp -d)
PID=""
stop() { [ -n "$PID" ] && { kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; }; }
trap 'stop; rm -rf "$TMP"' EXIT
up() { for _ in $(seq 200); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
. "$(dirname "$0")/echo_servers.sh"

echo "user-space instructions per message at $RATE msgs/s offered, 100 connections, 64 B, ${SECS}s under callgrind; load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $SERVERS; do
    prog=$(echo_prog "$B" "$s")
    [ -x "$prog" ] || { echo "$s: not built"; continue; }
    PORT=$((PORT + 1))
    # The connection set-up counts too; it is small beside RATE*SECS messages.
    env $(echo_env "$s") taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$TMP/$s.out" "$prog" "$PORT" \
        >/dev/null 2>&1 &
    PID=$!
    up $PORT || { echo "$s did not start"; stop; continue; }
    out=$(taskset -c 1 "$B/echo_client" 127.0.0.1 "$PORT" 100 64 "$SECS" uring "$RATE")
    # Under valgrind a signal waits for the blocking system call to return,
    # and tulip takes SIGTERM through a signalfd valgrind does not serve:
    # ask callgrind for a dump instead (it acts on it when the server runs,
    # so a few connections wake it), then kill the server.
    timeout 30 callgrind_control -d "$PID" >/dev/null 2>&1 &
    for _ in $(seq 100); do
        [ -s "$TMP/$s.out.1" ] && break
        (echo x >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
        sleep 0.2
    done
    sleep 0.5 # the dump is written in one go, but let it finish
    stop
    wait
    mv "$TMP/$s.out.1" "$TMP/$s.out" 2>/dev/null
    msgs=$(echo "$out" | awk -F, '$1 == "msgs" { print $2 }')
    ir=$(callgrind_annotate "$TMP/$s.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    echo "$s: $msgs msgs, $(awk -v i="$ir" -v m="$msgs" 'BEGIN { printf "%.0f", i / m }') Ir/msg"
    if [ "$TOP" -gt 0 ]; then
        callgrind_annotate "$TMP/$s.out" 2>/dev/null | awk -v m="$msgs" -v top="$TOP" '
            /file:function/ { on = 1; next }
            on && NF >= 2 && n < top { v = $1; gsub(",", "", v); if (v + 0 == 0) next
                $1 = ""; $2 = $2; printf "  %7.0f  %s\n", v / m, $0; n++ }'
    fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/bin/bash
# TCP echo: tulip (on epoll and on io_uring), a hand-written epoll server
# and libuv, each on one core, against the same load generator
# (bench/echo_client) on another core. 64-byte ping-pong, 100 connections,
# 127.0.0.1 only. Two figures per server:
#   peak   round trips per second, closed loop, with the batched io_uring
#          client (it spends ~1/3 of the CPU per message an epoll client
#          does, so it is not the ceiling) - or the epoll client without
#          liburing;
#   cpu    the server's CPU microseconds per message (utime+stime from
#          /proc/PID/stat) at a fixed offered load (--rate, monoio's
#          method): the same work, so the cheaper server wins.
# Prints figures; never fails on slowness.
#
#   bench/run_echo.sh [--csv] [--secs N] [--conns N] [--size N] [--rate N] BUILD_DIR
#
# BUILD_DIR is a configured and built CMake build (its bench/ holds
# echo_client, echo_tulip, echo_epoll, echo_uv); nothing is built here.
# --csv prints "echo,<impl>,<msgs_per_sec>" and
# "echo_cpu,<impl>,<server_us_per_msg>" lines instead of the table.
set -u
CSV=0 SECS=5 CONNS=100 SIZE=64 RATE=20000 BUILD=""
while [ $# -gt 0 ]; do
    case "$1" in
    --csv) CSV=1 ;;
    --secs) shift; SECS=$1 ;;
    --conns) shift; CONNS=$1 ;;
    --size) shift; SIZE=$1 ;;
    --rate) shift; RATE=$1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
TCK=$(getconf CLK_TCK)
MODE=uring
"$B/echo_client" 127.0.0.1 1 1 64 1 uring 2>&1 | grep -q "built without liburing" && MODE=epoll

stop() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
        PID=""
    fi
}
trap stop EXIT

cpu_ticks() { # PID -> utime+stime in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null
}

measure() { # NAME PROGRAM [ENV=VALUE]
    local name=$1 prog=$2 envv=${3:-} rate="" us=""
    if [ ! -x "$prog" ]; then
        echo "run_echo: $prog not built: $name skipped" >&2
    else
        PORT=$((PORT + 1))
        env $envv taskset -c "$SERVER_CPU" "$prog" "$PORT" >/dev/null 2>&1 &
        PID=$!
        rate=$(taskset -c "$CLIENT_CPU" "$B/echo_client" 127.0.0.1 "$PORT" "$CONNS" "$SIZE" "$SECS" $MODE |
            awk -F, '$1 == "msgs_per_sec" { print $2 }')
        local c0 out c1 msgs
        c0=$(cpu_ticks $PID)
        out=$(taskset -c "$CLIENT_CPU" "$B/echo_client" 127.0.0.1 "$PORT" "$CONNS" "$SIZE" "$SECS" $MODE "$RATE")
        c1=$(cpu_ticks $PID)
        msgs=$(echo "$out" | awk -F, '$1 == "msgs" { print $2 }')
        [ -n "$c0" ] && [ -n "$c1" ] && [ -n "$msgs" ] && [ "$msgs" -gt 0 ] &&
            us=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v m="$msgs" 'BEGIN { printf "%.2f", (b - a) * 1e6 / t / m }')
        stop
    fi
    [ -n "$rate" ] || rate=TODO
    [ -n "$us" ] || us=TODO
    if [ $CSV = 1 ]; then
        echo "echo,$name,$rate"
        echo "echo_cpu,$name,$us"
    else
        printf '%-12s %12s %14s\n' "$name" "$rate" "$us"
    fi
    eval "RATE_$name=$rate"
    eval "US_$name=$us"
}

[ $CSV = 1 ] || printf 'TCP echo, %d connections, %d-byte ping-pong, %ss each, %s client; server on CPU %s, client on CPU %s\n%-12s %12s %14s\n' \
    "$CONNS" "$SIZE" "$SECS" "$MODE" "$SERVER_CPU" "$CLIENT_CPU" server "peak msgs/s" "us/msg@$RATE"
measure tulip "$B/echo_tulip" TULIP_BACKEND=epoll
measure tulip_uring "$B/echo_tulip" TULIP_BACKEND=io_uring
# io_uring with one-shot recv per read instead of the multishot recv
measure tulip_uring1 "$B/echo_tulip" "TULIP_BACKEND=io_uring TULIP_URING_MULTISHOT=0"
measure epoll "$B/echo_epoll"
measure libuv "$B/echo_uv"
if [ $CSV = 0 ]; then
    awk -v t="$RATE_tulip" -v r="$RATE_tulip_uring" -v e="$RATE_epoll" -v u="$RATE_libuv" \
        -v tc="$US_tulip" -v rc="$US_tulip_uring" -v ec="$US_epoll" -v uc="$US_libuv" \
        -v o="$RATE_tulip_uring1" -v oc="$US_tulip_uring1" 'BEGIN {
        if (t + 0 > 0 && e + 0 > 0) printf "peak  tulip / epoll         %.2f\n", t / e
        if (t + 0 > 0 && u + 0 > 0) printf "peak  tulip / libuv         %.2f\n", t / u
        if (r + 0 > 0 && e + 0 > 0) printf "peak  tulip_uring / epoll   %.2f\n", r / e
        if (r + 0 > 0 && u + 0 > 0) printf "peak  tulip_uring / libuv   %.2f\n", r / u
        if (r + 0 > 0 && o + 0 > 0) printf "peak  multishot / one-shot  %.2f\n", r / o
        if (tc + 0 > 0 && ec + 0 > 0) printf "cpu   tulip / epoll         %.2f\n", tc / ec
        if (rc + 0 > 0 && ec + 0 > 0) printf "cpu   tulip_uring / epoll   %.2f\n", rc / ec
        if (rc + 0 > 0 && uc + 0 > 0) printf "cpu   tulip_uring / libuv   %.2f\n", rc / uc
        if (rc + 0 > 0 && oc + 0 > 0) printf "cpu   multishot / one-shot  %.2f\n", rc / oc
    }'
fi
exit 0

#!/bin/bash
# TCP echo: tulip (on epoll and on io_uring), a hand-written epoll server,
# a hand-written io_uring server and libuv, each on one core, against the
# same load generator (bench/echo_client) on another core. 64-byte
# ping-pong, 100 connections, 127.0.0.1 only. Two figures per server:
#   peak   round trips per second, closed loop, with the batched io_uring
#          client (it spends ~1/3 of the CPU per message an epoll client
#          does, so it is not the ceiling) - or the epoll client without
#          liburing;
#   cpu    the server's CPU microseconds per message at a fixed offered
#          load (--rate, monoio's method): the same work, so the cheaper
#          server wins. CPU is the scheduler's own count of the server's
#          run time (/proc/PID/schedstat, ns), not utime+stime, which this
#          kernel samples at 250 Hz ticks;
#   client the client's own CPU microseconds per message in that paced
#          run: a server that spins before it sleeps must not raise it
#          (SERVER_CPU=0 CLIENT_CPU=0 puts both on one CPU to see that).
# echo_uring (bench/echo_uring.c) is the floor for any io_uring server:
# one submit-and-wait per turn, multishot recv, sends straight from the
# provided buffers, no runtime. --rounds N runs every server N times,
# taking turns, and prints medians (the ratios are medians of each
# round's ratio). Prints figures; never fails on slowness.
#
#   bench/run_echo.sh [--csv] [--secs N] [--rounds N] [--conns N] [--size N] [--rate N] BUILD_DIR
#
# BUILD_DIR is a configured and built CMake build (its bench/ holds
# echo_client, echo_tulip, echo_epoll, echo_uring, echo_uv); nothing is
# built here. --csv prints "echo,<impl>,<msgs_per_sec>" and
# "echo_cpu,<impl>,<server_us_per_msg>" lines (medians) instead of the table.
set -u
CSV=0 SECS=5 ROUNDS=1 CONNS=100 SIZE=64 RATE=20000 BUILD=""
while [ $# -gt 0 ]; do
    case "$1" in
    --csv) CSV=1 ;;
    --secs) shift; SECS=$1 ;;
    --rounds) shift; ROUNDS=$1 ;;
    --conns) shift; CONNS=$1 ;;
    --size) shift; SIZE=$1 ;;
    --rate) shift; RATE=$1 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

cpu_ns() { # PID -> run time of all its threads in ns: schedstat, else utime+stime
    if [ -r "/proc/$1/schedstat" ]; then
        cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s }'
    else
        awk -v t="$TCK" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / t }' "/proc/$1/stat" 2>/dev/null
    fi
}

ROWS=$(mktemp)
trap 'stop; rm -f "$ROWS"' EXIT

measure() { # ROUND NAME PROGRAM [ENV=VALUE ...]
    local round=$1 name=$2 prog=$3 envv=${4:-} rate="" us=""
    if [ ! -x "$prog" ]; then
        [ "$round" = 1 ] && echo "run_echo: $prog not built: $name skipped" >&2
        return
    fi
    PORT=$((PORT + 1))
    env $envv taskset -c "$SERVER_CPU" "$prog" "$PORT" >/dev/null 2>&1 &
    PID=$!
    rate=$(taskset -c "$CLIENT_CPU" "$B/echo_client" 127.0.0.1 "$PORT" "$CONNS" "$SIZE" "$SECS" $MODE |
        awk -F, '$1 == "msgs_per_sec" { print $2 }')
    local c0 out c1 msgs cl
    c0=$(cpu_ns $PID)
    out=$(taskset -c "$CLIENT_CPU" "$B/echo_client" 127.0.0.1 "$PORT" "$CONNS" "$SIZE" "$SECS" $MODE "$RATE")
    c1=$(cpu_ns $PID)
    msgs=$(echo "$out" | awk -F, '$1 == "msgs" { print $2 }')
    cl=$(echo "$out" | awk -F, '$1 == "client_cpu_us_per_msg" { print $2 }')
    [ -n "$c0" ] && [ -n "$c1" ] && [ -n "$msgs" ] && [ "$msgs" -gt 0 ] &&
        us=$(awk -v a="$c0" -v b="$c1" -v m="$msgs" 'BEGIN { printf "%.2f", (b - a) / 1e3 / m }')
    stop
    echo "$round $name ${rate:-0} ${us:-0} ${cl:-0}" >>"$ROWS"
}

[ $CSV = 1 ] || printf 'TCP echo, %d connections, %d-byte ping-pong, %ss each, %s client, %s round(s), medians; server on CPU %s, client on CPU %s; load %s\n' \
    "$CONNS" "$SIZE" "$SECS" "$MODE" "$ROUNDS" "$SERVER_CPU" "$CLIENT_CPU" "$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    measure $r tulip "$B/echo_tulip" TULIP_BACKEND=epoll
    measure $r tulip_uring "$B/echo_tulip" TULIP_BACKEND=io_uring
    # io_uring with one-shot recv per read instead of the multishot recv
    measure $r tulip_uring1 "$B/echo_tulip" "TULIP_BACKEND=io_uring TULIP_URING_MULTISHOT=0"
    # io_uring with the spin on the completion queue before sleeping (opt-in)
    measure $r tulip_uringS "$B/echo_tulip" "TULIP_BACKEND=io_uring TULIP_URING_SPIN=1"
    measure $r epoll "$B/echo_epoll"
    measure $r uring_raw "$B/echo_uring"
    measure $r libuv "$B/echo_uv"
done
# Medians per server, and medians of each round's ratios.
awk -v csv=$CSV -v rounds="$ROUNDS" '
    function med(arr, n,   i, j, t) {
        for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t }
        return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
    }
    { R[$1, $2] = $3; U[$1, $2] = $4; C[$1, $2] = $5; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } }
    function medof(name, other, kind,   i, n, v, x, y) {
        n = 0
        for (i = 1; i <= rounds; i++) {
            if (kind == "rate") { x = R[i, name]; y = other == "" ? 1 : R[i, other] }
            else if (kind == "client") { x = C[i, name]; y = 1 }
            else { x = U[i, name]; y = other == "" ? 1 : U[i, other] }
            if (x + 0 > 0 && y + 0 > 0) v[++n] = x / y
        }
        return n ? med(v, n) : ""
    }
    function ratio(label, kind, a, b,   m) {
        m = medof(a, b, kind)
        if (m != "") printf "%-5s %-26s %.2f\n", kind == "rate" ? "peak" : "cpu", label, m
    }
    END {
        if (!csv) printf "%-12s %12s %14s %14s\n", "server", "peak msgs/s", "us/msg@'"$RATE"'", "client us/msg"
        for (i = 1; i <= k; i++) {
            n = order[i]; pr = medof(n, "", "rate"); pu = medof(n, "", "cpu"); pc = medof(n, "", "client")
            if (csv) { printf "echo,%s,%s\necho_cpu,%s,%s\n", n, pr == "" ? "TODO" : sprintf("%.0f", pr), n, pu == "" ? "TODO" : sprintf("%.2f", pu) }
            else printf "%-12s %12s %14s %14s\n", n, pr == "" ? "TODO" : sprintf("%.0f", pr), pu == "" ? "TODO" : sprintf("%.2f", pu), pc == "" ? "-" : sprintf("%.2f", pc)
        }
        if (csv) exit
        ratio("tulip / epoll", "rate", "tulip", "epoll")
        ratio("tulip / libuv", "rate", "tulip", "libuv")
        ratio("tulip_uring / epoll", "rate", "tulip_uring", "epoll")
        ratio("tulip_uring / libuv", "rate", "tulip_uring", "libuv")
        ratio("multishot / one-shot", "rate", "tulip_uring", "tulip_uring1")
        ratio("tulip / epoll", "cpu", "tulip", "epoll")
        ratio("tulip_uring / epoll", "cpu", "tulip_uring", "epoll")
        ratio("tulip_uring / libuv", "cpu", "tulip_uring", "libuv")
        ratio("tulip_uring / uring_raw", "cpu", "tulip_uring", "uring_raw")
        ratio("uring_raw / epoll", "cpu", "uring_raw", "epoll")
        ratio("multishot / one-shot", "cpu", "tulip_uring", "tulip_uring1")
        ratio("spin / no spin", "rate", "tulip_uringS", "tulip_uring")
        ratio("spin / no spin", "cpu", "tulip_uringS", "tulip_uring")
        ratio("spin / epoll", "cpu", "tulip_uringS", "epoll")
    }' "$ROWS"
[ $CSV = 1 ] || echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0

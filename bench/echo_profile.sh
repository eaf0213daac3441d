#!/bin/bash
# Where an echo server's CPU goes per message: perf samples (cpu-clock,
# call graphs, kernel included) of each server while bench/echo_client
# offers a fixed load, sorted into the TCP work every server must do
# (tcp_sendmsg, which on loopback also runs the peer's receive path and
# wake-up, and tcp_recvmsg) and the rest (readiness or io_uring machinery,
# system call entry, the scheduler, user space). The server's run time
# comes from /proc/PID/schedstat; each category gets its share of it.
# The TCP share is the floor: no server can spend less than it per
# message, whatever its event interface. Needs perf and root (or
# kernel.perf_event_paranoid <= 1). Prints figures; never fails on them.
#
#   bench/echo_profile.sh [--rate N] [--secs N] BUILD_DIR [SERVER ...]
#
# SERVER: epoll, uring_raw, tulip_uring, tulip_uring1 (one-shot recv),
# tulip (on epoll), libuv; default: epoll uring_raw tulip_uring.
# Wrap in `flock /work/bench.lock` on a shared machine.
set -u
RATE=20000 SECS=3 BUILD=""
SERVERS=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rate) shift; RATE=$1 ;;
    --secs) shift; SECS=$1 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) if [ -z "$BUILD" ]; then BUILD=$1; else SERVERS="$SERVERS $1"; fi ;;
    esac
    shift
done
[ -n "$BUILD" ] || { echo "usage: $0 [--rate N] [--secs N] BUILD_DIR [SERVER ...]" >&2; exit 2; }
command -v perf >/dev/null || { echo "echo_profile: perf not found" >&2; exit 0; }
[ -n "$SERVERS" ] || SERVERS="epoll uring_raw tulip_uring"
B=$BUILD/bench
PORT=$((18600 + RANDOM % 300))
TMP=$(mktemp -d)
PID="" PP=""
stop() {
    [ -n "$PP" ] && { kill -INT "$PP" 2>/dev/null; wait "$PP" 2>/dev/null; PP=""; }
    [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; }
}
trap 'stop; rm -rf "$TMP"' EXIT
up() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# perf script output -> category shares, each also in us/msg.
CLASSIFY='
import sys, collections
us = float(sys.argv[1])
cats = collections.Counter()
total = 0
def classify(frames):
    syms = set(f[0] for f in frames)
    if "tcp_sendmsg" in syms:
        return "TCP send (tcp_sendmsg: with loopback, the peer receive and wake-up)"
    if "tcp_recvmsg" in syms:
        return "TCP receive (tcp_recvmsg)"
    if not frames or "kernel" not in frames[0][1]:
        return "user space"
    if syms & {"schedule", "__schedule", "finish_task_switch.isra.0"}:
        return "scheduler (sleep, wake-up)"
    if any(s.startswith("io_") or s.startswith("__io_") for s in syms):
        return "io_uring machinery (submission, task work, completions)"
    if syms & {"do_epoll_wait", "ep_poll", "ep_send_events"}:
        return "epoll_wait"
    return "system call entry/exit, vfs, fd lookup"
frames = []
def flush():
    global total, frames
    if frames:
        total += 1
        cats[classify(frames)] += 1
    frames = []
for line in sys.stdin:
    if not line.strip():
        flush()
    elif line[0] in " \t":
        parts = line.split()
        if len(parts) >= 3:
            frames.append((parts[1].split("+")[0], parts[-1]))
flush()
floor = 0.0
for k, v in cats.most_common():
    print("  %-68s %5.1f%%  %6.2f us/msg" % (k, 100.0 * v / total, us * v / total))
    if k.startswith("TCP"):
        floor += us * v / total
print("  %-68s %13.2f us/msg" % ("TCP work (the floor for any server)", floor))
'

. "$(dirname "$0")/echo_servers.sh"

echo "server CPU per message at $RATE msgs/s offered, 100 connections, 64 B, ${SECS}s under perf; load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $SERVERS; do
    prog=$(echo_prog "$B" "$s")
    [ -x "$prog" ] || { echo "$s: not built"; continue; }
    PORT=$((PORT + 1))
    env $(echo_env "$s") taskset -c 0 "$prog" "$PORT" >/dev/null 2>&1 &
    PID=$!
    up $PORT || { echo "$s did not start"; stop; continue; }
    taskset -c 1 "$B/echo_client" 127.0.0.1 "$PORT" 100 64 0.5 uring "$RATE" >/dev/null
    perf record -q -e cpu-clock -F 10000 -g -p "$PID" -o "$TMP/perf.data" >/dev/null 2>&1 &
    PP=$!
    sleep 0.2
    s0=$(awk '{ print $1 }' "/proc/$PID/schedstat")
    out=$(taskset -c 1 "$B/echo_client" 127.0.0.1 "$PORT" 100 64 "$SECS" uring "$RATE")
    s1=$(awk '{ print $1 }' "/proc/$PID/schedstat")
    stop
    msgs=$(echo "$out" | awk -F, '$1 == "msgs" { print $2 }')
    us=$(awk -v a="$s0" -v b="$s1" -v m="$msgs" 'BEGIN { printf "%.3f", (b - a) / 1e3 / m }')
    echo "== $s: $(echo "$out" | awk -F, '$1 == "msgs_per_sec" { print $2 }') msgs/s, $us us/msg (perf running)"
    perf script -i "$TMP/perf.data" 2>/dev/null | python3 -c "$CLASSIFY" "$us"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/bin/bash
# HTTP hello on 2 loops against nginx with 2 workers when wrk shares the
# servers' CPUs (issue 13's "same wrk, same cores" on a 2-CPU machine):
# where each request's CPU time goes. Per round and server (tulip with its
# shared listener, tulip with SO_REUSEPORT, nginx), all on CPUs 0-1 under
# the same `wrk -t2 -c100`: the rate, the server's CPU microseconds per
# request (the scheduler's run time of every thread of the server and its
# worker processes, /proc/PID/task/*/schedstat), wrk's own CPU per request
# (user + system from /usr/bin/time), the share of the two CPUs left idle,
# what the rest of the machine took ("others": 100% less the pair's CPU
# and the idle share), and the server's voluntary context switches per
# request (sleeps in epoll_wait). With nothing idle the pair's rate is about
# 2 CPUs / (server + wrk CPU per request), so a server that saves a
# tenth of its own CPU gains only a twentieth in rate when wrk costs as
# much per request as the server. Prints figures, never fails on slowness;
# 127.0.0.1 only, each load bounded by SECS.
#
#   bench/http_coloc.sh BUILD_DIR [ROUNDS [SECS]]
#
# BUILD_DIR holds a built bench/http_hello; nginx is /usr/sbin/nginx
# (scripts/deps.sh --bench) with bench/peers/nginx.conf.in. Run it under
# `flock /work/bench.lock` on a shared machine.
set -u
B=${1:?usage: bench/http_coloc.sh BUILD_DIR [ROUNDS [SECS]]}
ROUNDS=${2:-8}
SECS=${3:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$B/bench/http_hello" ] || { echo "http_coloc: no $B/bench/http_hello" >&2; exit 1; }
command -v wrk >/dev/null || { echo "http_coloc: wrk is missing (scripts/deps.sh --bench)" >&2; exit 1; }
ndir=$(mktemp -d)
trap 'rm -rf "$ndir"' EXIT

# the server's threads and its children's, summed
tree() { local p; for p in "$1" $(pgrep -P "$1"); do ls -d /proc/"$p"/task/* 2>/dev/null; done; }
run_ns() { local t=0 d; for d in $(tree "$1"); do t=$((t + $(cut -d' ' -f1 "$d/schedstat" 2>/dev/null || echo 0))); done; echo $t; }
sleeps() { local t=0 d; for d in $(tree "$1"); do
    t=$((t + $(awk '/^voluntary_ctxt_switches/ { print $2 }' "$d/status" 2>/dev/null || echo 0))); done; echo $t; }
idle_ticks() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }

wait_port() {
    local i
    for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# measure NAME PORT PID: one wrk run against the server PID on PORT
measure() {
    local ns0 sl0 id0 ns1 sl1 id1 out n rps w
    wait_port "$2" || { echo "$1: the server did not start"; return; }
    ns0=$(run_ns "$3"); sl0=$(sleeps "$3"); id0=$(idle_ticks)
    out=$(taskset -c 0-1 /usr/bin/time -f "wrk-cpu %U %S" wrk -t2 -c100 -d"${SECS}s" "http://127.0.0.1:$2/" 2>&1)
    ns1=$(run_ns "$3"); sl1=$(sleeps "$3"); id1=$(idle_ticks)
    n=$(printf '%s\n' "$out" | awk '/ requests in / { print $1 }')
    rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print $2 }')
    w=$(printf '%s\n' "$out" | awk '/^wrk-cpu/ { print $2 + $3 }')
    awk -v name="$1" -v rps="${rps:-0}" -v n="${n:-0}" -v ns="$((ns1 - ns0))" -v w="${w:-0}" \
        -v sl="$((sl1 - sl0))" -v idle="$((id1 - id0))" -v hz="$(getconf CLK_TCK)" -v secs="$SECS" \
        -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
        if (n == 0) { printf "%-14s no requests\n", name; exit }
        srv = ns / 1e3 / n; cli = w * 1e6 / n
        pair = 100 * n * (srv + cli) / 1e6 / secs / 2; free = 100 * idle / hz / secs / 2
        printf "%-15s %7.0f req/s  server %5.2f us/req  wrk %5.2f  sum %5.2f  | CPU: pair %4.1f%%  idle %4.1f%%  others %4.1f%%  | sleeps/req %.3f  load %s\n",
               name, rps, srv, cli, srv + cli, pair, free, 100 - pair - free, sl / n, load }'
}

port=$((19000 + RANDOM % 2000))
for r in $(seq "$ROUNDS"); do
    echo "round $r"
    taskset -c 0-1 "$B/bench/http_hello" $port 600 2 default >/dev/null 2>&1 &
    pid=$!; measure "tulip shared" $port $pid; kill $pid; wait $pid 2>/dev/null
    port=$((port + 1))
    taskset -c 0-1 "$B/bench/http_hello" $port 600 2 reuseport >/dev/null 2>&1 &
    pid=$!; measure "tulip reuseport" $port $pid; kill $pid; wait $pid 2>/dev/null
    port=$((port + 1))
    sed "s#@DIR@#$ndir#g; s#@PORT@#$port#g; s#^worker_processes 1;#worker_processes 2;#;
         s#^master_process off;#master_process on;#" "$ROOT/bench/peers/nginx.conf.in" >"$ndir/nginx.conf"
    taskset -c 0-1 /usr/sbin/nginx -c "$ndir/nginx.conf" -e "$ndir/error.log" &
    pid=$!; measure "nginx" $port $pid; kill $pid; wait $pid 2>/dev/null
    port=$((port + 1))
done

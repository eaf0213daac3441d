#!/bin/bash
# tulip on epoll against tulip on io_uring, taking turns in one run, for
# HTTP hello (bench/http_hello under wrk -t1 -c50) and the crawl
# (tulip-crawl against its own demo site, server and crawler both on the
# backend under test, as bench/run_crawl.sh with TULIP_BACKEND exported).
# Besides throughput, each row gives CPU per request/page: the server's
# from /proc/PID/schedstat (its run time in ns; utime+stime is sampled at
# 250 Hz here), the crawler's utime+stime (/usr/bin/time), which a loaded
# machine disturbs less.
# Server on CPU 0, load generator / crawler on CPU 1. Prints figures and
# the mean of each variant; never fails on them.
#
#   bench/uring_ab.sh http|crawl BUILD_DIR [ROUNDS] [SECS|PAGES]
#
# Variants: epoll, io_uring, io_uring with the spin before sleep
# (TULIP_URING_SPIN=1, opt-in); VARIANTS="name:ENV=V,ENV=V ..." replaces them (e.g.
# oneshot:TULIP_BACKEND=io_uring,TULIP_URING_MULTISHOT=0). Besides the
# means, the median over rounds of each variant's ratio to epoll. Wrap in
# `flock /work/bench.lock` on a shared machine.
set -u
WHAT=${1:?usage: bench/uring_ab.sh http|crawl BUILD_DIR [ROUNDS] [SECS|PAGES]}
B=${2:?build dir}
ROUNDS=${3:-3}
ARG=${4:-}
TCK=$(getconf CLK_TCK)
PORT=$((18500 + RANDOM % 400))
VARIANTS=${VARIANTS:-"epoll:TULIP_BACKEND=epoll io_uring:TULIP_BACKEND=io_uring spin:TULIP_BACKEND=io_uring,TULIP_URING_SPIN=1"}
PID=""
stop() { [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; }; }
trap stop EXIT
cpu_ticks() { # run time of all threads in clock ticks, from the ns of schedstat
    cat /proc/$1/task/*/schedstat 2>/dev/null | awk -v t="$TCK" '{ s += $1 } END { printf "%.3f\n", s * t / 1e9 }'
}
up() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

http_row() { # NAME ENV
    local secs=${ARG:-4} c0 c1 rps
    env $2 taskset -c 0 "$B/bench/http_hello" $PORT >/dev/null 2>&1 &
    PID=$!
    up $PORT || { echo "$1 did not start"; stop; return; }
    c0=$(cpu_ticks $PID)
    rps=$(taskset -c 1 wrk -t1 -c50 -d"${secs}s" "http://127.0.0.1:$PORT/" 2>/dev/null | awk '/Requests\/sec/ { print $2 }')
    c1=$(cpu_ticks $PID)
    stop
    awk -v n="$1" -v r="$rps" -v a="$c0" -v b="$c1" -v t="$TCK" -v s="$secs" \
        'BEGIN { printf "%-9s %8.0f req/s   server %6.2f us/req\n", n, r, (b - a) * 1e6 / t / (r * s) }'
}

crawl_row() { # NAME ENV
    local pages=${ARG:-5000} s0 s1 out
    env $2 taskset -c 0 "$B/tulip-crawl" --serve $PORT --pages "$pages" >/dev/null 2>&1 &
    PID=$!
    up $PORT || { echo "$1 did not start"; stop; return; }
    s0=$(cpu_ticks $PID)
    out=$({ /usr/bin/time -f "TIME %U %S" env $2 taskset -c 1 "$B/tulip-crawl" "http://127.0.0.1:$PORT/" \
        -c 64 --no-progress --delay 0; } 2>&1)
    s1=$(cpu_ticks $PID)
    stop
    printf '%s\n' "$out" | awk -v n="$1" -v a="$s0" -v b="$s1" -v t="$TCK" '
        /^  pages/ { p = $2; r = $4 } /^TIME/ { u = $2; s = $3 }
        END { printf "%-9s %8.0f pages/s crawler %6.1f us/page server %6.1f us/page\n",
              n, r, (u + s) * 1e6 / p, (b - a) * 1e6 / t / p }'
}

echo "$WHAT, $ROUNDS rounds, load: $(cut -d' ' -f1-3 /proc/loadavg)"
ROWS=$(for _ in $(seq "$ROUNDS"); do
    for v in $VARIANTS; do
        PORT=$((PORT + 1))
        "${WHAT}_row" "${v%%:*}" "$(printf '%s' "${v#*:}" | tr , ' ')"
    done
done)
printf '%s\n' "$ROWS"
# http rows: name rate req/s server US us/req; crawl rows add the server's.
printf '%s\n' "$ROWS" | awk '
    function med(a, m,   i, j, t) {
        for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    NF >= 6 { k = ++n[$1]; r[$1] += $2; x[$1] += $5; y[$1] += (NF >= 9 ? $8 : 0)
              R[$1, k] = $2; X[$1, k] = $5; Y[$1, k] = (NF >= 9 ? $8 : 0) }
    END { for (v in n) printf "mean %-9s %8.0f/s  %7.2f us%s\n", v, r[v] / n[v], x[v] / n[v],
                              y[v] ? sprintf("  server %7.2f us", y[v] / n[v]) : ""
          for (v in n) {
              if (v == "epoll" || !("epoll" in n)) continue
              m = 0; delete a; delete b; delete c
              for (k = 1; k <= n[v] && k <= n["epoll"]; k++)
                  if (R["epoll", k] > 0 && X["epoll", k] > 0) {
                      m++; a[m] = R[v, k] / R["epoll", k]; b[m] = X[v, k] / X["epoll", k]
                      c[m] = Y["epoll", k] > 0 ? Y[v, k] / Y["epoll", k] : 0
                  }
              if (m) printf "median ratio %s / epoll: rate %.2f, CPU %.2f%s\n", v, med(a, m), med(b, m),
                            c[1] ? sprintf(", server CPU %.2f", med(c, m)) : ""
          } }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

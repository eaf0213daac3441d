#!/bin/sh
# Does a slow host hold up a fast one?  The demo site on two hosts
# (--hosts 2): 127.0.0.1 says `Crawl-delay: 1` in robots.txt, 127.0.0.2 says
# nothing.  Each trial crawls twice from the same seed on the fast host
# (page 1), with a fresh server each time, and reads the server's request
# log (--server-log: monotonic ns, host, status, target):
#   alone  the fast host only (no --any-host): the time from its first
#          request to its M-th, M = 80% of its requests;
#   mixed  both hosts (--any-host): the time the fast host took for its
#          first M requests
#          (the slow host serves one page a second meanwhile; the crawl is
#          stopped with SIGINT once that is long past).
# The figure is mixed / alone pages/s of the fast host (target >= 0.90).
#
# usage: [REPS=3] bench/crawl_two_hosts.sh BUILD_DIR [PAGES] [CONCURRENCY] [LATENCY_MS]
# Prints figures; never fails on them.
set -eu
BIN=${1:?usage: bench/crawl_two_hosts.sh BUILD_DIR [PAGES] [CONC] [LATENCY_MS]}/tulip-crawl
PAGES=${2:-4000}
CONC=${3:-32}
LAT=${4:-20}
REPS=${REPS:-3}
. "$(dirname "$0")/crawl_lib.sh" # NCPU, CLI_CPU, TMP, serve, unserve

serve_log() { # LOG -> $PORT, $SEED: the two-host site, its request log to LOG
    serve --pages "$PAGES" --latency "$LAT" --hosts 2 --robots-delay 1000 --robots-delay-hosts 1 --server-log "$1"
    SEED="http://127.0.0.2:$PORT/s1/page-1.html"
}
# fast LOG [M]: "requests seconds" of host 1 (0-based: 127.0.0.2), over its
# first M requests (all when M is absent)
fast() { awk -v m="${2:-0}" '$2 == 1 { n++; if (n == 1) t0 = $1; if (m == 0 || n <= m) t1 = $1 }
    END { if (m > 0 && n < m) { print n + 0, -1 } else print (m ? m : n), (t1 - t0) / 1e9 }' "$1"; }

echo "two hosts: $PAGES pages over 127.0.0.1 (Crawl-delay: 1) and 127.0.0.2 (none); latency $LAT ms; -c $CONC; $REPS trials"
echo "load: $(uptime)"
ratios=""
r=1
while [ $r -le "$REPS" ]; do
    serve_log "$TMP/alone.log"
    taskset -c $CLI_CPU "$BIN" "$SEED" -c "$CONC" --delay 0 --no-progress \
        >"$TMP/alone.out"
    unserve
    # the first 80% of the requests: the last ones come slower in any crawl
    # (fewer URLs left than workers), and more so alone (fewer URLs known)
    set -- $(fast "$TMP/alone.log")
    m=$(($1 * 8 / 10)) tall=$2
    set -- $(fast "$TMP/alone.log" "$m")
    ta=$2
    serve_log "$TMP/mixed.log"
    # stop it well after the fast host should be done (the slow one never is)
    lim=$(awk -v t="$tall" 'BEGIN { printf "%d", t * 3 + 3 }')
    taskset -c $CLI_CPU timeout -s INT "$lim" "$BIN" "$SEED" -c "$CONC" --delay 0 --no-progress --any-host \
        >"$TMP/mixed.out" || true
    unserve
    set -- $(fast "$TMP/mixed.log" "$m")
    tm=$2
    slow=$(awk '$2 == 0' "$TMP/mixed.log" | wc -l)
    if [ "$tm" = -1 ]; then
        echo "trial $r: the mixed crawl made only $1 of $m fast-host requests in $lim s:"
        tail -8 "$TMP/mixed.out"
    else
        ratio=$(awk -v a="$ta" -v b="$tm" 'BEGIN { printf "%.3f", a / b }')
        ratios="$ratios $ratio"
        awk -v m="$m" -v a="$ta" -v b="$tm" -v s="$slow" -v r="$r" -v q="$ratio" 'BEGIN {
            printf "trial %d: fast host alone %d req in %.3f s (%.0f/s); beside the slow host %.3f s (%.0f/s), slow host %d req: ratio %s\n",
                   r, m, a, m / a, b, m / b, s, q }'
    fi
    r=$((r + 1))
done
echo "$ratios" | tr ' ' '\n' | grep . | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) printf "median ratio (mixed/alone pages/s of the fast host) %s (target >= 0.90)\n", v[int((NR + 1) / 2)] }'

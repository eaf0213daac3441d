#!/bin/sh
# tulip-crawl --redis: several processes sharing one frontier in one
# redis-server (started here on a free 127.0.0.1 port, temporary directory,
# no persistence unless AOF=1), against one demo server (its own process).
#   exact:  N processes, PAGES pages, latency 0: the union of the shards'
#           (url, status) rows against a one-process crawl's, fetches per
#           URL from the server's log, every exit status, and the time from
#           the last fetch to the last exit (a marker request after the
#           exits, in the same log);
#   rate:   1, 2, 3 processes at LATENCIES (ms): wall time, pages/s, Redis
#           CPU (INFO cpu) per page, Redis memory (used_memory) per 100,000
#           URLs seen, round trips per page.
# Usage: bench/crawl_redis.sh BUILD_DIR [PAGES_EXACT [PAGES_RATE [LATENCIES]]]
# Wrap in flock /work/bench.lock on a shared machine.
set -u
B=${1:?usage: crawl_redis.sh BUILD_DIR [PAGES_EXACT [PAGES_RATE [LATENCIES]]]}/tulip-crawl
PX=${2:-100000}
PR=${3:-10000}
LATS=${4:-"0 20"}
N=${N:-3}
C=${C:-32}
TMP=$(mktemp -d)
SPID= RPID=
trap '[ -n "$SPID" ] && kill $SPID; [ -n "$RPID" ] && kill $RPID; wait; rm -rf "$TMP"' EXIT
BG="env --default-signal=INT"
now() { date +%s.%N; }

RPORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
if [ "${AOF:-0}" = 1 ]; then persist="--appendonly yes --appendfsync everysec"; else persist="--appendonly no"; fi
# shellcheck disable=SC2086
redis-server --port $RPORT --bind 127.0.0.1 --dir "$TMP" --save '' $persist --logfile "$TMP/redis.log" &
RPID=$!
RURL=redis://127.0.0.1:$RPORT/0
"$B" --redis $RURL --crawl-id probe --status --redis-timeout 10000 2>&1 | grep -q "no crawl" || { echo "no redis"; exit 1; }
rinfo() { redis-cli -p $RPORT info "$1" | tr -d '\r' | sed -n "s/^$2:\\(.*\\)/\\1/p"; }
rcpu() { echo "$(rinfo cpu used_cpu_user) $(rinfo cpu used_cpu_sys)" | awk '{ print $1 + $2 }'; }

serve() { # PAGES LATENCY LOG
    $BG "$B" --serve 0 --pages "$1" --latency "$2" --server-log "$3" >"$TMP/serve.out" 2>&1 &
    SPID=$!
    URL=
    while [ -z "$URL" ]; do sleep 0.05; URL=$(sed -n 's/^Serving.* on \(http:[^ ]*\) .*/\1/p' "$TMP/serve.out"); done
}
unserve() { kill -INT $SPID; wait $SPID; SPID=; }
pairs() { cat "$@" | sed -n 's/^{"url":"\([^"]*\)","status":\([^,]*\),.*/\1 \2/p' | sed 's#^http://127.0.0.1:[0-9]*##' | sort -u; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg); redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"

# ---- exact: N processes, PX pages, latency 0 --------------------------------
serve "$PX" 0 "$TMP/ref.log"
t0=$(now)
"$B" --no-progress --delay 0 --workers 1 -c $C -o "$TMP/ref.jsonl" "$URL" >"$TMP/ref.out" || exit 1
t1=$(now)
unserve
pairs "$TMP/ref.jsonl" >"$TMP/ref.pairs"
echo "one process, local frontier: $(wc -l <"$TMP/ref.log") fetches in $(echo "$t1 $t0" | awk '{ printf "%.1f", $1 - $2 }') s"
serve "$PX" 0 "$TMP/x.log"
mem0=$(rinfo memory used_memory)
cpu0=$(rcpu)
t0=$(now)
pids=
for i in $(seq 1 $N); do
    "$B" --no-progress --delay 0 -c $C --redis $RURL --crawl-id exact -o "$TMP/x$i.jsonl" "$URL" >"$TMP/x$i.out" 2>&1 &
    pids="$pids $!"
done
st=0
for p in $pids; do wait $p || st=$?; done
t1=$(now)
"$B" --no-progress --ignore-robots --max-pages 1 "${URL}end-marker" >/dev/null 2>&1
cpu1=$(rcpu)
unserve
pairs "$TMP"/x*.jsonl >"$TMP/x.pairs"
same=no; cmp -s "$TMP/x.pairs" "$TMP/ref.pairs" && same=yes
twice=$(awk '$4 != "/robots.txt" && $4 != "/end-marker" { n[$4]++ } END { for (t in n) if (n[t] > 1) s++; print s + 0 }' "$TMP/x.log")
fetches=$(awk '$4 != "/robots.txt" && $4 != "/end-marker"' "$TMP/x.log" | wc -l)
tail_ms=$(sort -n "$TMP/x.log" | awk '$4 != "/end-marker" { last = $1 } $4 == "/end-marker" { m = $1 } END { printf "%.0f", (m - last) / 1e6 }')
mem=$(rinfo memory used_memory)
seen=$("$B" --redis $RURL --crawl-id exact --status | sed -n 's/^  seen *\([0-9]*\) URLs/\1/p')
echo "$N processes, --redis: $fetches fetches (+ robots.txt once each) in $(echo "$t1 $t0" | awk '{ printf "%.1f", $1 - $2 }') s;" \
     "exit statuses ok: $([ $st = 0 ] && echo yes || echo "no ($st)"); rows = one process's: $same ($(wc -l <"$TMP/x.pairs") URLs);" \
     "URLs fetched twice: $twice; last fetch to the marker after the last exit: $tail_ms ms"
for i in $(seq 1 $N); do printf '  process %s: %s\n' $i "$(grep -h '^  pages' "$TMP/x$i.out")"; done
echo "  redis: $(echo "$cpu1 $cpu0 $fetches" | awk '{ printf "%.1f us CPU per page", ($1 - $2) * 1e6 / $3 }'), used_memory +$((mem - mem0)) bytes for $seen URLs seen ($(echo "$mem $mem0 $seen" | awk '{ printf "%.1f MB per 100,000 URLs", ($1 - $2) / $3 * 1e5 / 1e6 }'))"

# ---- rate: 1, 2, 3 processes ---------------------------------------------------
echo
echo "latency  procs  fetches  seconds  pages/s  redis-us/page  round-trips/page"
for lat in $LATS; do
    for n in 1 2 3; do
        serve "$PR" "$lat" "$TMP/r.log"
        id="rate-$lat-$n"
        cpu0=$(rcpu)
        t0=$(now)
        pids=
        for i in $(seq 1 $n); do
            "$B" --no-progress --delay 0 -c $C --redis $RURL --crawl-id "$id" "$URL" >"$TMP/r$i.out" 2>&1 &
            pids="$pids $!"
        done
        for p in $pids; do wait $p; done
        t1=$(now)
        cpu1=$(rcpu)
        unserve
        f=$(wc -l <"$TMP/r.log")
        rt=$(cat "$TMP"/r[1-$n].out | sed -n 's/^  redis *\([0-9]*\) round trips.*/\1/p' | awk '{ s += $1 } END { print s }')
        echo "$lat $n $f $t0 $t1 $cpu0 $cpu1 $rt" | awk '{ s = $5 - $4; printf "%5s ms  %5d  %7d  %7.2f  %7.0f  %13.1f  %16.2f\n", $1, $2, $3, s, $3 / s, ($7 - $6) * 1e6 / $3, $8 / $3 }'
    done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

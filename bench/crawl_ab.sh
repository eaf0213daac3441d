#!/bin/sh
# tulip-crawl against itself: a build before a change (A) and after (B), on
# the same zero-latency demo site (`--serve`, another core), taking turns,
# then instructions per page under callgrind (repeatable on a shared
# machine).  B runs with --delay 0 when it has the option (the politeness
# default is 250 ms for real sites).
#
# usage: [REPS=5] bench/crawl_ab.sh A_BUILD_DIR B_BUILD_DIR [PAGES] [CONCURRENCY]
# Prints figures; never fails on them.
set -eu
A=${1:?usage: bench/crawl_ab.sh A_BUILD B_BUILD [PAGES] [CONC]}/tulip-crawl
B=${2:?usage: bench/crawl_ab.sh A_BUILD B_BUILD [PAGES] [CONC]}/tulip-crawl
PAGES=${3:-5000}
CONC=${4:-64}
REPS=${REPS:-5}
PORT=${PORT:-18933}
NCPU=$(nproc)
CLI_CPU=$((NCPU > 1 ? 1 : 0))

args() { "$1" --help | grep -q -- '--delay ' && echo "--delay 0" || true; }
taskset -c 0 "$B" --serve $PORT --pages "$PAGES" --latency 0 >/dev/null &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null || true' EXIT
i=0
until "$B" "http://127.0.0.1:$PORT/robots.txt" --max-pages 1 --ignore-robots --no-progress >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "server did not start" >&2; exit 1; }
    sleep 0.05
done
rate() { # binary -> pages/s
    taskset -c $CLI_CPU "$1" "http://127.0.0.1:$PORT/" -c "$CONC" --no-progress $(args "$1") |
        awk '/^  pages/ { print $4 }'
}
echo "demo site: $PAGES pages, no latency; concurrency $CONC; $REPS runs each, taking turns"
ra="" rb=""
i=0
while [ $i -lt "$REPS" ]; do
    ra="$ra $(rate "$A")"
    rb="$rb $(rate "$B")"
    i=$((i + 1))
done
med() { echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
best() { echo "$@" | tr ' ' '\n' | grep . | sort -g | tail -1; }
echo "A pages/s: $ra  (median $(med $ra), best $(best $ra))"
echo "B pages/s: $rb  (median $(med $rb), best $(best $rb))"
awk -v a="$(med $ra)" -v b="$(med $rb)" 'BEGIN { printf "B/A median %.3f\n", b / a }'
if command -v valgrind >/dev/null; then
    for who in A B; do
        bin=$A; [ $who = B ] && bin=$B
        out=$(mktemp)
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "http://127.0.0.1:$PORT/" \
            -c "$CONC" --no-progress $(args "$bin") >"$out" 2>"$out.err" || true
        ir=$(grep -o 'Collected : [0-9]*' "$out.err" | awk '{ print $3 }')
        pages=$(awk '/^  pages/ { print $2 }' "$out")
        echo "$who callgrind: $ir instructions, $pages pages, $(awk -v i="$ir" -v p="$pages" 'BEGIN { printf "%.0f", i / p }') per page"
        rm -f "$out" "$out.err"
    done
fi

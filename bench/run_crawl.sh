#!/bin/sh
# tulip-crawl vs the asyncio + aiohttp crawler over the same local demo site
# (served by `tulip-crawl --serve`, pinned to another core), at the same
# concurrency: once without latency (raw crawler speed), once with a
# per-response latency L (does N pages at concurrency C take N*L/C?).
#
# usage: [REPS=5] bench/run_crawl.sh BUILD_DIR [PAGES] [CONCURRENCY] [LATENCY_MS]
# Prints figures; never fails on them. Needs Debian's python3-aiohttp.
set -eu
BUILD=${1:?usage: bench/run_crawl.sh BUILD_DIR [PAGES] [CONCURRENCY] [LATENCY_MS]}
PAGES=${2:-5000}
CONC=${3:-64}
LAT=${4:-50}
CRAWL=$BUILD/tulip-crawl
PY=/usr/bin/python3          # Debian's, which has aiohttp (not a pyenv one)
HERE=$(cd "$(dirname "$0")" && pwd)
NCPU=$(nproc)
SRV_CPU=0
CLI_CPU=$((NCPU > 1 ? 1 : 0))
PORT=${PORT:-18931}

[ -x "$CRAWL" ] || { echo "no $CRAWL: build first" >&2; exit 1; }
$PY -c 'import aiohttp' 2>/dev/null || { echo "python3-aiohttp missing (scripts/deps.sh --bench)" >&2; exit 1; }

serve() { # latency_ms
    taskset -c $SRV_CPU "$CRAWL" --serve $PORT --pages "$PAGES" --latency "$1" >/dev/null &
    SRV=$!
    i=0
    while ! "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 100 ] && kill -0 $SRV 2>/dev/null || { echo "server did not start" >&2; exit 1; }
        sleep 0.05
    done
}
stop() { kill $SRV 2>/dev/null || true; wait $SRV 2>/dev/null || true; rm -f "${CPUF:-}"; }
trap stop EXIT

CPUF=${TMPDIR:-/tmp}/crawl-cpu.$$
# cpu: the last run's CPU time (user + system, seconds), from GNU time
# (tulip-crawl's start-up and exit included: a few ms)
cpu() { awk '{ print $1 + $2 }' "$CPUF"; }
tulip_run() { # -> "pages seconds rate cpu-seconds"
    # --delay 0: our own loopback site (the politeness default is 250 ms)
    r=$(/usr/bin/time -f "%U %S" -o "$CPUF" taskset -c $CLI_CPU "$CRAWL" "http://127.0.0.1:$PORT/" -c "$CONC" --no-progress --delay 0 |
        awk '/^Crawled/ { s = $(NF-1) } /^  pages/ { n = $2; r = $4 } END { print n, s, r }')
    echo "$r $(cpu)"
}
aio_run() { # its CPU time over the crawl, without Python's start-up
    taskset -c $CLI_CPU "$PY" "$HERE/crawl_aiohttp.py" "http://127.0.0.1:$PORT/" "$CONC" |
        awk '{ print $2, $4, $6, $8 }'
}

echo "demo site: $PAGES pages, 8 links/page; concurrency $CONC; server on cpu $SRV_CPU, crawler on cpu $CLI_CPU"
echo
REPS=${REPS:-5}
echo "1) no latency: raw crawler speed (best of $REPS, the two crawlers taking turns)"
serve 0
: >"${TMPDIR:-/tmp}/crawl-bench.$$"
i=0
while [ $i -lt "$REPS" ]; do
    echo "tulip $(tulip_run)" >>"${TMPDIR:-/tmp}/crawl-bench.$$"
    echo "aio $(aio_run)" >>"${TMPDIR:-/tmp}/crawl-bench.$$"
    i=$((i + 1))
done
stop
pick() { # who best|median -> "pages seconds rate"
    grep "^$1 " "${TMPDIR:-/tmp}/crawl-bench.$$" | cut -d' ' -f2-4 | sort -k3 -g |
        awk -v how="$2" '{ l[NR] = $0 } END { print how == "best" ? l[NR] : l[int((NR + 1) / 2)] }'
}
T=$(pick tulip best); A=$(pick aio best)
TM=$(pick tulip median); AM=$(pick aio median)
# On a shared machine the best and the median of each crawler may come from
# different moments: the ratio of each turn (tulip, then aiohttp, back to
# back) and the CPU time per page (which other processes disturb less than
# the rate) are steadier figures.
F=${TMPDIR:-/tmp}/crawl-bench.$$
grep '^tulip ' "$F" >"$F.t"
grep '^aio ' "$F" >"$F.a"
# "ratio tulip-us/page aiohttp-us/page" per turn
TURNS=$(paste -d' ' "$F.t" "$F.a" | awk '{ printf "%.2f %.1f %.1f\n", $4 / $9, $5 * 1e6 / $2, $10 * 1e6 / $7 }')
rm -f "$F" "$F.t" "$F.a"
printf "   %-14s %7s %9s %9s\n" crawler pages seconds pages/s
echo "$T" | awk '{ printf "   %-14s %7s %9s %9s\n", "tulip-crawl", $1, $2, $3 }'
echo "$A" | awk '{ printf "   %-14s %7s %9s %9s\n", "aiohttp", $1, $2, $3 }'
echo "$T $A" | awk '{ printf "   ratio: tulip-crawl %.1fx aiohttp (target >= 10x)\n", $3 / $6 }'
echo "$TM $AM" | awk '{ printf "   medians: tulip-crawl %s, aiohttp %s pages/s: %.1fx\n", $3, $6, $3 / $6 }'
med() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "   per turn, tulip-crawl/aiohttp pages/s: $(echo "$TURNS" | cut -d' ' -f1 | tr '\n' ' ')(median $(echo "$TURNS" | cut -d' ' -f1 | med)x)"
tc=$(echo "$TURNS" | cut -d' ' -f2 | med) ac=$(echo "$TURNS" | cut -d' ' -f3 | med)
echo "$tc $ac" | awk '{ printf "   CPU time per page (user + system, medians): tulip-crawl %.1f us, aiohttp %.1f us: %.1fx\n", $1, $2, $2 / $1 }'
echo
echo "2) latency $LAT ms per response: N pages at concurrency C vs N*L/C"
serve "$LAT"
T=$(tulip_run); A=$(aio_run)
stop
for who in tulip-crawl aiohttp; do
    [ $who = tulip-crawl ] && L=$T || L=$A
    echo "$L" | awk -v who=$who -v lat="$LAT" -v c="$CONC" '{
        ideal = $1 * lat / 1000 / c;
        printf "   %-12s %6d pages in %7.3f s; N*L/C = %7.3f s; %+.1f%% (target within 5%%)\n",
               who, $1, $2, ideal, ($2 / ideal - 1) * 100 }'
done

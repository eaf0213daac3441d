#!/bin/sh
# What --state, --warc and --recrawl cost and save (issue 16), against the
# demo site served by `tulip-crawl --serve` on another core:
#   1. --state: pages/s and CPU time per page with and without it, zero
#      latency (the worst case: nothing hides the journal writes), taking
#      turns, medians;
#   2. --state, then --warc, the same on the default demo (20 ms per
#      response);
#   3. --recrawl of the unchanged site: bytes received (heads and bodies)
#      against the first crawl's, with the demo's small pages and with
#      pages padded to 16 KiB;
#   4. --resume of a journal of N admitted URLs (all done but one), made
#      up here: wall time and peak memory.
#
# usage: [REPS=5] bench/crawl_durable.sh BUILD_DIR [PAGES] [CONCURRENCY] [RESUME_URLS]
# Prints figures; never fails on them.
set -eu
BIN=${1:?usage: bench/crawl_durable.sh BUILD_DIR [PAGES] [CONC] [RESUME_URLS]}/tulip-crawl
PAGES=${2:-5000}
CONC=${3:-32}
NURLS=${4:-1000000}
REPS=${REPS:-5}
NCPU=$(nproc)
CLI_CPU=$((NCPU > 1 ? 1 : 0))
TMP=$(mktemp -d)
SPID=
PORT=0
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
BG="env --default-signal=INT" # background commands start with SIGINT ignored

serve() { # site options...; the same port once one is chosen
    rm -f "$TMP/serve.out"
    $BG taskset -c 0 "$BIN" --serve $PORT "$@" >"$TMP/serve.out" 2>&1 &
    SPID=$!
    i=0
    until grep -q Serving "$TMP/serve.out" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 200 ] || { echo "server did not start" >&2; exit 1; }
        sleep 0.05
    done
    URL=$(sed -n 's/.*on \(http:[^ ]*\) .*/\1/p' "$TMP/serve.out")
    PORT=${URL##*:}
    PORT=${PORT%/}
}
unserve() { kill -INT "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=; }
crawl() { # options... -> the crawl's summary in $TMP/out
    # one loop each way: --state and --warc run on one loop (main.c)
    /usr/bin/time -f "%U %S" -o "$TMP/time" taskset -c $CLI_CPU "$BIN" "$URL" -c "$CONC" --delay 0 --no-progress \
        --workers 1 "$@" >"$TMP/out"
}
rate() { awk '/^  pages/ { print $4 }' "$TMP/out"; }
# CPU time (user + system) per page in microseconds: less at the mercy of
# the other processes on a shared machine than pages/s
cpu() { awk -v p="$(awk '/^  pages/ { print $2 }' "$TMP/out")" '{ printf "%.1f", ($1 + $2) * 1e6 / p }' "$TMP/time"; }
med() { echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ab() { # LABEL "A options" "B options": REPS runs each, taking turns
    ra="" rb="" ca="" cb=""
    i=0
    while [ $i -lt "$REPS" ]; do
        rm -rf "$TMP/st" "$TMP"/w-*
        crawl $2
        ra="$ra $(rate)" ca="$ca $(cpu)"
        rm -rf "$TMP/st" "$TMP"/w-*
        crawl $3
        rb="$rb $(rate)" cb="$cb $(cpu)"
        i=$((i + 1))
    done
    echo "   without: pages/s $ra  (median $(med $ra)); CPU us/page $ca (median $(med $ca))"
    echo "   with:    pages/s $rb  (median $(med $rb)); CPU us/page $cb (median $(med $cb))"
    awk -v a="$(med $ra)" -v b="$(med $rb)" -v x="$(med $ca)" -v y="$(med $cb)" -v l="$1" 'BEGIN {
        printf "   %s: with/without median pages/s %.3f, CPU per page %.3f\n", l, b / a, y / x }'
}

echo "load: $(uptime)"
echo "1) --state, zero latency, $PAGES pages, -c $CONC, $REPS runs each"
serve --pages "$PAGES" --latency 0
ab "--state" "-o $TMP/rows.jsonl" "-o $TMP/rows.jsonl --state $TMP/st"
unserve

echo "2) --state and --warc, the default demo (20 ms per response), $PAGES pages, -c $CONC, $REPS runs each"
serve --pages "$PAGES" --latency 20
ab "--state" "-o $TMP/rows.jsonl" "-o $TMP/rows.jsonl --state $TMP/st"
ab "--warc" "-o $TMP/rows.jsonl" "-o $TMP/rows.jsonl --warc $TMP/w"
unserve

echo "3) --recrawl of the unchanged site ($PAGES pages, zero latency)"
for pad in 0 16384; do
    rm -rf "$TMP/st" "$TMP"/w-* "$TMP"/w2-*
    serve --pages "$PAGES" --latency 0 --page-bytes $pad
    crawl -o "$TMP/r1.jsonl" --state "$TMP/st" --warc "$TMP/w"
    b1=$(awk '/^  received/ { print $2 }' "$TMP/out")
    crawl -o "$TMP/r2.jsonl" --state "$TMP/st" --warc "$TMP/w2" --recrawl
    b2=$(awk '/^  received/ { print $2 }' "$TMP/out")
    nm=$(sed -n 's/.*recrawl: \([0-9]*\) not modified.*/\1/p' "$TMP/out")
    unserve
    awk -v a="$b1" -v b="$b2" -v p="$pad" -v nm="$nm" 'BEGIN {
        printf "   pages padded to %s bytes: first crawl %.1f kB, recrawl %.1f kB received (%.1f%%), %s answered 304\n",
               p == 0 ? "no" : p, a, b, 100 * b / a, nm }'
done

echo "4) --resume of a journal of $NURLS admitted URLs (all done but the first)"
mkdir -p "$TMP/j/st"
awk -v n="$NURLS" 'BEGIN {
    print "O --delay 0 -o out.jsonl --state st http://127.0.0.1:1/"
    print "A 0 0 http://127.0.0.1:1/ -"
    for (i = 1; i < n; i++) {
        printf "A %d %d http://127.0.0.1:1/s%d/page-%d.html http://127.0.0.1:1/s%d/page-%d.html\n",
               int(log(i + 1) / log(2)), int(log(i + 1) / log(2)), i % 8, i, int((i - 1) / 2) % 8, int((i - 1) / 2)
        printf "D %d 0 %d 0 0 http://127.0.0.1:1/s%d/page-%d.html\n", int(log(i + 1) / log(2)), i * 120, i % 8, i
    }
}' >"$TMP/j/st/journal"
: >"$TMP/j/out.jsonl"
echo "   journal: $(wc -c <"$TMP/j/st/journal") bytes, $(wc -l <"$TMP/j/st/journal") lines"
i=0
while [ $i -lt 3 ]; do
    cp "$TMP/j/st/journal" "$TMP/j/journal.orig"
    (cd "$TMP/j" && /usr/bin/time -f "%e %M" -o time.out taskset -c $CLI_CPU "$BIN" --delay 0 -o out.jsonl \
        --state st http://127.0.0.1:1/ --resume --no-progress >/dev/null 2>&1 || true)
    awk '{ printf "   resume: %s s wall, %.0f MB peak\n", $1, $2 / 1024 }' "$TMP/j/time.out"
    mv "$TMP/j/journal.orig" "$TMP/j/st/journal"
    i=$((i + 1))
done
echo "load: $(uptime)"

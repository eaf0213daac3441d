#!/bin/sh
# What --state, --warc and --recrawl cost and save (issue 16), against the
# demo site served by `tulip-crawl --serve` on another core:
#   1. --state: pages/s and CPU time per page with and without it, zero
#      latency (the worst case: nothing hides the journal writes), taking
#      turns, medians;
#   2. --state, then --warc, the same on the default demo (20 ms per
#      response);
#   3. --recrawl of the unchanged site: bytes received (heads and bodies,
#      robots.txt too) against the first crawl's, on the default demo
#      (with the default --recrawl-fresh, and with 0: everything asked
#      again) and with pages padded to 16 KiB; what a 304 and a 302 weigh;
#   4. --resume of a journal of N admitted URLs (all done but one), made
#      up here: wall time and peak memory, and the seen set's size.
#
# usage: [REPS=5] [ONLY=1234] bench/crawl_durable.sh BUILD_DIR [PAGES] [CONCURRENCY] [RESUME_URLS]
# (ONLY: the sections to run, e.g. ONLY=34)
# Prints figures; never fails on them.
set -eu
BIN=$(cd "${1:?usage: bench/crawl_durable.sh BUILD_DIR [PAGES] [CONC] [RESUME_URLS]}" && pwd)/tulip-crawl
PAGES=${2:-5000}
CONC=${3:-32}
NURLS=${4:-1000000}
REPS=${REPS:-5}
ONLY=${ONLY:-1234}
section() { case $ONLY in *$1*) return 0 ;; *) return 1 ;; esac; }
. "$(dirname "$0")/crawl_lib.sh" # NCPU, CLI_CPU, TMP, serve, unserve
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
if section 1; then
echo "1) --state, zero latency, $PAGES pages, -c $CONC, $REPS runs each"
serve --pages "$PAGES" --latency 0
ab "--state" "-o $TMP/rows.jsonl" "-o $TMP/rows.jsonl --state $TMP/st"
unserve

fi
if section 2; then
echo "2) --state and --warc, the default demo (20 ms per response), $PAGES pages, -c $CONC, $REPS runs each"
serve --pages "$PAGES" --latency 20
ab "--state" "-o $TMP/rows.jsonl" "-o $TMP/rows.jsonl --state $TMP/st"
ab "--warc" "-o $TMP/rows.jsonl" "-o $TMP/rows.jsonl --warc $TMP/w"
unserve

fi
if section 3; then
echo "3) --recrawl of the unchanged site ($PAGES pages, zero latency; received = heads and bodies, robots.txt too)"
recrawl() { # LABEL "site options" "recrawl options"
    rm -rf "$TMP/st" "$TMP"/w-* "$TMP"/w2-*
    serve --pages "$PAGES" --latency 0 $2
    crawl -o "$TMP/r1.jsonl" --state "$TMP/st" --warc "$TMP/w"
    b1=$(awk '/^  received/ { print $2 }' "$TMP/out")
    crawl -o "$TMP/r2.jsonl" --state "$TMP/st" --warc "$TMP/w2" --recrawl $3
    b2=$(awk '/^  received/ { print $2 }' "$TMP/out")
    nm=$(grep -c '"status":304' "$TMP/r2.jsonl" || true)
    fr=$(grep -c '"note":"fresh-not-fetched"' "$TMP/r2.jsonl" || true)
    re=$(grep -v fresh-not-fetched "$TMP/r2.jsonl" | grep -c '"status":3[0-9][0-9],.*"location"' || true)
    h304="?" h302="?"
    if command -v curl >/dev/null; then
        # what one 304 and one 302 of this site weigh on the wire
        u=$(sed -n 's/^{"url":"\([^"]*\)","status":200,.*text\/html.*/\1/p' "$TMP/r1.jsonl" | head -1)
        e=$(curl -s -D - -o /dev/null "$u" | sed -n 's/^ETag: //p' | tr -d '\r')
        h304=$(curl -s -D - -o /dev/null -H "If-None-Match: $e" "$u" | wc -c)
        u=$(sed -n 's/^{"url":"\([^"]*\)","status":302,.*/\1/p' "$TMP/r1.jsonl" | head -1)
        h302=$(curl -s -D - "$u" | wc -c)
    fi
    unserve
    awk -v a="$b1" -v b="$b2" -v l="$1" -v nm="$nm" -v fr="$fr" -v re="$re" -v h3="$h304" -v h2="$h302" 'BEGIN {
        printf "   %s: first crawl %.1f kB, recrawl %.1f kB received (%.1f%%); %s answered 304 (%s B each), %s redirects fetched again (a 302: %s B), %s still fresh, not fetched\n",
               l, a, b, 100 * b / a, nm, h3, re, h2, fr }'
}
recrawl "default demo" "" ""
recrawl "default demo, --recrawl-fresh 0" "" "--recrawl-fresh 0"
recrawl "pages of 16 KiB" "--page-bytes 16384" ""
fi

if section 4; then
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
        --state st http://127.0.0.1:1/ --resume --no-progress >summary.out 2>&1 || true)
    awk '{ printf "   resume: %s s wall, %.0f MB peak\n", $1, $2 / 1024 }' "$TMP/j/time.out"
    # the seen set of a million URLs, as the summary says it
    [ $i -gt 0 ] || sed -n 's/^  frontier *\(.*\)/   seen set: \1/p' "$TMP/j/summary.out"
    mv "$TMP/j/journal.orig" "$TMP/j/st/journal"
    i=$((i + 1))
done
fi
echo "load: $(uptime)"

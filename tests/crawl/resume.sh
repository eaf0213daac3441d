#!/bin/sh
# --state/--resume and --warc as a user runs them, against the demo site
# served by another tulip-crawl process with a request log (--server-log):
#   - kill -9 at a random point between 20% and 80% of the crawl, then
#     --resume to the end, TRIALS times: the (url, status) rows equal those
#     of an uninterrupted crawl, no URL has two rows, and the server saw
#     every URL once except at most CONC (in flight at the kill);
#   - a kill -9 during the replay of --resume is itself resumable;
#   - Ctrl-C, then --resume: no URL fetched twice;
#   - every WARC file written (rotated small, killed while writing, then
#     resumed) is indexed by warcio.js (when npm could install it) and
#     checked by warc_verify: back-to-back gzip members, digests, counts;
#   - option conflicts are clear errors.
# Usage: [WARC=0] resume.sh TULIP_CRAWL WARC_VERIFY [PAGES [TRIALS [CONC]]]
# (WARC=0: no --warc, no WARC checks: the rows and refetches only, for a
# big run whose WARC checks would take longer than its crawls.)
set -u
BIN=${1:?usage: resume.sh TULIP_CRAWL WARC_VERIFY [PAGES [TRIALS [CONC]]]}
VERIFY=${2:?}
PAGES=${3:-2000}
TRIALS=${4:-3}
CONC=${5:-32}
HERE=$(cd "$(dirname "$0")" && pwd)
# A non-interactive shell starts background commands with SIGINT ignored,
# and tulip_run leaves an ignored SIGINT alone: give it back its default.
BG="env --default-signal=INT"
TMP=$(mktemp -d)
SPID=
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

WARCIO=
W=${WARC:-1}
if dir=$("$HERE/../../scripts/npm-deps.sh" 2>/dev/null); then
    WARCIO="$dir/node_modules/.bin/warcio"
else
    echo "note: warcio.js not available (no npm): WARC files checked by warc_verify only" >&2
fi

# serve LOG: a demo server on a free port, URL in $URL
serve() {
    rm -f "$TMP/serve.out" # not the last server's "Serving" line
    $BG "$BIN" --serve 0 --pages "$PAGES" --latency 1 --server-log "$1" >"$TMP/serve.out" 2>&1 &
    SPID=$!
    i=0
    while ! grep -q "Serving" "$TMP/serve.out" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 200 ] || fail "demo server did not start"; sleep 0.05
    done
    URL=$(sed -n 's/.*on \(http:[^ ]*\) .*/\1/p' "$TMP/serve.out")
}
unserve() { kill -INT "$SPID"; wait "$SPID" 2>/dev/null; SPID=; }
# (url, status) of every row, the server's origin cut (each server has its port)
pairs() { sed -n 's/^{"url":"\([^"]*\)","status":\([^,]*\),.*/\1 \2/p' "$1" | sed 's#^http://127.0.0.1:[0-9]*##' | sort; }
lines() { cat "$1" 2>/dev/null | wc -l; }
# every target the server answered more than once, with the surplus count
twice() { awk '{ n[$4]++ } END { for (t in n) if (n[t] > 1) s += n[t] - 1; print s + 0 }' "$1"; }

# warc PREFIX: every file of PREFIX checked; prints the responses count
check_warcs() {
    if [ "$W" = 0 ]; then
        awk '{ n++ } END { print n + 0 }' "$2" # the fetches, as the server saw them
        return
    fi
    total=0
    for f in "$1"-*.warc.gz; do
        [ -f "$f" ] || fail "no WARC file $1-*"
        if [ -n "$WARCIO" ]; then
            timeout 60 "$WARCIO" index "$f" -f warc-type,warc-target-uri,offset,length >"$TMP/idx" ||
                fail "warcio index $f failed"
            timeout 60 "$WARCIO" cdx-index "$f" >"$TMP/cdx" || fail "warcio cdx-index $f failed"
        else
            fail "warcio.js is needed for the WARC checks"
        fi
        "$VERIFY" "$f" <"$TMP/idx" >"$TMP/v" || fail "warc_verify $f"
        n=$(sed -n 's/.*responses \([0-9]*\).*/\1/p' "$TMP/v")
        total=$((total + n))
    done
    echo "$total"
}

# ---- an uninterrupted crawl: the reference ---------------------------------
serve "$TMP/ref.log"
warc() { [ "$W" = 0 ] || echo --warc "$@"; }
"$BIN" --no-progress --delay 0 -c "$CONC" -o "$TMP/ref.jsonl" $(warc "$TMP/ref") "$URL" >"$TMP/out" 2>&1 ||
    { cat "$TMP/out"; fail "reference crawl"; }
unserve
pairs "$TMP/ref.jsonl" >"$TMP/ref.pairs"
rows=$(wc -l <"$TMP/ref.pairs")
[ "$rows" -gt "$PAGES" ] || fail "reference crawl has $rows rows"
[ "$(twice "$TMP/ref.log")" -eq 0 ] || fail "the reference crawl fetched a URL twice"
fetches=$(wc -l <"$TMP/ref.log")
responses=$(check_warcs "$TMP/ref" "$TMP/ref.log")
[ "$responses" -eq "$fetches" ] || fail "reference WARC: $responses responses for $fetches fetches"

# ---- conflicting options --------------------------------------------------
"$BIN" --no-progress --resume -o "$TMP/x.jsonl" "$URL" >"$TMP/out" 2>&1 && fail "--resume without --state"
grep -q "need --state" "$TMP/out" || fail "no clear error for --resume without --state: $(cat "$TMP/out")"

# ---- kill -9 at random points, then --resume -----------------------------
t=1
while [ $t -le "$TRIALS" ]; do
    D="$TMP/t$t"
    mkdir -p "$D"
    serve "$D/server.log"
    set -- --no-progress --delay 0 -c "$CONC" -o "$D/rows.jsonl" --state "$D/state" $(warc "$D/w" --warc-max-size 2000000) "$URL"
    pct=$(awk -v s="$$$t" 'BEGIN { srand(s); print 20 + int(rand() * 61) }')
    at=$((rows * pct / 100))
    $BG "$BIN" "$@" >"$D/out1" 2>&1 &
    cpid=$!
    while [ "$(lines "$D/rows.jsonl")" -lt "$at" ] && kill -0 $cpid 2>/dev/null; do
        sleep 0.01
    done
    kill -9 $cpid 2>/dev/null
    wait $cpid 2>/dev/null
    done_before=$(wc -l <"$D/rows.jsonl")
    [ "$done_before" -lt "$rows" ] || echo "note: trial $t finished before the kill"
    if [ $t -eq 1 ]; then
        # a kill -9 during the replay: start --resume, kill it at once
        "$BIN" "$@" --resume >"$D/out2" 2>&1 &
        rp=$!
        kill -9 $rp 2>/dev/null
        wait $rp 2>/dev/null
        # conflicting option on resume: a clear error, nothing changed
        "$BIN" --no-progress -o "$D/rows.jsonl" --state "$D/state" --max-depth 3 --resume "$URL" >"$D/out3" 2>&1 &&
            fail "--resume with other options succeeded"
        grep -q "other options" "$D/out3" || fail "no clear error for other options: $(cat "$D/out3")"
        "$BIN" "$@" >"$D/out3" 2>&1 && fail "--state on a used directory without --resume succeeded"
        grep -q "add --resume" "$D/out3" || fail "no clear error for a used --state: $(cat "$D/out3")"
    fi
    "$BIN" "$@" --resume >"$D/out2" 2>&1 || { cat "$D/out2"; fail "trial $t: --resume failed"; }
    unserve
    pairs "$D/rows.jsonl" >"$D/pairs"
    dups=$(cut -d' ' -f1 "$D/pairs" | uniq -d | wc -l)
    [ "$dups" -eq 0 ] || fail "trial $t (kill at $pct%): $dups URLs have two rows"
    cmp -s "$D/pairs" "$TMP/ref.pairs" ||
        { diff "$D/pairs" "$TMP/ref.pairs" | head; fail "trial $t (kill at $pct%): rows differ from the uninterrupted crawl"; }
    again=$(twice "$D/server.log")
    [ "$again" -le "$CONC" ] || fail "trial $t: $again fetches repeated (more than $CONC in flight)"
    wr=$(check_warcs "$D/w" "$D/server.log")
    nfiles=$(ls "$D"/w-*.warc.gz 2>/dev/null | wc -l)
    if [ "$W" = 0 ]; then
        echo "trial $t: kill at $pct% ($done_before of $rows rows), $again fetched twice"
    else
        echo "trial $t: kill at $pct% ($done_before of $rows rows), $again fetched twice, $wr responses in $nfiles WARC files"
    fi
    t=$((t + 1))
done

# ---- Ctrl-C, then --resume: nothing fetched twice --------------------------
D="$TMP/int"
mkdir -p "$D"
serve "$D/server.log"
set -- --no-progress --delay 0 -c "$CONC" -o "$D/rows.jsonl" --state "$D/state" $(warc "$D/w") "$URL"
$BG "$BIN" "$@" >"$D/out1" 2>&1 &
cpid=$!
while [ "$(lines "$D/rows.jsonl")" -lt $((rows / 2)) ] && kill -0 $cpid 2>/dev/null; do
    sleep 0.01
done
kill -INT $cpid
wait $cpid
rc=$?
[ $rc -eq 130 ] || { cat "$D/out1"; fail "Ctrl-C: exit $rc, want 130"; }
"$BIN" "$@" --resume >"$D/out2" 2>&1 || { cat "$D/out2"; fail "--resume after Ctrl-C failed"; }
unserve
pairs "$D/rows.jsonl" >"$D/pairs"
cmp -s "$D/pairs" "$TMP/ref.pairs" || fail "Ctrl-C: rows differ from the uninterrupted crawl"
again=$(twice "$D/server.log")
[ "$again" -eq 0 ] || fail "Ctrl-C then --resume: $again fetched twice"
check_warcs "$D/w" "$D/server.log" >/dev/null
echo "Ctrl-C at 50%: 0 fetched twice"
echo "ok"

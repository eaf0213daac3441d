#!/bin/sh
# The shared frontier in Redis (--redis, --crawl-id), as users run it:
# several tulip-crawl processes against one redis-server (Debian's, started
# here on a free 127.0.0.1 port with its own temporary directory, AOF on,
# stopped at the end) and one demo server with a request log:
#   shared    2 processes: the union of their (url, status) rows equals a
#             one-process crawl's, the server saw every URL once
#             (robots.txt once per process), all exit 0, --status says
#             finished;
#   interrupt Ctrl-C of one of 2 processes: exit 130, its leases released
#             at once, the other finishes with the same rows;
#   kill      3 processes, one killed with -9 mid-crawl and never
#             restarted: the others finish with the same rows; URLs
#             fetched twice <= its concurrency, all after the kill;
#   delay     --delay 50, 3 processes, 2 hosts: per host the server never
#             sees two requests less than 49 ms apart;
#   restart   redis-server killed (-9, appendfsync always) mid-crawl and
#             started again 5 s later on the same port and directory: no
#             crash, same rows, exit 0;
#   down      Redis gone for longer than --redis-timeout: exit 1 with a
#             clear message, and the same command later finishes the crawl.
# Usage: test_redis.sh TULIP_CRAWL [PAGES]   (exit 77: no redis-server)
set -u
KEEP=${KEEP:-}
BIN=${1:?usage: test_redis.sh TULIP_CRAWL [PAGES]}
PAGES=${2:-1000}
command -v redis-server >/dev/null 2>&1 || { echo "SKIP: redis-server not installed (scripts/deps.sh)"; exit 77; }
BG="env --default-signal=INT"
TMP=$(mktemp -d)
[ -n "$KEEP" ] && echo "keeping $TMP"
SPID=
RPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
    wait 2>/dev/null
    [ -n "$KEEP" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
fail() { echo "FAIL: $*" >&2; exit 1; }
T0=$(date +%s)
say() { echo "[$(($(date +%s) - T0)) s] $*"; }

# redis DIR: a redis-server on a free port (a random one, tried again when
# taken); waited for by tulip-crawl --status, which connects with retries.
RPORT=
redis() {
    mkdir -p "$1"
    tries=0
    while :; do
        if [ -z "$RPORT" ] || [ "${2:-}" != same ]; then
            RPORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
        fi
        n0=$(grep -c "Ready to accept" "$1/redis.log" 2>/dev/null)
        redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$1" --save '' --appendonly yes \
            --appendfsync always --daemonize no --logfile "$1/redis.log" &
        RPID=$!
        out=$("$BIN" --redis "redis://127.0.0.1:$RPORT" --crawl-id probe --status --redis-timeout 10000 2>&1)
        # ours answered (not another server on that port: ours then failed to bind)
        case "$out" in *"no crawl probe"*)
            [ "$(grep -c "Ready to accept" "$1/redis.log")" -gt "${n0:-0}" ] && kill -0 "$RPID" 2>/dev/null && return 0 ;;
        esac
        kill -9 "$RPID" 2>/dev/null
        wait "$RPID" 2>/dev/null
        RPID=
        tries=$((tries + 1))
        [ $tries -lt 5 ] || fail "redis-server did not start: $out $(cat "$1/redis.log")"
    done
}
unredis() { kill -9 "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=; }

# serve LOG [site options]: the demo server on a free port, URL in $URL
serve() {
    log=$1
    shift
    $BG "$BIN" --serve 0 --pages "$PAGES" --latency 0 --server-log "$log" "$@" >"$TMP/serve.out" 2>&1 &
    SPID=$!
    i=0
    URL=
    while [ -z "$URL" ]; do
        i=$((i + 1)); [ $i -lt 400 ] || fail "demo server did not start"; sleep 0.05
        URL=$(sed -n 's/^Serving.* on \(http:[^ ]*\) .*/\1/p' "$TMP/serve.out")
    done
}
unserve() { kill -INT "$SPID"; wait "$SPID" 2>/dev/null; SPID=; }
# (url, status) of every row, once each (offsite rows come from every process)
# with the server's origin cut (each server has its port)
pairs() { cat "$@" | sed -n 's/^{"url":"\([^"]*\)","status":\([^,]*\),.*/\1 \2/p' | sed 's#^http://127.0.0.1:[0-9]*##' | sort -u; }
# surplus fetches: every target answered more than once, robots.txt excepted
twice() { awk '$4 != "/robots.txt" { n[$2 $4]++ } END { for (t in n) if (n[t] > 1) s += n[t] - 1; print s + 0 }' "$1"; }
RURL=
crawl() { "$BIN" --no-progress --redis "$RURL" "$@"; }
# in the background: $! is the crawler itself (kill -9 reaches it)
crawl_bg() { out=$1; shift; $BG "$BIN" --no-progress --redis "$RURL" "$@" >"$out" 2>&1 & }

# ---- the reference: one process, local frontier ----------------------------
serve "$TMP/ref.log"
"$BIN" --no-progress --delay 0 -o "$TMP/ref.jsonl" "$URL" >"$TMP/ref.out" 2>&1 || { cat "$TMP/ref.out"; fail "reference crawl"; }
pairs "$TMP/ref.jsonl" >"$TMP/ref.pairs"
rows=$(wc -l <"$TMP/ref.pairs")
[ "$rows" -gt "$PAGES" ] || fail "reference crawl has $rows rows"
unserve

redis "$TMP/redis"
RURL="redis://127.0.0.1:$RPORT/0"

# ---- shared: 2 processes ----------------------------------------------------
D="$TMP/shared"; mkdir -p "$D"
serve "$D/server.log"
# a serves --metrics; after the crawl it waits for one scrape of the final values
crawl_bg "$D/a.out" --crawl-id shared --delay 0 -o "$D/a.jsonl" --metrics 127.0.0.1:0 --metrics-linger 60000 "$URL"
pa=$!
crawl_bg "$D/b.out" --crawl-id shared --delay 0 -o "$D/b.jsonl" "$URL"
pb=$!
wait $pb || { cat "$D/b.out"; fail "shared: process b exited $?"; }
mport=$(sed -n 's/^Metrics on http:.*:\([0-9]*\)\/metrics/\1/p' "$D/a.out")
[ -n "$mport" ] || { cat "$D/a.out"; fail "shared: no metrics line"; }
if command -v curl >/dev/null 2>&1; then
    i=0
    until curl -s "http://127.0.0.1:$mport/metrics" >"$D/metrics" && grep -q "^tulip_crawl_finished 1" "$D/metrics"; do
        i=$((i + 1)); [ $i -lt 600 ] || fail "shared: the metrics never said finished"; sleep 0.05
    done
else
    echo "note: no curl: the metrics are not checked"
    kill -INT $pa
fi
wait $pa || [ ! -s "$D/metrics" ] || { cat "$D/a.out"; fail "shared: process a exited $?"; }
unserve
if [ -s "$D/metrics" ]; then
    # the final counters are the summary's
    m() { awk -v k="$1" '$1 == k { print $2 }' "$D/metrics"; }
    sum() { sed -n "$1" "$D/a.out"; }
    [ "$(m tulip_crawl_fetched_total)" = "$(sum 's/^  pages *\([0-9]*\) fetched.*/\1/p')" ] || fail "metrics: fetched differs"
    for c in 2 3 4 5; do
        [ "$(m "tulip_crawl_fetches_total{class=\"${c}xx\"}")" = "$(sum "s/^  status .*${c}xx \([0-9]*\).*/\1/p")" ] ||
            fail "metrics: ${c}xx differs: $(m "tulip_crawl_fetches_total{class=\"${c}xx\"}")"
    done
    [ "$(m 'tulip_crawl_skipped_total{reason="offsite"}')" = "$(sum 's/^  skipped *\([0-9]*\) offsite.*/\1/p')" ] ||
        fail "metrics: offsite differs"
    [ "$(m tulip_crawl_links_total)" = "$(sum 's/.*, \([0-9]*\) links seen/\1/p')" ] || fail "metrics: links differ"
    [ "$(m 'tulip_crawl_redis_urls_total{event="claimed"}')" = "$(sum 's/^  shared .*: \([0-9]*\) URLs claimed.*/\1/p')" ] ||
        fail "metrics: claimed differs"
    [ "$(m tulip_crawl_redis_leases)" = 0 ] || fail "metrics: leases left"
    metrics_note="; the final metrics equal the summary"
fi
pairs "$D/a.jsonl" "$D/b.jsonl" >"$D/pairs"
cmp -s "$D/pairs" "$TMP/ref.pairs" || { diff "$D/pairs" "$TMP/ref.pairs" | head; fail "shared: rows differ from one process"; }
[ "$(twice "$D/server.log")" -eq 0 ] || fail "shared: $(twice "$D/server.log") URLs fetched twice"
robots=$(awk '$4 == "/robots.txt"' "$D/server.log" | wc -l)
[ "$robots" -le 2 ] || fail "shared: robots.txt fetched $robots times"
fa=$(sed -n 's/^  pages *\([0-9]*\) fetched.*/\1/p' "$D/a.out")
fb=$(sed -n 's/^  pages *\([0-9]*\) fetched.*/\1/p' "$D/b.out")
[ "$fa" -gt 0 ] && [ "$fb" -gt 0 ] || echo "note: one process fetched nothing ($fa, $fb)"
crawl --crawl-id shared --status >"$D/status" 2>&1 || { cat "$D/status"; fail "--status"; }
grep -q "state     finished" "$D/status" || { cat "$D/status"; fail "--status does not say finished"; }
grep -q "leases    0 " "$D/status" || { cat "$D/status"; fail "--status: leases left"; }
# a worker joining with other options is refused, clearly
crawl --crawl-id shared --delay 0 --max-depth 2 "$URL" >"$D/c.out" 2>&1 && fail "other options were accepted"
grep -q "other options" "$D/c.out" || fail "no clear error for other options: $(cat "$D/c.out")"
say "shared: 2 processes, $fa + $fb fetches, $(wc -l <"$D/pairs") rows as one process, none fetched twice${metrics_note:-}"

# ---- kill: 3 processes, one killed -9 and never restarted ------------------
D="$TMP/kill"; mkdir -p "$D"
serve "$D/server.log" --latency 20
set -- --crawl-id kill --delay 0 --timeout 1000 -c 16
# c first, alone, so that it is busy (16 fetches in flight) when a and b
# join and it is killed
crawl_bg "$D/c.out" "$@" -o "$D/c.jsonl" "$URL"
pc=$!
at=$((rows / 8))
while [ "$(cat "$D/c.jsonl" 2>/dev/null | wc -l)" -lt "$at" ] && kill -0 $pc 2>/dev/null; do sleep 0.01; done
# c is frozen at an instant where it holds leases (it has none between
# completing a batch and claiming the next, a window a slow build widens):
# the kill must leave leases that only their expiry gives back
held=0
while kill -STOP $pc 2>/dev/null; do
    held=$(crawl --crawl-id kill --status 2>/dev/null | sed -n 's/^  leases *\([0-9]*\) .*/\1/p')
    [ "${held:-0}" -gt 0 ] && break
    n=$(cat "$D/c.jsonl" | wc -l)
    kill -CONT $pc
    while [ "$(cat "$D/c.jsonl" 2>/dev/null | wc -l)" -le "$n" ] && kill -0 $pc 2>/dev/null; do sleep 0.01; done
done
[ "${held:-0}" -gt 0 ] || fail "kill: c was over before it could be frozen holding leases"
crawl_bg "$D/a.out" "$@" -o "$D/a.jsonl" "$URL"
pa=$!
crawl_bg "$D/b.out" "$@" -o "$D/b.jsonl" "$URL"
pb=$!
kill -9 $pc || fail "kill: c was over before the kill"
wait $pc 2>/dev/null
killed_at=$(cat "$D/c.jsonl" | wc -l)
# a request that marks the kill in the server's log
"$BIN" --no-progress --ignore-robots --max-pages 1 "${URL}kill-marker" >/dev/null 2>&1
wait $pa || { cat "$D/a.out"; fail "kill: process a exited $?"; }
wait $pb || { cat "$D/b.out"; fail "kill: process b exited $?"; }
unserve
pairs "$D/a.jsonl" "$D/b.jsonl" "$D/c.jsonl" >"$D/pairs"
cmp -s "$D/pairs" "$TMP/ref.pairs" || { diff "$D/pairs" "$TMP/ref.pairs" | head; fail "kill: rows differ from one process"; }
again=$(twice "$D/server.log")
[ "$again" -le 16 ] || fail "kill: $again URLs fetched twice (more than the 16 the killed process held)"
# every second fetch came after the kill: only an expired lease gives a URL again
marker=$(awk '$4 == "/kill-marker" { print $1; exit }' "$D/server.log")
[ -n "$marker" ] || fail "kill: no marker in the server log"
early=$(awk -v m="$marker" '$4 != "/robots.txt" && $4 != "/kill-marker" { if (seen[$2 $4]++ && $1 < m) e++ } END { print e + 0 }' "$D/server.log")
[ "$early" -eq 0 ] || fail "kill: $early URLs fetched twice before the kill"
gap=$(awk -v m="$marker" '$4 != "/robots.txt" && $4 != "/kill-marker" { if (seen[$2 $4]++ && (g == "" || $1 - m < g)) g = $1 - m } END { if (g == "") print "-"; else printf "%.0f", g / 1e6 }' "$D/server.log")
# the least time from a URL's first fetch to its second (printed, not
# asserted: a lease runs 2 x --timeout from its claim or last renewal, and
# a claim takes a batch of URLs at once, some fetched a little later, so
# this may come out a few ms under the lease)
again_after=$(awk '$4 != "/robots.txt" && $4 != "/kill-marker" { k = $2 $4; if (k in t0) { g = $1 - t0[k]; if (m == "" || g < m) m = g } else t0[k] = $1 }
    END { if (m == "") print "-"; else printf "%.0f", m / 1e6 }' "$D/server.log")
crawl --crawl-id kill --status >"$D/status" 2>&1 || { cat "$D/status"; fail "kill: --status"; }
reaped=$(sed -n 's/.* completed, \([0-9]*\) reaped.*/\1/p' "$D/status")
[ "$reaped" -gt 0 ] || { cat "$D/status"; fail "kill: no lease of the killed process was reaped"; }
say "kill: killed at $killed_at rows holding $held leases, $reaped reaped, $again fetched twice, the first of them $gap ms after the kill, each >= $again_after ms after its first fetch (lease 2000 ms)"

# ---- interrupt: Ctrl-C of one of 2 processes gives its leases back at once --
D="$TMP/int"; mkdir -p "$D"
serve "$D/server.log" --latency 20
set -- --crawl-id int --delay 0 --timeout 2000
crawl_bg "$D/a.out" "$@" -o "$D/a.jsonl" "$URL"
pa=$!
while [ "$(cat "$D/a.jsonl" 2>/dev/null | wc -l)" -lt "$((rows / 8))" ] && kill -0 $pa 2>/dev/null; do sleep 0.01; done
crawl_bg "$D/b.out" "$@" -o "$D/b.jsonl" "$URL"
pb=$!
kill -INT $pa
wait $pa
st=$?
[ $st -eq 130 ] || { cat "$D/a.out"; fail "interrupt: exit $st, not 130"; }
wait $pb || { cat "$D/b.out"; fail "interrupt: process b exited $?"; }
unserve
pairs "$D/a.jsonl" "$D/b.jsonl" >"$D/pairs"
cmp -s "$D/pairs" "$TMP/ref.pairs" || { diff "$D/pairs" "$TMP/ref.pairs" | head; fail "interrupt: rows differ from one process"; }
crawl --crawl-id int --status >"$D/status" 2>&1 || { cat "$D/status"; fail "interrupt: --status"; }
released=$(sed -n 's/.* reaped (leases expired), \([0-9]*\) released.*/\1/p' "$D/status")
reaped=$(sed -n 's/.* completed, \([0-9]*\) reaped.*/\1/p' "$D/status")
# the release has 2 s: on a loaded machine a few may still wait for their lease
# (4 s here); and a process whose fetches all completed on its way out holds
# none to release.  Without the release every lease it held would be reaped.
[ "$released" -gt 0 ] || [ "$reaped" -eq 0 ] || { cat "$D/status"; fail "interrupt: leases reaped, none released at exit"; }
say "interrupt: Ctrl-C of one process (exit 130): $released leases released at once, $reaped reaped, same rows"

# ---- delay: --delay 50, 3 processes, 2 hosts ---------------------------------
D="$TMP/delay"; mkdir -p "$D"
PAGES_SAVE=$PAGES; PAGES=30
serve "$D/server.log" --hosts 2
PAGES=$PAGES_SAVE
set -- --crawl-id delay --delay 50 --any-host
crawl_bg "$D/a.out" "$@" -o "$D/a.jsonl" "$URL"
pa=$!
crawl_bg "$D/b.out" "$@" -o "$D/b.jsonl" "$URL"
pb=$!
crawl_bg "$D/c.out" "$@" -o "$D/c.jsonl" "$URL"
pc=$!
wait $pa && wait $pb && wait $pc || fail "delay: a process failed: $(cat "$D"/*.out)"
unserve
hosts=$(awk '{ print $2 }' "$D/server.log" | sort -u | wc -l)
[ "$hosts" -eq 2 ] || fail "delay: $hosts hosts asked"
mingap=$(sort -n "$D/server.log" | awk '{ if ($2 in last) { g = $1 - last[$2]; if (m == "" || g < m) m = g } last[$2] = $1 } END { printf "%.1f", m / 1e6 }')
awk -v m="$mingap" 'BEGIN { exit !(m >= 49) }' || fail "delay: two requests to one host $mingap ms apart"
say "delay: 3 processes, $(wc -l <"$D/server.log") requests to 2 hosts, least gap per host $mingap ms"

# ---- restart: redis-server killed and started again mid-crawl --------------
D="$TMP/restart"; mkdir -p "$D"
serve "$D/server.log" --latency 2
set -- --crawl-id restart --delay 0 --redis-timeout 30000
crawl_bg "$D/a.out" "$@" -o "$D/a.jsonl" "$URL"
pa=$!
crawl_bg "$D/b.out" "$@" -o "$D/b.jsonl" "$URL"
pb=$!
at=$((rows / 4))
while [ "$(cat "$D/a.jsonl" 2>/dev/null | wc -l)" -lt "$at" ] && kill -0 $pa 2>/dev/null; do sleep 0.01; done
unredis
sleep 5 # the outage itself, not a synchronisation
redis "$TMP/redis" same
wait $pa || { cat "$D/a.out"; fail "restart: process a exited $?"; }
wait $pb || { cat "$D/b.out"; fail "restart: process b exited $?"; }
unserve
pairs "$D/a.jsonl" "$D/b.jsonl" >"$D/pairs"
cmp -s "$D/pairs" "$TMP/ref.pairs" || { diff "$D/pairs" "$TMP/ref.pairs" | head; fail "restart: rows differ from one process"; }
rc=$(sed -n 's/.*connections, \([0-9]*\) failed attempts/\1/p' "$D/a.out")
# no URL was left leased to nobody: a claim whose answer was lost is answered again
crawl --crawl-id restart --status >"$D/status" 2>&1 || { cat "$D/status"; fail "restart: --status"; }
grep -q " 0 reaped" "$D/status" || { cat "$D/status"; fail "restart: leases had to be reaped"; }
say "restart: Redis down 5 s at $at rows; $(twice "$D/server.log") fetched twice; process a retried $rc times"

# ---- down: Redis away longer than --redis-timeout ---------------------------
D="$TMP/down"; mkdir -p "$D"
serve "$D/server.log" --latency 2
set -- --crawl-id down --delay 0 --redis-timeout 1000 --timeout 1000 -o "$D/a.jsonl"
crawl "$@" "$URL" >"$D/a.out" 2>"$D/a.err" &
pa=$!
while [ "$(cat "$D/a.jsonl" 2>/dev/null | wc -l)" -lt "$at" ] && kill -0 $pa 2>/dev/null; do sleep 0.01; done
unredis
wait $pa && fail "down: exit 0 without Redis"
grep -q "unreachable for 1.0 s" "$D/a.err" || fail "down: no clear message: $(cat "$D/a.err")"
redis "$TMP/redis" same
crawl "$@" -o "$D/b.jsonl" "$URL" >"$D/b.out" 2>&1 || { cat "$D/b.out"; fail "down: the crawl could not go on"; }
unserve
pairs "$D/a.jsonl" "$D/b.jsonl" >"$D/pairs"
cmp -s "$D/pairs" "$TMP/ref.pairs" || { diff "$D/pairs" "$TMP/ref.pairs" | head; fail "down: rows differ after going on"; }
say "down: exit 1 after --redis-timeout 1000 with a clear message; the same command went on to the same rows"
unredis
echo "PASS"

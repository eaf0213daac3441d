#!/bin/sh
# --recrawl and the WARC of pages served chunked and gzip-encoded, against
# the demo site served by another tulip-crawl process (--chunked --encoding
# gzip, with a request log):
#   1. a crawl with --state, --warc and --warc-metadata: every WARC file is
#      indexed by warcio.js and checked by warc_verify (block digests, and
#      payload digests over the dechunked, still gzipped, bodies), and each
#      HTML page has a metadata record (outlinks) naming its response;
#   2. --recrawl of the unchanged site: every 200 page is asked for with
#      If-None-Match and answered 304 (the server's log), each becomes a
#      revisit record (server-not-modified) whose WARC-Refers-To,
#      -Target-URI and -Date name crawl 1's response record of that URL,
#      no page body crosses the wire again; the 301s and 404s (cacheable
#      by heuristic freshness, RFC 9111 4.2.2) are not asked for at all:
#      their rows say fresh-not-fetched with crawl 1's status, and their
#      revisit records (tulip-crawl's fresh-not-fetched profile) refer to
#      crawl 1's records; the 302s are fetched again; the rows of the
#      offsite URLs and of the hrefs that are no URL (mailto:) found in
#      the pages answered 304 are crawl 1's (from its S and B lines);
#   3. --recrawl again without the validators (cut from the journal): the
#      pages come back 200, and each becomes a revisit record
#      (identical-payload-digest) that still refers to crawl 1's records;
#   4. the window: answers older than --recrawl-fresh (their fetch time
#      moved back in the journal) are fetched again, and so is everything
#      with --recrawl-fresh 0;
#   5. --resume of a journal cut after its first page, as written (B lines)
#      and as the version before B lines wrote it (F lines): each href
#      that is no URL has one row; a --recrawl of the F-line journal works;
#   6. the bytes a recrawl receives against the first crawl's (heads and
#      bodies, robots.txt included), on the default demo (no chunked, no
#      gzip) and with pages padded to 16 KiB: computed and printed; the
#      padded one must be under 10%, the default demo under 15% (its
#      floor is 13.8%: 302s are fetched again whole, 304 heads; see
#      docs/perf-crawl.md).
# Usage: recrawl.sh TULIP_CRAWL WARC_VERIFY [PAGES]
set -u
BIN=${1:?usage: recrawl.sh TULIP_CRAWL WARC_VERIFY [PAGES]}
VERIFY=${2:?}
PAGES=${3:-400}
HERE=$(cd "$(dirname "$0")" && pwd)
BG="env --default-signal=INT" # background commands start with SIGINT ignored
TMP=$(mktemp -d)
SPID=
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

dir=$("$HERE/../../scripts/npm-deps.sh" 2>/dev/null) || { echo "SKIP: warcio.js not available (no npm)"; exit 77; }
WARCIO="$dir/node_modules/.bin/warcio"
FIELDS=warc-type,warc-target-uri,warc-date,warc-record-id,warc-concurrent-to,warc-refers-to,warc-refers-to-target-uri,warc-refers-to-date,warc-profile,offset,length

# serve LOG: the demo server (its log is written when it stops: unserve),
# on a free port the first time, then on the same one (the journal's URLs
# name it); URL in $URL
PORT=0
SITE="--chunked --encoding gzip"
serve() {
    rm -f "$TMP/serve.out"
    $BG "$BIN" --serve $PORT --pages "$PAGES" --latency 0 $SITE --server-log "$1" \
        >"$TMP/serve.out" 2>&1 &
    SPID=$!
    i=0
    until grep -q Serving "$TMP/serve.out" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 200 ] || fail "demo server did not start"; sleep 0.05
    done
    URL=$(sed -n 's/.*on \(http:[^ ]*\) .*/\1/p' "$TMP/serve.out")
    PORT=${URL##*:}
    PORT=${PORT%/}
}
unserve() { kill -INT "$SPID"; wait "$SPID" 2>/dev/null; SPID=; }

# check PREFIX: warcio.js and warc_verify on every file; the index of all
# of them (one JSON object a line) in PREFIX.idx
check() {
    : >"$1.idx"
    for f in "$1"-*.warc.gz; do
        [ -f "$f" ] || fail "no WARC file $1-*"
        timeout 60 "$WARCIO" index "$f" -f "$FIELDS" >"$TMP/idx" || fail "warcio index $f"
        timeout 60 "$WARCIO" cdx-index "$f" >/dev/null || fail "warcio cdx-index $f"
        "$VERIFY" "$f" <"$TMP/idx" >"$TMP/v" || fail "warc_verify $f"
        cat "$TMP/idx" >>"$1.idx"
    done
}
# field NAME < index lines: the value of a string field, "-" if absent
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p;t;s/.*/-/p"; }
# records TYPE PREFIX: "uri date id" of every TYPE record
records() {
    grep "\"warc-type\":\"$1\"" "$2.idx" >"$TMP/r" || true
    field warc-target-uri <"$TMP/r" >"$TMP/r.u"
    field warc-date <"$TMP/r" >"$TMP/r.d"
    field warc-record-id <"$TMP/r" >"$TMP/r.i"
    paste -d' ' "$TMP/r.u" "$TMP/r.d" "$TMP/r.i"
}
refers() { # PREFIX PROFILE: "uri date id" each revisit of that profile refers to
    grep "\"warc-type\":\"revisit\"" "$1.idx" | grep "revisit/$2\"" >"$TMP/r" || true
    field warc-refers-to-target-uri <"$TMP/r" >"$TMP/r.u"
    field warc-refers-to-date <"$TMP/r" >"$TMP/r.d"
    field warc-refers-to <"$TMP/r" >"$TMP/r.i"
    paste -d' ' "$TMP/r.u" "$TMP/r.d" "$TMP/r.i"
}
log_count() { awk -v s="$1" '$3 == s && $4 != "/robots.txt"' "$2" | wc -l; }
ok_pages() { grep -c '"status":200' "$1"; }
# url status of every row with a status (a 304 counted as the 200 it stands for)
statuses() { sed -n 's/^{"url":"\([^"]*\)","status":\([0-9]*\),.*/\1 \2/p' "$1" | sed 's/ 304$/ 200/' | sort; }
# url status of the rows that say fresh-not-fetched
# url parent of every offsite row, sorted (duplicates kept: a URL has one row)
offsite() { sed -n 's/^{"url":"\([^"]*\)",.*"error":"offsite","parent":"\([^"]*\)".*/\1 \2/p' "$1" | sort; }
# url error parent of every row of an href that is no URL (mailto:, junk), sorted
bad() { sed -n 's/^{"url":"\([^"]*\)","status":null,.*"error":"\(unsupported-scheme\|bad-url\|url-too-long\)","parent":"\([^"]*\)".*/\1 \2 \3/p' "$1" | sort; }
fresh_rows() { grep '"note":"fresh-not-fetched"' "$1" | sed -n 's/^{"url":"\([^"]*\)","status":\([0-9]*\),.*/\1 \2/p' | sort; }
received() { awk '/^  received/ { print $2 }' "$1"; }

crawl() { # N [options]: crawl N of the site into $TMP/rN.jsonl, $TMP/wN-*, log $TMP/logN
    n=$1
    shift
    serve "$TMP/log$n"
    "$BIN" --no-progress --delay 0 -c 16 --state "$TMP/st" "$@" -o "$TMP/r$n.jsonl" --warc "$TMP/w$n" \
        "$URL" >"$TMP/out$n" 2>&1 || { cat "$TMP/out$n"; fail "crawl $n"; }
    unserve
    check "$TMP/w$n"
}

# ---- 1: the first crawl ----------------------------------------------------
crawl 1 --warc-metadata
pages=$(ok_pages "$TMP/r1.jsonl")
[ "$pages" -gt "$PAGES" ] || fail "crawl 1: only $pages pages with 200"
zcat "$TMP"/w1-*.warc.gz | grep -a -q "^Content-Encoding: gzip" || fail "crawl 1: no gzip-encoded response archived"
zcat "$TMP"/w1-*.warc.gz | grep -a -q "^Transfer-Encoding: chunked" || fail "crawl 1: no chunked response archived"
records response "$TMP/w1" | sort >"$TMP/resp1"
# a metadata record per HTML page, naming its response record
html=$(grep -c '"status":200,.*"content_type":"text/html' "$TMP/r1.jsonl")
grep '"warc-type":"metadata"' "$TMP/w1.idx" | field warc-concurrent-to | sort >"$TMP/meta1"
[ "$(wc -l <"$TMP/meta1")" -eq "$html" ] || fail "crawl 1: $(wc -l <"$TMP/meta1") metadata records for $html HTML pages"
cut -d' ' -f3 "$TMP/resp1" | sort >"$TMP/resp1.ids"
[ "$(comm -23 "$TMP/meta1" "$TMP/resp1.ids" | wc -l)" -eq 0 ] || fail "crawl 1: metadata records name no response"
zcat "$TMP"/w1-*.warc.gz | grep -a -q "^outlink: http" || fail "crawl 1: no outlink in the metadata records"

# ---- 2: --recrawl, the site unchanged: 304s and revisit records -----------
crawl 2 --recrawl
nm=$(grep -c '"status":304' "$TMP/r2.jsonl")
[ "$nm" -eq "$pages" ] || fail "crawl 2: $nm answers 304 for $pages pages of crawl 1"
[ "$(log_count 304 "$TMP/log2")" -eq "$pages" ] || fail "crawl 2: the server answered 304 $(log_count 304 "$TMP/log2") times for $pages pages"
[ "$(log_count 200 "$TMP/log2")" -eq 0 ] || fail "crawl 2: pages fetched again with 200"
refers "$TMP/w2" server-not-modified | sort >"$TMP/ref2"
[ "$(wc -l <"$TMP/ref2")" -eq "$pages" ] || fail "crawl 2: $(wc -l <"$TMP/ref2") revisit records for $pages pages"
# every revisit names a response record of crawl 1 (URI, date and ID)
missing=$(comm -23 "$TMP/ref2" "$TMP/resp1" | wc -l)
[ "$missing" -eq 0 ] || { comm -23 "$TMP/ref2" "$TMP/resp1" | head -3; fail "crawl 2: $missing revisits refer to no record of crawl 1"; }
grep -q "not modified (304)" "$TMP/out2" || fail "crawl 2: no recrawl summary"
# the 301s and 404s: not asked for, rows with crawl 1's status that say so,
# revisit records that refer to crawl 1's records; the 302s asked again
statuses "$TMP/r1.jsonl" >"$TMP/st1"
grep -E ' (301|404)$' "$TMP/st1" >"$TMP/cacheable1"
ncache=$(wc -l <"$TMP/cacheable1")
[ "$ncache" -gt 0 ] || fail "crawl 1: no 301 or 404"
fresh_rows "$TMP/r2.jsonl" >"$TMP/fresh2"
cmp -s "$TMP/fresh2" "$TMP/cacheable1" || fail "crawl 2: $(wc -l <"$TMP/fresh2") fresh-not-fetched rows for $ncache 301/404 of crawl 1"
[ "$(log_count 301 "$TMP/log2")" -eq 0 ] && [ "$(log_count 404 "$TMP/log2")" -eq 0 ] ||
    fail "crawl 2: 301s or 404s asked for again"
n302=$(grep -c ' 302$' "$TMP/st1")
[ "$(log_count 302 "$TMP/log2")" -eq "$n302" ] || fail "crawl 2: $(log_count 302 "$TMP/log2") of $n302 302s asked for again"
statuses "$TMP/r2.jsonl" | cmp -s - "$TMP/st1" || fail "crawl 2: (url, status) rows differ from crawl 1's"
# the offsite URLs of the pages answered 304 (no body: their links come
# from crawl 1's journal) have their rows again, each once, with the page
# crawl 1 found it in (the only one that offers it again)
offsite "$TMP/r1.jsonl" >"$TMP/off1"
[ "$(wc -l <"$TMP/off1")" -gt 0 ] || fail "crawl 1: no offsite row"
offsite "$TMP/r2.jsonl" | cmp -s - "$TMP/off1" ||
    fail "crawl 2: $(offsite "$TMP/r2.jsonl" | wc -l) offsite rows (url, parent), crawl 1 had $(wc -l <"$TMP/off1")"
# so do the hrefs that are no URL (mailto:, javascript:; crawl 1's B lines)
bad "$TMP/r1.jsonl" >"$TMP/bad1"
[ "$(wc -l <"$TMP/bad1")" -gt 0 ] || fail "crawl 1: no row of an href that is no URL"
bad "$TMP/r2.jsonl" | cmp -s - "$TMP/bad1" ||
    fail "crawl 2: $(bad "$TMP/r2.jsonl" | wc -l) rows of hrefs that are no URL (url, error, parent), crawl 1 had $(wc -l <"$TMP/bad1")"
refers "$TMP/w2" "fresh-not-fetched" | sort >"$TMP/reff2"
[ "$(wc -l <"$TMP/reff2")" -eq "$ncache" ] || fail "crawl 2: $(wc -l <"$TMP/reff2") fresh-not-fetched revisits for $ncache"
missing=$(comm -23 "$TMP/reff2" "$TMP/resp1" | wc -l)
[ "$missing" -eq 0 ] || fail "crawl 2: $missing fresh-not-fetched revisits refer to no record of crawl 1"
grep -q "$ncache still fresh (not fetched)" "$TMP/out2" || fail "crawl 2: the summary does not count $ncache fresh"
# "fetched" counts the requests that went out (the server's log), the
# reused answers apart
fetched2=$(sed -n 's/^  pages *\([0-9]*\) fetched.*/\1/p' "$TMP/out2")
asked2=$(awk '$4 != "/robots.txt"' "$TMP/log2" | wc -l)
[ "$fetched2" = "$asked2" ] || fail "crawl 2: the summary says $fetched2 fetched, the server answered $asked2"
grep -q "^  pages *$fetched2 fetched, $ncache reused (still fresh)" "$TMP/out2" ||
    fail "crawl 2: the summary does not say $ncache reused: $(grep '^  pages' "$TMP/out2")"

# ---- 3: no validators: 200 with the same payload digest --------------------
sed -i 's/^\(V [^ ]* [^ ]* [^ ]* [^ ]*\) .*/\1 - -/' "$TMP/st/journal"
crawl 3 --recrawl
[ "$(log_count 200 "$TMP/log3")" -eq "$pages" ] || fail "crawl 3: $(log_count 200 "$TMP/log3") pages with 200, want $pages"
refers "$TMP/w3" identical-payload-digest | sort >"$TMP/ref3"
[ "$(wc -l <"$TMP/ref3")" -eq "$pages" ] || fail "crawl 3: $(wc -l <"$TMP/ref3") identical-payload revisits for $pages pages"
missing=$(comm -23 "$TMP/ref3" "$TMP/resp1" | wc -l)
[ "$missing" -eq 0 ] || fail "crawl 3: $missing revisits refer to no record of crawl 1"
sed -n 's/^{"url":"\([^"]*\)","status":200,.*/\1/p' "$TMP/r1.jsonl" | sort >"$TMP/ok1"
records response "$TMP/w3" | cut -d' ' -f1 | sort >"$TMP/resp3"
[ "$(comm -12 "$TMP/ok1" "$TMP/resp3" | wc -l)" -eq 0 ] ||
    fail "crawl 3: response records (not revisits) for pages that did not change"
# (links read again: which page an offsite URL is first found in depends on
# the order pages come back, so the URLs only)
cut -d' ' -f1 "$TMP/off1" >"$TMP/off1u"
cut -d' ' -f1,2 "$TMP/bad1" >"$TMP/bad1u"
offsite "$TMP/r3.jsonl" | cut -d' ' -f1 | cmp -s - "$TMP/off1u" || fail "crawl 3: offsite rows differ from crawl 1's"
bad "$TMP/r3.jsonl" | cut -d' ' -f1,2 | cmp -s - "$TMP/bad1u" || fail "crawl 3: rows of hrefs that are no URL differ from crawl 1's"

# ---- 4: the window ---------------------------------------------------------
# crawl 3 carried crawl 1's answers over with their fetch time: move it
# two days back, past the default window of one day
awk '$1 == "E" { $4 -= 2 * 86400 } { print }' "$TMP/st/journal" >"$TMP/j" && mv "$TMP/j" "$TMP/st/journal"
crawl 4 --recrawl
[ "$(log_count 301 "$TMP/log4") $(log_count 404 "$TMP/log4")" = "$(grep -c ' 301$' "$TMP/st1") $(grep -c ' 404$' "$TMP/st1")" ] ||
    fail "crawl 4: the 301s and 404s older than the window were not all fetched again"
[ "$(fresh_rows "$TMP/r4.jsonl" | wc -l)" -eq 0 ] || fail "crawl 4: stale answers reused"
crawl 5 --recrawl --recrawl-fresh 0
[ "$(log_count 301 "$TMP/log5") $(log_count 404 "$TMP/log5")" = "$(grep -c ' 301$' "$TMP/st1") $(grep -c ' 404$' "$TMP/st1")" ] ||
    fail "crawl 5: --recrawl-fresh 0 reused answers"
[ "$(log_count 304 "$TMP/log5")" -eq "$pages" ] || fail "crawl 5: pages not revalidated"
# crawls 4 and 5 had 304s only: the rows of crawl 3 (which read the pages)
# carried over twice, each recrawl journaling them again for the next
bad "$TMP/r3.jsonl" >"$TMP/bad3"
for n in 4 5; do
    bad "$TMP/r$n.jsonl" | cmp -s - "$TMP/bad3" || fail "crawl $n: rows of hrefs that are no URL differ from crawl 3's"
done

# ---- 5: --resume of a journal cut after its first page ---------------------
# Its B lines, or the F lines ("F key") a journal of the version before B
# lines has instead, keep the rows of the hrefs that are no URL from being
# written twice; a --recrawl of the F-line journal works.
for kind in B F; do
    rm -rf "$TMP/sc"
    serve "$TMP/logc"
    set -- --no-progress --delay 0 -c 16 --state "$TMP/sc" -o "$TMP/c.jsonl" "$URL"
    "$BIN" "$@" >"$TMP/outc" 2>&1 || { cat "$TMP/outc"; fail "crawl for the $kind journal"; }
    awk '{ print } /^D [0-9]+ [0-9]+ / { exit }' "$TMP/sc/journal" >"$TMP/j"
    [ $kind = B ] || sed -i 's/^B -*[0-9]* [^ ]* /F /' "$TMP/j"
    grep -q "^$kind " "$TMP/j" || fail "no $kind line in the first page's journal lines"
    mv "$TMP/j" "$TMP/sc/journal"
    "$BIN" "$@" --resume >"$TMP/outc" 2>&1 || { cat "$TMP/outc"; fail "--resume of the $kind journal"; }
    bad "$TMP/c.jsonl" | cmp -s - "$TMP/bad1" ||
        fail "--resume of the $kind journal: $(bad "$TMP/c.jsonl" | wc -l) rows of hrefs that are no URL, want $(wc -l <"$TMP/bad1")"
    if [ $kind = F ]; then
        sed -i 's/^B -*[0-9]* [^ ]* /F /' "$TMP/sc/journal"
        "$BIN" "$@" --recrawl >"$TMP/outc" 2>&1 || { cat "$TMP/outc"; fail "--recrawl of an F journal"; }
        [ "$(grep -c '"status":304' "$TMP/c.jsonl")" -eq "$pages" ] || fail "--recrawl of an F journal: not every page answered 304"
    fi
    unserve
done

# ---- 6: bytes received, recrawl against first crawl -------------------------
ratio() { # LABEL site options...: crawl, recrawl; prints and sets PCT (tenths of a percent)
    label=$1
    shift
    SITE="$*" PORT=0
    rm -rf "$TMP/sb"
    serve "$TMP/logb"
    "$BIN" --no-progress --delay 0 -c 16 --state "$TMP/sb" -o "$TMP/b1.jsonl" "$URL" >"$TMP/outb1" 2>&1 || fail "$label: crawl"
    "$BIN" --no-progress --delay 0 -c 16 --state "$TMP/sb" -o "$TMP/b2.jsonl" "$URL" --recrawl >"$TMP/outb2" 2>&1 ||
        fail "$label: recrawl"
    unserve
    b1=$(received "$TMP/outb1") b2=$(received "$TMP/outb2")
    PCT=$(awk -v a="$b1" -v b="$b2" 'BEGIN { printf "%d", 1000 * b / a }')
    awk -v a="$b1" -v b="$b2" -v l="$label" 'BEGIN { printf "bytes: %s: crawl %.1f kB, recrawl %.1f kB received (%.1f%%)\n", l, a, b, 100 * b / a }'
}
ratio "default demo site ($PAGES pages)"
[ "$PCT" -lt 150 ] || fail "a recrawl of the default demo received $PCT per mille of the first crawl's bytes"
ratio "pages of 16 KiB" --page-bytes 16384
[ "$PCT" -lt 100 ] || fail "a recrawl of 16 KiB pages received $PCT per mille of the first crawl's bytes"

# ---- options --------------------------------------------------------------
URL=http://127.0.0.1:1/
"$BIN" --no-progress --recrawl "$URL" >"$TMP/out" 2>&1 && fail "--recrawl without --state"
grep -q "need --state" "$TMP/out" || fail "no clear error for --recrawl without --state"
"$BIN" --no-progress --recrawl --state "$TMP/none" -o "$TMP/x.jsonl" "$URL" >"$TMP/out" 2>&1 &&
    fail "--recrawl of an empty directory"
grep -q "no crawl to recrawl" "$TMP/out" || fail "no clear error for --recrawl of nothing: $(cat "$TMP/out")"
echo "recrawl: $pages pages, $nm answered 304 (server-not-modified revisits), $ncache 301/404 fresh (not fetched), then $pages identical-payload-digest revisits; chunked+gzip WARC verified"
echo "ok"

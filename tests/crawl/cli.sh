#!/bin/sh
# tulip-crawl run as a user runs it: the README's demo with its own check of
# the URL set, JSON Lines output, and exit codes with clear messages for
# bad usage. Usage: cli.sh PATH/TO/tulip-crawl [WRAPPER...], where a
# wrapper (valgrind and its options) runs every tulip-crawl; its own error
# exit code then fails the expected one.
set -u
BIN=${1:?usage: cli.sh TULIP_CRAWL [WRAPPER...]}
shift
WRAP="$*"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# run EXPECTED_RC ARGS...: output in $TMP/out
run() {
    want=$1; shift
    $WRAP "$@" >"$TMP/out" 2>&1
    got=$?
    [ "$got" -eq "$want" ] || { cat "$TMP/out" >&2; fail "$* exited $got, want $want"; }
}
has() { grep -q -- "$1" "$TMP/out" || { cat "$TMP/out" >&2; fail "no '$1' in the output"; }; }

run 0 "$BIN" --demo --pages 60 --latency 0 --no-progress -o "$TMP/rows.jsonl"
has "check     every URL the demo site model predicts was found, and nothing else"
fetched=$(sed -n 's/^  pages *\([0-9]*\) fetched.*/\1/p' "$TMP/out")
robots=$(sed -n 's/.*offsite, \([0-9]*\) robots.txt.*/\1/p' "$TMP/out")
offsite=$(sed -n 's/^  skipped *\([0-9]*\) offsite.*/\1/p' "$TMP/out")
[ -n "$fetched" ] && [ "$fetched" -gt 60 ] || fail "too few pages fetched: '$fetched'"
# one JSON line per fetched, refused or offsite URL, plus junk links
rows=$(wc -l <"$TMP/rows.jsonl")
[ "$rows" -ge $((fetched + robots + offsite)) ] || fail "$rows rows for $fetched+$robots+$offsite URLs"
grep -q '^{"url":"http://127.0.0.1:[0-9]*/","status":200,' "$TMP/rows.jsonl" || fail "no row for /"
# no progress line on a pipe
if grep -q "in flight" "$TMP/out"; then fail "progress line on a pipe"; fi
# ...and one on a terminal (script(1) gives it a pty). 60 pages are ~160
# fetches, 4 at a time, each held 30 ms by the server: over a second, so
# several of the 250 ms ticks come before the end.
if command -v script >/dev/null 2>&1; then
    script -qec "$WRAP $BIN --demo --pages 60 --latency 30 -c 4" /dev/null >"$TMP/out" 2>&1 ||
        { cat "$TMP/out" >&2; fail "--demo on a terminal failed"; }
    has " in flight "
    has "check     every URL the demo site model predicts was found"
    # -v on two loops: each loop's thread prints its rows, loop 0 the
    # progress line.  Every line must be whole: what follows the last
    # "\r\033[K" (the progress line's clear) is one -v line or one whole
    # progress line, never a progress line with a row glued on, and there
    # is one -v line per JSON row (retries aside: every 30th page answers 429).
    script -qec "$WRAP $BIN --demo --pages 60 --latency 30 -c 4 --workers 2 -v --every-429 30 --retries 1 -o $TMP/v.jsonl" \
        /dev/null >"$TMP/out" 2>&1 || { cat "$TMP/out" >&2; fail "--workers 2 -v on a terminal failed"; }
    has " in flight "
    has "check     every URL the demo site model predicts was found"
    has ", will retry"
    sed 's/\r$//; s/\r\x1b\[K/\x01/g' "$TMP/out" >"$TMP/lines"
    bad=$(awk -F '\001' -v rows="$(wc -l <"$TMP/v.jsonl")" '
        function progress(s) { return s ~ /^  [0-9]+ done   [0-9]+ in flight   [0-9]+ queued   [0-9]+ pages\/s   [0-9]+\.[0-9] s$/ }
        {
            for (i = 2; i < NF; i++) if (!progress($i)) { print "cut progress: " $0; next }
            if (NF > 1 && $1 != "") { print "text before a progress line: " $0; next }
            last = $NF
            if (last ~ /in flight/ && !progress(last)) { print "progress mixed with a line: " $0; next }
            if (last ~ /^([0-9][0-9][0-9]|---) /) {
                if (last ~ /attempt [0-9]+ failed.*, will retry$/) retry++
                else n++
                if (last !~ /^([0-9][0-9][0-9]|---) +[0-9]+\.[0-9] ms  d[0-9]+ +[^ ]+/) print "bad -v line: " $0
            }
        }
        END { if (n != rows) print n " -v lines for " rows " rows" }' "$TMP/lines")
    [ -z "$bad" ] || { cat -v "$TMP/out" >&2; fail "--workers 2 -v: $bad"; }
fi

# --workers N: the demo's own check of the URL set, for any number of loops
for n in 1 2 3; do
    run 0 "$BIN" --demo --pages 60 --latency 0 --no-progress --workers $n -o "$TMP/rows$n.jsonl"
    has "check     every URL the demo site model predicts was found, and nothing else"
    has "on $n loop"
    [ "$(wc -l <"$TMP/rows$n.jsonl")" -eq "$rows" ] || fail "--workers $n: $(wc -l <"$TMP/rows$n.jsonl") rows, want $rows"
done
run 2 "$BIN" --state "$TMP/state" --workers 2 http://127.0.0.1:1/
has "run on one loop for now"

run 2 "$BIN" --no-such-option
has "usage: tulip-crawl"
# --help names every long option the program takes (--sitemap was missing)
run 0 "$BIN" --help
HERE=$(cd "$(dirname "$0")" && pwd)
opts=$(sed -n 's/^ *{ "\([a-z0-9-]*\)", .*/\1/p' "$HERE/../../tools/crawl/main.c")
[ -n "$opts" ] || fail "no options read from tools/crawl/main.c"
for o in $opts; do
    grep -q -- "--$o\b" "$TMP/out" || fail "--help does not mention --$o"
done
run 2 "$BIN" --concurrency 0 http://127.0.0.1:1/
has "^tulip-crawl: --concurrency: expected a number from 1 to 100000, got '0'$"
# every numeric option's message names the option (not its value) and
# what it takes, zero included where zero is refused
run 2 "$BIN" --timeout 0 http://127.0.0.1:1/
has "^tulip-crawl: --timeout: expected a number from 1 to "
run 2 "$BIN" --max-pages abc http://127.0.0.1:1/
has "^tulip-crawl: --max-pages: expected a number from 0 to [0-9]*, got 'abc'$"
run 2 "$BIN" --warc-max-size=100 http://127.0.0.1:1/
has "^tulip-crawl: --warc-max-size: expected a number from 4096 to "
run 2 "$BIN" --demo --workers 0
has "^tulip-crawl: --workers: expected a number from 1 to 1024, got '0'$"
run 2 "$BIN" --demo http://127.0.0.1:1/
has "exclude each other"
run 1 "$BIN" "ftp://example.com/"
has "is not an http(s) URL"
# said before anything starts or is written: with --state it left a
# journal behind, and the corrected command was told "holds a crawl already"
if grep -q "^Crawling" "$TMP/out"; then fail "a crawl started for a URL that is not http(s)"; fi
run 1 "$BIN" --no-progress --state "$TMP/stbad" -o "$TMP/rows.jsonl" "ftp://example.com/"
has "is not an http(s) URL"
run 0 "$BIN" --no-progress --state "$TMP/stbad" -o "$TMP/rows.jsonl" http://127.0.0.1:1/
run 1 "$BIN" --demo --pages 5 -o "$TMP/no/such/dir/rows.jsonl"
has "No such file or directory"
# --server-log: a bad path stops the server before it starts, naming the
# file (it was said after Ctrl-C, exit 0); a failed write exits 1
timeout 60 $WRAP "$BIN" --serve 0 --server-log "$TMP/no/such/dir/log" >"$TMP/out" 2>&1 # (served on before)
got=$?
[ $got -eq 1 ] || { cat "$TMP/out" >&2; fail "--serve with a bad --server-log exited $got, want 1"; }
has "^tulip-crawl: $TMP/no/such/dir/log: No such file or directory$"
if grep -q Serving "$TMP/out"; then fail "--serve with a bad --server-log started serving"; fi
# --plot: a bad path is said before the modes run (it was said after them)
run 1 "$BIN" --compare --pages 5 --latency 0 --plot "$TMP/no/such/dir/p.svg"
has "^tulip-crawl: $TMP/no/such/dir/p.svg: No such file or directory$"
if grep -q "Crawling it" "$TMP/out"; then fail "--compare ran with a bad --plot path"; fi
run 2 "$BIN" --demo --plot "$TMP/p.svg"
has "go with --compare"
run 2 "$BIN" --compare --server-log "$TMP/log"
has "it goes with --demo or --serve"
run 2 "$BIN" --server-log "$TMP/log" http://127.0.0.1:1/
has "it goes with --demo or --serve"
if [ -w /dev/full ]; then
    # rows that could not be written: said with the file's name, exit 1
    # (before: "output 74 rows (JSON Lines) in /dev/full", exit 0)
    for n in 1 2; do
        run 1 "$BIN" --demo --pages 5 --latency 0 --no-progress --workers $n -o /dev/full
        has "^tulip-crawl: /dev/full: No space left on device$"
        has "^  output    /dev/full: No space left on device: rows lost$"
    done
    # --state: the file a commit failed on is named (it said "stopped   no
    # space left" and "output    1 rows (JSON Lines) in /dev/full")
    run 1 "$BIN" --no-progress --state "$TMP/stfull" -o /dev/full http://127.0.0.1:1/
    has "^tulip-crawl: /dev/full: No space left on device$"
    has "^  stopped   /dev/full: No space left on device$"
    has "^  output    /dev/full: No space left on device: rows lost$"
    run 1 "$BIN" --demo --pages 5 --latency 0 --no-progress --server-log /dev/full
    has "^tulip-crawl: /dev/full: cannot write the server log: No space left on device$"
fi
run 0 "$BIN" --demo --pages 5 --latency 0 --no-progress --server-log "$TMP/log"
[ -s "$TMP/log" ] || fail "--server-log: empty log"
# --state: a path the system refuses is a setup error (1), as without
# --state (it was 2); a failed first open leaves no crawl behind (the fixed
# command was told "holds a crawl already"); a command to fix is 2
run 1 "$BIN" --no-progress --state "$TMP/st" -o "$TMP/no/such/dir/rows.jsonl" http://127.0.0.1:1/
has "^tulip-crawl: $TMP/no/such/dir/rows.jsonl: No such file or directory$"
run 1 "$BIN" --no-progress --state "$TMP/no/such/dir/st" -o "$TMP/rows.jsonl" http://127.0.0.1:1/
has "No such file or directory"
run 0 "$BIN" --no-progress --state "$TMP/st" -o "$TMP/rows.jsonl" http://127.0.0.1:1/
run 2 "$BIN" --no-progress --state "$TMP/st" -o "$TMP/rows.jsonl" http://127.0.0.1:1/
has "holds a crawl already: add --resume"
run 2 "$BIN" --no-progress --state "$TMP/st" -o "$TMP/rows.jsonl" --resume --max-depth 1 http://127.0.0.1:1/
has "other options"
run 2 "$BIN" --no-progress --state "$TMP/st2" -o "$TMP/rows.jsonl" --resume http://127.0.0.1:1/
has "no crawl to resume"
run 2 "$BIN" --no-progress --state "$TMP/st2" -o "$TMP/rows.jsonl" --recrawl http://127.0.0.1:1/
has "no crawl to recrawl"
export TULIP_BACKEND=no-such-backend
run 1 "$BIN" http://127.0.0.1:1/
unset TULIP_BACKEND
has "cannot start the runtime"
# Nobody listening: the failed robots.txt fetch is an error row, not silence.
run 0 "$BIN" --no-progress http://127.0.0.1:1/
has "errors    connection-refused 1"
echo "ok"

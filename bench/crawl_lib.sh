# shellcheck shell=sh
# The preamble of the crawl benchmarks that serve the demo site from a
# `tulip-crawl --serve` process (crawl_durable.sh, crawl_two_hosts.sh):
# sourced once BIN (the tulip-crawl binary) is set.  Sets NCPU, CLI_CPU
# (the crawler's core; the server runs on core 0), TMP (removed at exit,
# with the server stopped), BG; defines serve and unserve.
NCPU=$(nproc)
CLI_CPU=$((NCPU > 1 ? 1 : 0))
TMP=$(mktemp -d)
SPID=
PORT=0
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
BG="env --default-signal=INT" # background commands start with SIGINT ignored

serve() { # site options... -> $URL, $PORT (the same port once one is chosen)
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

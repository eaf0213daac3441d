#!/bin/sh
# The kill -9 / --resume trials of issue 16 at full size: TRIALS crawls of a
# PAGES-page demo site (-c CONC), each killed with SIGKILL at a random point
# between 20% and 80% of its rows, then resumed to the end; then one
# Ctrl-C and --resume.  tests/crawl/resume.sh does the work and the checks
# (the test suite runs it small): (url, status) rows equal to an
# uninterrupted crawl's, no row twice, at most CONC URLs fetched twice by
# the server's log, every WARC file valid for warcio.js and warc_verify.
#
# usage: [WARC=1] bench/crawl_kill.sh BUILD_DIR [PAGES] [TRIALS] [CONC]
# By default without --warc (WARC=0): at 50,000 pages warcio.js would take
# longer than the crawls; the suite checks the WARC files after kills.
set -eu
BUILD=${1:?usage: bench/crawl_kill.sh BUILD_DIR [PAGES] [TRIALS] [CONC]}
HERE=$(cd "$(dirname "$0")" && pwd)
echo "load: $(uptime)"
start=$(date +%s)
WARC=${WARC:-0} sh "$HERE/../tests/crawl/resume.sh" "$BUILD/tulip-crawl" "$BUILD/tests/warc_verify" "${2:-50000}" "${3:-10}" "${4:-32}"
echo "$(($(date +%s) - start)) s; load: $(uptime)"

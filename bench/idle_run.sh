#!/bin/sh
# Issue 18's figures in one run: idle bytes per task for compact and
# private-stack tulip tasks against Go and asyncio (parked on a future /
# channel, and on a socket read), 10,000,000 idle compact tasks, and the
# resume cost against saved size. Prints figures; never fails.
#
#   flock /work/bench.lock bench/idle_run.sh [BUILD_DIR] [N] [BIG]
# N (default 1000000) tasks for the idle rows, BIG (default 10000000)
# compact tasks for the big row (0 skips it).
B=${1:-build}
N=${2:-1000000}
BIG=${3:-10000000}
here=$(dirname "$0")
IC=$B/bench/idle_compact
echo "# $(date -u +%FT%TZ) $(uptime)"
echo "## parked on a future (Go: a channel receive; asyncio: a Future)"
$IC idle "$N" compact
$IC idle "$N" private
if command -v go >/dev/null 2>&1; then
    go build -o "$B/bench/core_go" "$here/peers/core.go" && GOMAXPROCS=1 "$B/bench/core_go" idle "$N"
fi
command -v python3 >/dev/null 2>&1 && python3 "$here/peers/core_asyncio.py" idle "$N"
echo "## parked on a socket read (one socketpair each up to the fd limit, then shared)"
$IC sock "$N" compact
[ -x "$B/bench/core_go" ] && GOMAXPROCS=1 "$B/bench/core_go" sockidle "$N"
echo "## parked on a socket read, one socketpair each (the fd limit caps N)"
S=$(( ($(ulimit -Hn) - 64) / 2 - 100 ))
$IC sock "$S" compact
$IC sock "$S" private
[ -x "$B/bench/core_go" ] && GOMAXPROCS=1 "$B/bench/core_go" sockidle "$S"
command -v python3 >/dev/null 2>&1 && python3 "$here/peers/core_asyncio.py" sockidle "$S"
if [ "$BIG" -gt 0 ]; then
    echo "## $BIG idle compact tasks in one process"
    /usr/bin/time -f "  peak RSS %M KiB, %e s wall" $IC idle "$BIG" compact
fi
echo "## resume cost against saved size (two compact tasks on one shared stack)"
$IC resume 1000000
echo "# $(date -u +%FT%TZ) $(uptime)"

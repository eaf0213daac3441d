#!/bin/sh
# Issue 18's echo server row: server RSS per mostly idle connection with
# compact tasks, private-stack tasks and Go (bench/peers/echo.go), and the
# round trips/s of ACTIVE busy connections among them, servers in the order
# compact private private compact go. Prints figures; never fails.
#
#   flock /work/bench.lock bench/idle_echo.sh [BUILD_DIR] [N] [ACTIVE] [SECS]
B=${1:-build}
N=${2:-19000}
ACTIVE=${3:-100}
SECS=${4:-3}
here=$(dirname "$0")
IE=$B/bench/idle_echo
PORT=23400 # below the ephemeral range: 19,000 client sockets in TIME_WAIT would hold ports up there
echo "# $(date -u +%FT%TZ) $(uptime)"
run() { # compact|private|go
    PORT=$((PORT + 1))
    if [ "$1" = go ]; then
        taskset -c 0 "$B/bench/echo_go" "$PORT" &
    else
        taskset -c 0 "$IE" server "$PORT" "$1" &
    fi
    pid=$!
    sleep 0.5 # the listener is up (a bench, not a test)
    echo "## $1"
    taskset -c 1 "$IE" client "$PORT" "$pid" "$N" "$ACTIVE" "$SECS"
    kill "$pid"
    wait "$pid" 2>/dev/null
}
run compact
run private
run private
run compact
if command -v go >/dev/null 2>&1 && go build -o "$B/bench/echo_go" "$here/peers/echo.go"; then
    ulimit -n "$(ulimit -Hn)"
    run go
fi
echo "# $(date -u +%FT%TZ) $(uptime)"

#!/bin/sh
# Install the Debian 12 packages tulip needs to build, test and demo.
# Idempotent: installs only what is missing. Needs root (or sudo) for
# apt-get; otherwise prints the command to run.
set -eu

PACKAGES="build-essential cmake pkg-config clang valgrind gdb \
libcmocka-dev libssl-dev zlib1g-dev liburing-dev \
liburiparser-dev libgumbo-dev libuv1-dev libunwind-dev openssl \
libexpat1-dev libbrotli-dev libzstd-dev nodejs libdw-dev libhiredis-dev redis-server curl"

if [ "${1:-}" = "--bench" ]; then
    # Peers for bench/run: Go, Python asyncio/uvloop/aiohttp, nginx, wrk,
    # Boost.Context.
    PACKAGES="$PACKAGES golang-go python3 python3-aiohttp python3-uvloop nginx-light wrk libboost-context-dev g++"
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

# npm tools of the tests (warcio.js, pinned, into .cache/npm): after the
# Debian packages, so npm is there.
# Debian's nodejs comes without npm (NodeSource's has it built in).
npm_deps() {
    if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null || true
    fi
    "$(dirname "$0")/npm-deps.sh" >/dev/null || echo "tulip: npm tools not installed" >&2
}

if [ -z "$missing" ]; then
    npm_deps
    exit 0
fi

if [ "$(id -u)" = "0" ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "tulip: missing Debian packages:$missing" >&2
    echo "tulip: run as root: apt-get install -y$missing" >&2
    exit 1
fi

echo "tulip: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
npm_deps

#!/bin/sh
# The main job: build tulip and run tulip-crawl's demo (a generated site
# served on 127.0.0.1 and crawled by coroutine tasks; no network needed).
# Extra arguments go to tulip-crawl, e.g. --compare --plot crawl.svg.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS" --target tulip-crawl >/dev/null
exec ./build/tulip-crawl --demo "$@"

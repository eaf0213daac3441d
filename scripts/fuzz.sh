#!/bin/sh
# Run each libFuzzer harness in tests/fuzz for a bounded time, starting
# from the checked-in seed corpus tests/fuzz/corpus/<harness>/. A crash,
# a leak, a sanitizer report or a timeout of one input fails the run (the
# input is left in build-fuzz/artifacts/ to reproduce with
# `build-fuzz/<harness> <file>`). New inputs found go to build-fuzz/corpus/,
# not into the tree. Needs clang; called by scripts/test.sh.
#   FUZZ_SECONDS  time per harness (default 60: three harnesses, ~4 min with the build)
set -eu
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-60}
JOBS=$(nproc 2>/dev/null || echo 2)
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: no clang, skipped"
    exit 0
fi
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTULIP_FUZZ=ON \
    -DTULIP_VALGRIND_TESTS=OFF -DTULIP_BACKEND_TESTS=OFF >/dev/null
# The crawl harnesses exist when the crawler's libraries were found.
targets=$(cmake --build build-fuzz --target help | sed -n 's/^\.\.\. \(fuzz_[a-z_]*\).*/\1/p' | tr '\n' ' ')
# shellcheck disable=SC2086
cmake --build build-fuzz -j"$JOBS" --target $targets
mkdir -p build-fuzz/artifacts
for t in $targets; do
    mkdir -p "build-fuzz/corpus/$t"
    echo "fuzz: $t for ${SECS} s"
    "build-fuzz/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="build-fuzz/artifacts/$t-" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" 2>build-fuzz/$t.log ||
        { tail -n 60 "build-fuzz/$t.log"; echo "fuzz: $t FAILED"; exit 1; }
    grep -E '^stat::(number_of_executed_units|new_units_added)' "build-fuzz/$t.log" || true
done
echo "fuzz: all harnesses ran clean"

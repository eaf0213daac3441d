#!/bin/sh
# Build tulip and run every test: the plain build (gcc, -Werror) on the
# epoll, poll and io_uring backends and under valgrind, then the whole suite
# again in a clang build with AddressSanitizer + UndefinedBehaviorSanitizer,
# once more with ThreadSanitizer on every backend too (at the small test
# scale: a million fibers do not fit in TSan's shadow memory), and the unit tests with the
# portable ucontext switch (the only one on processors without an assembly
# switch; its debug unwinding differs from the assembly frame's).
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh

JOBS=$(nproc 2>/dev/null || echo 2)

echo "== gcc build (-Werror): tests on epoll, poll, io_uring, and under valgrind"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTULIP_WERROR=ON >/dev/null
cmake --build build -j"$JOBS"
ctest --test-dir build -j"$JOBS" --output-on-failure --timeout 600

echo "== clang build with ASan+UBSan (-Werror)"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTULIP_WERROR=ON \
    -DTULIP_SANITIZE=address,undefined -DTULIP_VALGRIND_TESTS=OFF >/dev/null
cmake --build build-asan -j"$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j"$JOBS" --output-on-failure --timeout 600

echo "== clang build with ThreadSanitizer (-Werror), small scale: tests on epoll, poll, io_uring"
CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DTULIP_WERROR=ON \
    -DTULIP_SANITIZE=thread -DTULIP_VALGRIND_TESTS=OFF -DTULIP_BACKEND_TESTS=ON >/dev/null
cmake --build build-tsan -j"$JOBS"
TULIP_TEST_SCALE=small TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan -j"$JOBS" --output-on-failure --timeout 600

echo "== gcc build with the portable ucontext switch (-Werror): unit tests, one backend"
cmake -S . -B build-ucontext -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTULIP_WERROR=ON \
    -DTULIP_CONTEXT=ucontext -DTULIP_BACKEND_TESTS=OFF -DTULIP_VALGRIND_TESTS=OFF \
    -DTULIP_BUILD_TOOLS=OFF -DTULIP_BUILD_BENCH=OFF -DTULIP_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-ucontext -j"$JOBS"
ctest --test-dir build-ucontext -j"$JOBS" --output-on-failure --timeout 600

echo "== fuzzing: each libFuzzer harness for ${FUZZ_SECONDS:-60} s from the seed corpus (clang)"
./scripts/fuzz.sh

echo "== install check: an outside program built with pkg-config and find_package"
./scripts/install_check.sh build
echo "tulip: all tests passed"

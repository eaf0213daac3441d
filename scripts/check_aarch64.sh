#!/bin/sh
# Build the core for aarch64 with Debian's cross compiler and run a smoke
# test of the assembly context switch under qemu-user. Not part of CI (it
# needs the cross packages); run by hand after touching src/platform.
set -eu
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
    apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
fi
# A fresh tree each time, with the toolchain file inside it: CMake
# remembers the toolchain's path, so a temporary file breaks the next run.
rm -rf build-aarch64
mkdir -p build-aarch64
TC=$PWD/build-aarch64/toolchain.cmake
cat > "$TC" <<'T'
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
T
# pkg-config must not offer the host's x86-64 libraries (liburing, ...).
PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig \
cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE="$TC" -DTULIP_BUILD_TESTS=OFF -DTULIP_BUILD_TOOLS=OFF \
    -DTULIP_BUILD_EXAMPLES=OFF -DTULIP_BUILD_BENCH=OFF -DTULIP_DEVELOPER=ON -DTULIP_EXCLUDE_REGEX="src/io/tls|src/http" >/dev/null
cmake --build build-aarch64 -j"$(nproc)" --target tulip_static >/dev/null
aarch64-linux-gnu-gcc -std=c11 -O2 -Iinclude tests/cross/smoke.c build-aarch64/libtulip.a -lpthread \
    -o build-aarch64/smoke
qemu-aarch64 -L /usr/aarch64-linux-gnu build-aarch64/smoke

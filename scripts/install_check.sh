#!/bin/sh
# Install the build into a scratch prefix and build a program outside the
# tree against it, once with pkg-config and once with find_package(tulip).
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=$(mktemp -d)
WORK=$(mktemp -d)
trap 'rm -rf "$PREFIX" "$WORK"' EXIT

cmake --install "$ROOT/$BUILD" --prefix "$PREFIX" >/dev/null
cat > "$WORK/hello.c" <<'C'
#include <stdio.h>
#include <tulip.h>

static int child(void *arg) { return tulip_sleep(TULIP_MS(1)) == 0 ? (int)(long)arg : -1; }

static int main_task(void *arg)
{
    (void)arg;
    tulip_task *t = tulip_spawn(child, (void *)21L);
    return tulip_join(t) * 2;
}

int main(void)
{
    int rc = tulip_run(main_task, NULL);
    printf("tulip %s: %d\n", tulip_version(), rc);
    return rc == 42 ? 0 : 1;
}
C
# The fault-injection hooks are tulip's own test aid, not release API:
# testing.h is not installed and tulip_fault_* are not exported.
if [ -e "$PREFIX/include/tulip/testing.h" ]; then
    echo "install_check: tulip/testing.h must not be installed" >&2
    exit 1
fi
for so in "$PREFIX"/lib/libtulip.so "$PREFIX"/lib/*/libtulip.so; do
    if [ -e "$so" ] && command -v nm >/dev/null 2>&1 && nm -D --defined-only "$so" | grep -q tulip_fault_; then
        echo "install_check: $so exports tulip_fault_*" >&2
        exit 1
    fi
done
# Every installed header compiles on its own (includes what it uses).
for h in "$PREFIX"/include/tulip/*.h; do
    printf '#include <tulip/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" >"$WORK/one.c"
    cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$PREFIX/include" -c "$WORK/one.c" -o "$WORK/one.o"
done
# ... and as C++: every header carries its extern "C" guard, so a C++
# program links against the C library (checked by linking one below).
if command -v c++ >/dev/null 2>&1; then
    for h in "$PREFIX"/include/tulip/*.h "$PREFIX"/include/tulip.h; do
        printf '#include <%s>\nint main() { return 0; }\n' "${h#"$PREFIX"/include/}" >"$WORK/one.cc"
        c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$PREFIX/include" -fsyntax-only "$WORK/one.cc"
    done
    printf '#include <tulip.h>\n#include <cstring>\nint main() { return std::strcmp(tulip_version(), TULIP_VERSION_STRING) != 0; }\n' >"$WORK/cpp.cc"
    CPP_CHECK=1
fi
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig:$PREFIX/lib/x86_64-linux-gnu/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# shellcheck disable=SC2046
# -Werror: the public headers must stay clean for a strict C11 user.
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$WORK/hello" "$WORK/hello.c" $(pkg-config --cflags --libs tulip)
LD_LIBRARY_PATH="$PREFIX/lib:$PREFIX/lib/x86_64-linux-gnu" "$WORK/hello"
if [ "${CPP_CHECK:-0}" = 1 ]; then
    # shellcheck disable=SC2046
    c++ -std=c++17 -Wall -Wextra -Werror -o "$WORK/cpp" "$WORK/cpp.cc" $(pkg-config --cflags --libs tulip)
    LD_LIBRARY_PATH="$PREFIX/lib:$PREFIX/lib/x86_64-linux-gnu" "$WORK/cpp"
    echo "C++: every header compiles, a C++ program links and runs"
fi

# A program built with -fsanitize=address over the plain installed library
# spawns a subprocess from a task (issue 12: vfork on a task stack crashed
# inside ASan's vfork interceptor), with gcc and with clang.
cat > "$WORK/spawn.c" <<'C'
#include <stdio.h>
#include <sys/wait.h>
#include <tulip.h>

static int main_task(void *arg)
{
    (void)arg;
    char *argv[] = {"/bin/sh", "-c", "exit 5", NULL};
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    o.argv = argv;
    tulip_process *p = tulip_process_spawn(&o);
    int st = 0;
    if (!p || tulip_process_wait(p, &st) < 0)
        return -1;
    tulip_process_free(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) { return tulip_run(main_task, NULL) == 5 ? 0 : 1; }
C
for c in cc clang; do
    command -v "$c" >/dev/null || continue
    # shellcheck disable=SC2046
    "$c" -fsanitize=address -g -o "$WORK/spawn-$c" "$WORK/spawn.c" $(pkg-config --cflags --libs tulip)
    ASAN_OPTIONS=detect_leaks=0 LD_LIBRARY_PATH="$PREFIX/lib:$PREFIX/lib/x86_64-linux-gnu" "$WORK/spawn-$c"
done

mkdir -p "$WORK/cm"
cat > "$WORK/cm/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.16)
project(hello C)
find_package(tulip REQUIRED)
add_executable(hello ../hello.c)
target_link_libraries(hello PRIVATE tulip::tulip_static)
C
cmake -S "$WORK/cm" -B "$WORK/cm/build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$WORK/cm/build" >/dev/null
"$WORK/cm/build/hello"

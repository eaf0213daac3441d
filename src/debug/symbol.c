/* Addresses to text. Each frame prints as
 * "function+0xoff at file:line (module+0xaddr)": the function comes from
 * the ELF symbol tables (static functions too, through libunwind), the
 * file and line from the DWARF line tables when libdw is there
 * (srcline.c); the module offset is what `addr2line -e module` takes to
 * give them by hand, for a PIE executable or a library alike. For a return
 * address the lookups use the call's address (ip - 1), so the line is the
 * call's rather than the one after it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "debug_internal.h"

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void tulip__symbolize(const void *ip, int exact, char *buf, size_t n)
{
    const char *at = (const char *)ip - (exact ? 0 : 1);
    char name[128];
    uintptr_t off = 0;
    char fn[416], line[256];
    int k;
    if (tulip__symbol_name(at, name, sizeof name, &off))
        k = snprintf(fn, sizeof fn, "%s+0x%lx", name, (unsigned long)(off + (exact ? 0 : 1)));
    else
        k = snprintf(fn, sizeof fn, "??");
    if (k > 0 && (size_t)k < sizeof fn && tulip__srcline(at, line, sizeof line))
        snprintf(fn + k, sizeof fn - (size_t)k, " at %s", line);
    Dl_info info;
    if (dladdr(at, &info) && info.dli_fname)
        snprintf(buf, n, "%s (%s+0x%lx)", fn, base_name(info.dli_fname),
                 (unsigned long)((uintptr_t)at - (uintptr_t)info.dli_fbase));
    else
        snprintf(buf, n, "%s", fn);
}

void tulip__print_frames(FILE *out, const char *indent, void *const *ips, int n, int first_is_exact)
{
    for (int i = 0; i < n; i++) {
        char text[512];
        tulip__symbolize(ips[i], i == 0 && first_is_exact, text, sizeof text);
        fprintf(out, "%s#%-2d %p %s\n", indent, i, ips[i], text);
    }
}

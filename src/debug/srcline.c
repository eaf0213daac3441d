/* Source file and line of a code address, from the DWARF line tables,
 * through elfutils' libdwfl (in libdw).
 *
 * libdw is loaded with dlopen for the reason libunwind is (unwind.c): the
 * core needs only libc and pthread (docs/DESIGN.md §4), and only debug
 * mode's reports want lines. The support is compiled when CMake finds
 * libdw's headers with pkg-config (Debian's libdw-dev); without them,
 * without libdw.so.1 at run time, or for code built without -g, frames
 * keep "function+offset (module+offset)" alone.
 *
 * libdw allocates and takes locks, so this is never called from a signal
 * handler, only where reports are printed (the loop thread, the watchdog
 * thread): one session for the process, under a mutex. Modules loaded
 * after the first lookup are found by reporting the process again. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "debug_internal.h"

#ifdef TULIP_HAVE_LIBDW
#include <elfutils/libdwfl.h>

static struct {
    Dwfl *(*begin)(const Dwfl_Callbacks *);
    int (*proc_report)(Dwfl *, pid_t);
    int (*report_begin_add)(Dwfl *);
    int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *), void *);
    Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
    Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
    const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *, Dwarf_Word *);
    Dwarf_Die *(*nextcu)(Dwfl_Module *, Dwarf_Die *, Dwarf_Addr *);
    int (*haspc)(Dwarf_Die *, Dwarf_Addr);
    Dwarf_Line *(*getsrc_die)(Dwarf_Die *, Dwarf_Addr);
    const char *(*linesrc)(Dwarf_Line *, Dwarf_Word *, Dwarf_Word *);
    int (*lineno)(Dwarf_Line *, int *);
    Dwfl_Callbacks callbacks;
    Dwfl *dwfl;
} D;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int available;

static void load(void)
{
    void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    /* Each entry: where the function pointer goes, and its name. dlsym's
     * void * is copied in with memcpy, which keeps -Wpedantic quiet. */
    const struct { void *dst; const char *name; } fns[] = {
        { &D.begin, "dwfl_begin" },
        { &D.proc_report, "dwfl_linux_proc_report" },
        { &D.report_begin_add, "dwfl_report_begin_add" },
        { &D.report_end, "dwfl_report_end" },
        { &D.addrmodule, "dwfl_addrmodule" },
        { &D.getsrc, "dwfl_module_getsrc" },
        { &D.lineinfo, "dwfl_lineinfo" },
        { &D.nextcu, "dwfl_module_nextcu" },
        { &D.haspc, "dwarf_haspc" },
        { &D.getsrc_die, "dwarf_getsrc_die" },
        { &D.linesrc, "dwarf_linesrc" },
        { &D.lineno, "dwarf_lineno" },
        { &D.callbacks.find_elf, "dwfl_linux_proc_find_elf" },
        { &D.callbacks.find_debuginfo, "dwfl_standard_find_debuginfo" },
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        void *p = dlsym(h, fns[i].name);
        if (!p)
            return;
        memcpy(fns[i].dst, &p, sizeof p);
    }
    D.dwfl = D.begin(&D.callbacks);
    if (!D.dwfl)
        return;
    if (D.proc_report(D.dwfl, getpid()) != 0 || D.report_end(D.dwfl, NULL, NULL) != 0)
        return;
    available = 1;
}

int tulip__srcline_init(void)
{
    pthread_once(&once, load);
    return available;
}

/* The line of addr by walking m's compilation units. dwfl_module_getsrc
 * finds a unit through .debug_aranges, which clang does not emit by
 * default and libdw before 0.189 does not rebuild; every unit's own
 * address ranges say the same. */
static const char *line_by_units(Dwfl_Module *m, Dwarf_Addr addr, int *lineno)
{
    Dwarf_Addr bias;
    for (Dwarf_Die *cu = NULL; (cu = D.nextcu(m, cu, &bias));) {
        if (D.haspc(cu, addr - bias) != 1)
            continue;
        Dwarf_Line *l = D.getsrc_die(cu, addr - bias);
        return l && D.lineno(l, lineno) == 0 ? D.linesrc(l, NULL, NULL) : NULL;
    }
    return NULL;
}

int tulip__srcline(const void *ip, char *buf, size_t n)
{
    if (n == 0 || !tulip__srcline_init())
        return 0;
    Dwarf_Addr addr = (Dwarf_Addr)(uintptr_t)ip;
    int found = 0;
    pthread_mutex_lock(&mu);
    Dwfl_Module *m = D.addrmodule(D.dwfl, addr);
    if (!m && D.report_begin_add(D.dwfl) == 0 && D.proc_report(D.dwfl, getpid()) == 0 &&
        D.report_end(D.dwfl, NULL, NULL) == 0)
        m = D.addrmodule(D.dwfl, addr); /* loaded since the last report */
    Dwfl_Line *line = m ? D.getsrc(m, addr) : NULL;
    int lineno = 0;
    const char *file = line ? D.lineinfo(line, &addr, &lineno, NULL, NULL, NULL) : NULL;
    if (!file && m)
        file = line_by_units(m, addr, &lineno);
    if (file && lineno > 0) {
        snprintf(buf, n, "%s:%d", file, lineno);
        found = 1;
    }
    pthread_mutex_unlock(&mu);
    return found;
}

#else /* built without libdw's headers */

int tulip__srcline_init(void)
{
    return 0;
}

int tulip__srcline(const void *ip, char *buf, size_t n)
{
    (void)ip;
    (void)buf;
    (void)n;
    return 0;
}

#endif

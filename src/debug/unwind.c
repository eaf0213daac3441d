/* Backtraces with libunwind, loaded at run time.
 *
 * Why dlopen: the core promises to need only libc and pthread, and
 * backtraces are wanted only in debug mode; a program that never turns
 * debug mode on never loads libunwind, and one running where it is not
 * installed still gets every other debug feature.
 *
 * Why libunwind rather than glibc's backtrace(): it can start from any set
 * of registers (a signal's interrupted context, a parked task's saved
 * switch frame), and its local unwinder does not allocate, so it may run
 * in the slow-step signal handler. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#include "debug_internal.h"
#include "../platform/frame_layout.h"

#if defined(__x86_64__) && defined(__has_include)
#if __has_include(<libunwind.h>)
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#define TULIP__HAVE_UNW 1
#endif
#endif

#ifdef TULIP__HAVE_UNW

/* The header turns each API name into its arch-specific symbol (e.g.
 * unw_step -> _ULx86_64_step); stringifying the macro gives dlsym the same
 * name the linker would have used. */
#define UNW_STR_(x) #x
#define UNW_STR(x) UNW_STR_(x)

static struct {
    int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
    int (*step)(unw_cursor_t *);
    int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
    int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
    unw_accessors_t *(*get_accessors)(unw_addr_space_t);
    int (*backtrace)(void **, int);
    unw_addr_space_t *local_as;
} U;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int available;
static const char *missing = "libunwind not loaded yet";

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p)
        missing = "libunwind.so.8 lacks a needed symbol";
    return p;
}

static void load(void)
{
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        h = dlopen("libunwind.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        missing = "libunwind.so.8 not found (install libunwind8)";
        return;
    }
    /* dlsym returns void *; POSIX guarantees it converts to a function
     * pointer, memcpy keeps -Wpedantic quiet about it. */
    void *p;
#define LOAD(field, name)                                                                                             \
    do {                                                                                                              \
        if (!(p = sym(h, UNW_STR(name))))                                                                             \
            return;                                                                                                   \
        memcpy(&U.field, &p, sizeof p);                                                                               \
    } while (0)
    LOAD(init_local2, unw_init_local2);
    LOAD(step, unw_step);
    LOAD(get_reg, unw_get_reg);
    LOAD(set_caching_policy, unw_set_caching_policy);
    LOAD(get_accessors, unw_get_accessors);
    LOAD(backtrace, unw_backtrace);
#undef LOAD
    if (!(U.local_as = sym(h, UNW_STR(unw_local_addr_space))))
        return;
    /* The global cache takes a lock: a signal landing while this thread
     * holds it (say, mid-dump) would deadlock the handler. */
    U.set_caching_policy(*U.local_as, UNW_CACHE_PER_THREAD);
    /* Warm up: the first unwind reads /proc/self/maps and ELF headers,
     * which is better done here than in a signal handler. */
    void *ips[4];
    U.backtrace(ips, 4);
    available = 1;
    missing = NULL;
}

int tulip__unwind_init(void)
{
    pthread_once(&once, load);
    return available;
}

const char *tulip__unwind_missing(void)
{
    return missing ? missing : "";
}

static int collect(unw_cursor_t *c, void **ips, int max)
{
    int n = 0;
    do {
        unw_word_t ip;
        if (U.get_reg(c, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        ips[n++] = (void *)(uintptr_t)ip;
    } while (n < max && U.step(c) > 0);
    return n;
}

int tulip__unwind_signal(void *uc, void **ips, int max)
{
    if (!available)
        return 0;
    unw_cursor_t c;
    if (U.init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) < 0)
        return 0;
    return collect(&c, ips, max);
}

int tulip__unwind_here(void **ips, int max)
{
    if (!tulip__unwind_init())
        return 0;
    void *all[TULIP__DBG_FRAMES + 1];
    int n = U.backtrace(all, max + 1 < TULIP__DBG_FRAMES + 1 ? max + 1 : TULIP__DBG_FRAMES + 1);
    if (n <= 1)
        return 0;
    /* Drop this function's own frame. */
    memcpy(ips, all + 1, (size_t)(n - 1) * sizeof *ips);
    return n - 1;
}

int tulip__unwind_task(const tulip_task *t, void **ips, int max)
{
    if (!tulip__unwind_init() || !t->stack)
        return 0;
    ucontext_t uc;
    memset(&uc, 0, sizeof uc);
#if defined(TULIP_CTX_UCONTEXT)
    /* swapcontext saved every register the unwinder starts from (rip is the
     * return into tulip__ctx_switch, rsp the stack pointer after it). As for
     * the assembly frame below, refuse a stack pointer outside the task's
     * stack, and a context that never ran: its registers are makecontext's
     * (entry with no frame yet), not a switch's. */
    uc = t->ctx.uc;
    const char *sp = (const char *)(uintptr_t)uc.uc_mcontext.gregs[REG_RSP];
    if (t->ctx.fresh || sp < (const char *)t->stack->lo || sp > (const char *)t->stack->lo + t->stack->size)
        return 0;
#else
    /* The frame tulip__ctx_switch left (src/platform/frame_layout.h).
     * Restoring it as the switch would gives the task's registers at the
     * instant it switched out. */
    const char *f = t->ctx.sp;
    if (f < (const char *)t->stack->lo || f + TULIP__FRAME_SIZE > (const char *)t->stack->lo + t->stack->size)
        return 0;
    static const struct { int reg, off; } saved[] = {
        { REG_R15, TULIP__FRAME_R15 }, { REG_R14, TULIP__FRAME_R14 }, { REG_R13, TULIP__FRAME_R13 },
        { REG_R12, TULIP__FRAME_R12 }, { REG_RBX, TULIP__FRAME_RBX }, { REG_RBP, TULIP__FRAME_RBP },
        { REG_RIP, TULIP__FRAME_RIP },
    };
    for (size_t i = 0; i < sizeof saved / sizeof saved[0]; i++)
        uc.uc_mcontext.gregs[saved[i].reg] = (greg_t)tulip__frame_word(f, saved[i].off);
    uc.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)(f + TULIP__FRAME_SIZE);
#endif
    uc.uc_mcontext.fpregs = &uc.__fpregs_mem;
    unw_cursor_t c;
    if (U.init_local2(&c, &uc, 0) < 0)
        return 0;
    return collect(&c, ips, max);
}

/* Whether ip lies past the end of the symbol name that libunwind placed
 * it in (off bytes from its start). libunwind names the nearest symbol
 * below ip whatever its size, and a stripped library (Debian's libc) keeps
 * only its exported symbols: a frame in one of its local functions
 * (__libc_start_call_main under main, __start_context under a ucontext
 * task) came out as "__libc_init_first+0x8a", a 1-byte function. dladdr1
 * gives an exported symbol's size; a name libunwind found in .symtab only
 * (a static function) is taken as it is. */
static int past_end(const void *ip, const char *name, uintptr_t off)
{
#ifdef __GLIBC__ /* dladdr1 is a GNU extension */
    Dl_info info;
    void *entry = NULL;
    if (!dladdr1((const char *)ip - off, &info, &entry, RTLD_DL_SYMENT) || !info.dli_sname || !entry ||
        strcmp(info.dli_sname, name) != 0)
        return 0;
    const ElfW(Sym) *sym = entry;
    return sym->st_size != 0 && off >= sym->st_size;
#else
    (void)ip;
    (void)name;
    (void)off;
    return 0;
#endif
}

int tulip__symbol_name(const void *ip, char *buf, size_t n, uintptr_t *off)
{
    if (n == 0)
        return 0;
    buf[0] = 0;
    if (tulip__unwind_init()) {
        unw_accessors_t *acc = U.get_accessors(*U.local_as);
        unw_word_t o = 0;
        if (acc && acc->get_proc_name &&
            acc->get_proc_name(*U.local_as, (unw_word_t)(uintptr_t)ip, buf, n, &o, NULL) == 0 && buf[0] &&
            !past_end(ip, buf, (uintptr_t)o)) {
            *off = (uintptr_t)o;
            return 1;
        }
    }
    Dl_info info;
    if (dladdr(ip, &info) && info.dli_sname) {
        snprintf(buf, n, "%s", info.dli_sname);
        *off = (uintptr_t)ip - (uintptr_t)info.dli_saddr;
        return 1;
    }
    buf[0] = 0;
    return 0;
}

#else /* no libunwind for this target */

int tulip__unwind_init(void)
{
    return 0;
}

const char *tulip__unwind_missing(void)
{
#if defined(__x86_64__)
    return "tulip was built without libunwind.h (install libunwind-dev)";
#else
    return "task backtraces are implemented for x86-64 only";
#endif
}

int tulip__unwind_signal(void *uc, void **ips, int max)
{
    (void)uc;
    (void)ips;
    (void)max;
    return 0;
}

int tulip__unwind_here(void **ips, int max)
{
    (void)ips;
    (void)max;
    return 0;
}

int tulip__unwind_task(const tulip_task *t, void **ips, int max)
{
    (void)t;
    (void)ips;
    (void)max;
    return 0;
}

int tulip__symbol_name(const void *ip, char *buf, size_t n, uintptr_t *off)
{
    Dl_info info;
    if (n && dladdr(ip, &info) && info.dli_sname) {
        snprintf(buf, n, "%s", info.dli_sname);
        *off = (uintptr_t)ip - (uintptr_t)info.dli_saddr;
        return 1;
    }
    if (n)
        buf[0] = 0;
    return 0;
}

#endif

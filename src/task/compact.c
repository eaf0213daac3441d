/* Compact tasks: K shared stacks per loop, frames saved lazily (see
 * compact.h for the idea and the rule it rests on).
 *
 * A task's live frames are [ctx.sp, top of its shared stack): the switch
 * leaves everything the task needs at or above its saved stack pointer
 * (the x86-64 red zone is unused there, since switching is a call). Saving
 * copies that range out, restoring copies it back to the same addresses,
 * so the task's own pointers into its frames stay valid. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_internal.h"
#include "../common/fault.h"
#include "../platform/annotate.h"

#define DEFAULT_SHARED_STACKS 4

/* Room a fresh context's first frame takes at the top (frame_layout.h
 * plus alignment), cleared of ASan poison before tulip__ctx_make. */
#define FRESH_FRAME 256

size_t tulip__save_class_size(unsigned cls)
{
    if (cls < 16)
        return ((size_t)cls + 1) * 64;
    if (cls < 22)
        return 1024 + ((size_t)cls - 15) * 512;
    return (size_t)8192 << (cls - 22);
}

unsigned tulip__save_class_of(size_t n)
{
    if (n <= 1024)
        return n ? (unsigned)((n - 1) / 64) : 0;
    if (n <= 4096)
        return 16 + (unsigned)((n - 1025) / 512);
    unsigned c = 22;
    for (size_t sz = 8192; sz < n; sz <<= 1)
        c++;
    return c;
}

void tulip__compact_init(struct tulip__compact *c, unsigned n)
{
    memset(c, 0, sizeof *c);
    c->n = n ? n : DEFAULT_SHARED_STACKS;
}

static char *top_of(const struct tulip__stack *st)
{
    return (char *)st->lo + st->size;
}

static void *buf_get(struct tulip__compact *c, unsigned cls)
{
    void *b = c->free[cls];
    if (b) {
        memcpy(&c->free[cls], b, sizeof(void *));
        c->nfree[cls]--;
        return b;
    }
    return tulip__malloc(tulip__save_class_size(cls));
}

static void buf_put(struct tulip__compact *c, void *b, unsigned cls)
{
    if (!b)
        return;
    if (c->nfree[cls] >= TULIP__SAVE_FREE_MAX) {
        free(b);
        return;
    }
    memcpy(b, &c->free[cls], sizeof(void *));
    c->free[cls] = b;
    c->nfree[cls]++;
}

void tulip__compact_fini(struct tulip__sched *s)
{
    struct tulip__compact *c = &s->compact;
    for (unsigned i = 0; i < TULIP__SAVE_CLASSES; i++) {
        while (c->free[i]) {
            void *b = c->free[i];
            memcpy(&c->free[i], b, sizeof(void *));
            free(b);
        }
        c->nfree[i] = 0;
    }
    if (c->shared) {
        for (unsigned i = 0; i < c->n; i++) {
            struct tulip__stack *st = c->shared[i].stack;
            if (st)
                tulip__stack_put(&s->stacks, st); /* clears its ASan poison */
        }
        free(c->shared);
        c->shared = NULL;
    }
}

int tulip__compact_bind(struct tulip__sched *s, tulip_task *t)
{
    struct tulip__compact *c = &s->compact;
    if (!c->shared) {
        c->shared = tulip__calloc(c->n, sizeof *c->shared);
        if (!c->shared)
            return -ENOMEM;
    }
    struct tulip__shared_stack *sh = &c->shared[c->next];
    if (!sh->stack) {
        sh->stack = tulip__stack_get(&s->stacks);
        if (!sh->stack)
            return -errno;
    }
    c->next = c->next + 1 == c->n ? 0 : c->next + 1;
    t->shared = sh;
    t->stack = sh->stack;
    t->saved = NULL;
    t->saved_len = 0;
    t->saved_class = 0;
    t->frames = TULIP__FRAMES_FRESH;
    c->tasks++;
    return 0;
}

/* Copy o's frames off its shared stack. */
static int save(struct tulip__compact *c, tulip_task *o)
{
    char *sp = tulip__task_sp(o);
    if (!sp)
        return -ENOTSUP; /* the ucontext build, which has no compact tasks */
    size_t n = (size_t)(top_of(o->stack) - sp);
    unsigned cls = tulip__save_class_of(n);
    if (!o->saved || o->saved_class != cls) {
        void *b = buf_get(c, cls);
        if (!b)
            return -ENOMEM;
        buf_put(c, o->saved, o->saved_class);
        o->saved = b;
        o->saved_class = (uint8_t)cls;
    }
    /* The frames' shadow holds their ASan redzones: clear it so the copy
     * is not reported (the next occupant starts from clean shadow anyway). */
    tulip__asan_unpoison(sp, n);
    memcpy(o->saved, sp, n);
    o->saved_len = (uint32_t)n;
    o->frames = TULIP__FRAMES_SAVED;
    c->saves++;
    c->bytes_saved += n;
    if (n > c->max_saved)
        c->max_saved = n;
    return 0;
}

int tulip__compact_enter(struct tulip__sched *s, tulip_task *t, void (*entry)(void *))
{

    struct tulip__shared_stack *sh = t->shared;
    if (sh->owner == t) {
        if (s->debug) /* poisoned while it was suspended: see below */
            tulip__asan_unpoison(sh->stack->lo, sh->stack->size);
        return 0;
    }
    struct tulip__compact *c = &s->compact;
    struct tulip__stack *st = sh->stack;
    char *top = top_of(st);
    /* Lowest byte the previous occupant's frames (and their shadow) reach. */
    char *low = top;
    if (sh->owner) {
        int rc = save(c, sh->owner);
        if (rc < 0)
            return rc;
        low = tulip__task_sp(sh->owner);
    }
    char *sp = t->frames == TULIP__FRAMES_FRESH ? top - FRESH_FRAME : tulip__task_sp(t);
    if (!sp)
        return -ENOTSUP; /* the ucontext build, which has no compact tasks */
    if (sp < low)
        low = sp;
    tulip__asan_unpoison(low, (size_t)(top - low));
    tulip__vg_addressable(sp, (size_t)(top - sp));
    if (t->frames == TULIP__FRAMES_FRESH) {
        tulip__ctx_make(&t->ctx, st->lo, st->size, entry, t);
    } else {
        memcpy(sp, t->saved, t->saved_len);
        c->restores++;
    }
    t->frames = TULIP__FRAMES_IN_PLACE;
    sh->owner = t;
    /* Debug mode poisons the whole shared stack while no task runs on it
     * (tulip__compact_suspended): open it for the task about to run. The
     * part below its frames must be clean (ASan's dynamic allocas assume
     * so), which costs the frames their redzones: fine for debug mode. */
    if (s->debug)
        tulip__asan_unpoison(st->lo, st->size);
    return 0;
}

#if defined(TULIP_ASAN)
void tulip__compact_suspended(struct tulip__sched *s, tulip_task *t)
{
    /* Nothing may touch a shared stack while no task runs on it: not the
     * suspended task's frames, not what lies below them. */
    if (s->debug && t->shared)
        tulip__asan_poison(t->shared->stack->lo, t->shared->stack->size);
}
#endif

void tulip__compact_release(struct tulip__sched *s, tulip_task *t)
{
    struct tulip__compact *c = &s->compact;
    struct tulip__shared_stack *sh = t->shared;
    if (sh->owner == t) {
        sh->owner = NULL;
        if (s->debug)
            tulip__asan_poison(sh->stack->lo, sh->stack->size);
    }
    buf_put(c, t->saved, t->saved_class);
    t->saved = NULL;
    t->saved_len = 0;
    c->tasks--;
}

/* The shared stack p lies on, or -1. */
static int stack_of(const struct tulip__compact *c, const void *p)
{
    if (!c->shared || !p)
        return -1;
    for (unsigned i = 0; i < c->n; i++) {
        const struct tulip__stack *st = c->shared[i].stack;
        if (st && (const char *)p >= (const char *)st->lo && (const char *)p < top_of(st))
            return (int)i;
    }
    return -1;
}

void tulip__compact_check_foreign(struct tulip__sched *s, const tulip_task *cur, const void *p, const char *what)
{
    int i = stack_of(&s->compact, p);
    /* The running compact task's own frames lie above this call's. */
    if (i >= 0 && !(cur && cur->shared == &s->compact.shared[i] && tulip__current() == cur &&
                    (const char *)p > (const char *)__builtin_frame_address(0)))
        tulip__compact_check(s, cur, p, what);
}

void tulip__compact_check(struct tulip__sched *s, const tulip_task *t, const void *p, const char *what)
{
    struct tulip__compact *c = &s->compact;
    int i = stack_of(c, p);
    if (i >= 0) {
        const tulip_task *o = c->shared[i].owner;
        fprintf(stderr,
                "tulip: debug: %s %p (by task %llu \"%s\") lies on shared stack %u of the compact "
                "tasks, where the frames of task %llu \"%s\" are now.\n"
                "  A compact task's frames are saved away while it is suspended: the runtime and\n"
                "  other tasks must never hold a pointer into them (docs/DESIGN.md section 11).\n",
                what, p, t ? (unsigned long long)t->id : 0ULL, t ? t->name : "", (unsigned)i,
                o ? (unsigned long long)o->id : 0ULL, o ? o->name : "");
        abort();
    }
}

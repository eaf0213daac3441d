#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* Blocks are aligned for any type, distinct, and keep what is written into
 * them while the arena grows around them. */
static void test_blocks_are_aligned_and_disjoint(void **state)
{
    (void)state;
    crawl_arena a = CRAWL_ARENA_INIT;
    enum { N = 5000 };
    unsigned char *p[N];
    size_t size[N];
    for (size_t i = 0; i < N; i++) {
        size[i] = (i * 7919) % 300; /* 0 included */
        p[i] = crawl_arena_alloc(&a, size[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % alignof(max_align_t), 0);
        memset(p[i], (int)(i & 0xff), size[i]);
        if (i)
            assert_ptr_not_equal(p[i], p[i - 1]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < size[i]; k++)
            assert_int_equal(p[i][k], i & 0xff);
    crawl_arena_release(&a);
    assert_null(a.chunks);
    assert_int_equal(a.total, 0);
}

/* A big block gets a chunk of its own and does not end the chunk being
 * filled: small blocks keep coming from the same chunk. */
static void test_big_block_keeps_current_chunk(void **state)
{
    (void)state;
    crawl_arena a = CRAWL_ARENA_INIT;
    char *s1 = crawl_arena_alloc(&a, 16);
    size_t before = a.total;
    char *big = crawl_arena_alloc(&a, 4u << 20);
    assert_non_null(big);
    memset(big, 1, 4u << 20);
    assert_true(a.total >= before + (4u << 20) && a.total <= before + (4u << 20) + 64);
    char *s2 = crawl_arena_alloc(&a, 16);
    assert_true(s2 > s1 && s2 - s1 <= 64); /* next to s1, past its header */
    crawl_arena_release(&a);
}

/* A freed block serves the next request of its size class; a big one is
 * not reused. */
static void test_freed_blocks_are_recycled(void **state)
{
    (void)state;
    crawl_arena a = CRAWL_ARENA_INIT;
    void *p = crawl_arena_alloc(&a, 100);
    crawl_arena_free(&a, p);
    assert_ptr_equal(crawl_arena_alloc(&a, 120), p); /* same class (128) */
    void *q = crawl_arena_alloc(&a, 100);
    assert_ptr_not_equal(q, p);                      /* p is in use again */
    crawl_arena_free(&a, q);
    assert_ptr_not_equal(crawl_arena_alloc(&a, 200), q); /* another class */
    void *big = crawl_arena_alloc(&a, 100000);
    crawl_arena_free(&a, big);
    assert_ptr_not_equal(crawl_arena_alloc(&a, 100000), big);
    crawl_arena_free(&a, NULL);
    crawl_arena_release(&a);
}

/* Allocating and freeing over and over, as gumbo does for the attributes
 * of end tags, holds memory flat. */
static void test_churn_holds_memory_flat(void **state)
{
    (void)state;
    crawl_arena a = CRAWL_ARENA_INIT;
    for (int i = 0; i < 200000; i++) {
        void *x = crawl_arena_alloc(&a, 40 + (size_t)i % 60);
        void *y = crawl_arena_alloc(&a, 300);
        void *z = crawl_arena_alloc(&a, 4000);
        assert_true(x && y && z);
        crawl_arena_free(&a, y);
        crawl_arena_free(&a, x);
        crawl_arena_free(&a, z);
    }
    assert_int_equal(a.total, 64 * 1024);
    crawl_arena_release(&a);
}

/* Memory held grows with what is asked: size classes and headers cost at
 * most about three times over. */
static void test_memory_held_is_bounded(void **state)
{
    (void)state;
    crawl_arena a = CRAWL_ARENA_INIT;
    size_t asked = 0;
    for (size_t i = 0; i < 200000; i++) {
        size_t n = 1 + i % 97;
        assert_non_null(crawl_arena_alloc(&a, n));
        asked += n;
    }
    assert_true(a.total >= asked);
    assert_true(a.total <= 4 * asked + (1u << 20));
    crawl_arena_release(&a);
    /* Released arenas are reusable. */
    assert_non_null(crawl_arena_alloc(&a, 10));
    crawl_arena_release(&a);
}

static void test_absurd_size_fails_cleanly(void **state)
{
    (void)state;
    crawl_arena a = CRAWL_ARENA_INIT;
    assert_non_null(crawl_arena_alloc(&a, 8));
    assert_null(crawl_arena_alloc(&a, SIZE_MAX));
    assert_null(crawl_arena_alloc(&a, SIZE_MAX / 2 + 1));
    assert_non_null(crawl_arena_alloc(&a, 8)); /* still usable */
    crawl_arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_are_aligned_and_disjoint),
        cmocka_unit_test(test_big_block_keeps_current_chunk),
        cmocka_unit_test(test_freed_blocks_are_recycled),
        cmocka_unit_test(test_churn_holds_memory_flat),
        cmocka_unit_test(test_memory_held_is_bounded),
        cmocka_unit_test(test_absurd_size_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

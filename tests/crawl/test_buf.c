#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_append_and_steal(void **state)
{
    (void)state;
    crawl_buf b = { 0 };
    assert_int_equal(crawl_buf_puts(&b, "ab"), 0);
    assert_int_equal(crawl_buf_putc(&b, 'c'), 0);
    assert_int_equal(crawl_buf_append(&b, "d\0e", 3), 0);
    assert_int_equal(crawl_buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "abcd\0e42-x", 11);
    char *s = crawl_buf_steal(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_memory_equal(s, "abcd\0e42-x", 11);
    free(s);
}

static void test_empty(void **state)
{
    (void)state;
    crawl_buf b = { 0 };
    char *s = crawl_buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(crawl_buf_reserve(&b, 0), 0);
    assert_string_equal(b.data, ""); /* terminated as soon as it exists */
    crawl_buf_free(&b);
    crawl_buf_free(&b);
}

static void test_growth_and_overflow(void **state)
{
    (void)state;
    crawl_buf b = { 0 };
    for (int i = 0; i < 100000; i++)
        assert_int_equal(crawl_buf_putc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 100000);
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(b.data[99999], 'a' + 99999 % 26);
    assert_int_equal(crawl_buf_reserve(&b, SIZE_MAX), -ENOMEM);
    assert_int_equal(crawl_buf_reserve(&b, SIZE_MAX - b.len), -ENOMEM);
    assert_int_equal(b.len, 100000); /* unchanged by failures */
    crawl_buf_free(&b);
}

static void test_truncate_and_grow(void **state)
{
    (void)state;
    crawl_buf b = { 0 };
    crawl_buf_truncate(&b, 0); /* an empty buffer has no data yet */
    assert_int_equal(crawl_buf_puts(&b, "hello, world"), 0);
    crawl_buf_truncate(&b, 5);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "hello");
    crawl_buf_free(&b);

    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 100; i++) {
        int *nv = crawl_grow(v, &cap, n, sizeof *v, 4);
        assert_non_null(nv);
        v = nv;
        v[n++] = i;
        assert_true(cap >= n);
        assert_true(cap == 4 || cap == 8 || cap == 16 || cap == 32 || cap == 64 || cap == 128);
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i);
    /* room left: the same array back, cap unchanged */
    size_t before = cap;
    assert_ptr_equal(crawl_grow(v, &cap, n, sizeof *v, 4), v);
    assert_int_equal(cap, before);
    /* a size that cannot be allocated: NULL, the array untouched */
    size_t huge = SIZE_MAX / 2 + 1;
    assert_null(crawl_grow(v, &huge, huge, sizeof *v, 4));
    assert_int_equal(v[99], 99);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_steal),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_growth_and_overflow),
        cmocka_unit_test(test_truncate_and_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

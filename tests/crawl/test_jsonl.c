#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

static void expect_json(const char *in, size_t n, const char *want)
{
    crawl_buf b = { 0 };
    assert_int_equal(crawl_json_string(&b, in, n), 0);
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    crawl_buf_free(&b);
}
#define EXPECT(lit, want) expect_json(lit, sizeof lit - 1, want)

static void test_ascii_escapes(void **state)
{
    (void)state;
    EXPECT("", "\"\"");
    EXPECT("plain text /path?q=1", "\"plain text /path?q=1\"");
    EXPECT("quote\" backslash\\ slash/", "\"quote\\\" backslash\\\\ slash/\"");
    EXPECT("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"");
    EXPECT("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    EXPECT("a\0b", "\"a\\u0000b\"");
    EXPECT("</script>", "\"</script>\"");
}

static void test_every_control_char(void **state)
{
    (void)state;
    for (int c = 0; c < 0x20; c++) {
        char in = (char)c;
        crawl_buf b = { 0 };
        assert_int_equal(crawl_json_string(&b, &in, 1), 0);
        assert_true(b.len == 4 || b.len == 8); /* "\n" or "\u00XX" */
        for (size_t i = 0; i < b.len; i++)
            assert_true((unsigned char)b.data[i] >= 0x20);
        crawl_buf_free(&b);
    }
}

static void test_valid_utf8_passes(void **state)
{
    (void)state;
    EXPECT("caf\xc3\xa9", "\"caf\xc3\xa9\"");                          /* U+00E9 */
    EXPECT("\xe2\x82\xac", "\"\xe2\x82\xac\"");                        /* U+20AC */
    EXPECT("\xf0\x9f\x8c\xb7", "\"\xf0\x9f\x8c\xb7\"");                /* U+1F337 tulip */
    EXPECT("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");                        /* U+FFFD itself */
    EXPECT("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");                /* U+10FFFF */
    EXPECT("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");          /* line/para sep */
    EXPECT("\xe2\x80\xa7", "\"\xe2\x80\xa7\"");                        /* neighbour kept */
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    EXPECT("\x80", "\"\\ufffd\"");                     /* lone continuation */
    EXPECT("\xff\xfe", "\"\\ufffd\\ufffd\"");         /* never valid */
    EXPECT("\xc0\xaf", "\"\\ufffd\\ufffd\"");         /* overlong '/' */
    EXPECT("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""); /* overlong, 3 bytes */
    EXPECT("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate D800 */
    EXPECT("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
    EXPECT("\xf5\x80", "\"\\ufffd\\ufffd\"");
    EXPECT("\xc3", "\"\\ufffd\"");                     /* truncated at end */
    EXPECT("\xe2\x82", "\"\\ufffd\"");                 /* truncated: one U+FFFD */
    EXPECT("\xe2\x82x", "\"\\ufffdx\"");
    EXPECT("\xf0\x9f\x8c", "\"\\ufffd\"");
    EXPECT("latin-1 caf\xe9!", "\"latin-1 caf\\ufffd!\"");
    /* Unicode 15 table 3-8: maximal subparts */
    EXPECT("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
           "\"a\\ufffd\\ufffd\\ufffdb\\ufffdc\\ufffd\\ufffdd\"");
}

static void test_all_byte_pairs_stay_valid(void **state)
{
    (void)state;
    /* no pair of bytes may produce raw control chars or stray high bytes
     * that are not part of valid UTF-8 copied through */
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            char in[2] = { (char)a, (char)b };
            crawl_buf o = { 0 };
            assert_int_equal(crawl_json_string(&o, in, 2), 0);
            const unsigned char *s = (const unsigned char *)o.data;
            assert_int_equal(s[0], '"');
            assert_int_equal(s[o.len - 1], '"');
            for (size_t i = 0; i < o.len; i++)
                assert_true(s[i] >= 0x20 && s[i] != 0x7f);
            if (a < 0x80 && b < 0x80)
                for (size_t i = 0; i < o.len; i++)
                    assert_true(s[i] < 0x80);
            crawl_buf_free(&o);
        }
    }
}

static void test_row(void **state)
{
    (void)state;
    crawl_buf b = { 0 };
    crawl_row r = { .url = "http://ex.com/", .status = 200, .bytes = 1234,
                    .elapsed_ns = 5250000, .depth = 0 };
    assert_int_equal(crawl_jsonl_row(&b, &r), 0);
    assert_string_equal(b.data, "{\"url\":\"http://ex.com/\",\"status\":200,\"bytes\":1234,"
                                "\"ms\":5.250,\"depth\":0,\"error\":null}\n");
    crawl_buf_free(&b);

    crawl_row e = { .url = "http://ex.com/\"x\"", .status = 0, .bytes = 0, .elapsed_ns = 999,
                    .depth = 3, .error = "connect: Connection refused\n" };
    assert_int_equal(crawl_jsonl_row(&b, &e), 0);
    assert_string_equal(b.data, "{\"url\":\"http://ex.com/\\\"x\\\"\",\"status\":null,\"bytes\":0,"
                                "\"ms\":0.000,\"depth\":3,"
                                "\"error\":\"connect: Connection refused\\n\"}\n");
    crawl_buf_free(&b);

    crawl_row x = { .url = "http://ex.com/r", .status = 301, .bytes = UINT64_MAX,
                    .elapsed_ns = 12345678901, .depth = 2, .content_type = "text/html",
                    .location = "http://ex.com/t", .parent = "http://ex.com/" };
    assert_int_equal(crawl_jsonl_row(&b, &x), 0);
    assert_string_equal(b.data, "{\"url\":\"http://ex.com/r\",\"status\":301,"
                                "\"bytes\":18446744073709551615,\"ms\":12345.678,\"depth\":2,"
                                "\"error\":null,\"content_type\":\"text/html\","
                                "\"location\":\"http://ex.com/t\",\"parent\":\"http://ex.com/\"}\n");
    crawl_buf_free(&b);

    crawl_row neg = { .url = "u", .status = -1, .elapsed_ns = INT64_MIN };
    assert_int_equal(crawl_jsonl_row(&b, &neg), 0);
    assert_non_null(strstr(b.data, "\"ms\":-9223372036854.775,"));
    assert_non_null(strstr(b.data, "\"status\":null"));
    crawl_buf_free(&b);
}

static void test_rows_append_lines(void **state)
{
    (void)state;
    crawl_buf b = { 0 };
    crawl_row r = { .url = "http://ex.com/\xff\n", .status = 404 };
    for (int i = 0; i < 3; i++) {
        r.depth = i;
        assert_int_equal(crawl_jsonl_row(&b, &r), 0);
    }
    size_t lines = 0;
    for (size_t i = 0; i < b.len; i++)
        lines += b.data[i] == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(b.data, "\"url\":\"http://ex.com/\\ufffd\\n\""));
    assert_int_equal(crawl_jsonl_row(&b, NULL), -EINVAL);
    crawl_row nourl = { 0 };
    size_t before = b.len;
    assert_int_equal(crawl_jsonl_row(&b, &nourl), -EINVAL);
    assert_int_equal(b.len, before);
    crawl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_escapes),
        cmocka_unit_test(test_every_control_char),
        cmocka_unit_test(test_valid_utf8_passes),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_all_byte_pairs_stay_valid),
        cmocka_unit_test(test_row),
        cmocka_unit_test(test_rows_append_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

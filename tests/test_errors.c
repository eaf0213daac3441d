/* Every error code a public header documents has a name and a message:
 * the headers are read at test time (every header in include/tulip beside this file),
 * so a code documented tomorrow is covered without touching this test. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tulip.h"

/* The value of errno name, or 0 if the C library does not know it. */
static int errno_value(const char *name)
{
    static const struct {
        const char *alias, *canonical;
    } aliases[] = {{"EWOULDBLOCK", "EAGAIN"}, {"ENOTSUP", "EOPNOTSUPP"}, {"EDEADLOCK", "EDEADLK"}};
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].alias) == 0)
            name = aliases[i].canonical;
    for (int e = 1; e < 200; e++) {
        const char *n = strerrorname_np(e);
        if (n && strcmp(n, name) == 0)
            return e;
    }
    return 0;
}

static size_t check_header(const char *path, size_t *missing)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t checked = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        /* Every word that is an errno name: "-ETIMEDOUT" and also the
         * codes prose lists without the sign ("EMFILE, ENFILE, ENOBUFS"). */
        for (char *p = line; (p = strchr(p, 'E')) != NULL; p++) {
            if (p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
                continue;
            char name[32];
            size_t k = 0;
            const char *q = p;
            for (; (isupper((unsigned char)*q) || isdigit((unsigned char)*q)) && k < sizeof name - 1; q++)
                name[k++] = *q;
            name[k] = 0;
            if (k < 3 || *q == '_' || islower((unsigned char)*q))
                continue;
            int v = errno_value(name);
            if (!v)
                continue; /* not an errno name (e.g. a word in prose) */
            checked++;
            if (getenv("TULIP_TEST_ERRORS_LIST"))
                print_message("%s\n", name);
            if (strcmp(tulip_err_name(-v), "UNKNOWN") == 0 || strcmp(tulip_strerror(-v), "unknown error") == 0) {
                print_message("%s documents -%s, which has no name in tulip_err_name/tulip_strerror\n", path, name);
                (*missing)++;
            }
        }
    }
    fclose(f);
    return checked;
}

static void test_documented_codes_have_names(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    snprintf(slash, sizeof dir - (size_t)(slash - dir), "/../include/tulip");
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t checked = 0, missing = 0, headers = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 2, ".h") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        checked += check_header(path, &missing);
        headers++;
    }
    closedir(d);
    /* The umbrella header beside the folder. */
    snprintf(slash, sizeof dir - (size_t)(slash - dir), "/../include/tulip.h");
    checked += check_header(dir, &missing);
    assert_true(headers >= 5);
    assert_true(checked >= 40); /* the headers do document their errors */
    assert_int_equal(missing, 0);
}

static void test_names_of_codes_returned(void **state)
{
    (void)state;
    /* Codes the library returns that the table once lacked. */
    assert_string_equal(tulip_err_name(-ELOOP), "ELOOP");
    assert_string_equal(tulip_err_name(-ESOCKTNOSUPPORT), "ESOCKTNOSUPPORT");
    assert_string_not_equal(tulip_strerror(-ELOOP), "unknown error");
    assert_string_equal(tulip_err_name(0), "OK");
    assert_string_equal(tulip_err_name(-4000), "UNKNOWN");
    assert_string_equal(tulip_err_name(ETIMEDOUT), tulip_err_name(-ETIMEDOUT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_codes_have_names),
        cmocka_unit_test(test_names_of_codes_returned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

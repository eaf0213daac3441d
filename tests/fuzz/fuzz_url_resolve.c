/* libFuzzer harness: the parser-free path of crawl_url_base_resolve
 * (url_fast.h) must agree with uriparser's on any reference.  The first
 * input byte picks the base.  Built with -DTULIP_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"
#include "url_fast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const bases[] = {
    "http://ex.com/", "http://ex.com/dir/page.html", "https://ex.com:8443/a/b/?q=1",
    "http://ex.com/a%2Fb/c", "http://[::1]:8080/d/", "http://ex.com/d/p.html?",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *ref = malloc(size);
    if (!ref)
        return 0;
    memcpy(ref, data + 1, size - 1);
    ref[size - 1] = '\0';
    const char *base = bases[data[0] % (sizeof bases / sizeof bases[0])];
    crawl_url_base *b;
    if (crawl_url_base_new(base, &b) != 0)
        abort();
    char *slow = NULL, *fast = NULL;
    crawl_url_fast_enabled = false;
    int rs = crawl_url_base_resolve(b, ref, &slow);
    crawl_url_fast_enabled = true;
    int rf = crawl_url_base_resolve(b, ref, &fast);
    crawl_url_base_free(b);
    if (rs != rf || (rs == 0 && strcmp(slow, fast) != 0)) {
        fprintf(stderr, "base %s ref \"%s\": parser %d %s, fast %d %s\n", base, ref, rs,
                slow ? slow : "-", rf, fast ? fast : "-");
        abort();
    }
    free(slow);
    free(fast);
    free(ref);
    return 0;
}

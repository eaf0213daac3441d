/* libFuzzer harness: link extraction (gumbo on the crawler's arena, then
 * URL resolution) on arbitrary bytes, as the crawler feeds it: cut to the
 * tag budget first.  Built with -DTULIP_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>

#include "links.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len = crawl_links_cut((const char *)data, size, 2000, NULL);
    crawl_links l;
    if (crawl_links_extract((const char *)data, len, "http://ex.com/d/p.html", &l) == 0)
        crawl_links_free(&l);
    return 0;
}

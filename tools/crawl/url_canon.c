#include "url_canon.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "tulip/http.h"

int crawl_url_default_port(const char *scheme)
{
    return strcmp(scheme, "https") == 0 ? 443 : 80;
}

size_t crawl_url_remove_dot_segments(char *path, size_t n)
{
    return tulip_http_path_remove_dots(path, n); /* the library's, the house's one */
}

int crawl_url_canonical_authority(const char *url, const char **auth, size_t *auth_len, const char **target)
{
    const char *p = strstr(url, "://");
    if (!p || p == url)
        return -EINVAL;
    const char *a = p + 3;
    size_t alen = strcspn(a, "/?#");
    /* Userinfo is not part of crawl_url_split's authority: leave those
     * (rare) URLs to the parser rather than disagree with it. */
    if (!alen || a[alen] == '#' || memchr(a, '@', alen))
        return -EINVAL;
    *auth = a;
    *auth_len = alen;
    if (target)
        *target = a[alen] ? a + alen : "/";
    return 0;
}

int crawl_url_canonical_host(const char *url, const char **host, size_t *len)
{
    const char *a;
    size_t alen;
    if (crawl_url_canonical_authority(url, &a, &alen, NULL))
        return -EINVAL;
    if (a[0] == '[') {
        const char *close = memchr(a, ']', alen);
        if (!close)
            return -EINVAL;
        *host = a + 1;
        *len = (size_t)(close - a - 1);
        return 0;
    }
    const char *colon = memchr(a, ':', alen);
    *host = a;
    *len = colon ? (size_t)(colon - a) : alen;
    return *len ? 0 : -EINVAL;
}

/* Checks a .warc.gz file against the record index warcio.js made of it
 * (`warcio index FILE -f warc-type,warc-target-uri,offset,length`, one JSON
 * object a line, on stdin), independently of tools/crawl/warc.c:
 *   - the records are back to back: each offset plus length is the next
 *     offset, the last one ends the file, the first is a warcinfo;
 *   - each record is one gzip member, exactly `length` bytes long;
 *   - each WARC-Block-Digest verifies, and each WARC-Payload-Digest of a
 *     response, over the HTTP body with chunked framing removed (and any
 *     content coding kept);
 *   - a revisit's profile is one of WARC/1.1's (6.7.2, 6.7.3), with its
 *     request record, or tulip-crawl's fresh-not-fetched (an answer of
 *     the crawl before reused without a fetch), with an empty block and
 *     no request;
 *   - the record count is 1 (warcinfo) + 2 per response (its request),
 *     + 2 per revisit of a WARC/1.1 profile, + 1 per fresh-not-fetched
 *     revisit, + metadata records.
 * Prints "records N responses R revisits V" and exits 0, or says what is
 * wrong and exits 1. Usage: warc_verify FILE < index.jsonl */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/sha.h>
#include <zlib.h>

static int fail(const char *what, long long off)
{
    fprintf(stderr, "warc_verify: record at %lld: %s\n", off, what);
    exit(1);
}

static void base32_sha1(const unsigned char *p, size_t n, char out[40])
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char md[20];
    SHA1(p, n, md);
    int bits = 0, k = 0;
    unsigned acc = 0;
    strcpy(out, "sha1:");
    k = 5;
    for (int i = 0; i < 20; i++) {
        acc = acc << 8 | md[i];
        bits += 8;
        while (bits >= 5) {
            out[k++] = al[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    out[k] = 0;
}

/* The value of header `name` in the head [p, p+n), copied, or NULL. */
static char *header(const char *p, size_t n, const char *name)
{
    size_t nl = strlen(name);
    const char *end = p + n;
    for (const char *l = p; l < end;) {
        const char *e = memmem(l, (size_t)(end - l), "\r\n", 2);
        if (!e)
            e = end;
        if ((size_t)(e - l) > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            return strndup(v, (size_t)(e - v));
        }
        l = e + 2;
    }
    return NULL;
}

static size_t dechunk(const unsigned char *p, size_t n, unsigned char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t sz = 0;
        while (i < n && isxdigit(p[i])) {
            sz = sz * 16 + (size_t)(isdigit(p[i]) ? p[i] - '0' : (tolower(p[i]) - 'a' + 10));
            i++;
        }
        while (i + 1 < n && !(p[i] == '\r' && p[i + 1] == '\n'))
            i++; /* extensions */
        i += 2;
        if (sz == 0 || i >= n)
            break;
        if (sz > n - i)
            sz = n - i; /* cut short: what arrived */
        memcpy(out + o, p + i, sz);
        o += sz;
        i += sz + 2;
    }
    return o;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: warc_verify FILE < warcio-index.jsonl\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    struct stat st;
    if (!f || stat(argv[1], &st) < 0) {
        perror(argv[1]);
        return 1;
    }
    unsigned char *file = malloc((size_t)st.st_size + 1);
    if (fread(file, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        perror("read");
        return 1;
    }
    fclose(f);
    char line[65536];
    long long expect = 0;
    unsigned records = 0, responses = 0, requests = 0, revisits = 0, metadata = 0, reused = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *o = strstr(line, "\"offset\":"), *l = strstr(line, "\"length\":");
        if (!o || !l)
            continue;
        long long off = atoll(o + 9 + (o[9] == '"')), len = atoll(l + 9 + (l[9] == '"'));
        if (off != expect)
            fail("does not start where the previous one ended", off);
        if (len <= 0 || off + len > st.st_size)
            fail("length past the end of the file", off);
        expect = off + len;
        /* exactly one gzip member of len bytes */
        z_stream z;
        memset(&z, 0, sizeof z);
        inflateInit2(&z, 15 + 16);
        size_t cap = (size_t)len * 8 + 65536, got;
        unsigned char *out = malloc(cap);
        z.next_in = file + off;
        z.avail_in = (uInt)len;
        int zr;
        for (;;) {
            z.next_out = out + z.total_out;
            z.avail_out = (uInt)(cap - z.total_out);
            zr = inflate(&z, Z_FINISH);
            if (zr == Z_BUF_ERROR && z.avail_out == 0) {
                cap *= 2;
                out = realloc(out, cap);
                continue;
            }
            break;
        }
        if (zr != Z_STREAM_END)
            fail("not a whole gzip member", off);
        if (z.avail_in != 0)
            fail("more than one gzip member", off);
        got = z.total_out;
        inflateEnd(&z);
        unsigned char *hend = memmem(out, got, "\r\n\r\n", 4);
        if (!hend || memcmp(out, "WARC/1.1\r\n", 10) != 0)
            fail("no WARC/1.1 head", off);
        size_t hlen = (size_t)(hend - out) + 2;
        char *type = header((char *)out, hlen, "WARC-Type");
        char *clen = header((char *)out, hlen, "Content-Length");
        char *bd = header((char *)out, hlen, "WARC-Block-Digest");
        char *pd = header((char *)out, hlen, "WARC-Payload-Digest");
        char *id = header((char *)out, hlen, "WARC-Record-ID");
        char *uri = header((char *)out, hlen, "WARC-Target-URI");
        if (!type || !clen || !id || strncmp(id, "<urn:uuid:", 10) != 0)
            fail("missing WARC-Type, Content-Length or a <urn:uuid:> WARC-Record-ID", off);
        if (uri && (uri[0] == '<'))
            fail("WARC-Target-URI in angle brackets", off);
        size_t blen = (size_t)atoll(clen);
        unsigned char *block = hend + 4;
        if ((size_t)(block - out) + blen + 4 != got || memcmp(block + blen, "\r\n\r\n", 4) != 0)
            fail("Content-Length does not match the block", off);
        char d[40];
        if (records == 0 && strcmp(type, "warcinfo") != 0)
            fail("the first record is not a warcinfo", off);
        if (strcmp(type, "warcinfo") != 0 && !bd)
            fail("no WARC-Block-Digest", off);
        if (bd) {
            base32_sha1(block, blen, d);
            if (strcmp(d, bd) != 0)
                fail("WARC-Block-Digest does not verify", off);
        }
        if (strcmp(type, "response") == 0) {
            responses++;
            unsigned char *bend = memmem(block, blen, "\r\n\r\n", 4);
            if (!bend)
                fail("response without an HTTP head", off);
            size_t head = (size_t)(bend - block) + 4;
            char *te = header((char *)block, head, "Transfer-Encoding");
            unsigned char *payload = block + head;
            size_t plen = blen - head;
            unsigned char *tmp = NULL;
            if (te && strcasestr(te, "chunked")) {
                tmp = malloc(plen + 1);
                plen = dechunk(payload, plen, tmp);
                payload = tmp;
            }
            if (!pd)
                fail("response without WARC-Payload-Digest", off);
            base32_sha1(payload, plen, d);
            if (strcmp(d, pd) != 0)
                fail("WARC-Payload-Digest does not verify", off);
            free(te);
            free(tmp);
        } else if (strcmp(type, "request") == 0) {
            requests++;
        } else if (strcmp(type, "revisit") == 0) {
            revisits++;
            char *ru = header((char *)out, hlen, "WARC-Refers-To-Target-URI");
            char *rd = header((char *)out, hlen, "WARC-Refers-To-Date");
            char *pr = header((char *)out, hlen, "WARC-Profile");
            if (!ru || !rd || !pr)
                fail("revisit without WARC-Profile / WARC-Refers-To-*", off);
            if (strcmp(pr, "http://tulip-crawl.invalid/warc/revisit/fresh-not-fetched") == 0) {
                if (blen != 0)
                    fail("a fresh-not-fetched revisit with a block", off);
                reused++;
                revisits--; /* no request record goes with it */
            } else if (strcmp(pr, "http://netpreserve.org/warc/1.1/revisit/server-not-modified") != 0 &&
                       strcmp(pr, "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest") != 0) {
                fail("a revisit profile that is not WARC/1.1's", off);
            }
            free(ru), free(rd), free(pr);
        } else if (strcmp(type, "metadata") == 0) {
            metadata++;
        } else if (strcmp(type, "warcinfo") != 0 || records != 0) {
            fail("unexpected record type", off);
        }
        records++;
        free(type), free(clen), free(bd), free(pd), free(id), free(uri);
        free(out);
    }
    if (expect != st.st_size)
        fail("the records do not end at the end of the file", expect);
    if (records != 1 + requests + responses + revisits + reused + metadata || requests != responses + revisits)
        fail("not 1 warcinfo + a request per response or revisit", 0);
    printf("records %u responses %u revisits %u reused %u\n", records, responses, revisits + reused, reused);
    free(file);
    return 0;
}

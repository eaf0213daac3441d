#define _GNU_SOURCE
#include "warc.h"
#include "fdwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

/* WARC/1.1 6.7.2, 6.7.3 */
#define PROFILE_BASE "http://netpreserve.org/warc/1.1/revisit/"

void crawl_sha1_base32(const void *p, size_t n, char out[CRAWL_WARC_DIGEST])
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(p, n, md, &mdlen, EVP_sha1(), NULL);
    memcpy(out, "sha1:", 5);
    char *o = out + 5;
    /* 20 bytes = 160 bits = 32 letters of 5 bits, no padding */
    for (int i = 0; i < 20; i += 5) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++)
            v = v << 8 | md[i + k];
        for (int k = 7; k >= 0; k--)
            *o++ = alpha[(v >> (5 * k)) & 31];
    }
    *o = '\0';
}

void crawl_warc_date(int64_t ns, char out[CRAWL_WARC_DATE])
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, CRAWL_WARC_DATE, "%Y-%m-%dT%H:%M:%S", &tm);
    unsigned us = (unsigned)(ns % 1000000000 / 1000) % 1000000u;
    snprintf(out + n, CRAWL_WARC_DATE - n, ".%06uZ", us);
}

/* Version 4 (random) UUIDs from a generator seeded once from getrandom:
 * unique is what matters here, not secret. */
static void uuid(char out[48])
{
    static __thread uint64_t s0, s1;
    if (!s0 && !s1) {
        uint64_t seed[2] = {0, 0};
        if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
            seed[0] = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
        s0 = seed[0] | 1;
        s1 = seed[1] ^ 0x9e3779b97f4a7c15ull;
    }
    uint64_t r[2];
    for (int i = 0; i < 2; i++) { /* xorshift128+ */
        uint64_t x = s0, y = s1;
        s0 = y;
        x ^= x << 23;
        s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
        r[i] = s1 + y;
    }
    r[0] = (r[0] & ~0xf000ull) | 0x4000ull;
    r[1] = (r[1] & ~(3ull << 62)) | (2ull << 62);
    snprintf(out, 48, "<urn:uuid:%08x-%04x-%04x-%04x-%012llx>", (unsigned)(r[0] >> 32),
             (unsigned)(r[0] >> 16) & 0xffff, (unsigned)r[0] & 0xffff, (unsigned)(r[1] >> 48),
             (unsigned long long)(r[1] & 0xffffffffffffull));
}

int crawl_warc_entity(const char *resp, size_t len, size_t head_len, const char **body, size_t *blen,
                      char **owned)
{
    *owned = NULL;
    *body = resp + head_len;
    *blen = len - head_len;
    tulip_http_header h[128];
    tulip_http_parser p;
    tulip_http_response res;
    /* The head as received: skip interim 1xx heads to the final one. */
    size_t at = 0;
    for (;;) {
        tulip_http_parser_init(&p, h, 128, head_len - at + 1, 0);
        int rc = tulip_http_parse_response(&p, resp + at, head_len - at, &res);
        if (rc < 0)
            return rc == -ENOMEM ? rc : -EBADMSG;
        if (res.status >= 200 || at + (size_t)rc >= head_len)
            break;
        at += (size_t)rc;
    }
    if (!res.chunked)
        return 0;
    char *copy = malloc(*blen + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, *body, *blen);
    tulip_http_chunked ch;
    tulip_http_chunked_init(&ch, UINT64_MAX);
    size_t n = *blen;
    ssize_t after = tulip_http_chunked_decode(&ch, copy, &n);
    if (after < 0 && after != -EAGAIN)
        n = 0; /* bad framing: the payload is what could be decoded, i.e. unknown */
    *owned = copy;
    *body = copy;
    *blen = n;
    return 0;
}

/* ---- records ----------------------------------------------------------- */

typedef struct job {
    char *url, *req, *resp, *profile, *refers_uri, *refers_date, *refers_id, *same_digest, *metadata, *concurrent;
    size_t req_len, resp_len, head_len;
    char peer[48];
    const char *truncated;
    int64_t date_ns;
    crawl_warc_records out;
} job;

static void job_free(void *arg)
{
    job *j = arg;
    free(j->url);
    free(j->req);
    free(j->resp);
    free(j->profile);
    free(j->refers_uri);
    free(j->refers_date);
    free(j->refers_id);
    free(j->same_digest);
    free(j->metadata);
    free(j->concurrent);
    crawl_buf_free(&j->out.gz);
    free(j);
}

/* Compress header, block and the record's closing CRLFs as one gzip member. */
static int gzip_member(crawl_buf *out, const crawl_buf *hdr, const char *block, size_t blen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t bound = deflateBound(&z, (uLong)(hdr->len + blen + 4)) + 64;
    int rc = crawl_buf_reserve(out, bound);
    if (rc == 0) {
        const struct { const void *p; size_t n; } in[3] = {{hdr->data, hdr->len}, {block, blen}, {"\r\n\r\n", 4}};
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)bound;
        for (int i = 0; i < 3 && rc == 0; i++) {
            z.next_in = (Bytef *)(uintptr_t)in[i].p;
            z.avail_in = (uInt)in[i].n;
            int zr = deflate(&z, i == 2 ? Z_FINISH : Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
                rc = -ENOMEM;
        }
        out->len = (size_t)((char *)z.next_out - out->data);
    }
    deflateEnd(&z);
    return rc;
}

static int record(crawl_buf *gz, const char *type, const char *id, const char *date, const char *url,
                  const char *ctype, const char *extra, const char *block, size_t blen)
{
    char digest[CRAWL_WARC_DIGEST];
    crawl_sha1_base32(block, blen, digest);
    crawl_buf h = {0};
    int rc = crawl_buf_printf(&h,
                              "WARC/1.1\r\nWARC-Type: %s\r\nWARC-Record-ID: %s\r\nWARC-Date: %s\r\n"
                              "%s%s%s%s"
                              "%s%s%sWARC-Block-Digest: %s\r\nContent-Length: %zu\r\n\r\n",
                              type, id, date, url ? "WARC-Target-URI: " : "", url ? url : "", url ? "\r\n" : "",
                              extra ? extra : "", ctype ? "Content-Type: " : "", ctype ? ctype : "",
                              ctype ? "\r\n" : "", digest, blen);
    if (rc == 0)
        rc = gzip_member(gz, &h, block, blen);
    crawl_buf_free(&h);
    return rc;
}

/* A revisit record's profile and what it refers to; a profile with no
 * ':' is one of WARC/1.1's. */
static int refers(crawl_buf *extra, const job *j, const char *profile)
{
    int rc = crawl_buf_printf(extra, "WARC-Profile: %s%s\r\nWARC-Refers-To-Target-URI: %s\r\nWARC-Refers-To-Date: %s\r\n",
                              strchr(profile, ':') ? "" : PROFILE_BASE, profile, j->refers_uri, j->refers_date);
    if (rc == 0 && j->refers_id)
        rc = crawl_buf_printf(extra, "WARC-Refers-To: %s\r\n", j->refers_id);
    return rc;
}

static int job_run(void *arg)
{
    job *j = arg;
    char date[CRAWL_WARC_DATE], req_id[48], resp_id[48];
    crawl_warc_date(j->date_ns, date);
    uuid(req_id);
    uuid(resp_id);
    crawl_buf extra = {0};
    int rc = 0;
    j->out.payload_digest[0] = '\0';
    if (j->head_len) {
        const char *body;
        size_t blen;
        char *owned;
        const char *block = j->resp;
        size_t block_len = j->resp_len;
        if ((rc = crawl_warc_entity(j->resp, j->resp_len, j->head_len, &body, &blen, &owned)) == 0) {
            crawl_sha1_base32(body, blen, j->out.payload_digest);
            free(owned);
        } else if (rc == -EBADMSG) {
            rc = 0;
        }
        const char *profile = j->profile;
        if (!profile && j->same_digest && !j->truncated && j->out.payload_digest[0] &&
            strcmp(j->out.payload_digest, j->same_digest) == 0)
            profile = "identical-payload-digest";
        if (profile && strcmp(profile, "server-not-modified") == 0) {
            /* a 304 has no payload: name the one referred to, if known */
            snprintf(j->out.payload_digest, sizeof j->out.payload_digest, "%s",
                     j->same_digest ? j->same_digest : "");
        }
        if (rc == 0 && j->peer[0])
            rc = crawl_buf_printf(&extra, "WARC-IP-Address: %s\r\n", j->peer);
        if (rc == 0)
            rc = crawl_buf_printf(&extra, "WARC-Concurrent-To: %s\r\n", req_id);
        if (rc == 0 && j->out.payload_digest[0])
            rc = crawl_buf_printf(&extra, "WARC-Payload-Digest: %s\r\n", j->out.payload_digest);
        if (rc == 0 && j->truncated)
            rc = crawl_buf_printf(&extra, "WARC-Truncated: %s\r\n", j->truncated);
        const char *type = "response";
        if (rc == 0 && profile) {
            type = "revisit";
            j->out.revisit = true;
            block_len = j->head_len; /* the head only: the payload is in the record referred to */
            rc = refers(&extra, j, profile);
        }
        memcpy(j->out.record_id, resp_id, sizeof j->out.record_id);
        if (rc == 0)
            rc = record(&j->out.gz, type, resp_id, date, j->url, "application/http;msgtype=response",
                        extra.data, block, block_len);
        if (rc == 0)
            j->out.count++;
    }
    if (rc == 0 && !j->head_len && !j->req_len && j->profile) {
        /* No exchange: an answer of the crawl before, still fresh, reused
         * (recrawl_fresh.h). The block is empty: the record referred to
         * holds the whole answer, and a reader that does not know the
         * profile leaves the record alone (WARC/1.1 6.7.1). */
        if (j->same_digest)
            rc = crawl_buf_printf(&extra, "WARC-Payload-Digest: %s\r\n", j->same_digest);
        if (rc == 0)
            rc = refers(&extra, j, j->profile);
        if (rc == 0)
            rc = record(&j->out.gz, "revisit", resp_id, date, j->url, NULL, extra.data, "", 0);
        if (rc == 0) {
            memcpy(j->out.record_id, resp_id, sizeof j->out.record_id);
            j->out.revisit = true;
            j->out.count++;
        }
    }
    if (rc == 0 && j->req_len) {
        extra.len = 0;
        if (j->peer[0])
            rc = crawl_buf_printf(&extra, "WARC-IP-Address: %s\r\n", j->peer);
        if (rc == 0 && j->head_len)
            rc = crawl_buf_printf(&extra, "WARC-Concurrent-To: %s\r\n", resp_id);
        if (rc == 0)
            rc = record(&j->out.gz, "request", req_id, date, j->url, "application/http;msgtype=request",
                        extra.data ? extra.data : "", j->req, j->req_len);
        if (rc == 0)
            j->out.count++;
    }
    if (rc == 0 && j->metadata && (j->head_len || j->concurrent)) {
        char id[48];
        uuid(id);
        extra.len = 0;
        rc = crawl_buf_printf(&extra, "WARC-Concurrent-To: %s\r\n", j->head_len ? resp_id : j->concurrent);
        if (rc == 0)
            rc = record(&j->out.gz, "metadata", id, date, j->url, "application/warc-fields", extra.data,
                        j->metadata, strlen(j->metadata));
        if (rc == 0)
            j->out.count++;
    }
    crawl_buf_free(&extra);
    return rc;
}

static char *dup_or_null(const char *s, int *rc)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *rc = -ENOMEM;
    return d;
}

static char *dup_bytes(const char *p, size_t n, int *rc)
{
    char *d = malloc(n ? n : 1);
    if (!d)
        *rc = -ENOMEM;
    else if (n)
        memcpy(d, p, n);
    return d;
}

static const char *truncated_reason(const tulip_http_tap *t, int err)
{
    if (t->truncated || err == -EFBIG)
        return "length";
    if (t->complete)
        return NULL;
    if (err == -ETIMEDOUT)
        return "time";
    if (err == -ENODATA || err == -ECONNRESET || err == -EPIPE)
        return "disconnect";
    return "unspecified";
}

int crawl_warc_exchange(const crawl_warc_fetch *f, crawl_warc_records *out)
{
    memset(out, 0, sizeof *out);
    const tulip_http_tap *t = f->tap;
    job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    int rc = 0;
    j->url = dup_or_null(f->url, &rc);
    j->req = dup_bytes(t->request, t->request_len, &rc);
    j->req_len = t->request_len;
    j->head_len = t->head_len;
    if (t->head_len) {
        j->resp = dup_bytes(t->response, t->response_len, &rc);
        j->resp_len = t->response_len;
        j->truncated = truncated_reason(t, f->err);
    }
    memcpy(j->peer, t->peer, sizeof j->peer);
    j->date_ns = f->date_ns;
    j->profile = dup_or_null(f->profile, &rc);
    j->refers_uri = dup_or_null(f->refers_uri, &rc);
    j->refers_date = dup_or_null(f->refers_date, &rc);
    j->refers_id = dup_or_null(f->refers_id, &rc);
    j->same_digest = dup_or_null(f->same_digest, &rc);
    j->metadata = dup_or_null(f->metadata, &rc);
    j->concurrent = dup_or_null(f->concurrent_to, &rc);
    if (rc == 0 && (f->profile || f->same_digest) && (!f->refers_uri || !f->refers_date))
        rc = -EINVAL;
    if (rc == 0)
        rc = tulip_self() ? tulip_run_blocking_ex(job_run, j, 0, job_free) : job_run(j);
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        return rc; /* job_free runs when the job ends */
    if (rc == 0) {
        *out = j->out;
        memset(&j->out, 0, sizeof j->out);
    }
    job_free(j);
    return rc;
}

void crawl_warc_records_free(crawl_warc_records *r)
{
    crawl_buf_free(&r->gz);
    r->count = 0;
}

/* ---- files --------------------------------------------------------------- */

struct crawl_warc {
    char *prefix;
    char stamp[16];
    char *info;
    char *name;
    unsigned serial;
    uint64_t max_size;
    uint64_t off;
    uint64_t info_end; /* end of the warcinfo record */
    int fd;
};

static char *file_name(const crawl_warc *w, unsigned serial)
{
    char *n;
    return asprintf(&n, "%s-%s-%05u.warc.gz", w->prefix, w->stamp, serial) < 0 ? NULL : n;
}

static int open_file(crawl_warc *w, unsigned serial, bool fresh, uint64_t offset)
{
    char *name = file_name(w, serial);
    if (!name)
        return -ENOMEM;
    int fd = open(name, O_WRONLY | O_CLOEXEC | (fresh ? O_CREAT | O_TRUNC : 0), 0644);
    if (fd < 0) {
        int e = -errno;
        free(name);
        return e;
    }
    if (!fresh && (ftruncate(fd, (off_t)offset) < 0 || lseek(fd, (off_t)offset, SEEK_SET) < 0)) {
        int e = -errno;
        close(fd);
        free(name);
        return e;
    }
    if (w->fd >= 0)
        close(w->fd);
    free(w->name);
    w->fd = fd;
    w->name = name;
    w->serial = serial;
    w->off = fresh ? 0 : offset;
    w->info_end = fresh ? 0 : 1; /* a resumed file has its warcinfo */
    if (!fresh)
        return 0;
    /* warcinfo: small, made inline */
    const char *slash = strrchr(name, '/');
    crawl_buf body = {0}, gz = {0};
    char id[48], date[CRAWL_WARC_DATE];
    uuid(id);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    crawl_warc_date((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, date);
    int rc = crawl_buf_printf(&body,
                              "software: tulip-crawl/" TULIP_VERSION_STRING "\r\nformat: WARC File Format 1.1\r\n"
                              "conformsTo: http://iipc.github.io/warc-specifications/specifications/"
                              "warc-format/warc-1.1/\r\n%s",
                              w->info ? w->info : "");
    char extra[512];
    snprintf(extra, sizeof extra, "WARC-Filename: %s\r\n", slash ? slash + 1 : name);
    if (rc == 0)
        rc = record(&gz, "warcinfo", id, date, NULL, "application/warc-fields", extra, body.data, body.len);
    if (rc == 0)
        rc = crawl_write_all(fd, gz.data, gz.len);
    if (rc == 0)
        w->off = w->info_end = gz.len;
    crawl_buf_free(&body);
    crawl_buf_free(&gz);
    return rc;
}

static crawl_warc *make(const crawl_warc_opts *o, int *rc)
{
    *rc = -EINVAL;
    if (!o || !o->prefix || !o->prefix[0] || (o->stamp && strlen(o->stamp) != 14))
        return NULL;
    crawl_warc *w = calloc(1, sizeof *w);
    *rc = -ENOMEM;
    if (!w)
        return NULL;
    w->fd = -1;
    w->max_size = o->max_size ? o->max_size : (uint64_t)1 << 30;
    w->prefix = strdup(o->prefix);
    w->info = o->info ? strdup(o->info) : NULL;
    if (o->stamp) {
        memcpy(w->stamp, o->stamp, 15);
    } else {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(w->stamp, sizeof w->stamp, "%Y%m%d%H%M%S", &tm);
    }
    if (!w->prefix || (o->info && !w->info)) {
        crawl_warc_close(w);
        return NULL;
    }
    *rc = 0;
    return w;
}

int crawl_warc_open(const crawl_warc_opts *o, crawl_warc **out)
{
    int rc;
    crawl_warc *w = make(o, &rc);
    if (w && (rc = open_file(w, 0, true, 0)) < 0) {
        crawl_warc_close(w);
        w = NULL;
    }
    *out = w;
    return rc;
}

int crawl_warc_resume(const crawl_warc_opts *o, unsigned serial, uint64_t offset, crawl_warc **out)
{
    int rc;
    /* OpenSSL's first use sets up its per-process state: let that be on
     * this thread, as crawl_warc_open's warcinfo digest does, not on a
     * pool thread (LSan then reports that state as leaked at exit). */
    char d[CRAWL_WARC_DIGEST];
    crawl_sha1_base32("", 0, d);
    crawl_warc *w = make(o, &rc);
    if (w && (rc = open_file(w, serial, false, offset)) < 0) {
        crawl_warc_close(w);
        w = NULL;
    }
    /* Files begun after the last commit hold nothing committed. */
    for (unsigned s = serial + 1; w; s++) {
        char *n = file_name(w, s);
        int gone = n ? unlink(n) : -1;
        free(n);
        if (gone < 0)
            break;
    }
    *out = w;
    return rc;
}

int crawl_warc_append(crawl_warc *w, const crawl_warc_records *r)
{
    if (!r->gz.len)
        return 0;
    if (w->off > w->info_end && w->off + r->gz.len > w->max_size) {
        int rc = open_file(w, w->serial + 1, true, 0);
        if (rc < 0)
            return rc;
    }
    int rc = crawl_write_all(w->fd, r->gz.data, r->gz.len);
    if (rc < 0) {
        if (ftruncate(w->fd, (off_t)w->off) == 0)
            lseek(w->fd, (off_t)w->off, SEEK_SET);
        return rc;
    }
    w->off += r->gz.len;
    return 0;
}

unsigned crawl_warc_serial(const crawl_warc *w) { return w->serial; }
uint64_t crawl_warc_offset(const crawl_warc *w) { return w->off; }
const char *crawl_warc_name(const crawl_warc *w) { return w->name; }
const char *crawl_warc_stamp(const crawl_warc *w) { return w->stamp; }

int crawl_warc_sync(crawl_warc *w)
{
    return fdatasync(w->fd) < 0 ? -errno : 0;
}

void crawl_warc_close(crawl_warc *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->prefix);
    free(w->info);
    free(w->name);
    free(w);
}

/* The fetches of a crawl with --state or --warc (state.h): robots.txt
 * answers journaled and given back on resume, conditional requests and
 * the reuse of fresh answers for --recrawl (recrawl.h, recrawl_fresh.h),
 * the WARC records of each exchange, held with the visit. */
#define _GNU_SOURCE
#include "state_internal.h"
#include "fdwrite.h"
#include "recrawl.h"
#include "warc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static robots_rec *robots_find(crawl_state *s, const char *origin, size_t n)
{
    for (robots_rec *r = s->robots; r; r = r->next)
        if (strlen(r->origin) == n && memcmp(r->origin, origin, n) == 0)
            return r;
    return NULL;
}

static int journal_robots(crawl_state *s, const char *origin, size_t olen, int status, const char *body,
                          size_t len)
{
    crawl_buf b = {0};
    int rc = crawl_state__flush(s);
    if (rc == 0)
        rc = crawl_buf_printf(&b, "R %d %zu %.*s\n", status, len, (int)olen, origin);
    if (rc == 0)
        rc = crawl_buf_append(&b, body, len);
    if (rc == 0)
        rc = crawl_buf_putc(&b, '\n');
    if (rc == 0)
        rc = crawl_write_all(s->jfd, b.data, b.len);
    crawl_buf_free(&b);
    return rc;
}

/* The crawl before's answer v for url, still fresh: no fetch. With
 * --warc a revisit record (no exchange, recrawl_fresh.h) refers to the
 * record that holds it; the E line is carried over unchanged (the age
 * counts from the fetch), so a later recrawl fetches it once the window
 * has passed. */
static int reuse(crawl_state *s, const char *url, const crawl_validators *v, tulip_http_reply **out)
{
    int rc = crawl_recrawl_reply(v, url, out);
    pending *p = crawl_state__current(s);
    crawl_warc_records rec = {0};
    if (rc == 0 && s->warc && v->date && v->record_id) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        tulip_http_tap none = {0};
        crawl_warc_fetch f = { .url = url, .tap = &none, .date_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                               .profile = CRAWL_WARC_PROFILE_FRESH, .refers_uri = url, .refers_date = v->date,
                               .refers_id = v->record_id, .same_digest = v->digest };
        if ((rc = crawl_warc_exchange(&f, &rec)) == 0)
            rc = p ? crawl_buf_append(&p->warc, rec.gz.data, rec.gz.len) : crawl_warc_append(s->warc, &rec);
        crawl_warc_records_free(&rec);
    }
    if (rc == 0 && s->jfd >= 0) {
        crawl_buf tmp = {0};
        rc = crawl_recrawl_eline(p ? &p->journal : &tmp, url, v->status, &v->fresh, v->date, v->record_id,
                                 v->digest, v->location, v->content_type);
        if (rc > 0 && !p && (rc = crawl_state__flush(s)) == 0)
            rc = crawl_write_all(s->jfd, tmp.data, tmp.len);
        crawl_buf_free(&tmp);
        rc = rc > 0 ? 0 : rc;
    }
    if (rc < 0) {
        tulip_http_reply_free(*out);
        *out = NULL;
        return rc;
    }
    if (p)
        p->reused = true;
    s->reused++;
    return 0;
}

bool crawl_state_reused(const crawl_state *s)
{
    pending *p = crawl_state__current((crawl_state *)s);
    return p && p->reused;
}

int crawl_state_links(const crawl_state *s, const char *url, crawl_recrawl_link_fn fn, void *arg)
{
    return s->prev ? crawl_recrawl_links(s->prev, url, fn, arg) : 0;
}

int crawl_state_get(crawl_state *s, tulip_http_client *c, const char *url, bool robots, tulip_http_reply **out)
{
    *out = NULL;
    size_t olen = 0;
    if (robots) {
        const char *slash = strstr(url, "://");
        slash = slash ? strchr(slash + 3, '/') : NULL;
        olen = slash ? (size_t)(slash - url) : strlen(url);
        robots_rec *r = robots_find(s, url, olen);
        if (r) {
            if (r->status < 0)
                return r->status;
            tulip_http_reply *rep = calloc(1, sizeof *rep);
            if (!rep || !(rep->body = malloc(r->len + 1)) || !(rep->url = strdup(url))) {
                tulip_http_reply_free(rep);
                return -ENOMEM;
            }
            memcpy(rep->body, r->body, r->len);
            rep->body[r->len] = '\0';
            rep->body_len = r->len;
            rep->status = r->status;
            rep->minor_version = 1;
            *out = rep;
            return 0;
        }
    }
    crawl_validators v;
    bool have = !robots && crawl_recrawl_find(s->prev, url, &v);
    pending *cur = crawl_state__current(s);
    if (cur)
        cur->reused = false;
    if (have && v.status && crawl_fresh_now(v.status, &v.fresh, time(NULL), s->o.fresh_window))
        return reuse(s, url, &v, out);
    if (!s->tapped && !robots && s->jfd < 0)
        return tulip_http_get(c, url, out); /* nothing to keep of it */
    tulip_http_header cond[2];
    size_t ncond = 0;
    if (have && v.etag)
        cond[ncond++] = (tulip_http_header){ "If-None-Match", 13, v.etag, strlen(v.etag) };
    if (have && v.last_modified)
        cond[ncond++] = (tulip_http_header){ "If-Modified-Since", 17, v.last_modified, strlen(v.last_modified) };
    tulip_http_tap tap = {0};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t date_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int rc = s->tapped ? tulip_http_fetch_tap(c, "GET", url, ncond ? cond : NULL, ncond, NULL, 0, &tap, out)
                       : tulip_http_get(c, url, out);
    if (rc == -ECANCELED) {
        tulip_http_tap_free(&tap);
        return rc;
    }
    /* what came in, robots.txt too; the tap holds it all, a failed fetch's too */
    s->rx_bytes += s->tapped ? tap.response_len : rc == 0 ? (*out)->bytes_in : 0;
    int status = rc == 0 ? (*out)->status : 0;
    bool not_modified = have && status == 304;
    /* a revisit record needs the capture it refers to */
    bool refer = have && v.date && v.digest;
    crawl_warc_records rec = {0};
    if (s->warc && (tap.request_len || tap.head_len)) {
        crawl_warc_fetch f = { .url = url, .tap = &tap, .err = rc, .date_ns = date_ns,
                               .profile = not_modified && refer ? "server-not-modified" : NULL,
                               .refers_uri = refer ? url : NULL, .refers_date = refer ? v.date : NULL,
                               .refers_id = refer ? v.record_id : NULL,
                               .same_digest = refer && (status == 200 || not_modified) ? v.digest : NULL };
        int wrc = crawl_warc_exchange(&f, &rec);
        if (wrc == 0) {
            pending *p = crawl_state__current(s);
            if (p && !robots && s->o.warc_metadata && rec.record_id[0]) {
                p->url.len = 0;
                wrc = crawl_buf_puts(&p->url, url);
                memcpy(p->resp_id, rec.record_id, sizeof p->resp_id);
                p->date_ns = date_ns;
            }
            if (p && wrc == 0)
                wrc = crawl_buf_append(&p->warc, rec.gz.data, rec.gz.len);
            else
                wrc = crawl_warc_append(s->warc, &rec);
        }
        if (wrc == -ECANCELED || wrc == -ETIMEDOUT || wrc == -ENOMEM) {
            tulip_http_reply_free(*out);
            *out = NULL;
            rc = wrc;
        }
    }
    if (rc == 0 && !robots && s->jfd >= 0 && (status == 200 || not_modified)) {
        /* what a later --recrawl asks with, and refers to */
        const char *etag = tulip_http_reply_header(*out, "ETag", NULL);
        const char *lm = tulip_http_reply_header(*out, "Last-Modified", NULL);
        char date[CRAWL_WARC_DATE];
        bool carry = rec.revisit || (not_modified && !rec.record_id[0]);
        crawl_warc_date(date_ns, date);
        crawl_buf tmp = {0};
        pending *p = crawl_state__current(s);
        int jrc = crawl_recrawl_line(p ? &p->journal : &tmp, url,
                                     carry ? v.date : rec.record_id[0] ? date : NULL,
                                     carry ? v.record_id : rec.record_id, carry ? v.digest : rec.payload_digest,
                                     etag ? etag : not_modified ? v.etag : NULL,
                                     lm ? lm : not_modified ? v.last_modified : NULL);
        if (jrc == 0 && !p && (jrc = crawl_state__flush(s)) == 0)
            jrc = crawl_write_all(s->jfd, tmp.data, tmp.len);
        crawl_buf_free(&tmp);
        if (jrc < 0) {
            tulip_http_reply_free(*out);
            *out = NULL;
            rc = jrc;
        }
    }
    crawl_fresh fr;
    if (rc == 0 && !robots && s->jfd >= 0 && status != 200 && !not_modified &&
        crawl_fresh_of(*out, date_ns / 1000000000, &fr)) {
        /* an answer a later --recrawl may reuse while it is fresh */
        crawl_buf tmp = {0};
        pending *p = crawl_state__current(s);
        char date[CRAWL_WARC_DATE];
        crawl_warc_date(date_ns, date);
        int jrc = crawl_recrawl_eline(p ? &p->journal : &tmp, url, status, &fr, rec.record_id[0] ? date : NULL,
                                      rec.record_id, rec.payload_digest,
                                      tulip_http_reply_header(*out, "Location", NULL),
                                      tulip_http_reply_header(*out, "Content-Type", NULL));
        if (jrc > 0 && !p && (jrc = crawl_state__flush(s)) == 0)
            jrc = crawl_write_all(s->jfd, tmp.data, tmp.len);
        crawl_buf_free(&tmp);
        if (jrc < 0) {
            tulip_http_reply_free(*out);
            *out = NULL;
            rc = jrc;
        }
    }
    s->not_modified += not_modified;
    s->identical += rec.revisit && status == 200;
    crawl_warc_records_free(&rec);
    tulip_http_tap_free(&tap);
    if (robots && s->jfd >= 0 && rc != -ECANCELED && rc != -ETIMEDOUT && rc != -ENOMEM) {
        int jrc = rc < 0 ? journal_robots(s, url, olen, rc, "", 0)
                         : journal_robots(s, url, olen, (*out)->status, (*out)->body, (*out)->body_len);
        if (jrc < 0) {
            tulip_http_reply_free(*out);
            *out = NULL;
            return jrc;
        }
    }
    return rc;
}


int crawl_state_outlinks(crawl_state *s, int depth, int64_t fetch_ns, char *const *urls, size_t n)
{
    pending *p = crawl_state__current(s);
    if (!s->warc || !s->o.warc_metadata || !p || !p->resp_id[0])
        return 0;
    /* warc-fields, in the manner of Heritrix's metadata records */
    crawl_buf b = {0};
    int rc = crawl_buf_printf(&b, "hopsFromSeed: %d\r\nfetchTimeMs: %.3f\r\n", depth, (double)fetch_ns / 1e6);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = crawl_buf_printf(&b, "outlink: %s\r\n", urls[i]);
    tulip_http_tap none = {0};
    crawl_warc_fetch f = { .url = p->url.data, .tap = &none, .date_ns = p->date_ns, .metadata = b.data,
                           .concurrent_to = p->resp_id };
    crawl_warc_records rec;
    if (rc == 0 && (rc = crawl_warc_exchange(&f, &rec)) == 0) {
        rc = crawl_buf_append(&p->warc, rec.gz.data, rec.gz.len);
        crawl_warc_records_free(&rec);
    }
    crawl_buf_free(&b);
    return rc;
}

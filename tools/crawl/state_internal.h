/* What state.c, state_fetch.c and state_replay.c share: the state itself
 * (state.h). */
#ifndef TULIP_CRAWL_STATE_INTERNAL_H
#define TULIP_CRAWL_STATE_INTERNAL_H

#include "buf.h"
#include "recrawl.h"
#include "state.h"
#include "warc.h"

/* What one visit produced, held until its commit. */
typedef struct pending {
    crawl_buf rows, warc, journal;
    bool open;
    bool reused; /* the last answer came from the crawl before (fresh) */
    /* the visit's response record, for its metadata record */
    char resp_id[48];
    int64_t date_ns;
    crawl_buf url;
} pending;

typedef struct robots_rec {
    struct robots_rec *next;
    char *origin;
    int status; /* or a negative errno */
    char *body;
    size_t len;
} robots_rec;

struct crawl_state {
    crawl_state_opts o;
    int out_fd, jfd;
    bool out_stdout;
    uint64_t out_off;
    crawl_warc *warc;
    robots_rec *robots;
    /* the journal as read at open, for the replay */
    char *jmap;
    size_t jlen;
    bool has_urls;
    size_t ndone, nurls; /* D lines, A/S/F lines */
    crawl_recrawl *prev; /* --recrawl: the crawl before */
    uint64_t rx_bytes, not_modified, identical, reused; /* fetches through crawl_state_get */
    bool tapped;
    /* Group commit: the rows and journal lines of the pages committed
     * while a leader yields go out in one write per file (flush). */
    crawl_buf brows, bjournal;
    bool leader;
    uint64_t gen; /* flushes so far */
    int flush_rc; /* the first flush error, for every later commit */
    tulip_lock mu;
    tulip_cond cv;
    char key; /* address used as the task-local key */
    char *jpath;  /* DIR/journal */
    char *failed; /* the file a write failed on first (crawl_state_failed) */
};

/* rc; when it is an error and none was kept, path as the file that failed. */
int crawl_state__failed_on(crawl_state *s, int rc, const char *path);

/* The calling task's open visit, or NULL (state.c). */
pending *crawl_state__current(crawl_state *s);
/* Write the batch of committed pages (rows, then journal lines); never
 * parks. Returns the first flush error of the crawl, or 0 (state.c). */
int crawl_state__flush(crawl_state *s);

/* The offsets of the journal's last done (or C) line. */
typedef struct crawl_last_done {
    bool any;
    uint64_t out_off, warc_off;
    unsigned warc_serial;
} crawl_last_done;

/* One pass over the journal at open (state_replay.c): the options line,
 * the last done line, the robots records, the WARC stamp, how many lines
 * of each kind; returns the length of its whole lines (a torn last line
 * is left out). *rc: 0 or -ENOMEM. */
size_t crawl_state__scan(crawl_state *s, crawl_last_done *ld, char *stamp, const char **opts, size_t *opts_len,
                         int *rc);

#endif

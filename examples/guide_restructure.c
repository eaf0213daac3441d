/* docs/GUIDE.md, "Restructured code": a line server and its client over
 * loopback, written as the blocking code one would write first. Only the
 * calls changed (tulip_accept, tulip_stream_readline, ...); the shape did
 * not: no state machine, no callbacks. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <tulip.h>

static int serve_one(void *arg)          /* upper-case every line */
{
    int lfd = *(int *)arg;
    int fd = tulip_accept(lfd, NULL, NULL);
    if (fd < 0)
        return fd;
    tulip_stream *s = tulip_stream_new_fd(fd, TULIP_STREAM_OWN_FD);
    char line[256];
    ssize_t n;
    while ((n = tulip_stream_readline(s, line, sizeof line)) > 0) {   /* 0: end */
        for (ssize_t i = 0; i < n; i++)
            line[i] = (char)toupper((unsigned char)line[i]);
        tulip_stream_write(s, line, (size_t)n);
    }
    tulip_stream_close(s);
    return n < 0 ? (int)n : 0;
}

static int main_task(void *arg)
{
    (void)arg;
    int lfd = tulip_listen("tcp", "127.0.0.1:0", 8);
    if (lfd < 0)
        return lfd;
    tulip_task *server = tulip_spawn(serve_one, &lfd);

    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", tulip_local_port(lfd));
    int fd = tulip_dial("tcp", addr);
    if (fd < 0)
        return fd;
    tulip_stream *s = tulip_stream_new_fd(fd, TULIP_STREAM_OWN_FD);
    const char *lines[] = {"hello\n", "async\n", "world\n"};
    for (int i = 0; i < 3; i++)
        tulip_stream_write(s, lines[i], strlen(lines[i]));
    tulip_stream_shutdown(s);           /* flush, then "no more lines" */

    char reply[256];
    ssize_t n;
    int got = 0;
    while ((n = tulip_stream_readline(s, reply, sizeof reply)) > 0) {
        printf("%.*s", (int)n, reply);
        got++;
    }
    tulip_stream_close(s);
    int rc = tulip_join(server);
    tulip_close(lfd);
    return rc == 0 && n == 0 && got == 3 ? 0 : -1;
}

int main(void)
{
    return tulip_run(main_task, NULL) == 0 ? 0 : 1;
}

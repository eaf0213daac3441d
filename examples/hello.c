#include <stdio.h>
#include <tulip.h>

static int handle(void *arg)                 /* one task per connection */
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = tulip_read(fd, buf, sizeof buf)) > 0)   /* parks, never blocks */
        if (tulip_write_all(fd, buf, (size_t)n, NULL) < 0)
            break;
    return tulip_close(fd);
}

static int serve(void *address)
{
    int lfd = tulip_listen("tcp", address, 128);
    if (lfd < 0)
        return lfd;
    printf("echo server on port %d\n", tulip_local_port(lfd));
    fflush(stdout);
    for (;;) {
        int fd = tulip_accept(lfd, NULL, NULL);      /* -ECANCELED on Ctrl-C */
        if (fd < 0) {
            tulip_close(lfd);
            return fd == -ECANCELED ? 0 : fd;         /* Ctrl-C is a clean exit */
        }
        tulip_task *t = tulip_spawn(handle, (void *)(intptr_t)fd);
        if (t)
            tulip_detach(t);
        else
            tulip_close(fd);
    }
}

int main(int argc, char **argv)
{
    return tulip_run(serve, argc > 1 ? argv[1] : "127.0.0.1:7777") < 0;
}

/* Drives an example that serves (the README's echo server, examples/hello.c)
 * to completion, as a user would: start it on a free loopback port, read
 * the port it prints, send a line and check the echo, then press Ctrl-C
 * (SIGINT) and check that it exits 0 (it used to exit 1 on Ctrl-C).
 *   example_server_driver PROGRAM */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "example_server_driver: %s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return fail("usage: example_server_driver PROGRAM");
    alarm(60);   /* bounded: a hung example fails the test instead of stalling it */
    int out[2];
    if (pipe(out) < 0)
        return fail("pipe");
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(argv[1], argv[1], "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[128];
    int port = 0;
    if (!f || !fgets(line, sizeof line, f) || sscanf(line, "echo server on port %d", &port) != 1 ||
        port <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return fail("no \"echo server on port N\" line");
    }

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[16] = {0};
    size_t got = 0;
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
             write(fd, "ping\n", 5) == 5;
    while (ok && got < 5) {
        ssize_t n = read(fd, buf + got, 5 - got);
        if (n <= 0)
            ok = 0;
        else
            got += (size_t)n;
    }
    ok = ok && memcmp(buf, "ping\n", 5) == 0;
    if (fd >= 0)
        close(fd);

    kill(pid, SIGINT);   /* Ctrl-C */
    int st = 0;
    waitpid(pid, &st, 0);
    fclose(f);
    if (!ok)
        return fail("no echo");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail("did not exit 0 on Ctrl-C");
    printf("echoed \"ping\", exited 0 on Ctrl-C\n");
    return 0;
}

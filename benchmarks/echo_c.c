/*
 * echo_c: a minimal epoll echo server, the ceiling of the benchmark suite.
 *
 * It does the least an echo server can: read into one shared buffer, write
 * it straight back; only when the kernel takes part of a write does the
 * rest get a buffer of its own, and reading stops until it is sent (the
 * same backpressure every other server in the suite applies). The suite
 * runs it to show that the load generator is not the bottleneck: the
 * generator must drive this server much faster than any Python server.
 *
 * With --spin it busy-polls (epoll_wait with a zero timeout) instead of
 * sleeping when it has nothing to do, so it never pays for being woken up:
 * on a virtual machine a wake-up costs a few microseconds of the server's
 * core, and a server that is fast enough to go idle between requests pays
 * it on nearly every one. Spinning, it shows how far the load generator can
 * push a server on this core.
 *
 * Usage: echo_c [PORT] [--spin]   (0 or nothing: any free port). Prints
 * "PORT n" once listening on 127.0.0.1, then serves until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define MAX_EVENTS 512

typedef struct {
    char *pending; /* bytes the kernel did not take yet, or NULL */
    size_t len, off;
} conn_t;

static conn_t *conns; /* indexed by fd */
static size_t nconns_cap;
static int ep;
static char buf[BUF];

static void die(const char *what) {
    fprintf(stderr, "echo_c: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void set_events(int fd, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void drop(int fd) {
    free(conns[fd].pending);
    conns[fd].pending = NULL;
    close(fd);
}

/* Write as much as the kernel takes; returns the count, or -1 after a drop. */
static ssize_t send_some(int fd, const char *data, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            drop(fd);
            return -1;
        }
        off += (size_t)n;
    }
    return (ssize_t)off;
}

/* Echo what was read; keep what the kernel refuses and stop reading. */
static void echo(int fd, size_t len) {
    ssize_t sent = send_some(fd, buf, len);
    if (sent < 0 || (size_t)sent == len) return;
    conn_t *c = &conns[fd];
    c->len = len - (size_t)sent;
    c->off = 0;
    c->pending = malloc(c->len);
    if (!c->pending) die("malloc");
    memcpy(c->pending, buf + sent, c->len);
    set_events(fd, EPOLLOUT);
}

/* The socket has room again: send the kept bytes, then read again. */
static void flush_pending(int fd) {
    conn_t *c = &conns[fd];
    ssize_t sent = send_some(fd, c->pending + c->off, c->len - c->off);
    if (sent < 0) return;
    c->off += (size_t)sent;
    if (c->off == c->len) {
        free(c->pending);
        c->pending = NULL;
        set_events(fd, EPOLLIN);
    }
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int spin = argc > 2 && strcmp(argv[2], "--spin") == 0;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        nconns_cap = rl.rlim_max;
    }
    if (nconns_cap == 0 || nconns_cap > (1u << 20)) nconns_cap = 1u << 20;
    conns = calloc(nconns_cap, sizeof *conns);
    if (!conns) die("calloc");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    if (listen(lfd, 1024) < 0) die("listen");
    socklen_t slen = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    printf("PORT %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);

    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, spin ? 0 : -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) break;
                    if ((size_t)cfd >= nconns_cap) {
                        close(cfd);
                        continue;
                    }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ev = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            conn_t *c = &conns[fd];
            if (c->pending) {
                if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) flush_pending(fd);
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r > 0) {
                echo(fd, (size_t)r);
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                drop(fd);
            }
        }
    }
}

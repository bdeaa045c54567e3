/*
 * udpgen: the UDP load generator of gnet's benchmark suite (loadgen.c's twin).
 *
 * One thread, non-blocking sockets, recvmmsg/sendmmsg batches, no allocation
 * on the hot path, so that the generator is not what limits a server.
 *
 * Modes:
 *
 *   echo    --conns N --size B    N connected client sockets, one request in
 *                                 flight each; a reply must carry the
 *                                 request's sequence number and bytes.
 *                                 Figure: round trips/s. A request with no
 *                                 reply after 200 ms counts as lost and the
 *                                 client sends the next one.
 *   stream  --size B              one socket sending B-byte datagrams as fast
 *                                 as the kernel takes them (sendmmsg, 64 at a
 *                                 time) to a server in sink mode. Figures:
 *                                 datagrams/s and MB/s the server received,
 *                                 the share lost. The server is asked for its
 *                                 counters ('?stats TAG' -> "COUNT BYTES TAG") at the
 *                                 start and end of the measured part; the
 *                                 question waits in the kernel behind the
 *                                 data, so each answer counts everything sent
 *                                 before it that was not dropped. With
 *                                 --rate R it sends R datagrams/s, evenly.
 *
 * Timed: --warmup seconds, then a line {"event": "measuring"}, then
 * --duration seconds; the result is one JSON object on the last line.
 * "client_cpu" is the generator's CPU time over the measured time.
 *
 * Usage: udpgen MODE PORT [--host 127.0.0.1] [options]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONNS 1024
#define BATCH 64
#define MAXSIZE 65507
#define LOSS_NS 200000000LL

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
    fprintf(stderr, "udpgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int udp_socket(struct sockaddr_in *dst, int connect_it) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (connect_it && connect(fd, (struct sockaddr *)dst, sizeof *dst) < 0) die("connect");
    return fd;
}

static unsigned char payload[MAXSIZE];
static unsigned char inbuf[BATCH][MAXSIZE + 1];

/* ---- echo: N clients, one request in flight each ---- */

struct client {
    int fd;
    uint64_t seq;
    long long sent_at;
};

static int run_echo(struct sockaddr_in *dst, int conns, int size, double warmup,
                    double duration) {
    static struct client clients[MAXCONNS];
    if (size < 8) size = 8;
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = 0; i < conns; i++) {
        clients[i].fd = udp_socket(dst, 1);
        clients[i].seq = (uint64_t)i << 40;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, clients[i].fd, &ev) < 0) die("epoll_ctl");
    }
    for (int i = 0; i < size; i++) payload[i] = (unsigned char)(i * 7 + 3);
    long long trips = 0, lost = 0, bad = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(payload, &clients[i].seq, 8);
        send(clients[i].fd, payload, size, 0);
        clients[i].sent_at = now_ns();
    }
    double start = now(), measure_at = start + warmup, end = measure_at + duration;
    int measuring = 0;
    double cpu0 = 0, t0 = 0;
    struct epoll_event events[MAXCONNS];
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_at) {
            measuring = 1;
            trips = lost = bad = 0;
            cpu0 = cpu_seconds();
            t0 = t;
            printf("{\"event\": \"measuring\"}\n");
            fflush(stdout);
        }
        if (measuring && t >= end) break;
        int n = epoll_wait(ep, events, conns, 0);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int k = 0; k < n; k++) {
            struct client *c = &clients[events[k].data.u32];
            for (;;) {
                ssize_t got = recv(c->fd, inbuf[0], sizeof inbuf[0], 0);
                if (got < 0) break;
                uint64_t seq;
                memcpy(&seq, inbuf[0], 8);
                if (seq != c->seq) continue; /* a late reply to a request counted lost */
                if (got != size || memcmp(inbuf[0] + 8, payload + 8, size - 8) != 0) bad++;
                trips++;
                c->seq++;
                memcpy(payload, &c->seq, 8);
                send(c->fd, payload, size, 0);
                c->sent_at = now_ns();
            }
        }
        if (n == 0) {
            long long ns = now_ns();
            for (int i = 0; i < conns; i++) {
                if (ns - clients[i].sent_at > LOSS_NS) {
                    lost++;
                    clients[i].seq++;
                    memcpy(payload, &clients[i].seq, 8);
                    send(clients[i].fd, payload, size, 0);
                    clients[i].sent_at = ns;
                }
            }
        }
    }
    double elapsed = now() - t0;
    printf("{\"rate\": %.1f, \"round_trips\": %lld, \"lost\": %lld, \"bad\": %lld, "
           "\"elapsed\": %.4f, \"client_cpu\": %.3f}\n",
           trips / elapsed, trips, lost, bad, elapsed, (cpu_seconds() - cpu0) / elapsed);
    return 0;
}

/* ---- stream: one-way, as fast as the kernel takes it ---- */

static int ask_stats(int ctl, long long *count, long long *bytes, double timeout) {
    /* Each question carries a fresh tag the answer must repeat, so a late
     * answer to an earlier question is never taken for this one. */
    static unsigned tag = 0;
    char buf[128], question[32], want[16];
    tag++;
    int qlen = snprintf(question, sizeof question, "?stats %u", tag);
    snprintf(want, sizeof want, "%u", tag);
    double deadline = now() + timeout;
    while (now() < deadline) {
        send(ctl, question, qlen, 0);
        struct pollfd p = {.fd = ctl, .events = POLLIN};
        while (poll(&p, 1, 100) > 0) {
            ssize_t got = recv(ctl, buf, sizeof buf - 1, 0);
            if (got <= 0) break;
            buf[got] = 0;
            char echoed[32];
            if (sscanf(buf, "%lld %lld %31s", count, bytes, echoed) == 3 &&
                strcmp(echoed, want) == 0)
                return 0;
        }
    }
    return -1;
}

static int run_stream(struct sockaddr_in *dst, int size, double warmup, double duration,
                      double rate) {
    int fd = udp_socket(dst, 1);
    int ctl = udp_socket(dst, 1);
    for (int i = 0; i < size; i++) payload[i] = (unsigned char)(i * 7 + 3);
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = payload;
        iov[i].iov_len = size;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    long long sent = 0, paced = 0;
    double start = now(), measure_at = start + warmup;
    long long c0 = 0, b0 = 0, c1 = 0, b1 = 0;
    int measuring = 0;
    double cpu0 = 0, t0 = 0, end = 0;
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_at) {
            if (ask_stats(ctl, &c0, &b0, 10) < 0) {
                fprintf(stderr, "udpgen: the server did not answer '?stats'\n");
                return 1;
            }
            measuring = 1;
            sent = 0;
            cpu0 = cpu_seconds();
            t0 = now();
            end = t0 + duration;
            printf("{\"event\": \"measuring\"}\n");
            fflush(stdout);
        }
        if (measuring && t >= end) break;
        int want = BATCH;
        if (rate > 0) {
            /* Paced: never ahead of rate * elapsed, in batches of at most 16. */
            long long allowed = (long long)(rate * (t - start)) - paced;
            if (allowed <= 0) continue;
            want = allowed < 16 ? (int)allowed : 16;
        }
        int n = sendmmsg(fd, msgs, want, 0);
        if (n > 0) {
            sent += n;
            paced += n;
        } else if (errno == EAGAIN || errno == ENOBUFS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 10);
        } else if (errno != EINTR && errno != ECONNREFUSED) {
            die("sendmmsg");
        }
    }
    double send_elapsed = now() - t0;
    double client_cpu = (cpu_seconds() - cpu0) / send_elapsed;
    if (ask_stats(ctl, &c1, &b1, 30) < 0) {
        fprintf(stderr, "udpgen: the server did not answer '?stats' at the end\n");
        return 1;
    }
    double elapsed = now() - t0;
    long long got = c1 - c0;
    double loss = sent > 0 ? 100.0 * (double)(sent - got) / (double)sent : 0;
    if (loss < 0) loss = 0;
    printf("{\"rate\": %.1f, \"received\": %lld, \"sent\": %lld, \"sent_rate\": %.1f, "
           "\"loss_pct\": %.2f, \"mb_per_s\": %.2f, \"elapsed\": %.4f, "
           "\"send_elapsed\": %.4f, \"client_cpu\": %.3f}\n",
           got / elapsed, got, sent, sent / send_elapsed, loss, (b1 - b0) / elapsed / 1e6,
           elapsed, send_elapsed, client_cpu);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: udpgen echo|stream PORT [--host H] [--conns N] [--size B] "
                        "[--duration S] [--warmup S] [--rate R]\n");
        return 2;
    }
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    const char *host = "127.0.0.1";
    int conns = 50, size = 64;
    double duration = 2.0, warmup = 0.5, rate = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--conns")) conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--duration")) duration = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--depth")) { /* loadgen's option; one in flight here */ }
        else {
            fprintf(stderr, "udpgen: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (conns < 1 || conns > MAXCONNS || size < 0 || size > MAXSIZE) {
        fprintf(stderr, "udpgen: bad --conns or --size\n");
        return 2;
    }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &dst.sin_addr) != 1) {
        fprintf(stderr, "udpgen: bad host %s\n", host);
        return 2;
    }
    if (!strcmp(mode, "echo")) return run_echo(&dst, conns, size, warmup, duration);
    if (!strcmp(mode, "stream")) return run_stream(&dst, size, warmup, duration, rate);
    fprintf(stderr, "udpgen: unknown mode %s\n", mode);
    return 2;
}

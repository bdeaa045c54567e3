/*
 * loadgen: the load generator of gnet's benchmark suite.
 *
 * One thread, one epoll loop, level-triggered, non-blocking sockets, no
 * allocation on the hot path: it is written so that it is never the
 * bottleneck (the suite shows that by driving a minimal C echo server with
 * it, see echo_c.c and docs/benchmarks.md).
 *
 * Every connection sends the byte stream pat[(offset + seed) % 251], so what
 * comes back is checked with one memcmp() against the same table: an echo
 * server that drops, repeats, reorders or mixes up bytes is counted in
 * "byte_errors" at no cost per byte beyond the compare.
 *
 * Modes (the scenario is picked by the first argument):
 *
 *   pingpong   --conns N --size B          one message in flight per connection;
 *                                          round trips/s, p50/p99 latency
 *   pipeline   --conns N --size B --depth D   D messages in flight per connection;
 *                                          messages/s
 *   bulk       --conns N --size B          writes of B bytes as fast as the socket
 *              [--window W]                takes them (with --window, while fewer
 *                                          than W bytes await their echo), reads
 *                                          everything back; MB/s
 *   connrate   --conns P --size B          P connections at a time, each: connect,
 *                                          B-byte echo, close; connections/s
 *   idle       --stages N1,N2,...          open connections (each echoes B bytes
 *                                          once) until N1 are open, print a "ready"
 *                                          line, wait for a line on stdin, go on to
 *                                          N2, ...; after the last, close all
 *
 * Timed modes run --warmup seconds, reset the counters, then measure for
 * --duration seconds, busy-polling (see `spin`). A line {"event": "measuring"}
 * marks the start of the measured part; the result is one JSON object on the
 * last line. "client_busy" is the share of the measured time the generator
 * spent on work rather than on polls that found nothing: it shows how much
 * more load the generator had to give ("client_cpu" is about 1.0 when it
 * spins).
 *
 * Usage: loadgen MODE PORT [--host 127.0.0.1] [options]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GEN_NAME "loadgen"
#include "gen_common.h"

enum mode { PINGPONG, PIPELINE, BULK, CONNRATE, IDLE };
enum state { FREE, CONNECTING, OPEN };

/* A prime period, so a stream shifted by a few bytes never matches itself. */
#define PERIOD 251
/* One recv() takes up to this much: big enough that bulk reads are cheap. */
#define RBUF (256 * 1024)
#define MAX_STAGES 8

typedef struct {
    int fd;
    int state;
    int out_armed;       /* EPOLLOUT is in the interest set */
    uint32_t seed;
    uint64_t tx_off;     /* bytes sent so far */
    uint64_t rx_off;     /* bytes received (and checked) so far */
    uint64_t tx_target;  /* send up to this offset */
    uint64_t t0;         /* when the message (or connection) in flight started */
} conn_t;

static enum mode mode;
static struct sockaddr_in addr;
static int nconns = 1, size = 64, depth = 16;
/* bulk: at most this many bytes sent and not yet echoed back (0: no limit,
 * as fast as the socket takes them); --sockbuf: SO_SNDBUF and SO_RCVBUF of
 * every connection, which turns the kernel's buffer autotuning off for it. */
static long window, sockbuf;
static double duration = 2.0, warmup = 0.5, timeout_s = 120.0;
/* Busy-poll (epoll_wait with a zero timeout) in timed modes. The server's
 * core sleeps when it has nothing to do, as it would in production; the
 * load generator's core never does, because waking a sleeping core costs
 * tens of microseconds on a virtual machine, and that cost would be the
 * load generator's, not the server's. */
static int spin = 1;
static long stages[MAX_STAGES];
static int nstages;

static int ep;
static conn_t *conns;
static unsigned char *pat;
static size_t pat_len;
static unsigned char rbuf[RBUF];

static int measuring;
static uint64_t ops, bytes_tx, bytes_rx, errors, byte_errors, connects;
static uint32_t *lat;      /* latency samples, ns, capped at UINT32_MAX */
static size_t nlat, caplat;
static uint32_t seed_counter;
static const char *last_error = "";

static void set_events(conn_t *c, int idx, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
    c->out_armed = (events & EPOLLOUT) != 0;
}

static void open_conn(int idx);

static void close_conn(conn_t *c) {
    if (c->fd >= 0) close(c->fd); /* close() also drops it from the epoll set */
    c->fd = -1;
    c->state = FREE;
}

/* A connection failed: count it and, where the mode allows, replace it. */
static void conn_failed(int idx, const char *why) {
    errors++;
    last_error = why;
    close_conn(&conns[idx]);
    if (mode == CONNRATE || mode == IDLE) open_conn(idx);
}

static void open_conn(int idx) {
    conn_t *c = &conns[idx];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sockbuf > 0) {
        int b = (int)sockbuf;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
    }
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->seed = (seed_counter++ * 37u) % PERIOD;
    c->state = CONNECTING;
    c->t0 = now_ns();
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
    c->out_armed = 1;
    if (mode == CONNRATE) {
        /* Each closed connection leaves a TIME_WAIT entry on this side, and
         * connect() slows down as they fill the ephemeral port range (by 40%
         * after ~30,000 of them). Spreading the source address over
         * 127.0.2.1 .. 127.0.251.1 gives each address its own port range,
         * so the rate does not depend on what ran before. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u | (2u + seed_counter % 250u) << 8);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind");
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        conn_failed(idx, "connect");
    }
}

/* Send what is due; on a full socket buffer wait for EPOLLOUT. */
static void flush(int idx) {
    conn_t *c = &conns[idx];
    while (c->tx_off < c->tx_target) {
        uint64_t want = c->tx_target - c->tx_off;
        size_t len = want > (uint64_t)(pat_len - PERIOD) ? pat_len - PERIOD : (size_t)want;
        if (mode == BULK && len > (size_t)size) len = (size_t)size;
        ssize_t n = send(c->fd, pat + (c->tx_off + c->seed) % PERIOD, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) break;
            conn_failed(idx, "send");
            return;
        }
        c->tx_off += (uint64_t)n;
        if (measuring) bytes_tx += (uint64_t)n;
    }
    int pending = c->tx_off < c->tx_target;
    if (pending != c->out_armed) set_events(c, idx, EPOLLIN | (pending ? EPOLLOUT : 0));
}

static void start_conversation(int idx) {
    conn_t *c = &conns[idx];
    c->state = OPEN;
    switch (mode) {
    case PIPELINE: c->tx_target = (uint64_t)size * (uint64_t)depth; break;
    case BULK: c->tx_target = window > 0 ? (uint64_t)window : UINT64_MAX; break;
    default: c->tx_target = (uint64_t)size; break;
    }
    if (mode != CONNRATE && mode != IDLE) c->t0 = now_ns();
    set_events(c, idx, EPOLLIN);
    flush(idx);
}

static long idle_done;  /* idle mode: connections that echoed once */
static long idle_goal;  /* ... and how many the current stage wants */
static long idle_opened;

static void on_readable(int idx) {
    conn_t *c = &conns[idx];
    ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        conn_failed(idx, "recv");
        return;
    }
    if (n == 0) {
        conn_failed(idx, "unexpected EOF");
        return;
    }
    if (c->rx_off + (uint64_t)n > c->tx_off ||
        memcmp(rbuf, pat + (c->rx_off + c->seed) % PERIOD, (size_t)n) != 0) {
        byte_errors++;
        conn_failed(idx, "echoed bytes differ from the bytes sent");
        return;
    }
    c->rx_off += (uint64_t)n;
    if (measuring) bytes_rx += (uint64_t)n;

    switch (mode) {
    case PINGPONG:
        if (c->rx_off == c->tx_target) {
            uint64_t t = now_ns();
            if (measuring) {
                ops++;
                gen_record_sample(&lat, &nlat, &caplat, t - c->t0);
            }
            c->t0 = t;
            c->tx_target += (uint64_t)size;
            flush(idx);
        }
        break;
    case PIPELINE: {
        uint64_t done_before = (c->rx_off - (uint64_t)n) / (uint64_t)size;
        uint64_t done = c->rx_off / (uint64_t)size;
        if (done != done_before) {
            if (measuring) ops += done - done_before;
            c->tx_target = (done + (uint64_t)depth) * (uint64_t)size;
            flush(idx);
        }
        break;
    }
    case BULK:
        if (measuring) ops++;
        if (window > 0 && c->tx_target == c->tx_off) {
            /* Whole writes of --size only: the next one once it fits. */
            uint64_t room = c->rx_off + (uint64_t)window - c->tx_off;
            c->tx_target += room / (uint64_t)size * (uint64_t)size;
            flush(idx);
        }
        break;
    case CONNRATE:
        if (c->rx_off == c->tx_target) {
            if (measuring) {
                ops++;
                gen_record_sample(&lat, &nlat, &caplat, now_ns() - c->t0);
            }
            close_conn(c);
            open_conn(idx);
        }
        break;
    case IDLE:
        if (c->rx_off == c->tx_target) {
            /* Keep EPOLLIN: a server that closes an idle connection is an error. */
            idle_done++;
            if (idle_opened < idle_goal) open_conn((int)idle_opened++);
        }
        break;
    }
}

static void handle_event(struct epoll_event *ev) {
    int idx = (int)ev->data.u64;
    conn_t *c = &conns[idx];
    if (c->state == FREE) return;
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            errno = err;
            conn_failed(idx, "connect");
            return;
        }
        connects++;
        start_conversation(idx);
        return;
    }
    int fd = c->fd;
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(idx);
    /* on_readable may have replaced the connection: only flush the same one. */
    if ((ev->events & EPOLLOUT) && c->state == OPEN && c->fd == fd) flush(idx);
}

static const char *mode_name(void) {
    static const char *names[] = {"pingpong", "pipeline", "bulk", "connrate", "idle"};
    return names[mode];
}

static int loop_once(int timeout_ms) {
    return gen_loop_once(ep, timeout_ms, handle_event);
}

static int run_timed(void) {
    for (int i = 0; i < nconns; i++) open_conn(i);
    uint64_t start = now_ns();
    uint64_t measure_at = start + (uint64_t)(warmup * 1e9);
    uint64_t end_at = measure_at + (uint64_t)(duration * 1e9);
    uint64_t t_begin = 0, idle_ns = 0;
    double cpu_begin = 0.0;
    for (;;) {
        uint64_t t = now_ns();
        if (!measuring && t >= measure_at) {
            /* Tell the runner, so it reads the server's CPU time now. */
            printf("{\"event\": \"measuring\"}\n");
            fflush(stdout);
            t = now_ns();
            measuring = 1;
            ops = bytes_tx = bytes_rx = 0;
            nlat = 0;
            idle_ns = 0;
            t_begin = t;
            cpu_begin = cpu_seconds();
        }
        if (t >= end_at) break;
        uint64_t next = measuring ? end_at : measure_at;
        int timeout_ms = (int)((next - t) / 1000000ull) + 1;
        if (loop_once(spin ? 0 : timeout_ms) == 0 && spin) idle_ns += now_ns() - t;
    }
    double elapsed = (now_ns() - t_begin) / 1e9;
    double cpu = cpu_seconds() - cpu_begin;
    gen_sort_samples(lat, nlat);
    printf("{\"mode\": \"%s\", \"conns\": %d, \"size\": %d, \"depth\": %d, "
           "\"elapsed\": %.6f, \"ops\": %llu, \"rate\": %.3f, "
           "\"bytes_tx\": %llu, \"bytes_rx\": %llu, "
           "\"mb_per_s_tx\": %.3f, \"mb_per_s_rx\": %.3f, "
           "\"p50_us\": %.3f, \"p99_us\": %.3f, \"samples\": %zu, "
           "\"errors\": %llu, \"byte_errors\": %llu, \"connects\": %llu, "
           "\"client_cpu\": %.4f, \"client_busy\": %.4f, \"last_error\": \"%s\"}\n",
           mode_name(), nconns, size, mode == PIPELINE ? depth : 1, elapsed,
           (unsigned long long)ops, ops / elapsed, (unsigned long long)bytes_tx,
           (unsigned long long)bytes_rx, bytes_tx / elapsed / 1e6, bytes_rx / elapsed / 1e6,
           gen_percentile_us(lat, nlat, 0.50), gen_percentile_us(lat, nlat, 0.99), nlat, (unsigned long long)errors,
           (unsigned long long)byte_errors, (unsigned long long)connects,
           elapsed > 0 ? cpu / elapsed : 0.0,
           spin && elapsed > 0 ? 1.0 - idle_ns / 1e9 / elapsed : elapsed > 0 ? cpu / elapsed : 0.0,
           last_error);
    return 0;
}

/* Idle connections in stages; at most this many connects in flight, so that
 * no server's listen backlog overflows (a dropped SYN costs a 1 s retry). */
#define IDLE_IN_FLIGHT 32

static int run_idle(void) {
    uint64_t start = now_ns();
    uint64_t deadline = start + (uint64_t)(timeout_s * 1e9);
    for (int s = 0; s < nstages; s++) {
        idle_goal = stages[s];
        while (idle_opened < idle_goal && idle_opened - idle_done < IDLE_IN_FLIGHT) {
            open_conn((int)idle_opened++);
        }
        int timed_out = 0;
        while (idle_done < idle_goal) {
            if (now_ns() >= deadline) {
                timed_out = 1;
                break;
            }
            loop_once(100);
        }
        gen_print_ready(s, idle_goal, idle_done, (now_ns() - start) / 1e9, errors, byte_errors,
                        timed_out, last_error);
        if (timed_out) break;
        /* Hold the connections until the runner has read the server's memory. */
        char line[64];
        if (!fgets(line, sizeof line, stdin)) break;
        /* Serve events that arrived meanwhile (none are expected). */
        while (loop_once(0) > 0) {}
    }
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen pingpong|pipeline|bulk|connrate|idle PORT [--host H] [--conns N]\n"
            "       [--size B] [--depth D] [--duration S] [--warmup S] [--stages N1,N2]\n"
            "       [--timeout S] [--spin 1|0] [--window BYTES] [--sockbuf BYTES]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 3) usage();
    const char *m = argv[1];
    if (!strcmp(m, "pingpong")) mode = PINGPONG;
    else if (!strcmp(m, "pipeline")) mode = PIPELINE;
    else if (!strcmp(m, "bulk")) mode = BULK;
    else if (!strcmp(m, "connrate")) mode = CONNRATE;
    else if (!strcmp(m, "idle")) mode = IDLE;
    else usage();
    const char *host = "127.0.0.1";
    int port = atoi(argv[2]);
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--conns")) nconns = atoi(v);
        else if (!strcmp(a, "--size")) size = atoi(v);
        else if (!strcmp(a, "--depth")) depth = atoi(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--timeout")) timeout_s = atof(v);
        else if (!strcmp(a, "--spin")) spin = atoi(v);
        else if (!strcmp(a, "--window")) window = atol(v);
        else if (!strcmp(a, "--sockbuf")) sockbuf = atol(v);
        else if (!strcmp(a, "--stages")) gen_parse_stages(v, stages, &nstages, MAX_STAGES);
        else usage();
    }
    if (nconns < 1 || size < 1 || depth < 1 || port <= 0) usage();
    if (mode == IDLE) {
        if (!nstages) usage();
        nconns = (int)stages[nstages - 1];
    }

    signal(SIGPIPE, SIG_IGN);
    /* Thousands of idle connections need as many descriptors. */
    gen_raise_nofile();

    if (gen_server_addr(&addr, host, port) < 0) return 2;

    /* The pattern table: long enough for the longest send and one full read. */
    size_t longest = (size_t)size * (size_t)(mode == PIPELINE ? depth : 1);
    if (longest < RBUF) longest = RBUF;
    pat_len = PERIOD + longest;
    pat = malloc(pat_len);
    if (!pat) die("malloc");
    for (size_t i = 0; i < pat_len; i++) pat[i] = (unsigned char)(i % PERIOD);

    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) die("calloc");
    for (int i = 0; i < nconns; i++) conns[i].fd = -1;
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");

    return mode == IDLE ? run_idle() : run_timed();
}

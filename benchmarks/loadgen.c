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
 * --duration seconds, busy-polling (see `spin` in gen_common.h). A line
 * {"event": "measuring"} marks the start of the measured part; the result is
 * one JSON object on the last line. "client_busy" is the share of the measured time the generator
 * spent on work rather than on polls that found nothing: it shows how much
 * more load the generator had to give ("client_cpu" is about 1.0 when it
 * spins).
 *
 * Usage: loadgen MODE PORT [--host 127.0.0.1] [options]
 */
#define _GNU_SOURCE
#include <unistd.h>

#define GEN_NAME "loadgen"
#define GEN_USAGE \
    "usage: loadgen pingpong|pipeline|bulk|connrate|idle PORT [--host H] [--conns N]\n" \
    "       [--size B] [--depth D] [--duration S] [--warmup S] [--stages N1,N2]\n" \
    "       [--timeout S] [--spin 1|0] [--window BYTES] [--sockbuf BYTES]\n"
#define GEN_ECHO
#include "gen_common.h"

enum mode { PINGPONG, PIPELINE, BULK, CONNRATE, IDLE };
static const char *const mode_names[] = {"pingpong", "pipeline", "bulk", "connrate", "idle"};
enum state { FREE, CONNECTING, OPEN };

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

/* The options, counters and pattern are gen_common.h's (GEN_ECHO). */
static enum mode mode;
static int depth = 16;
/* bulk: at most this many bytes sent and not yet echoed back (0: no limit,
 * as fast as the socket takes them); --sockbuf: SO_SNDBUF and SO_RCVBUF of
 * every connection, which turns the kernel's buffer autotuning off for it. */
static long window, sockbuf;

static conn_t *conns;

static void set_events(conn_t *c, int idx, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
    c->out_armed = (events & EPOLLOUT) != 0;
}

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
    int fd = gen_tcp_socket(idx);
    if (sockbuf > 0) {
        int b = (int)sockbuf;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
    }
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->seed = gen_next_seed();
    c->state = CONNECTING;
    c->t0 = now_ns();
    c->out_armed = 1;
    if (mode == CONNRATE) gen_spread_source(fd);
    if (gen_connect(fd) < 0) conn_failed(idx, "connect");
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
    if (!gen_take_echo(&c->rx_off, c->tx_off, c->seed, (size_t)n)) {
        conn_failed(idx, "echoed bytes differ from the bytes sent");
        return;
    }

    switch (mode) {
    case PINGPONG:
        if (gen_pingpong_echoed(c->rx_off, &c->tx_target, &c->t0)) flush(idx);
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
            gen_op_done(c->t0, now_ns());
            close_conn(c);
            open_conn(idx);
        }
        break;
    case IDLE:
        /* Keep EPOLLIN: a server that closes an idle connection is an error. */
        if (c->rx_off == c->tx_target) gen_idle_echoed();
        break;
    }
}

static void handle_event(struct epoll_event *ev) {
    int idx = (int)ev->data.u64;
    conn_t *c = &conns[idx];
    if (c->state == FREE) return;
    if (c->state == CONNECTING) {
        if (gen_connected(c->fd)) start_conversation(idx);
        else conn_failed(idx, "connect");
        return;
    }
    int fd = c->fd;
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(idx);
    /* on_readable may have replaced the connection: only flush the same one. */
    if ((ev->events & EPOLLOUT) && c->state == OPEN && c->fd == fd) flush(idx);
}

static int option(const char *a, const char *v) {
    if (!strcmp(a, "--depth")) depth = atoi(v);
    else if (!strcmp(a, "--window")) window = atol(v);
    else if (!strcmp(a, "--sockbuf")) sockbuf = atol(v);
    else return 0;
    return 1;
}

int main(int argc, char **argv) {
    int port;
    mode = (enum mode)gen_echo_command_line(argc, argv, mode_names, 5, IDLE, option, &port);
    if (depth < 1) usage();
    gen_prepare();
    if (gen_server_addr(&addr, host, port) < 0) return 2;
    gen_echo_setup((size_t)size * (size_t)(mode == PIPELINE ? depth : 1));
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) die("calloc");
    for (int i = 0; i < nconns; i++) conns[i].fd = -1;

    return mode == IDLE ? gen_run_idle() : gen_run_timed(mode_names[mode],
                                                         mode == PIPELINE ? depth : 1, 0);
}

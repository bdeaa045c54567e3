/*
 * tlsgen: the TLS load generator of gnet's benchmark suite (tls_bench.py).
 *
 * loadgen.c's design with OpenSSL on top: one thread, one epoll loop,
 * non-blocking sockets, the same byte pattern checked on the way back, the
 * same command line and the same JSON lines, so the runner's helpers
 * (harness.run_loadgen_timed, harness.run_idle) drive it unchanged.
 *
 * Every connection is a full TLS handshake: no session is ever reused (the
 * client's session cache is off and no ticket is offered), the certificate
 * is not verified (SSL_VERIFY_NONE: the chain check is the client's cost,
 * not the server's; the server's CertificateVerify signature is still
 * checked, as TLS 1.3 requires). The cipher suite is pinned
 * (--ciphersuites, default TLS_AES_128_GCM_SHA256) so that every server
 * encrypts with the same cipher whatever its own preference.
 *
 * Modes:
 *
 *   pingpong   --conns N --size B     one message in flight per connection
 *   bulk       --conns N --size B     SSL_write of B bytes as fast as it goes,
 *                                     everything read back; MB/s
 *   connrate   --conns P --size B     P at a time: connect, TLS handshake,
 *                                     B-byte echo, close_notify, close;
 *                                     handshakes (connections)/s
 *   idle       --stages N1,N2,...     as loadgen's idle mode, each connection
 *                                     handshaken and echoing B bytes once
 *
 * Usage: tlsgen MODE PORT [--host 127.0.0.1] [options]   (see usage())
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
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

#define GEN_NAME "tlsgen"
#include "gen_common.h"

enum mode { PINGPONG, BULK, CONNRATE, IDLE };
enum state { FREE, CONNECTING, HANDSHAKE, OPEN };

#define PERIOD 251
#define RBUF (256 * 1024)
#define MAX_STAGES 8
#define IDLE_IN_FLIGHT 32

typedef struct {
    int fd;
    int state;
    uint32_t events;     /* the epoll interest set */
    SSL *ssl;
    uint32_t seed;
    uint64_t tx_off;
    uint64_t rx_off;
    uint64_t tx_target;
    uint64_t t0;
} conn_t;

static enum mode mode;
static struct sockaddr_in addr;
static int nconns = 1, size = 64;
static double duration = 2.0, warmup = 0.5, timeout_s = 120.0;
static int spin = 1;
static long stages[MAX_STAGES];
static int nstages;
static const char *ciphersuites = "TLS_AES_128_GCM_SHA256";

static SSL_CTX *ctx;
static int ep;
static conn_t *conns;
static unsigned char *pat;
static size_t pat_len;
static unsigned char rbuf[RBUF];

static int measuring;
static uint64_t ops, bytes_tx, bytes_rx, errors, byte_errors, connects, handshakes;
static uint32_t *lat;
static size_t nlat, caplat;
static uint32_t seed_counter;
static char last_error[160] = "";

static void set_events(conn_t *c, int idx, uint32_t events) {
    if (events == c->events) return;
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
    c->events = events;
}

static void open_conn(int idx);

static void close_conn(conn_t *c, int polite) {
    if (c->ssl) {
        /* close_notify, as a client that is done sends it; not waited for. */
        if (polite && c->state == OPEN) SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = FREE;
}

static void conn_failed(int idx, const char *why) {
    errors++;
    unsigned long e = ERR_get_error();
    if (e) {
        char buf[120];
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(last_error, sizeof last_error, "%s: %s", why, buf);
    } else {
        snprintf(last_error, sizeof last_error, "%s", why);
    }
    for (char *p = last_error; *p; p++) if (*p == '"' || *p == '\\') *p = '\'';
    ERR_clear_error();
    close_conn(&conns[idx], 0);
    if (mode == CONNRATE || mode == IDLE) open_conn(idx);
}

static void open_conn(int idx) {
    conn_t *c = &conns[idx];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->seed = (seed_counter++ * 37u) % PERIOD;
    c->state = CONNECTING;
    c->t0 = now_ns();
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
    c->events = EPOLLOUT;
    if (mode == CONNRATE) {
        /* As loadgen: spread the source address so TIME_WAIT never runs out of ports. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u | (2u + seed_counter % 250u) << 8);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind");
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        conn_failed(idx, "connect");
    }
}

/* Interest after an SSL call that wants to read or write. */
static uint32_t want_events(conn_t *c, int err) {
    (void)c;
    return err == SSL_ERROR_WANT_WRITE ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
}

static void flush(int idx) {
    conn_t *c = &conns[idx];
    while (c->tx_off < c->tx_target) {
        uint64_t want = c->tx_target - c->tx_off;
        size_t len = want > (uint64_t)(pat_len - PERIOD) ? pat_len - PERIOD : (size_t)want;
        if (len > (size_t)size) len = (size_t)size;
        int n = SSL_write(c->ssl, pat + (c->tx_off + c->seed) % PERIOD, (int)len);
        if (n <= 0) {
            int err = SSL_get_error(c->ssl, n);
            if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
                set_events(c, idx, want_events(c, err));
                return;
            }
            conn_failed(idx, "SSL_write");
            return;
        }
        c->tx_off += (uint64_t)n;
        if (measuring) bytes_tx += (uint64_t)n;
    }
    set_events(c, idx, EPOLLIN);
}

static void start_conversation(int idx) {
    conn_t *c = &conns[idx];
    c->state = OPEN;
    c->tx_target = mode == BULK ? UINT64_MAX : (uint64_t)size;
    if (mode == PINGPONG || mode == BULK) c->t0 = now_ns();
    flush(idx);
}

static void do_handshake(int idx) {
    conn_t *c = &conns[idx];
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        if (SSL_session_reused(c->ssl)) {
            conn_failed(idx, "session resumed: not a full handshake");
            return;
        }
        handshakes++;
        start_conversation(idx);
        return;
    }
    int err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        set_events(c, idx, want_events(c, err));
        return;
    }
    conn_failed(idx, "handshake");
}

static long idle_done, idle_goal, idle_opened;

/* One decrypted chunk: check it and act on it. Returns 0 if the connection is gone. */
static int on_bytes(int idx, int n) {
    conn_t *c = &conns[idx];
    if (c->rx_off + (uint64_t)n > c->tx_off ||
        memcmp(rbuf, pat + (c->rx_off + c->seed) % PERIOD, (size_t)n) != 0) {
        byte_errors++;
        conn_failed(idx, "echoed bytes differ from the bytes sent");
        return 0;
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
            return c->state == OPEN;
        }
        break;
    case BULK:
        if (measuring) ops++;
        break;
    case CONNRATE:
        if (c->rx_off == c->tx_target) {
            if (measuring) {
                ops++;
                gen_record_sample(&lat, &nlat, &caplat, now_ns() - c->t0);
            }
            close_conn(c, 1);
            open_conn(idx);
            return 0;
        }
        break;
    case IDLE:
        if (c->rx_off == c->tx_target) {
            idle_done++;
            if (idle_opened < idle_goal) open_conn((int)idle_opened++);
        }
        break;
    }
    return 1;
}

static void on_readable(int idx) {
    conn_t *c = &conns[idx];
    /* Read until OpenSSL wants the socket again: a record already taken from
     * the socket sits in OpenSSL's buffer, where epoll cannot see it. */
    for (;;) {
        int n = SSL_read(c->ssl, rbuf, sizeof rbuf);
        if (n <= 0) {
            int err = SSL_get_error(c->ssl, n);
            if (err == SSL_ERROR_WANT_READ) return;
            if (err == SSL_ERROR_WANT_WRITE) {
                set_events(c, idx, EPOLLIN | EPOLLOUT);
                return;
            }
            conn_failed(idx, err == SSL_ERROR_ZERO_RETURN ? "unexpected close_notify"
                                                          : "SSL_read");
            return;
        }
        if (!on_bytes(idx, n)) return;
        if (c->state != OPEN) return;
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
        c->ssl = SSL_new(ctx);
        if (!c->ssl) die("SSL_new");
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_connect_state(c->ssl);
        c->state = HANDSHAKE;
        do_handshake(idx);
        return;
    }
    if (c->state == HANDSHAKE) {
        do_handshake(idx);
        return;
    }
    int fd = c->fd;
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(idx);
    if ((ev->events & EPOLLOUT) && c->state == OPEN && c->fd == fd) flush(idx);
}

static const char *mode_name(void) {
    static const char *names[] = {"pingpong", "bulk", "connrate", "idle"};
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
            printf("{\"event\": \"measuring\"}\n");
            fflush(stdout);
            t = now_ns();
            measuring = 1;
            ops = bytes_tx = bytes_rx = handshakes = 0;
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
    printf("{\"mode\": \"%s\", \"tls\": true, \"conns\": %d, \"size\": %d, \"depth\": 1, "
           "\"elapsed\": %.6f, \"ops\": %llu, \"rate\": %.3f, "
           "\"bytes_tx\": %llu, \"bytes_rx\": %llu, "
           "\"mb_per_s_tx\": %.3f, \"mb_per_s_rx\": %.3f, "
           "\"p50_us\": %.3f, \"p99_us\": %.3f, \"samples\": %zu, "
           "\"errors\": %llu, \"byte_errors\": %llu, \"connects\": %llu, "
           "\"handshakes\": %llu, "
           "\"client_cpu\": %.4f, \"client_busy\": %.4f, \"last_error\": \"%s\"}\n",
           mode_name(), nconns, size, elapsed, (unsigned long long)ops, ops / elapsed,
           (unsigned long long)bytes_tx, (unsigned long long)bytes_rx,
           bytes_tx / elapsed / 1e6, bytes_rx / elapsed / 1e6, gen_percentile_us(lat, nlat, 0.50),
           gen_percentile_us(lat, nlat, 0.99), nlat, (unsigned long long)errors,
           (unsigned long long)byte_errors, (unsigned long long)connects,
           (unsigned long long)handshakes, elapsed > 0 ? cpu / elapsed : 0.0,
           spin && elapsed > 0 ? 1.0 - idle_ns / 1e9 / elapsed : elapsed > 0 ? cpu / elapsed : 0.0,
           last_error);
    return 0;
}

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
        char line[64];
        if (!fgets(line, sizeof line, stdin)) break;
        while (loop_once(0) > 0) {}
    }
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: tlsgen pingpong|bulk|connrate|idle PORT [--host H] [--conns N]\n"
            "       [--size B] [--duration S] [--warmup S] [--stages N1,N2]\n"
            "       [--timeout S] [--spin 1|0] [--ciphersuites LIST] [--depth 1]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 3) usage();
    const char *m = argv[1];
    if (!strcmp(m, "pingpong")) mode = PINGPONG;
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
        else if (!strcmp(a, "--depth")) { if (atoi(v) != 1) usage(); }
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--timeout")) timeout_s = atof(v);
        else if (!strcmp(a, "--spin")) spin = atoi(v);
        else if (!strcmp(a, "--ciphersuites")) ciphersuites = v;
        else if (!strcmp(a, "--stages")) gen_parse_stages(v, stages, &nstages, MAX_STAGES);
        else usage();
    }
    if (nconns < 1 || size < 1 || port <= 0) usage();
    if (mode == IDLE) {
        if (!nstages) usage();
        nconns = (int)stages[nstages - 1];
    }

    signal(SIGPIPE, SIG_IGN);
    gen_raise_nofile();

    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) die("SSL_CTX_new");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_ciphersuites(ctx, ciphersuites) != 1) {
        fprintf(stderr, "tlsgen: bad --ciphersuites %s\n", ciphersuites);
        return 2;
    }

    if (gen_server_addr(&addr, host, port) < 0) return 2;

    size_t longest = (size_t)size < RBUF ? RBUF : (size_t)size;
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

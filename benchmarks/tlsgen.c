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
 * Usage: tlsgen MODE PORT [--host 127.0.0.1] [options]   (see GEN_USAGE)
 */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#define GEN_NAME "tlsgen"
#define GEN_USAGE \
    "usage: tlsgen pingpong|bulk|connrate|idle PORT [--host H] [--conns N]\n" \
    "       [--size B] [--duration S] [--warmup S] [--stages N1,N2]\n" \
    "       [--timeout S] [--spin 1|0] [--ciphersuites LIST] [--depth 1]\n"
#define GEN_ECHO
#include "gen_common.h"

enum mode { PINGPONG, BULK, CONNRATE, IDLE };
static const char *const mode_names[] = {"pingpong", "bulk", "connrate", "idle"};
enum state { FREE, CONNECTING, HANDSHAKE, OPEN };

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

/* The options, counters and pattern are gen_common.h's (GEN_ECHO). */
static enum mode mode;
static const char *ciphersuites = "TLS_AES_128_GCM_SHA256";

static SSL_CTX *ctx;
static conn_t *conns;
static char last_error_buf[160];

static void set_events(conn_t *c, int idx, uint32_t events) {
    if (events == c->events) return;
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
    c->events = events;
}

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
        snprintf(last_error_buf, sizeof last_error_buf, "%s: %s", why, buf);
    } else {
        snprintf(last_error_buf, sizeof last_error_buf, "%s", why);
    }
    for (char *p = last_error_buf; *p; p++) if (*p == '"' || *p == '\\') *p = '\'';
    last_error = last_error_buf;
    ERR_clear_error();
    close_conn(&conns[idx], 0);
    if (mode == CONNRATE || mode == IDLE) open_conn(idx);
}

static void open_conn(int idx) {
    conn_t *c = &conns[idx];
    int fd = gen_tcp_socket(idx);
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->seed = gen_next_seed();
    c->state = CONNECTING;
    c->t0 = now_ns();
    c->events = EPOLLOUT;
    if (mode == CONNRATE) gen_spread_source(fd);
    if (gen_connect(fd) < 0) conn_failed(idx, "connect");
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

/* One decrypted chunk: check it and act on it. Returns 0 if the connection is gone. */
static int on_bytes(int idx, int n) {
    conn_t *c = &conns[idx];
    if (!gen_take_echo(&c->rx_off, c->tx_off, c->seed, (size_t)n)) {
        conn_failed(idx, "echoed bytes differ from the bytes sent");
        return 0;
    }
    switch (mode) {
    case PINGPONG:
        if (gen_pingpong_echoed(c->rx_off, &c->tx_target, &c->t0)) {
            flush(idx);
            return c->state == OPEN;
        }
        break;
    case BULK:
        if (measuring) ops++;
        break;
    case CONNRATE:
        if (c->rx_off == c->tx_target) {
            gen_op_done(c->t0, now_ns());
            close_conn(c, 1);
            open_conn(idx);
            return 0;
        }
        break;
    case IDLE:
        if (c->rx_off == c->tx_target) gen_idle_echoed();
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
        if (!gen_connected(c->fd)) {
            conn_failed(idx, "connect");
            return;
        }
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

static int option(const char *a, const char *v) {
    if (!strcmp(a, "--depth")) { if (atoi(v) != 1) usage(); }
    else if (!strcmp(a, "--ciphersuites")) ciphersuites = v;
    else return 0;
    return 1;
}

int main(int argc, char **argv) {
    int port;
    mode = (enum mode)gen_echo_command_line(argc, argv, mode_names, 4, IDLE, option, &port);
    gen_prepare();

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
    gen_echo_setup((size_t)size);
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) die("calloc");
    for (int i = 0; i < nconns; i++) conns[i].fd = -1;

    return mode == IDLE ? gen_run_idle() : gen_run_timed(mode_names[mode], 1, 1);
}

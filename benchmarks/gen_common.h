/*
 * gen_common.h: what the load generators (loadgen.c, tlsgen.c, chatgen.c)
 * share: the clock, CPU time, fatal errors, the command line and the state
 * every generator has (server address, epoll set, receive buffer, the
 * options all take), the epoll loop step, connecting sockets, latency
 * samples and their percentiles, --stages parsing, the descriptor limit and
 * the server address.
 *
 * With GEN_ECHO defined, also what the two echo generators (loadgen.c,
 * tlsgen.c) share: their other options and their counters, the byte pattern
 * and its check, and the timed and idle runs with the JSON lines they print
 * (the runner's helpers, harness.run_loadgen_timed and harness.run_idle,
 * read those lines from either).
 *
 * Every function is static inline, so each generator stays one compile unit
 * (harness.build() compiles the .c alone and hashes this header with it).
 * Define GEN_NAME (the program's name, for error messages) and GEN_USAGE
 * (its usage text) before including.
 * Each generator defines handle_event() (one epoll event) and, with
 * GEN_ECHO, open_conn() (start connection idx); both are declared here.
 */
#ifndef GEN_COMMON_H
#define GEN_COMMON_H

#if !defined(GEN_NAME) || !defined(GEN_USAGE)
#error "define GEN_NAME and GEN_USAGE before including gen_common.h"
#endif

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

/* One recv() takes up to this much: big enough that bulk reads are cheap. */
#define RBUF (256 * 1024)

/* The options every generator takes, with their defaults. --warmup seconds
 * of load, then --duration seconds measured; --size bytes per message (or
 * line); --spin: busy-poll (epoll_wait with a zero timeout) while timed.
 * The server's core sleeps when it has nothing to do, as it would in
 * production; the load generator's core never does, because waking a
 * sleeping core costs tens of microseconds on a virtual machine, and that
 * cost would be the load generator's, not the server's. */
static const char *host = "127.0.0.1";
static int size = 64, spin = 1;
static double duration = 2.0, warmup = 0.5;

static struct sockaddr_in addr; /* the server's */
static int ep;                  /* the epoll set */
static unsigned char rbuf[RBUF];
static int measuring;           /* inside the measured window */
static uint64_t errors, connects;
static const char *last_error = "";

/* now_ns() counts from here: 0 (the raw monotonic clock) unless a generator
 * sets it, as chatgen does to keep its timestamps small. */
static uint64_t gen_t_origin;

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - gen_t_origin;
}

static inline void die(const char *what) {
    fprintf(stderr, GEN_NAME ": %s: %s\n", what, strerror(errno));
    exit(2);
}

static inline double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static inline void usage(void) {
    fputs(GEN_USAGE, stderr);
    exit(2);
}

/* MODE PORT [--name value]...: returns MODE's index in `modes` and sets
 * *port. --host, --size, --duration, --warmup and --spin are taken here;
 * every other pair goes to `option`, which returns 0 for a name it does not
 * know. A bad mode, a name without a value or an unknown name: usage(). */
static inline int gen_command_line(int argc, char **argv, const char *const *modes, int nmodes,
                                   int (*option)(const char *name, const char *value),
                                   int *port) {
    if (argc < 3) usage();
    int mode = -1;
    for (int i = 0; i < nmodes; i++)
        if (!strcmp(argv[1], modes[i])) mode = i;
    if (mode < 0) usage();
    *port = atoi(argv[2]);
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--size")) size = atoi(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--spin")) spin = atoi(v);
        else if (!option(a, v)) usage();
    }
    return mode;
}

/* One epoll_wait() and its events, each given to handle_event(); returns how many. */
#define GEN_MAX_EVENTS 1024
static void handle_event(struct epoll_event *ev);

static inline int loop_once(int timeout_ms) {
    static struct epoll_event evs[GEN_MAX_EVENTS];
    int n = epoll_wait(ep, evs, GEN_MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return 0;
        die("epoll_wait");
    }
    for (int i = 0; i < n; i++) handle_event(&evs[i]);
    return n;
}

/* A non-blocking TCP socket with Nagle's algorithm off for connection idx,
 * in the epoll set waiting for EPOLLOUT (the end of its connect()). */
static inline int gen_tcp_socket(int idx) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
    return fd;
}

/* connect() to the server: 0 once under way (or done), -1 if it failed at once. */
static inline int gen_connect(int fd) {
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) return -1;
    return 0;
}

/* A connecting socket became writable: 1 if it connected (counted in
 * "connects"), else 0 with errno set to why not. */
static inline int gen_connected(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        errno = err;
        return 0;
    }
    connects++;
    return 1;
}

/* Latency samples in ns, capped at UINT32_MAX, in a growing array. */
static inline void gen_record_sample(uint32_t **lat, size_t *nlat, size_t *caplat, uint64_t ns) {
    if (*nlat == *caplat) {
        *caplat = *caplat ? *caplat * 2 : 65536;
        *lat = realloc(*lat, *caplat * sizeof **lat);
        if (!*lat) die("realloc");
    }
    (*lat)[(*nlat)++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static inline int gen_cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static inline void gen_sort_samples(uint32_t *lat, size_t nlat) {
    qsort(lat, nlat, sizeof *lat, gen_cmp_u32);
}

/* The p-th percentile (0..1) of sorted samples, in microseconds. */
static inline double gen_percentile_us(const uint32_t *lat, size_t nlat, double p) {
    if (!nlat) return 0.0;
    size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
    return lat[i] / 1000.0;
}

/* Idle mode's line for a stage reached (or timed out), which the runner waits for. */
static inline void gen_print_ready(int stage, long goal, long open, double seconds,
                                   uint64_t errors, uint64_t byte_errors, int timed_out,
                                   const char *last_error) {
    printf("{\"mode\": \"idle\", \"event\": \"ready\", \"stage\": %d, \"conns\": %ld, "
           "\"open\": %ld, \"seconds\": %.3f, \"errors\": %llu, \"byte_errors\": %llu, "
           "\"timed_out\": %s, \"last_error\": \"%s\"}\n",
           stage, goal, open, seconds, (unsigned long long)errors,
           (unsigned long long)byte_errors, timed_out ? "true" : "false", last_error);
    fflush(stdout);
}

/* --stages N1,N2,...: appends up to `max` counts to stages[*nstages]. */
static inline void gen_parse_stages(const char *v, long *stages, int *nstages, int max) {
    char *copy = strdup(v), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && *nstages < max;
         tok = strtok_r(NULL, ",", &save)) {
        stages[(*nstages)++] = atol(tok);
    }
    free(copy);
}

/* Ignore SIGPIPE (a send to a closed connection is an error, counted) and
 * raise the descriptor limit to its hard limit: thousands of connections
 * need as many descriptors. */
static inline void gen_prepare(void) {
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The server's address; on a bad one says so and returns -1. */
static inline int gen_server_addr(struct sockaddr_in *addr, const char *host, int port) {
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr->sin_addr) != 1) {
        fprintf(stderr, GEN_NAME ": bad IPv4 address %s\n", host);
        return -1;
    }
    return 0;
}

static inline void gen_open_epoll(void) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
}

#ifdef GEN_ECHO
/* ---- The echo generators: loadgen.c and tlsgen.c ----
 *
 * Every connection sends the byte stream pat[(offset + seed) % PERIOD], so
 * what comes back is checked with one memcmp() against the same table: an
 * echo server that drops, repeats, reorders or mixes up bytes is counted in
 * "byte_errors" at no cost per byte beyond the compare. */

/* A prime period, so a stream shifted by a few bytes never matches itself. */
#define PERIOD 251
#define MAX_STAGES 8
/* Idle connections in stages; at most this many connects in flight, so that
 * no server's listen backlog overflows (a dropped SYN costs a 1 s retry). */
#define IDLE_IN_FLIGHT 32

static int nconns = 1;
static double timeout_s = 120.0; /* idle mode: for every stage in all */
static long stages[MAX_STAGES];
static int nstages;

static unsigned char *pat;
static size_t pat_len;

static uint64_t ops, bytes_tx, bytes_rx, byte_errors, handshakes;
static uint32_t *lat; /* latency samples, ns, capped at UINT32_MAX */
static size_t nlat, caplat;
static uint32_t seed_counter;
static long idle_done;  /* idle mode: connections that echoed once */
static long idle_goal;  /* ... and how many the current stage wants */
static long idle_opened;

static void open_conn(int idx);

/* The generator's own options, after the ones both take. */
static int (*gen_own_option)(const char *name, const char *value);

static inline int gen_echo_option(const char *a, const char *v) {
    if (!strcmp(a, "--conns")) nconns = atoi(v);
    else if (!strcmp(a, "--timeout")) timeout_s = atof(v);
    else if (!strcmp(a, "--stages")) gen_parse_stages(v, stages, &nstages, MAX_STAGES);
    else return gen_own_option(a, v);
    return 1;
}

/* gen_command_line() with --conns, --timeout and --stages too, and the
 * options checked (usage() if they make no sense). In idle mode (MODE's
 * index is `idle`) the connection table is as large as the last stage. */
static inline int gen_echo_command_line(int argc, char **argv, const char *const *modes,
                                        int nmodes, int idle,
                                        int (*option)(const char *name, const char *value),
                                        int *port) {
    gen_own_option = option;
    int mode = gen_command_line(argc, argv, modes, nmodes, gen_echo_option, port);
    if (nconns < 1 || size < 1 || *port <= 0) usage();
    if (mode == idle) {
        if (!nstages) usage();
        nconns = (int)stages[nstages - 1];
    }
    return mode;
}

/* The pattern table, long enough for the longest send and one full read,
 * and the epoll set. */
static inline void gen_echo_setup(size_t longest) {
    if (longest < RBUF) longest = RBUF;
    pat_len = PERIOD + longest;
    pat = malloc(pat_len);
    if (!pat) die("malloc");
    for (size_t i = 0; i < pat_len; i++) pat[i] = (unsigned char)(i % PERIOD);
    gen_open_epoll();
}

/* Where a new connection's stream starts in the pattern. */
static inline uint32_t gen_next_seed(void) {
    return (seed_counter++ * 37u) % PERIOD;
}

/* connrate: each closed connection leaves a TIME_WAIT entry on this side,
 * and connect() slows down as they fill the ephemeral port range (by 40%
 * after ~30,000 of them). Spreading the source address over 127.0.2.1 ..
 * 127.0.251.1 gives each address its own port range, so the rate does not
 * depend on what ran before. */
static inline void gen_spread_source(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000001u | (2u + seed_counter % 250u) << 8);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind");
}

/* n bytes just read into rbuf by a connection that has received *rx_off
 * and sent tx_off bytes of the stream `seed`: 1 if they are the next bytes
 * of its stream (*rx_off moves on), else 0 (a byte error, counted). */
static inline int gen_take_echo(uint64_t *rx_off, uint64_t tx_off, uint32_t seed, size_t n) {
    if (*rx_off + (uint64_t)n > tx_off || memcmp(rbuf, pat + (*rx_off + seed) % PERIOD, n) != 0) {
        byte_errors++;
        return 0;
    }
    *rx_off += (uint64_t)n;
    if (measuring) bytes_rx += (uint64_t)n;
    return 1;
}

/* An operation started at t0 completed at t: counted, and its latency
 * kept, while measuring. */
static inline void gen_op_done(uint64_t t0, uint64_t t) {
    if (measuring) {
        ops++;
        gen_record_sample(&lat, &nlat, &caplat, t - t0);
    }
}

/* pingpong: the connection's message in flight is back whole (rx_off is
 * *tx_target): counted, and the next one is due now. Returns whether it was. */
static inline int gen_pingpong_echoed(uint64_t rx_off, uint64_t *tx_target, uint64_t *t0) {
    if (rx_off != *tx_target) return 0;
    uint64_t t = now_ns();
    gen_op_done(*t0, t);
    *t0 = t;
    *tx_target += (uint64_t)size;
    return 1;
}

/* Idle mode: a connection echoed its bytes; open the next one the stage wants. */
static inline void gen_idle_echoed(void) {
    idle_done++;
    if (idle_opened < idle_goal) open_conn((int)idle_opened++);
}

/* The timed modes: open --conns connections, run --warmup seconds, reset
 * the counters, then measure for --duration seconds, busy-polling with
 * --spin 1. A line {"event": "measuring"} marks the start of the measured
 * part; the result is one JSON object on the last line ("tls": true and
 * "handshakes" with `tls`). "client_busy" is the share of the measured time
 * the generator spent on work rather than on polls that found nothing: it
 * shows how much more load the generator had to give ("client_cpu" is
 * about 1.0 when it spins). */
static inline int gen_run_timed(const char *mode_name, int depth, int tls) {
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
    printf("{\"mode\": \"%s\", %s\"conns\": %d, \"size\": %d, \"depth\": %d, "
           "\"elapsed\": %.6f, \"ops\": %llu, \"rate\": %.3f, "
           "\"bytes_tx\": %llu, \"bytes_rx\": %llu, "
           "\"mb_per_s_tx\": %.3f, \"mb_per_s_rx\": %.3f, "
           "\"p50_us\": %.3f, \"p99_us\": %.3f, \"samples\": %zu, "
           "\"errors\": %llu, \"byte_errors\": %llu, \"connects\": %llu, ",
           mode_name, tls ? "\"tls\": true, " : "", nconns, size, depth, elapsed,
           (unsigned long long)ops, ops / elapsed, (unsigned long long)bytes_tx,
           (unsigned long long)bytes_rx, bytes_tx / elapsed / 1e6, bytes_rx / elapsed / 1e6,
           gen_percentile_us(lat, nlat, 0.50), gen_percentile_us(lat, nlat, 0.99), nlat,
           (unsigned long long)errors, (unsigned long long)byte_errors,
           (unsigned long long)connects);
    if (tls) printf("\"handshakes\": %llu, ", (unsigned long long)handshakes);
    printf("\"client_cpu\": %.4f, \"client_busy\": %.4f, \"last_error\": \"%s\"}\n",
           elapsed > 0 ? cpu / elapsed : 0.0,
           spin && elapsed > 0 ? 1.0 - idle_ns / 1e9 / elapsed : elapsed > 0 ? cpu / elapsed : 0.0,
           last_error);
    return 0;
}

/* Idle mode: open connections (each echoes --size bytes once) until the
 * first stage's count are open, print a "ready" line, wait for a line on
 * stdin, go on to the next stage, ...; after the last, close all (exit). */
static inline int gen_run_idle(void) {
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
#endif /* GEN_ECHO */

#endif

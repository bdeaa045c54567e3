/*
 * gen_common.h: what the load generators (loadgen.c, tlsgen.c, chatgen.c)
 * share: the clock, CPU time, fatal errors, the epoll loop step, latency
 * samples and their percentiles, --stages parsing, the descriptor limit and
 * the server address.
 *
 * Every function is static inline, so each generator stays one compile unit
 * (harness.build() compiles the .c alone and hashes this header with it).
 * Define GEN_NAME (the program's name, for error messages) before including.
 */
#ifndef GEN_COMMON_H
#define GEN_COMMON_H

#ifndef GEN_NAME
#error "define GEN_NAME before including gen_common.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

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

/* One epoll_wait() and its events, each given to `handle`; returns how many. */
#define GEN_MAX_EVENTS 1024
static inline int gen_loop_once(int ep, int timeout_ms, void (*handle)(struct epoll_event *)) {
    static struct epoll_event evs[GEN_MAX_EVENTS];
    int n = epoll_wait(ep, evs, GEN_MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return 0;
        die("epoll_wait");
    }
    for (int i = 0; i < n; i++) handle(&evs[i]);
    return n;
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

/* Raise the descriptor limit to its hard limit: thousands of connections
 * need as many descriptors. */
static inline void gen_raise_nofile(void) {
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

#endif

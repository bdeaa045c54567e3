/*
 * chatgen: the chat and latency load generator of gnet's benchmark suite.
 *
 * One thread, one epoll loop, non-blocking sockets, busy-polling while it
 * measures (as loadgen.c does, and for the same reason: a sleeping core
 * takes tens of microseconds to wake on a virtual machine, and that would
 * be the generator's latency, not the server's).
 *
 * Every line it sends is exactly --size bytes:
 *
 *     "<sender> <seq> <t_ns> " + padding + "\n"
 *
 * the sender's number, its sequence number, the time it was due to be sent
 * (CLOCK_MONOTONIC ns since the generator started; sender and receiver are
 * the same process, so one clock) and a padding whose letters depend on
 * sender, seq and position. Every line received is parsed and checked: its
 * length, its padding, that its sender exists and is not the receiver, and
 * that it is the next sequence number this receiver expects from that
 * sender (so a line lost, repeated, reordered, cut or mixed up is counted
 * in "line_errors"). At the end every receiver must have had every line of
 * every sender: what is missing is "undelivered". Delivery latency is the
 * time of receipt minus the time in the line, kept in a log-linear
 * histogram (under 1 % error) so that millions of samples cost nothing.
 *
 * Modes:
 *
 *   fanout  --members N [--window W]   N members join (the chat server greets
 *           each with "welcome\n"); member 0 sends lines, W in flight: a new
 *           line goes out as each line reaches all N-1 others. Deliveries/s.
 *   room    --members N --senders K --rate R   N members join; K of them each
 *           send R lines per second, on a fixed schedule whatever the server
 *           does (open loop; the schedule is spread evenly over the senders).
 *           Delivery latency p50/p99/p99.9, deliveries/s.
 *   paced   --conns C --rate R   against an echo server: C connections, R
 *           requests per second in all on a fixed schedule, round robin over
 *           the connections (open loop: a request is sent when it is due even
 *           if the previous answer has not come; the echo comes back in
 *           order). Round-trip latency from the time the request was due.
 *
 * With --hold 1 the chat modes print {"event": "joined", ...} once every
 * member is greeted and wait for a line on stdin before the traffic starts
 * (the runner reads the server's memory meanwhile). The timed part runs
 * --warmup seconds, prints {"event": "measuring"}, measures --duration
 * seconds, prints {"event": "measured"}, then stops sending and waits up to
 * --drain seconds for every line still on its way (not at all when the
 * server is so far behind that it could not deliver them in twice that time
 * at the rate it had); the result is one JSON object on the last line.
 *
 * Usage: chatgen MODE PORT [--host 127.0.0.1] [options]
 */
#define _GNU_SOURCE
#include <unistd.h>

#define GEN_NAME "chatgen"
#define GEN_USAGE \
    "usage: chatgen fanout|room|paced PORT [--host H] [--members N] [--senders K]\n" \
    "       [--conns C] [--rate R] [--window W] [--size B] [--duration S]\n" \
    "       [--warmup S] [--drain S] [--hold 0|1] [--spin 1|0] [--join-timeout S]\n"
#include "gen_common.h"

enum mode { FANOUT, ROOM, PACED };
static const char *const mode_names[] = {"fanout", "room", "paced"};
enum state { FREE, CONNECTING, JOINING, OPEN, DEAD };

#define MAX_LINE 256
/* A sender's unsent lines, at most (4,096 lines of 64 B): past this the
 * server has not read for a long while, and a line due is counted in
 * "overruns" instead of being sent. */
#define OUTCAP (256 * 1024)
/* Connects in flight while members join: no listen backlog overflows. */
#define JOIN_IN_FLIGHT 64
#define WELCOME "welcome\n"
/* Deliveries any server drains in well under a second: always waited for. */
#define BIG_BACKLOG 100000
/* Histogram: values under 2^SUB_BITS ns exact, then 2^SUB_BITS buckets per
 * power of two (1/128: under 0.8 % error). */
#define SUB_BITS 7
#define SUB (1u << SUB_BITS)
#define NBUCKETS (64 * SUB)

typedef struct {
    int fd;
    int state;
    int out_armed;
    uint32_t carry_len;
    char carry[MAX_LINE];
    char *out;           /* senders only: bytes not yet taken by the socket */
    uint32_t out_len;
} member_t;

/* --host, --size, --duration, --warmup, --spin, the server's address, the
 * epoll set and the counters every generator has are gen_common.h's. */
static enum mode mode;
static int nmembers = 1000, nsenders = 1, window = 8, hold = 0, conns = 50;
static double rate = 1.0, drain_s = 10.0, join_timeout = 120.0;

static member_t *members;
static uint32_t *next_seq;   /* [member * nsenders + sender]: next seq expected */
static uint64_t *sent_seq;   /* [sender]: lines sent */
static uint32_t *done_count; /* fanout: receivers that have line seq, by seq % window */

static uint64_t measure_from, measure_to; /* ns since gen_t_origin: latency samples kept */
static uint64_t deliveries, deliveries_total, expected_total, lines_sent, line_errors;
static uint64_t overruns, completed, joined;
static uint64_t hist[NBUCKETS], nsamples, max_ns;
/* Lines of the measured window sent more than LATE_NS after they were due:
 * the generator's own lateness, which the latency figures include. */
#define LATE_NS 1000000ull
static uint64_t late_sends, send_lag_max;
static char bad_line[96];

static unsigned bucket_of(uint64_t v) {
    if (v < SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = e - SUB_BITS + 1;
    return shift * SUB + (unsigned)(v >> shift);
}

/* bucket_of maps v >= SUB to shift*SUB + (v >> shift), with v >> shift in
 * [SUB/2, SUB): distinct for every shift. Its value: the bucket's middle. */
static double bucket_value(unsigned b) {
    if (b < SUB) return (double)b;
    unsigned shift = b / SUB;
    uint64_t low = (uint64_t)(b % SUB) << shift;
    return (double)low + (double)((1ull << shift) / 2);
}

static void record(uint64_t ns) {
    unsigned b = bucket_of(ns);
    if (b >= NBUCKETS) b = NBUCKETS - 1;
    hist[b]++;
    nsamples++;
    if (ns > max_ns) max_ns = ns;
}

static double percentile_us(double p) {
    if (!nsamples) return 0.0;
    uint64_t rank = (uint64_t)(p * (double)(nsamples - 1)) + 1, seen = 0;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        seen += hist[b];
        if (seen >= rank) return bucket_value(b) / 1000.0;
    }
    return max_ns / 1000.0;
}

static void set_events(int idx, uint32_t events) {
    member_t *m = &members[idx];
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, m->fd, &ev) < 0) die("epoll_ctl MOD");
    m->out_armed = (events & EPOLLOUT) != 0;
}

static void fail(int idx, const char *why) {
    errors++;
    last_error = why;
    member_t *m = &members[idx];
    if (m->fd >= 0) close(m->fd);
    m->fd = -1;
    m->state = DEAD;
}

static void open_member(int idx) {
    member_t *m = &members[idx];
    int fd = gen_tcp_socket(idx);
    m->fd = fd;
    m->state = CONNECTING;
    m->out_armed = 1;
    if (gen_connect(fd) < 0) fail(idx, "connect");
}

static void flush(int idx) {
    member_t *m = &members[idx];
    while (m->out_len) {
        ssize_t n = send(m->fd, m->out, m->out_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) break;
            fail(idx, "send");
            return;
        }
        memmove(m->out, m->out + n, m->out_len - (uint32_t)n);
        m->out_len -= (uint32_t)n;
    }
    int pending = m->out_len != 0;
    if (pending != m->out_armed) set_events(idx, EPOLLIN | (pending ? EPOLLOUT : 0));
}

static char pad_char(uint64_t sender, uint64_t seq, int i) {
    return (char)('a' + (sender * 7 + seq * 13 + (uint64_t)i) % 26);
}

/* Queue one line from sender `s` (member `idx`), due at `due` ns; send it. */
static void send_line(int idx, uint64_t s, uint64_t due) {
    member_t *m = &members[idx];
    if (m->state != OPEN) return;
    if (m->out_len + (uint32_t)size > OUTCAP) {
        overruns++;  /* the server stopped reading this member: the line is dropped */
        return;
    }
    char *p = m->out + m->out_len;
    int head = snprintf(p, (size_t)size, "%llu %llu %llu ", (unsigned long long)s,
                        (unsigned long long)sent_seq[s], (unsigned long long)due);
    for (int i = head; i < size - 1; i++) p[i] = pad_char(s, sent_seq[s], i);
    p[size - 1] = '\n';
    m->out_len += (uint32_t)size;
    if (due >= measure_from && due < measure_to) {
        uint64_t lag = now_ns() - due;
        if (lag > LATE_NS) late_sends++;
        if (lag > send_lag_max) send_lag_max = lag;
    }
    sent_seq[s]++;
    lines_sent++;
    expected_total += mode == PACED ? 1 : (uint64_t)(nmembers - 1);
    if (!m->out_armed) flush(idx);
}

static void line_error(int idx, const char *line, size_t len, const char *why) {
    line_errors++;
    if (!bad_line[0]) {
        size_t n = len < 40 ? len : 40;
        char *o = bad_line;
        o += sprintf(o, "member %d: ", idx);
        for (size_t i = 0; i < n; i++) *o++ = (line[i] >= ' ' && line[i] < 127 && line[i] != '"'
                                                  && line[i] != '\\') ? line[i] : '?';
        *o = 0;
    }
    last_error = why;
}

/* One complete line (newline included) received by member `idx`. */
static void on_line(int idx, const char *line, size_t len, uint64_t t) {
    member_t *m = &members[idx];
    if (m->state == JOINING) {
        if (len == sizeof WELCOME - 1 && !memcmp(line, WELCOME, len)) {
            m->state = OPEN;
            joined++;
        } else {
            line_error(idx, line, len, "first line was not the greeting");
        }
        return;
    }
    if (len != (size_t)size) {
        line_error(idx, line, len, "line of the wrong length");
        return;
    }
    char *end;
    unsigned long long s = strtoull(line, &end, 10);
    if (*end != ' ') goto bad;
    unsigned long long seq = strtoull(end + 1, &end, 10);
    if (*end != ' ') goto bad;
    unsigned long long due = strtoull(end + 1, &end, 10);
    if (*end != ' ') goto bad;
    for (int i = (int)(end + 1 - line); i < size - 1; i++)
        if (line[i] != pad_char(s, seq, i)) goto bad;
    if (s >= (unsigned long long)nsenders) goto bad;
    if (mode == PACED ? s != (unsigned long long)idx : s == (unsigned long long)idx) {
        line_error(idx, line, len, mode == PACED ? "echo of another connection's line"
                                                 : "a member got its own line back");
        return;
    }
    uint32_t *expect = &next_seq[(size_t)idx * (size_t)nsenders + s];
    if (seq != *expect) {
        line_error(idx, line, len, seq < *expect ? "line repeated" : "line lost or reordered");
        *expect = (uint32_t)seq + 1;
        return;
    }
    (*expect)++;
    deliveries_total++;
    if (measuring) deliveries++;
    if (due >= measure_from && due < measure_to) record(t > due ? t - due : 0);
    if (mode == FANOUT) {
        uint32_t *c = &done_count[seq % (unsigned long long)window];
        if (++*c == (uint32_t)(nmembers - 1)) {
            *c = 0;
            completed++;
        }
    }
    return;
bad:
    line_error(idx, line, len, "malformed line");
}

static void on_readable(int idx) {
    member_t *m = &members[idx];
    ssize_t n = recv(m->fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        fail(idx, "recv");
        return;
    }
    if (n == 0) {
        fail(idx, "the server closed a member");
        return;
    }
    uint64_t t = now_ns();
    const char *p = (const char *)rbuf, *end = p + n;
    if (m->carry_len) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t take = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
        if (m->carry_len + take > MAX_LINE) {
            line_error(idx, m->carry, m->carry_len, "line too long");
            m->carry_len = 0;
            return;
        }
        memcpy(m->carry + m->carry_len, p, take);
        m->carry_len += (uint32_t)take;
        p += take;
        if (!nl) return;
        on_line(idx, m->carry, m->carry_len, t);
        m->carry_len = 0;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            size_t rest = (size_t)(end - p);
            if (rest > MAX_LINE) {
                line_error(idx, p, rest, "line too long");
                return;
            }
            memcpy(m->carry, p, rest);
            m->carry_len = (uint32_t)rest;
            return;
        }
        on_line(idx, p, (size_t)(nl + 1 - p), t);
        p = nl + 1;
    }
}

static void handle_event(struct epoll_event *ev) {
    int idx = (int)ev->data.u64;
    member_t *m = &members[idx];
    if (m->state == FREE || m->state == DEAD) return;
    if (m->state == CONNECTING) {
        if (!gen_connected(m->fd)) {
            fail(idx, "connect");
            return;
        }
        if (mode == PACED) {
            m->state = OPEN;
            joined++;
        } else {
            m->state = JOINING;
        }
        set_events(idx, EPOLLIN);
        return;
    }
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(idx);
    if ((ev->events & EPOLLOUT) && m->state == OPEN) flush(idx);
}

/* Open every member; in the chat modes wait for each greeting. */
static int join_all(double *seconds) {
    uint64_t start = now_ns(), deadline = start + (uint64_t)(join_timeout * 1e9);
    long opened = 0;
    while ((long)(joined + errors) < nmembers) {
        while (opened < nmembers && opened - (long)(joined + errors) < JOIN_IN_FLIGHT)
            open_member((int)opened++);
        if (now_ns() >= deadline || line_errors) break;
        loop_once(10);
    }
    *seconds = (now_ns() - start) / 1e9;
    return (long)joined == nmembers;
}

static int run(void) {
    double join_seconds;
    int ok = join_all(&join_seconds);
    printf("{\"event\": \"joined\", \"members\": %d, \"joined\": %llu, \"seconds\": %.3f, "
           "\"errors\": %llu, \"line_errors\": %llu, \"last_error\": \"%s\"}\n",
           nmembers, (unsigned long long)joined, join_seconds, (unsigned long long)errors,
           (unsigned long long)line_errors, last_error);
    fflush(stdout);
    if (!ok) return 1;
    if (hold) {
        char buf[64];
        if (!fgets(buf, sizeof buf, stdin)) return 1;
        while (loop_once(0) > 0) {}
    }

    uint64_t start = now_ns();
    uint64_t measure_at = start + (uint64_t)(warmup * 1e9);
    uint64_t end_at = measure_at + (uint64_t)(duration * 1e9);
    measure_from = measure_at;
    measure_to = end_at;
    late_sends = send_lag_max = 0;
    /* The send schedule of room and paced: line i is due at start + i / rate_total. */
    double rate_total = mode == ROOM ? rate * nsenders : rate;
    double gap_ns = mode == FANOUT ? 0.0 : 1e9 / rate_total;
    uint64_t next_i = 0;
    uint64_t t_begin = 0, idle_ns = 0, t_end = 0;
    double cpu_begin = 0.0, cpu_end = 0.0;
    uint64_t deliveries_end = 0;
    int sending = 1;
    uint64_t drain_deadline = 0;
    for (;;) {
        uint64_t t = now_ns();
        if (!measuring && !t_end && t >= measure_at) {
            printf("{\"event\": \"measuring\"}\n");
            fflush(stdout);
            t = now_ns();
            measuring = 1;
            deliveries = 0;
            idle_ns = 0;
            t_begin = t;
            cpu_begin = cpu_seconds();
        }
        if (measuring && t >= end_at) {
            t_end = t;
            cpu_end = cpu_seconds();
            deliveries_end = deliveries;
            measuring = 0;
            sending = 0;
            drain_deadline = t + (uint64_t)(drain_s * 1e9);
            /* A server far behind (a backlog of more than BIG_BACKLOG that it
             * would need more than twice the drain time to deliver at its
             * measured rate) will not catch up: no point waiting for it. */
            double got = (double)deliveries_end / ((t - t_begin) / 1e9 + 1e-9);
            uint64_t backlog = expected_total - deliveries_total;
            if (backlog > BIG_BACKLOG && (double)backlog > 2.0 * got * drain_s)
                drain_deadline = t;
            printf("{\"event\": \"measured\"}\n");
            fflush(stdout);
        }
        if (!sending && (deliveries_total >= expected_total || t >= drain_deadline || errors))
            break;
        if (sending && errors) break;
        int work = 0;
        if (sending) {
            if (mode == FANOUT) {
                while (lines_sent < completed + (uint64_t)window && members[0].state == OPEN) {
                    send_line(0, 0, now_ns());
                    work = 1;
                }
            } else {
                while ((double)next_i * gap_ns <= (double)(t - start)) {
                    uint64_t due = start + (uint64_t)((double)next_i * gap_ns);
                    uint64_t s = next_i % (uint64_t)nsenders;
                    send_line((int)s, s, due);
                    next_i++;
                    work = 1;
                }
            }
        }
        if (loop_once(spin ? 0 : 1) == 0 && !work && measuring) idle_ns += now_ns() - t;
    }
    if (!t_end) {  /* stopped early by an error */
        t_end = now_ns();
        cpu_end = cpu_seconds();
        deliveries_end = deliveries;
        if (!t_begin) t_begin = t_end;
    }
    double elapsed = (t_end - t_begin) / 1e9;
    double cpu = cpu_end - cpu_begin;
    /* Every receiver must have had every line of every sender. */
    uint64_t undelivered = expected_total > deliveries_total ? expected_total - deliveries_total : 0;
    printf("{\"mode\": \"%s\", \"members\": %d, \"senders\": %d, \"size\": %d, "
           "\"window\": %d, \"rate_offered\": %.3f, \"elapsed\": %.6f, "
           "\"join_seconds\": %.3f, \"lines_sent\": %llu, \"deliveries\": %llu, "
           "\"rate\": %.3f, \"deliveries_total\": %llu, \"expected_total\": %llu, "
           "\"undelivered\": %llu, \"line_errors\": %llu, \"overruns\": %llu, "
           "\"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, \"max_us\": %.3f, "
           "\"samples\": %llu, \"late_sends\": %llu, \"send_lag_max_us\": %.3f, "
           "\"errors\": %llu, \"client_cpu\": %.4f, "
           "\"client_busy\": %.4f, \"last_error\": \"%s\", \"bad_line\": \"%s\"}\n",
           mode_names[mode], nmembers, nsenders, size, window,
           mode == FANOUT ? 0.0 : rate_total, elapsed, join_seconds,
           (unsigned long long)lines_sent, (unsigned long long)deliveries_end,
           elapsed > 0 ? deliveries_end / elapsed : 0.0,
           (unsigned long long)deliveries_total, (unsigned long long)expected_total,
           (unsigned long long)undelivered, (unsigned long long)line_errors,
           (unsigned long long)overruns, percentile_us(0.50), percentile_us(0.99),
           percentile_us(0.999), max_ns / 1000.0, (unsigned long long)nsamples,
           (unsigned long long)late_sends, send_lag_max / 1000.0, (unsigned long long)errors, elapsed > 0 ? cpu / elapsed : 0.0,
           spin && elapsed > 0 ? 1.0 - idle_ns / 1e9 / elapsed : 0.0, last_error, bad_line);
    fflush(stdout);
    /* Closing 10,000 sockets at exit is the kernel's work; nothing to wait for. */
    return 0;
}

static int option(const char *a, const char *v) {
    if (!strcmp(a, "--members")) nmembers = atoi(v);
    else if (!strcmp(a, "--senders")) nsenders = atoi(v);
    else if (!strcmp(a, "--conns")) conns = atoi(v);
    else if (!strcmp(a, "--rate")) rate = atof(v);
    else if (!strcmp(a, "--window")) window = atoi(v);
    else if (!strcmp(a, "--drain")) drain_s = atof(v);
    else if (!strcmp(a, "--hold")) hold = atoi(v);
    else if (!strcmp(a, "--join-timeout")) join_timeout = atof(v);
    else return 0;
    return 1;
}

int main(int argc, char **argv) {
    int port;
    mode = (enum mode)gen_command_line(argc, argv, mode_names, 3, option, &port);
    if (mode == PACED) nmembers = nsenders = conns;
    if (mode == FANOUT) nsenders = 1;
    if (nmembers < 1 || nsenders < 1 || nsenders > nmembers || window < 1 || port <= 0 ||
        size < 48 || size > MAX_LINE || rate <= 0 || (mode != PACED && nmembers < 2))
        usage();

    gen_prepare();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nmembers + 16) {
        fprintf(stderr, "chatgen: descriptor limit %llu is below %d members\n",
                (unsigned long long)rl.rlim_cur, nmembers);
        return 2;
    }

    if (gen_server_addr(&addr, host, port) < 0) return 2;
    gen_t_origin = now_ns();

    members = calloc((size_t)nmembers, sizeof *members);
    next_seq = calloc((size_t)nmembers * (size_t)nsenders, sizeof *next_seq);
    sent_seq = calloc((size_t)nsenders, sizeof *sent_seq);
    done_count = calloc((size_t)window, sizeof *done_count);
    if (!members || !next_seq || !sent_seq || !done_count) die("calloc");
    for (int i = 0; i < nmembers; i++) {
        members[i].fd = -1;
        if (i < nsenders) {
            members[i].out = malloc(OUTCAP);
            if (!members[i].out) die("malloc");
        }
    }
    gen_open_epoll();
    return run();
}

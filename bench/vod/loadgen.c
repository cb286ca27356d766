/*
 * bench/vod/loadgen: N keep-alive HTTP/1.1 connections (epoll, one thread),
 * each repeatedly asking for a random single range of one file and reading
 * the whole 206 response (body discarded in the kernel with MSG_TRUNC).
 *
 *   loadgen HOST PORT PATH FILE_SIZE SECONDS [CONNS] [MIN_MIB] [MAX_MIB] [SEED]
 *
 * Prints one line of key=value figures on stdout:
 *   bytes mbps responses rps errors stalls p50_ms p99_ms max_ms max_gap_ms
 * A stall is a response in progress that received nothing for more than 1 s
 * (counted once per response); max_gap_ms is the longest such silence seen.
 * errors counts non-206 answers, wrong Content-Range/Content-Length and
 * connections closed by the server. Exit 0, or 2 on bad arguments/setup.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR_MAX   8192
#define STALL_MS  1000
#define MAX_CONNS 4096

struct lconn {
    int fd;
    bool busy;           /* a request was sent, its response not complete */
    bool stalled;        /* this response already counted as a stall */
    size_t hlen;         /* header bytes buffered */
    uint64_t want_start; /* requested range */
    uint64_t want_len;
    uint64_t body_left; /* -1 until the headers are parsed */
    bool in_body;
    uint64_t t_start, t_last; /* ms: request sent, last byte received */
    char hdr[HDR_MAX];
};

static struct sockaddr_in g_addr;
static const char *g_host, *g_path;
static uint64_t g_size, g_min, g_max;
static uint64_t g_rng;
static int g_ep;

static uint64_t g_bytes, g_responses, g_errors, g_stalls, g_max_gap;
static double *g_lat;
static size_t g_nlat, g_caplat;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(void)
{
    uint64_t x = g_rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g_rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void lat_push(double ms)
{
    if (g_nlat == g_caplat) {
        size_t cap = g_caplat ? g_caplat * 2 : 4096;
        double *p = realloc(g_lat, cap * sizeof(*p));
        if (!p)
            return;
        g_lat = p;
        g_caplat = cap;
    }
    g_lat[g_nlat++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int conn_open(struct lconn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof(g_addr)) != 0 && errno != EINPROGRESS) {
        int e = -errno;
        close(c->fd);
        c->fd = -1;
        return e;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->busy = false;
    return 0;
}

static void conn_reset(struct lconn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->busy = false;
}

/* Sends the next random range request. A fresh non-blocking connect may not
 * be writable yet: the request is small, so a blocking-ish retry is fine. */
static int conn_request(struct lconn *c)
{
    uint64_t span = g_max - g_min + 1;
    uint64_t len = g_min + rng_next() % span;
    if (len > g_size)
        len = g_size;
    uint64_t start = rng_next() % (g_size - len + 1);
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: xtreamd-bench-vod\r\n"
                     "Range: bytes=%" PRIu64 "-%" PRIu64 "\r\n\r\n",
                     g_path, g_host, start, start + len - 1);
    if (n < 0 || (size_t)n >= sizeof(req))
        return -EINVAL;
    size_t off = 0;
    uint64_t t0 = now_ms();
    while (off < (size_t)n) {
        ssize_t w = send(c->fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == ENOTCONN || errno == EINPROGRESS) &&
            now_ms() - t0 < 2000) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
            continue;
        }
        return -errno;
    }
    c->busy = true;
    c->stalled = false;
    c->hlen = 0;
    c->in_body = false;
    c->want_start = start;
    c->want_len = len;
    c->t_start = c->t_last = now_ms();
    return 0;
}

/* Parses the buffered headers once complete: 1 done (body may follow in
 * hdr[consumed..hlen]), 0 need more, -1 bad response. */
static int parse_headers(struct lconn *c, size_t *consumed)
{
    char *end = memmem(c->hdr, c->hlen, "\r\n\r\n", 4);
    if (!end)
        return c->hlen >= sizeof(c->hdr) - 1 ? -1 : 0;
    *end = '\0';
    *consumed = (size_t)(end - c->hdr) + 4;
    if (strncmp(c->hdr, "HTTP/1.1 206", 12) != 0)
        return -1;
    uint64_t clen = UINT64_MAX, a = 0, b = 0, total = 0;
    bool cr = false;
    for (char *line = strstr(c->hdr, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            clen = strtoull(line + 15, NULL, 10);
        else if (strncasecmp(line, "Content-Range:", 14) == 0)
            cr = sscanf(line + 14, " bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64, &a, &b, &total) == 3;
    }
    if (!cr || clen != c->want_len || a != c->want_start || b != c->want_start + c->want_len - 1 ||
        total != g_size)
        return -1;
    c->body_left = clen;
    c->in_body = true;
    return 1;
}

static void response_done(struct lconn *c)
{
    g_responses++;
    lat_push((double)(now_ms() - c->t_start));
    c->busy = false;
}

/* Reads what is available. Returns 0, or -1 when the connection must be
 * reopened (error counted). */
static int conn_read(struct lconn *c)
{
    for (;;) {
        ssize_t r;
        if (!c->in_body) {
            r = recv(c->fd, c->hdr + c->hlen, sizeof(c->hdr) - 1 - c->hlen, 0);
            if (r > 0) {
                c->t_last = now_ms();
                c->hlen += (size_t)r;
                size_t used = 0;
                int pr = parse_headers(c, &used);
                if (pr < 0)
                    return -1;
                if (pr == 0)
                    continue;
                uint64_t extra = c->hlen - used;
                if (extra > c->body_left)
                    return -1; /* more than the body: nothing may follow unasked */
                g_bytes += extra;
                c->body_left -= extra;
                if (c->body_left == 0) {
                    response_done(c);
                    return 0;
                }
                continue;
            }
        } else {
            size_t want = c->body_left > (1u << 30) ? (1u << 30) : (size_t)c->body_left;
            r = recv(c->fd, NULL, want, MSG_TRUNC | MSG_DONTWAIT);
            if (r > 0) {
                c->t_last = now_ms();
                g_bytes += (uint64_t)r;
                c->body_left -= (uint64_t)r;
                if (c->body_left == 0) {
                    response_done(c);
                    return 0;
                }
                continue;
            }
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        return -1; /* closed or failed */
    }
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr,
                "usage: %s HOST PORT PATH FILE_SIZE SECONDS [CONNS] [MIN_MIB] [MAX_MIB] "
                "[SEED]\n",
                argv[0]);
        return 2;
    }
    g_host = argv[1];
    int port = (int)strtol(argv[2], NULL, 10);
    g_path = argv[3];
    g_size = strtoull(argv[4], NULL, 10);
    double seconds = strtod(argv[5], NULL);
    int nconns = argc > 6 ? (int)strtol(argv[6], NULL, 10) : 200;
    g_min = (argc > 7 ? strtoull(argv[7], NULL, 10) : 1) << 20;
    g_max = (argc > 8 ? strtoull(argv[8], NULL, 10) : 8) << 20;
    g_rng = argc > 9 ? strtoull(argv[9], NULL, 10) : 0x9E3779B97F4A7C15ULL;
    if (!g_rng)
        g_rng = 1;
    if (port <= 0 || port > 65535 || g_size == 0 || seconds <= 0 || nconns <= 0 ||
        nconns > MAX_CONNS || g_min == 0 || g_max < g_min) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    memset(&g_addr, 0, sizeof(g_addr));
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, g_host, &g_addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: HOST must be an IPv4 address\n");
        return 2;
    }
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    struct lconn *conns = calloc((size_t)nconns, sizeof(*conns));
    if (g_ep < 0 || !conns) {
        fprintf(stderr, "loadgen: setup failed\n");
        return 2;
    }
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = -1;
        if (conn_open(&conns[i]) != 0 || conn_request(&conns[i]) != 0) {
            fprintf(stderr, "loadgen: cannot connect to %s:%d\n", g_host, port);
            return 2;
        }
    }
    double t0 = now_s(), tend = t0 + seconds;
    struct epoll_event evs[256];
    uint64_t last_scan = now_ms();
    while (now_s() < tend) {
        int n = epoll_wait(g_ep, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            struct lconn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            bool failed = !c->busy || conn_read(c) != 0;
            if (failed) {
                g_errors++;
                conn_reset(c);
                if (conn_open(c) != 0 || conn_request(c) != 0)
                    conn_reset(c);
                continue;
            }
            if (!c->busy && conn_request(c) != 0) {
                g_errors++;
                conn_reset(c);
                if (conn_open(c) == 0 && conn_request(c) != 0)
                    conn_reset(c);
            }
        }
        uint64_t now = now_ms();
        if (now - last_scan >= 50) {
            last_scan = now;
            for (int i = 0; i < nconns; i++) {
                struct lconn *c = &conns[i];
                if (c->fd < 0) { /* reopen a connection that failed to reconnect */
                    if (conn_open(c) == 0 && conn_request(c) != 0)
                        conn_reset(c);
                    continue;
                }
                if (!c->busy)
                    continue;
                uint64_t gap = now - c->t_last;
                if (gap > g_max_gap)
                    g_max_gap = gap;
                if (gap > STALL_MS && !c->stalled) {
                    c->stalled = true;
                    g_stalls++;
                }
            }
        }
    }
    double elapsed = now_s() - t0;
    for (int i = 0; i < nconns; i++)
        conn_reset(&conns[i]);
    double p50 = 0, p99 = 0, pmax = 0;
    if (g_nlat) {
        qsort(g_lat, g_nlat, sizeof(*g_lat), cmp_double);
        p50 = g_lat[g_nlat / 2];
        p99 = g_lat[(size_t)((double)(g_nlat - 1) * 0.99)];
        pmax = g_lat[g_nlat - 1];
    }
    printf("bytes=%" PRIu64 " mbps=%.1f responses=%" PRIu64 " rps=%.1f errors=%" PRIu64
           " stalls=%" PRIu64 " p50_ms=%.0f p99_ms=%.0f max_ms=%.0f max_gap_ms=%" PRIu64 "\n",
           g_bytes, (double)g_bytes / 1e6 / elapsed, g_responses, (double)g_responses / elapsed,
           g_errors, g_stalls, p50, p99, pmax, g_max_gap);
    free(g_lat);
    free(conns);
    close(g_ep);
    return 0;
}

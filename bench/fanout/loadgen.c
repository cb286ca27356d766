/*
 * bench/fanout/loadgen: N concurrent HTTP/1.1 GETs of a never-ending live
 * response on one epoll loop; every connection reads and counts its body
 * bytes. Reports the time to first body byte (from connect) and, over a
 * measurement window after a warm-up, the per-connection receive rate.
 * The window of each connection runs from its first read at or after the mark to
 * its first read at or after the end (waited for, up to 2.5 s): a server that
 * writes in bursts (nginx's limit_rate once a second, xtreamd's write-interval)
 * is then measured over whole periods, where a fixed window would gain or lose
 * a burst at each end (+-1/16 of the bytes at 0.5 s bursts over 8 s).
 *
 *   loadgen HOST PORT PATH N WARMUP_S MEASURE_S [RAMP_PER_10MS]
 *
 * Output (one line, key=value): conns ok failed ttfb_p50_ms ttfb_p99_ms
 * (ok: connections that received body bytes; failed: every other one, a
 * connection that never received a byte included: ok + failed = conns)
 * ttfb_max_ms rate_min_kbps rate_p1_kbps rate_p50_kbps rate_max_kbps
 * rate_kbps_list=... is written to stderr for the script (one value a line).
 * Built by bench/fanout/run.sh with gcc -O2. Linux only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

enum { ST_CONNECTING, ST_HEAD, ST_BODY, ST_DEAD };

struct conn {
    int fd;
    int state;
    double t_start, t_first;
    uint64_t body;
    double t_in, t_out;   /* its first read at/after the window's start, and end */
    uint64_t b_in, b_out; /* body bytes before each */
    char head[4096];
    size_t hlen;
    int status;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < lo || v > hi) {
        fprintf(stderr, "loadgen: bad number %s\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: loadgen HOST PORT PATH N WARMUP_S MEASURE_S [RAMP_PER_10MS]\n");
        return 2;
    }
    const char *host = argv[1];
    int port = (int)parse_long(argv[2], 1, 65535);
    const char *path = argv[3];
    size_t n = (size_t)parse_long(argv[4], 1, 100000);
    double warm = (double)parse_long(argv[5], 0, 600);
    double measure = (double)parse_long(argv[6], 1, 600);
    size_t ramp = argc > 7 ? (size_t)parse_long(argv[7], 1, 100000) : 50;

    char req[2048];
    int reqlen = snprintf(req, sizeof(req),
                          "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: xtreamd-loadgen\r\n\r\n",
                          path, host, port);
    if (reqlen <= 0 || (size_t)reqlen >= sizeof(req))
        return 2;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "loadgen: HOST must be an IPv4 address\n");
        return 2;
    }
    struct conn *c = calloc(n, sizeof(*c));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!c || ep < 0)
        return 1;
    static char rbuf[1 << 16];
    size_t opened = 0, failed = 0;
    double t0 = now_s(), next_ramp = t0;
    double ramp_done = 0, mark_at = 0, end_at = 0;
    bool marked = false, ended = false;
    size_t need_out = 0, got_out = 0;
    struct epoll_event evs[256];
    for (;;) {
        double t = now_s();
        if (opened < n && t >= next_ramp) {
            for (size_t k = 0; k < ramp && opened < n; k++, opened++) {
                struct conn *x = &c[opened];
                x->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                x->t_start = now_s();
                if (x->fd < 0 || (connect(x->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
                                  errno != EINPROGRESS)) {
                    fprintf(stderr, "loadgen: connect: %s\n", strerror(errno));
                    if (x->fd >= 0)
                        close(x->fd);
                    x->fd = -1;
                    x->state = ST_DEAD;
                    failed++;
                    continue;
                }
                struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = x};
                epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &ev);
            }
            next_ramp = t + 0.01;
            if (opened == n) {
                ramp_done = t;
                mark_at = t + warm;
                end_at = mark_at + measure;
            }
        }
        if (ramp_done && !marked && t >= mark_at) {
            mark_at = t;
            end_at = t + measure;
            marked = true;
        }
        if (marked && !ended && t >= end_at) {
            ended = true;
            for (size_t i = 0; i < n; i++)
                need_out += c[i].state == ST_BODY && c[i].t_in > 0;
        }
        if (ended && (got_out >= need_out || t >= end_at + 2.5))
            break;
        if (t - t0 > 600)
            break;
        int ne = epoll_wait(ep, evs, 256, 5);
        double tw = now_s();
        for (int i = 0; i < ne; i++) {
            struct conn *x = evs[i].data.ptr;
            if (x->state == ST_DEAD)
                continue;
            if (x->state == ST_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || write(x->fd, req, (size_t)reqlen) != reqlen) {
                    x->state = ST_DEAD;
                    failed++;
                    close(x->fd);
                    continue;
                }
                x->state = ST_HEAD;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = x};
                epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
                continue;
            }
            ssize_t r = read(x->fd, rbuf, sizeof(rbuf));
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                x->state = ST_DEAD;
                failed++;
                close(x->fd);
                continue;
            }
            size_t off = 0;
            if (x->state == ST_HEAD) {
                size_t take = (size_t)r;
                if (take > sizeof(x->head) - 1 - x->hlen)
                    take = sizeof(x->head) - 1 - x->hlen;
                memcpy(x->head + x->hlen, rbuf, take);
                size_t before = x->hlen;
                x->hlen += take;
                x->head[x->hlen] = '\0';
                char *eoh = strstr(x->head, "\r\n\r\n");
                if (!eoh) {
                    if (x->hlen == sizeof(x->head) - 1) {
                        x->state = ST_DEAD;
                        failed++;
                        close(x->fd);
                    }
                    continue;
                }
                x->status = (int)strtol(x->head + 9, NULL, 10);
                if (x->status != 200) {
                    x->state = ST_DEAD;
                    failed++;
                    close(x->fd);
                    continue;
                }
                off = (size_t)(eoh + 4 - x->head) - before;
                x->state = ST_BODY;
            }
            if ((size_t)r > off) {
                if (!x->body)
                    x->t_first = tw;
                if (marked && x->t_in == 0) {
                    x->t_in = tw;
                    x->b_in = x->body;
                } else if (ended && x->t_out == 0 && x->t_in > 0) {
                    x->t_out = tw;
                    x->b_out = x->body;
                    got_out++;
                }
                x->body += (uint64_t)r - off;
            }
        }
    }
    double window = now_s() - mark_at;
    double *ttfb = calloc(n, sizeof(double)), *rate = calloc(n, sizeof(double));
    size_t nt = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].body)
            ttfb[nt++] = (c[i].t_first - c[i].t_start) * 1000.0;
        /* ok: a connection that received body bytes. One that never did
         * (still connecting, no header, or a header and no byte) is a failure:
         * before, it was counted as neither. */
        if (c[i].state != ST_DEAD && (c[i].state != ST_BODY || !c[i].body))
            failed++;
        if (c[i].state == ST_BODY && c[i].body) {
            /* no read in the window, or too little of it: starved, rate 0 */
            double span = c[i].t_out - c[i].t_in;
            rate[nr] = c[i].t_out > 0 && span >= measure / 2
                           ? (double)(c[i].b_out - c[i].b_in) * 8.0 / 1000.0 / span
                           : 0.0;
            fprintf(stderr, "%.1f\n", rate[nr]);
            nr++;
        }
        if (c[i].fd > 0 && c[i].state != ST_DEAD)
            close(c[i].fd);
    }
    qsort(ttfb, nt, sizeof(double), cmp_double);
    qsort(rate, nr, sizeof(double), cmp_double);
    printf("conns=%zu ok=%zu failed=%zu window_s=%.2f ttfb_p50_ms=%.1f ttfb_p99_ms=%.1f "
           "ttfb_max_ms=%.1f rate_min_kbps=%.0f rate_p1_kbps=%.0f rate_p50_kbps=%.0f "
           "rate_max_kbps=%.0f\n",
           n, nr, failed, window, pct(ttfb, nt, 0.5), pct(ttfb, nt, 0.99), nt ? ttfb[nt - 1] : 0.0,
           nr ? rate[0] : 0.0, pct(rate, nr, 0.01), pct(rate, nr, 0.5), nr ? rate[nr - 1] : 0.0);
    free(ttfb);
    free(rate);
    free(c);
    close(ep);
    return 0;
}

/*
 * bench/admin/loadgen: load for the admin API. CONNS keep-alive HTTP/1.1
 * connections, one thread each with a blocking socket, share one request
 * counter; every request carries "Authorization: Bearer TOKEN" and is timed
 * from its first byte sent to its last byte received.
 *
 *   loadgen HOST PORT TOKEN CONNS COUNT SECONDS MODE ARG [ID]
 *
 *   MODE get PATH        GET PATH again and again
 *   MODE create PREFIX   POST /api/v1/lines, usernames PREFIX1, PREFIX2, ... (unique, so
 *                        COUNT requests make COUNT lines); exp_date, trial and enabled vary
 *                        so that the status filter and the exp_date sort have work to do
 *   MODE write PREFIX ID alternately a create as above and a PATCH /api/v1/lines/ID
 *
 * Stops after COUNT requests (0: no limit) or SECONDS (0: no limit), whichever
 * comes first. LOADGEN_RATE=R (environment) paces the requests of all
 * connections together to R per second on a fixed schedule (request n is not
 * sent before start + n/R); unset or 0: as fast as the answers come. Prints one line of key=value
 * figures on stdout: requests ok bad secs rps p50_ms p95_ms p99_ms max_ms first_bad ok counts 2xx
 * answers; bad counts the others and connection failures (first_bad: the first such status, 0 for a
 * connection failure, - for none). Exit 0, or 2 on bad arguments/setup.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR_MAX   16384
#define MAX_CONNS 256

static const char *host, *token, *mode, *arg;
static long long patch_id;
static int port;
static long long count;
static double seconds, t_start;
static atomic_llong next_req, n_ok, n_bad;
static atomic_int first_bad = -1;
static time_t now0;

struct worker {
    pthread_t th;
    double *lat;
    size_t n, cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Request number n (0-based) into out; returns its length. */
static int build(long long n, char *out, size_t cap)
{
    char body[512];
    const char *method = "GET", *path = arg;
    char pbuf[256];
    int blen = 0;
    bool create = strcmp(mode, "create") == 0 || (strcmp(mode, "write") == 0 && n % 2 == 0);
    if (create) {
        long long u = n + 1;
        /* About 10% expired, 4% disabled, 9% trial; expiry dates spread over 1000 days. */
        long long exp = (long long)now0 + ((u * 7919) % 1000 - 100) * 86400;
        blen =
            snprintf(body, sizeof(body),
                     "{\"username\":\"%s%lld\",\"password\":\"Pw-%lld\",\"max_connections\":%lld,"
                     "\"exp_date\":%lld,\"is_trial\":%s,\"enabled\":%s}",
                     arg, u, u, u % 4 + 1, exp, u % 11 == 0 ? "true" : "false",
                     u % 23 == 0 ? "false" : "true");
        method = "POST";
        path = "/api/v1/lines";
    } else if (strcmp(mode, "write") == 0) {
        blen = snprintf(body, sizeof(body), "{\"max_connections\":%lld,\"message\":\"bench %lld\"}",
                        n % 5 + 1, n);
        snprintf(pbuf, sizeof(pbuf), "/api/v1/lines/%lld", patch_id);
        method = "PATCH";
        path = pbuf;
    }
    int len = snprintf(out, cap,
                       "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                       "Accept: application/json\r\n",
                       method, path, host, port, token);
    if (blen > 0)
        len +=
            snprintf(out + len, cap - (size_t)len,
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", blen, body);
    else
        len += snprintf(out + len, cap - (size_t)len, "\r\n");
    return len;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one response; returns its status, or -1 when the connection failed. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have + 1 >= cap)
            return -1;
        ssize_t r = recv(fd, buf + have, cap - 1 - have, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    long long clen = -1;
    for (char *l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
            clen = strtoll(l + 17, NULL, 10);
    }
    if (clen < 0) {
        if (status == 204 || status == 304)
            clen = 0;
        else
            return -1; /* the admin API always sends Content-Length */
    }
    long long left = clen - (long long)(have - (size_t)(end + 4 - buf));
    while (left > 0) {
        ssize_t r = recv(fd, buf, cap < (size_t)left ? cap : (size_t)left, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        left -= r;
    }
    return status;
}

static void note_bad(int status)
{
    int expect = -1;
    atomic_compare_exchange_strong(&first_bad, &expect, status);
    atomic_fetch_add(&n_bad, 1);
}

static double rate; /* LOADGEN_RATE: requests per second, 0 = unpaced */

/* Waits for request n's slot on the fixed schedule. */
static void pace(long long n)
{
    if (rate <= 0)
        return;
    double due = t_start + (double)n / rate, wait = due - now_s();
    if (wait <= 0)
        return;
    struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *run(void *p)
{
    struct worker *w = p;
    static __thread char req[4096], buf[HDR_MAX];
    int fd = -1;
    for (;;) {
        if (seconds > 0 && now_s() - t_start >= seconds)
            break;
        long long n = atomic_fetch_add(&next_req, 1);
        if (count > 0 && n >= count)
            break;
        if (fd < 0 && (fd = dial()) < 0) {
            note_bad(0);
            usleep(10000);
            continue;
        }
        pace(n);
        if (seconds > 0 && now_s() - t_start >= seconds)
            break;
        int len = build(n, req, sizeof(req));
        double t0 = now_s();
        int status = send_all(fd, req, (size_t)len) ? read_response(fd, buf, sizeof(buf)) : -1;
        double ms = (now_s() - t0) * 1000.0;
        if (status < 0) {
            close(fd);
            fd = -1;
            note_bad(0);
            continue;
        }
        if (status >= 200 && status < 300)
            atomic_fetch_add(&n_ok, 1);
        else
            note_bad(status);
        if (w->n == w->cap) {
            size_t nc = w->cap ? w->cap * 2 : 4096;
            double *nl = realloc(w->lat, nc * sizeof(*nl));
            if (!nl)
                continue;
            w->lat = nl;
            w->cap = nc;
        }
        w->lat[w->n++] = ms;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (i < 1)
        i = 1;
    return v[(i > n ? n : i) - 1];
}

int main(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr,
                "usage: loadgen HOST PORT TOKEN CONNS COUNT SECONDS get|create|write ARG [ID]\n");
        return 2;
    }
    const char *r = getenv("LOADGEN_RATE");
    rate = r ? strtod(r, NULL) : 0;
    host = argv[1];
    port = (int)strtol(argv[2], NULL, 10);
    token = argv[3];
    int conns = (int)strtol(argv[4], NULL, 10);
    count = strtoll(argv[5], NULL, 10);
    seconds = strtod(argv[6], NULL);
    mode = argv[7];
    arg = argv[8];
    if (strcmp(mode, "write") == 0)
        patch_id = argc > 9 ? strtoll(argv[9], NULL, 10) : 0;
    if (port <= 0 || conns < 1 || conns > MAX_CONNS || (count <= 0 && seconds <= 0) ||
        (strcmp(mode, "get") && strcmp(mode, "create") && strcmp(mode, "write")) ||
        (strcmp(mode, "write") == 0 && patch_id <= 0)) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    now0 = time(NULL);
    struct worker *ws = calloc((size_t)conns, sizeof(*ws));
    if (!ws)
        return 2;
    t_start = now_s();
    for (int i = 0; i < conns; i++)
        if (pthread_create(&ws[i].th, NULL, run, &ws[i]) != 0) {
            fprintf(stderr, "loadgen: cannot start a thread\n");
            return 2;
        }
    size_t total = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(ws[i].th, NULL);
        total += ws[i].n;
    }
    double secs = now_s() - t_start;
    double *all = malloc((total ? total : 1) * sizeof(*all));
    if (!all)
        return 2;
    size_t k = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(all + k, ws[i].lat, ws[i].n * sizeof(*all));
        k += ws[i].n;
        free(ws[i].lat);
    }
    qsort(all, total, sizeof(*all), cmp_d);
    long long ok = atomic_load(&n_ok), bad = atomic_load(&n_bad);
    int fb = atomic_load(&first_bad);
    char fbs[16];
    if (fb < 0)
        snprintf(fbs, sizeof(fbs), "-");
    else
        snprintf(fbs, sizeof(fbs), "%d", fb);
    printf("requests=%zu ok=%lld bad=%lld secs=%.3f rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f first_bad=%s\n",
           total, ok, bad, secs, secs > 0 ? (double)total / secs : 0, pct(all, total, 50),
           pct(all, total, 95), pct(all, total, 99), total ? all[total - 1] : 0, fbs);
    free(all);
    free(ws);
    return 0;
}

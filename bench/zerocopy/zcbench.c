/* bench/zerocopy/zcbench.c: how much sender CPU one live channel's fan-out
 * costs per GB handed to the kernel, by the way the bytes reach the sockets.
 *
 *   zcbench VARIANT VIEWERS SECONDS
 *
 * VARIANT: writev    heap chunk buffers, sendmsg with an iovec per viewer (today)
 *          sendfile  chunks written once into a per-channel memfd at their stream
 *                    offset, sendfile(socket, memfd) per viewer; holes punched behind
 *                    the ring's tail so in-flight pages are never rewritten
 *          splice    chunks written once into a channel pipe, tee'd into a pipe per
 *                    viewer, spliced from there to the socket
 *          zerocopy  heap chunk buffers, sendmsg(MSG_ZEROCOPY), completions drained
 *                    from each socket's error queue
 *
 * One process sends, a forked child reads every socket and discards. The stream is
 * like xtreamd's live chunks of a 4 Mbit/s channel: ~50 KB (266 TS packets) every
 * 100 ms, the same bytes to every viewer, a ring of the last 64 chunks; a viewer
 * that falls off the tail skips to the head (counted). The sender's CPU (user +
 * sys, getrusage) and bytes are measured after a one-second warm-up. Prints one
 * line: variant viewers sent_MB sender_cpu_s cpu_s_per_GB reader_cpu_s skips.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

#define CHUNK    (266 * 188)
#define RING     64
#define TICK_NS  100000000LL
#define VPIPE_SZ (1 << 20)

enum variant { V_WRITEV, V_SENDFILE, V_SPLICE, V_ZEROCOPY };

struct viewer {
    int fd;
    int pr, pw;   /* splice: the viewer's pipe */
    uint64_t pos; /* stream offset of the next byte to hand over */
    size_t inpipe;
    uint64_t zc_sent, zc_done;
};

static enum variant var;
static struct viewer *vs;
static int nv;
static uint64_t head; /* stream bytes produced */
static char *ring[RING];
static int memfd = -1;
static int cpr, cpw, devnull;
static uint64_t sent, skips, zc_copied, zc_errs;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void reader(int port, int n)
{
    int ep = epoll_create1(0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
            die("reader connect");
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    static char buf[1 << 18];
    struct epoll_event evs[256];
    int open = n;
    while (open > 0) {
        int k = epoll_wait(ep, evs, 256, 5000);
        if (k <= 0)
            break;
        for (int i = 0; i < k; i++) {
            ssize_t r = recv(evs[i].data.fd, buf, sizeof(buf), 0);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                close(evs[i].data.fd);
                open--;
            }
        }
    }
    _exit(0);
}

static void produce(void)
{
    char *c = ring[(head / CHUNK) % RING];
    /* New bytes every chunk (like a real ingest): a pattern from the offset. */
    for (size_t i = 0; i < CHUNK; i += 188) {
        c[i] = 0x47;
        memcpy(c + i + 4, &head, sizeof(head));
    }
    if (var == V_SENDFILE) {
        if (pwrite(memfd, c, CHUNK, (off_t)head) != CHUNK)
            die("pwrite memfd");
        /* Drop the pages of what left the ring: skbs still in flight keep their
         * own references, new writes get fresh pages. */
        if (head >= (uint64_t)RING * CHUNK) {
            uint64_t tail = head - (uint64_t)(RING - 1) * CHUNK;
            if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(tail - CHUNK),
                          CHUNK))
                die("punch hole");
        }
    } else if (var == V_SPLICE) {
        if (write(cpw, c, CHUNK) != CHUNK)
            die("write channel pipe");
    }
    head += CHUNK;
}

static void zc_reap(struct viewer *v)
{
    char cbuf[256];
    for (;;) {
        struct msghdr m = {.msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        if (recvmsg(v->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
            return;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
            struct sock_extended_err *e = (struct sock_extended_err *)CMSG_DATA(cm);
            if (e->ee_origin != SO_EE_ORIGIN_ZEROCOPY) {
                zc_errs++;
                continue;
            }
            v->zc_done += e->ee_data - e->ee_info + 1;
            if (e->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
                zc_copied++;
        }
    }
}

/* Hands the viewer what it has not had yet, as far as its socket takes it. */
static void serve(struct viewer *v)
{
    uint64_t tail = head > (uint64_t)RING * CHUNK ? head - (uint64_t)RING * CHUNK : 0;
    if (var != V_SPLICE && v->pos < tail) {
        v->pos = head - CHUNK; /* fell off: skip to the newest chunk */
        skips++;
    }
    if (var == V_SPLICE) {
        while (v->inpipe) {
            ssize_t w =
                splice(v->pr, NULL, v->fd, NULL, v->inpipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
            if (w <= 0)
                return;
            v->inpipe -= (size_t)w;
            sent += (uint64_t)w;
        }
        return;
    }
    while (v->pos < head) {
        ssize_t w;
        if (var == V_SENDFILE) {
            off_t off = (off_t)v->pos;
            w = sendfile(v->fd, memfd, &off, head - v->pos);
        } else {
            struct iovec iov[RING];
            int n = 0;
            for (uint64_t p = v->pos; p < head && n < 16; n++) {
                size_t in = p % CHUNK;
                iov[n].iov_base = ring[(p / CHUNK) % RING] + in;
                iov[n].iov_len = CHUNK - in;
                p += CHUNK - in;
            }
            struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
            int fl = MSG_DONTWAIT | MSG_NOSIGNAL;
            if (var == V_ZEROCOPY) {
                zc_reap(v);
                fl |= MSG_ZEROCOPY;
            }
            w = sendmsg(v->fd, &m, fl);
            if (w < 0 && errno == ENOBUFS && var == V_ZEROCOPY)
                return; /* optmem full: completions must be read first */
            if (w > 0 && var == V_ZEROCOPY)
                v->zc_sent++;
        }
        if (w <= 0)
            return;
        v->pos += (uint64_t)w;
        sent += (uint64_t)w;
    }
}

static void fanout_splice(void)
{
    /* The new chunk sits in the channel pipe: tee it to every viewer pipe that has
     * room, then drop it from the channel pipe. */
    for (int i = 0; i < nv; i++) {
        struct viewer *v = &vs[i];
        if (v->inpipe + CHUNK > VPIPE_SZ) {
            skips++;
            continue;
        }
        ssize_t t = tee(cpr, v->pw, CHUNK, SPLICE_F_NONBLOCK);
        if (t != CHUNK) { /* a partial tee would tear the stream: count as skip */
            skips++;
            if (t > 0)
                v->inpipe += (size_t)t;
            continue;
        }
        v->inpipe += CHUNK;
    }
    size_t left = CHUNK;
    while (left) {
        ssize_t d = splice(cpr, NULL, devnull, NULL, left, 0);
        if (d <= 0)
            die("splice to /dev/null");
        left -= (size_t)d;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: zcbench writev|sendfile|splice|zerocopy VIEWERS SECONDS\n");
        return 2;
    }
    if (!strcmp(argv[1], "writev"))
        var = V_WRITEV;
    else if (!strcmp(argv[1], "sendfile"))
        var = V_SENDFILE;
    else if (!strcmp(argv[1], "splice"))
        var = V_SPLICE;
    else if (!strcmp(argv[1], "zerocopy"))
        var = V_ZEROCOPY;
    else
        return 2;
    nv = (int)strtol(argv[2], NULL, 10);
    double secs = strtod(argv[3], NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4096))
        die("listen");
    socklen_t al = sizeof(a);
    getsockname(lfd, (struct sockaddr *)&a, &al);
    pid_t child = fork();
    if (child == 0)
        reader(ntohs(a.sin_port), nv);

    vs = calloc((size_t)nv, sizeof(*vs));
    for (int i = 0; i < RING; i++)
        ring[i] = calloc(1, CHUNK);
    if (var == V_SENDFILE && (memfd = memfd_create("zcbench", MFD_CLOEXEC)) < 0)
        die("memfd_create");
    if (var == V_SPLICE) {
        int p[2];
        if (pipe2(p, O_NONBLOCK))
            die("pipe");
        cpr = p[0];
        cpw = p[1];
        fcntl(cpw, F_SETPIPE_SZ, 1 << 20);
        if ((devnull = open("/dev/null", O_WRONLY)) < 0)
            die("/dev/null");
    }
    int ep = epoll_create1(0);
    for (int i = 0; i < nv; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            die("accept");
        fcntl(fd, F_SETFL, O_NONBLOCK);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (var == V_ZEROCOPY && setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
            die("SO_ZEROCOPY");
        vs[i].fd = fd;
        if (var == V_SPLICE) {
            int p[2];
            if (pipe2(p, O_NONBLOCK))
                die("viewer pipe");
            vs[i].pr = p[0];
            vs[i].pw = p[1];
            if (fcntl(p[1], F_SETPIPE_SZ, VPIPE_SZ) < 0)
                die("F_SETPIPE_SZ (raise /proc/sys/fs/pipe-user-pages-soft?)");
        }
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }

    int64_t start = now_ns(), next = start, mstart = start + 1000000000LL;
    int64_t end = mstart + (int64_t)(secs * 1e9);
    double c0 = 0;
    uint64_t s0 = 0;
    bool measuring = false;
    struct epoll_event evs[512];
    for (;;) {
        int64_t t = now_ns();
        if (!measuring && t >= mstart) {
            measuring = true;
            c0 = cpu_s(RUSAGE_SELF);
            s0 = sent;
        }
        if (t >= end)
            break;
        if (t >= next) {
            produce();
            if (var == V_SPLICE)
                fanout_splice();
            for (int i = 0; i < nv; i++)
                serve(&vs[i]);
            next += TICK_NS;
            continue;
        }
        int ms = (int)((next - t) / 1000000) + 1;
        int k = epoll_wait(ep, evs, 512, ms);
        for (int i = 0; i < k; i++)
            serve(&vs[evs[i].data.u32]);
    }
    double cpu = cpu_s(RUSAGE_SELF) - c0;
    uint64_t bytes = sent - s0;
    for (int i = 0; i < nv; i++)
        close(vs[i].fd);
    int st;
    struct rusage cru;
    wait4(child, &st, 0, &cru);
    double rcpu = (double)cru.ru_utime.tv_sec + cru.ru_utime.tv_usec / 1e6 +
                  (double)cru.ru_stime.tv_sec + cru.ru_stime.tv_usec / 1e6;
    printf("%s %d %.1f %.3f %.3f %.3f %llu", argv[1], nv, bytes / 1e6, cpu, cpu / (bytes / 1e9),
           rcpu, (unsigned long long)skips);
    if (var == V_ZEROCOPY)
        printf(" zc_copied=%llu zc_errs=%llu", (unsigned long long)zc_copied,
               (unsigned long long)zc_errs);
    printf("\n");
    return 0;
}

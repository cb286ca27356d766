#include "cli/handover.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

#define LINE_MAX_BYTES 2048

long handover_running_pid(const char *data_dir)
{
    char fn[4096];
    json_error_t jerr;
    snprintf(fn, sizeof(fn), "%s/serve.json", data_dir);
    json_t *st = json_load_file(fn, 0, &jerr);
    long pid = st ? (long)json_integer_value(json_object_get(st, "pid")) : 0;
    json_decref(st);
    if (pid <= 0 || pid == (long)getpid())
        return 0;
    if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
        return pid;
    return 0;
}

static int sock_path(const char *data_dir, struct sockaddr_un *sa, const char *suffix)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/handover.sock%s", data_dir, suffix);
    return n > 0 && (size_t)n < sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

struct handover_listener *handover_find(struct handover_take *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->l[i].name, name) == 0)
            return &t->l[i];
    return NULL;
}

/* ---- the new server's side (blocking, before its loop runs) ------------- */

static void close_fds(struct handover_take *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->l[i].fd >= 0)
            close(t->l[i].fd);
    t->n = 0;
}

void handover_abort(struct handover_take *t)
{
    close_fds(t);
    if (t->peer >= 0)
        close(t->peer);
    t->peer = -1;
}

/* "LISTEN n\n" + n lines; 0 when the whole message is in buf. */
static int parse_listen(char *buf, struct handover_take *t, size_t nfds)
{
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    char *end;
    if (!line || strncmp(line, "LISTEN ", 7) != 0)
        return -EPROTO;
    long n = strtol(line + 7, &end, 10);
    if (*end || n < 1 || n > HANDOVER_MAX_FDS || (size_t)n != nfds)
        return -EPROTO;
    for (long i = 0; i < n; i++) {
        struct handover_listener *l = &t->l[i];
        char *ln = strtok_r(NULL, "\n", &save);
        char name[16], host[256];
        int port;
        if (!ln || sscanf(ln, "%15s %255s %d", name, host, &port) != 3 || port < 0 || port > 65535)
            return -EPROTO;
        memcpy(l->name, name, sizeof(name));
        memcpy(l->host, host, sizeof(host));
        l->port = port;
    }
    return 0;
}

int handover_take(const char *data_dir, struct handover_take *t)
{
    struct sockaddr_un sa;
    memset(t, 0, sizeof(*t));
    t->peer = -1;
    for (size_t i = 0; i < HANDOVER_MAX_FDS; i++)
        t->l[i].fd = -1;
    t->old_pid = handover_running_pid(data_dir);
    if (t->old_pid <= 0 || sock_path(data_dir, &sa, ""))
        return -ENOENT;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -ENOENT; /* an older server without hand-over, or it is stopping */
    }
    t->peer = fd;
    static const char take[] = "TAKE 1\n";
    if (send(fd, take, sizeof(take) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(take) - 1)
        goto proto;
    char buf[LINE_MAX_BYTES + 1];
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int) * HANDOVER_MAX_FDS)];
    } cm;
    struct iovec iov = {.iov_base = buf, .iov_len = LINE_MAX_BYTES};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof(cm.b)};
    ssize_t got = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    if (got <= 0 || (mh.msg_flags & MSG_CTRUNC))
        goto proto;
    size_t nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < k; i++) {
            if (nfds < HANDOVER_MAX_FDS)
                t->l[nfds++].fd = fds[i];
            else
                close(fds[i]);
        }
    }
    t->n = nfds;
    size_t len = (size_t)got;
    /* The rest of the text, if the message arrived in pieces (no fds there). */
    buf[len] = '\0';
    while (len < LINE_MAX_BYTES) {
        char *nl = strchr(buf, '\n');
        if (nl && strncmp(buf, "LISTEN ", 7) != 0)
            goto proto;
        long want = nl ? strtol(buf + 7, NULL, 10) : -1;
        size_t lines = 0;
        for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
            lines++;
        if (nl && want >= 0 && lines >= (size_t)want + 1)
            break;
        ssize_t r = recv(fd, buf + len, LINE_MAX_BYTES - len, 0);
        if (r <= 0)
            goto proto;
        len += (size_t)r;
        buf[len] = '\0';
    }
    if (parse_listen(buf, t, nfds))
        goto proto;
    for (size_t i = 0; i < t->n; i++) {
        int fl = fcntl(t->l[i].fd, F_GETFL);
        if (fl < 0 || fcntl(t->l[i].fd, F_SETFL, fl | O_NONBLOCK) != 0)
            goto proto;
    }
    return 0;
proto:
    log_error("handover", "the server of pid %ld did not hand over its listeners", t->old_pid);
    handover_abort(t);
    return -EPROTO;
}

int handover_release(struct handover_take *t)
{
    static const char stop[] = "STOP\n";
    char buf[16];
    int rc = -EPROTO;
    close_fds(t); /* listeners the caller did not adopt (set to -1 when it did) */
    if (t->peer < 0)
        return -EBADF;
    if (send(t->peer, stop, sizeof(stop) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(stop) - 1) {
        ssize_t n = recv(t->peer, buf, sizeof(buf) - 1, 0);
        if (n >= 4 && memcmp(buf, "BYE\n", 4) == 0)
            rc = 0;
    }
    close(t->peer);
    t->peer = -1;
    return rc;
}

/* ---- the old server's side (loop thread) -------------------------------- */

/* A taker that connected but has not finished within this is dropped when
 * another one arrives (a stuck client must not block every later upgrade). */
#define PEER_STALE_MS 10000

struct peer {
    uv_poll_t poll;
    struct handover_server *h;
    int fd;
    uint64_t since;
    bool took; /* the listeners were sent: only then is STOP honoured */
    char in[LINE_MAX_BYTES];
    size_t inlen;
};

struct handover_server {
    uv_loop_t *loop;
    uv_poll_t lpoll;
    int lfd;
    bool closing;
    struct peer *peer; /* the current taker, or NULL */
    dev_t dev;
    ino_t ino;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    handover_fds_fn fds;
    void (*on_stop)(void *ud);
    void *ud;
};

static void on_listener_closed(uv_handle_t *hd)
{
    free(hd->data);
}

static void on_peer_closed(uv_handle_t *hd)
{
    free(hd->data);
}

static void peer_close(struct handover_server *h)
{
    struct peer *p = h->peer;
    if (!p)
        return;
    h->peer = NULL;
    uv_close((uv_handle_t *)&p->poll, on_peer_closed); /* stops polling first */
    close(p->fd);
}

static int send_listeners(struct handover_server *h, int fd)
{
    struct handover_listener l[HANDOVER_MAX_FDS];
    size_t n = h->fds(h->ud, l, HANDOVER_MAX_FDS);
    char text[LINE_MAX_BYTES];
    int len = snprintf(text, sizeof(text), "LISTEN %zu\n", n);
    if (n == 0)
        return -ENOENT;
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int) * HANDOVER_MAX_FDS)];
    } cm;
    memset(&cm, 0, sizeof(cm));
    int fdv[HANDOVER_MAX_FDS];
    for (size_t i = 0; i < n; i++) {
        len += snprintf(text + len, sizeof(text) - (size_t)len, "%s %s %d\n", l[i].name, l[i].host,
                        l[i].port);
        if ((size_t)len >= sizeof(text))
            return -EOVERFLOW;
        fdv[i] = l[i].fd;
    }
    struct iovec iov = {.iov_base = text, .iov_len = (size_t)len};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cm.b,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fdv, sizeof(int) * n);
    /* A few hundred bytes into an empty unix socket buffer: never EAGAIN in
     * practice; if it is, the taker times out and starts without us. */
    ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    return w == len ? 0 : -EIO;
}

static void on_peer(uv_poll_t *hd, int status, int events)
{
    struct peer *p = hd->data;
    struct handover_server *h = p->h;
    if (status < 0) {
        peer_close(h);
        return;
    }
    ssize_t n = recv(p->fd, p->in + p->inlen, sizeof(p->in) - 1 - p->inlen, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        peer_close(h); /* the taker went away: keep serving */
        return;
    }
    p->inlen += (size_t)n;
    p->in[p->inlen] = '\0';
    char *nl;
    while ((nl = strchr(p->in, '\n')) != NULL) {
        *nl = '\0';
        if (strcmp(p->in, "TAKE 1") == 0) {
            int rc = send_listeners(h, p->fd);
            if (rc) {
                log_error("handover", "cannot send the listeners: %s", strerror(-rc));
                peer_close(h);
                return;
            }
            p->took = true;
            log_info("handover",
                     "listeners sent to a new server; still accepting until it is ready");
        } else if (strcmp(p->in, "STOP") == 0 && !p->took) {
            /* Stopping with no successor holding the listeners would refuse
             * every client. */
            log_warn("handover", "STOP before TAKE on the hand-over socket: refused");
            peer_close(h);
            return;
        } else if (strcmp(p->in, "STOP") == 0) {
            ssize_t w = send(p->fd, "BYE\n", 4, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            peer_close(h);
            h->on_stop(h->ud); /* last: it may call handover_close(h) */
            return;
        } else {
            log_warn("handover", "unknown request on the hand-over socket: closed");
            peer_close(h);
            return;
        }
        size_t used = (size_t)(nl + 1 - p->in);
        memmove(p->in, nl + 1, p->inlen - used + 1);
        p->inlen -= used;
    }
    if (p->inlen >= sizeof(p->in) - 1) {
        log_warn("handover", "request line over %d bytes: closed", LINE_MAX_BYTES);
        peer_close(h);
    }
}

static void on_accept(uv_poll_t *hd, int status, int events)
{
    struct handover_server *h = hd->data;
    if (status < 0 || h->closing)
        return;
    int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    /* The folder is 0700 already; the peer's uid is checked as well, because
     * the listeners are the server's whole public face. */
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != getuid()) {
        log_warn("handover", "refused a hand-over request from another user");
        close(fd);
        return;
    }
    uint64_t now = uv_now(h->loop);
    if (h->peer && now - h->peer->since < PEER_STALE_MS) { /* one taker at a time */
        log_warn("handover", "a hand-over is already in progress: second request refused");
        close(fd);
        return;
    }
    if (h->peer) {
        log_warn("handover", "dropping a hand-over request idle for %d s", PEER_STALE_MS / 1000);
        peer_close(h);
    }
    struct peer *p = calloc(1, sizeof(*p));
    if (!p || uv_poll_init(h->loop, &p->poll, fd) != 0) {
        free(p);
        close(fd);
        return;
    }
    p->poll.data = p;
    p->h = h;
    p->fd = fd;
    p->since = now;
    h->peer = p;
    uv_poll_start(&p->poll, UV_READABLE | UV_DISCONNECT, on_peer);
}

int handover_listen(uv_loop_t *loop, const char *data_dir, handover_fds_fn fds,
                    void (*on_stop)(void *ud), void *ud, struct handover_server **out)
{
    struct sockaddr_un sa, tmp;
    char suffix[32];
    *out = NULL;
    snprintf(suffix, sizeof(suffix), ".%d", (int)getpid());
    if (sock_path(data_dir, &sa, "") || sock_path(data_dir, &tmp, suffix)) {
        log_warn("handover", "data folder path too long for a unix socket: no hand-over");
        return -ENAMETOOLONG;
    }
    struct handover_server *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->loop = loop;
    h->fds = fds;
    h->on_stop = on_stop;
    h->ud = ud;
    memcpy(h->path, sa.sun_path, sizeof(h->path));
    int rc = 0;
    h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->lfd < 0) {
        rc = -errno;
        goto fail;
    }
    /* Bound under a private name, then renamed over handover.sock: the path
     * always names a live server's socket (the old one's until this rename). */
    unlink(tmp.sun_path);
    if (bind(h->lfd, (struct sockaddr *)&tmp, sizeof(tmp)) != 0 || listen(h->lfd, 4) != 0 ||
        chmod(tmp.sun_path, 0600) != 0 || rename(tmp.sun_path, sa.sun_path) != 0) {
        rc = -errno;
        unlink(tmp.sun_path);
        goto fail;
    }
    struct stat st;
    if (stat(sa.sun_path, &st) == 0) {
        h->dev = st.st_dev;
        h->ino = st.st_ino;
    }
    if ((rc = uv_poll_init(loop, &h->lpoll, h->lfd)) != 0)
        goto fail;
    h->lpoll.data = h;
    uv_poll_start(&h->lpoll, UV_READABLE, on_accept);
    *out = h;
    return 0;
fail:
    log_warn("handover", "cannot listen on %s: %s (no hand-over)", sa.sun_path, strerror(-rc));
    if (h->lfd >= 0)
        close(h->lfd);
    free(h);
    return rc;
}

void handover_close(struct handover_server *h)
{
    if (!h || h->closing)
        return;
    h->closing = true;
    struct stat st;
    /* A successor renamed its own socket over the path: leave that one. */
    if (stat(h->path, &st) == 0 && st.st_dev == h->dev && st.st_ino == h->ino)
        unlink(h->path);
    peer_close(h);
    uv_close((uv_handle_t *)&h->lpoll, on_listener_closed); /* frees h later */
    close(h->lfd);
    h->lfd = -1;
}

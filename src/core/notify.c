#include "core/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int sock_fd = -1;
static struct sockaddr_un addr;
static socklen_t addr_len;
static uint64_t watchdog_usec;
static unsigned long long n_sent, n_failed;

static uint64_t parse_u64(const char *s)
{
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    return errno || *end ? 0 : (uint64_t)v;
}

int notify_open(void)
{
    notify_close();
    const char *wd = getenv("WATCHDOG_USEC");
    uint64_t wpid = parse_u64(getenv("WATCHDOG_PID"));
    watchdog_usec = wpid == 0 || wpid == (uint64_t)getpid() ? parse_u64(wd) : 0;
    const char *path = getenv("NOTIFY_SOCKET");
    int rc = 0;
    if (path && *path) {
        size_t n = strlen(path);
        memset(&addr, 0, sizeof(addr));
        addr.sun_family = AF_UNIX;
        if ((path[0] != '/' && path[0] != '@') || n >= sizeof(addr.sun_path)) {
            rc = -EINVAL;
        } else {
            memcpy(addr.sun_path, path, n);
            if (path[0] == '@')
                addr.sun_path[0] = '\0'; /* abstract namespace: no terminating NUL */
            addr_len =
                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
            sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (sock_fd < 0)
                rc = -errno;
        }
    }
    /* Our children are not the service: they must not notify in its name. */
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return rc;
}

bool notify_enabled(void)
{
    return sock_fd >= 0;
}

uint64_t notify_watchdog_usec(void)
{
    return watchdog_usec;
}

int notify_send(const char *msg)
{
    if (sock_fd < 0)
        return 0;
    size_t len = strlen(msg);
    ssize_t w;
    do
        w = sendto(sock_fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, addr_len);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)len) {
        n_failed++;
        return w < 0 ? -errno : -EIO;
    }
    n_sent++;
    return 0;
}

void notify_get_counters(struct notify_counters *out)
{
    out->sent = n_sent;
    out->failed = n_failed;
}

void notify_close(void)
{
    if (sock_fd >= 0)
        close(sock_fd);
    sock_fd = -1;
}

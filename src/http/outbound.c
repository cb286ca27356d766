/* http/outbound: see outbound.h. */
#include "http/outbound.h"

#include "core/buf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define OWN_MAX 64

static struct {
    char allow[OUTBOUND_MAX_ALLOW][256];
    size_t nallow;
    struct in6_addr own[OWN_MAX]; /* IPv4 ones stored v4-mapped */
    size_t nown;
    int own_port; /* 0: unknown (the CLI) */
} policy;

/* "[::1]" -> "::1", lower case; false when it does not fit. */
static bool normalise(const char *host, char *out, size_t cap)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)host[i]);
    out[n] = '\0';
    return true;
}

int outbound_allow_host(const char *host)
{
    char h[256];
    if (!host || !normalise(host, h, sizeof(h)))
        return -EINVAL;
    if (policy.nallow == OUTBOUND_MAX_ALLOW)
        return -ENOSPC;
    memcpy(policy.allow[policy.nallow++], h, strlen(h) + 1);
    return 0;
}

static void own_add(const struct in6_addr *a)
{
    for (size_t i = 0; i < policy.nown; i++)
        if (memcmp(&policy.own[i], a, sizeof(*a)) == 0)
            return;
    if (policy.nown < OWN_MAX)
        policy.own[policy.nown++] = *a;
}

static void v4_mapped(uint32_t be, struct in6_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->s6_addr[10] = out->s6_addr[11] = 0xff;
    memcpy(&out->s6_addr[12], &be, 4);
}

int outbound_set_own(int port)
{
    policy.own_port = port;
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) != 0)
        return -errno;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        struct in6_addr a;
        if (i->ifa_addr->sa_family == AF_INET) {
            v4_mapped(((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr, &a);
            own_add(&a);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            own_add(&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
        }
    }
    freeifaddrs(ifs);
    return 0;
}

void outbound_reset(void)
{
    memset(&policy, 0, sizeof(policy));
}

static const char *class_v4(const uint8_t b[4])
{
    if (b[0] == 127)
        return "loopback";
    if (b[0] == 0)
        return "unspecified address (this host)";
    if (b[0] == 169 && b[1] == 254)
        return "link-local";
    return NULL;
}

/* The special class of an address (v4 given v4-mapped), NULL for an
 * ordinary one. */
static const char *class_v6(const struct in6_addr *a)
{
    static const uint8_t zero[12] = {0};
    const uint8_t *b = a->s6_addr;
    if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff)
        return class_v4(b + 12); /* ::ffff:a.b.c.d */
    if (memcmp(b, zero, 12) == 0) {
        if (b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1)
            return b[15] ? "loopback" : "unspecified address (this host)";
        return class_v4(b + 12); /* deprecated ::a.b.c.d */
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return "link-local";
    return NULL;
}

static bool host_allowed(const char *host)
{
    char h[256];
    if (!host || !normalise(host, h, sizeof(h)))
        return false;
    for (size_t i = 0; i < policy.nallow; i++)
        if (strcmp(policy.allow[i], h) == 0)
            return true;
    return false;
}

const char *outbound_refusal(const char *host, const struct sockaddr *sa, socklen_t len)
{
    struct in6_addr a;
    int port;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        v4_mapped(s4->sin_addr.s_addr, &a);
        port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        a = s6->sin6_addr;
        port = ntohs(s6->sin6_port);
    } else {
        return "not an IP address";
    }
    const char *why = class_v6(&a);
    for (size_t i = 0; !why && i < policy.nown; i++)
        if (memcmp(&policy.own[i], &a, sizeof(a)) == 0)
            why = "an address of this server";
    if (why && policy.own_port > 0 && port == policy.own_port)
        return "this server's own listening port"; /* never, even for an allowed host */
    if (why && host_allowed(host))
        return NULL;
    return why;
}

/* The host of the URL curl is connecting for (after redirects). */
static bool current_host(CURL *easy, char *out, size_t cap)
{
    char *url = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
        return false;
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && strlen(host) < cap;
    if (ok)
        memcpy(out, host, strlen(host) + 1);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct outbound_check *chk = clientp;
    if (purpose == CURLSOCKTYPE_IPCXN) {
        char host[256];
        const char *why = outbound_refusal(
            current_host(chk->easy, host, sizeof(host)) ? host : NULL, &addr->addr, addr->addrlen);
        if (why) {
            char ip[INET6_ADDRSTRLEN] = "?";
            if (addr->family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)&addr->addr)->sin_addr, ip,
                          sizeof(ip));
            else if (addr->family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&addr->addr)->sin6_addr, ip,
                          sizeof(ip));
            snprintf(chk->refused, sizeof(chk->refused), "%s (%s)", ip, why);
            return CURL_SOCKET_BAD;
        }
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

void outbound_apply(CURL *easy, struct outbound_check *chk)
{
    chk->easy = easy;
    chk->refused[0] = '\0';
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, chk);
}

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    return buf_append(b, ptr, n) == 0 ? n : 0; /* 0 aborts the transfer */
}

int outbound_fetch(const char *url, struct buf *out, size_t max, const char *user_agent, char *err,
                   size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct outbound_check chk;
    err[0] = '\0';
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "libcurl failed to initialise");
        return -ENOMEM;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    outbound_apply(c, &chk); /* http/https only; never this host */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 900L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 512L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (out->max == 0 || out->max > max)
        out->max = max;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK)
        return 0;
    if (chk.refused[0]) {
        snprintf(err, errlen, "download refused: the URL leads to %s (--allow-host HOST allows it)",
                 chk.refused);
        return -EACCES;
    }
    if (out->err == -E2BIG || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errlen, "download failed: larger than %zu MiB", max >> 20);
        return -EFBIG;
    }
    /* The URL itself is not echoed: playlist URLs often carry credentials. */
    snprintf(err, errlen, "download failed: %s", *errbuf ? errbuf : curl_easy_strerror(rc));
    return -EIO;
}

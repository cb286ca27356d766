/* auth/throttle: see throttle.h. */
#include "auth/throttle.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/promtext.h"

struct entry {
    struct entry *hnext;         /* bucket chain */
    struct entry *older, *newer; /* failure-order list: head = oldest */
    uint64_t last_fail_ms, blocked_until_ms;
    unsigned fails;
    char ip[46];
};

struct throttle {
    struct throttle_config cfg;
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    struct entry *oldest, *newest;
    size_t count;
    uint64_t refused, blocks, evictions;
};

void throttle_config_defaults(struct throttle_config *c)
{
    *c = (struct throttle_config){
        .free = 5,
        .window_ms = 15 * 60 * 1000,
        .base_block_ms = 1000,
        .max_block_ms = 60 * 1000,
        .max_ips = 65536,
    };
}

int throttle_new(const struct throttle_config *c, struct throttle **out)
{
    struct throttle *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->cfg = *c;
    if (t->cfg.max_ips == 0)
        t->cfg.max_ips = 1;
    t->nbuckets = 64;
    while (t->nbuckets < t->cfg.max_ips && t->nbuckets < ((size_t)1 << 20))
        t->nbuckets <<= 1;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

void throttle_free(struct throttle *t)
{
    if (!t)
        return;
    struct entry *e = t->oldest;
    while (e) {
        struct entry *next = e->newer;
        free(e);
        e = next;
    }
    free(t->buckets);
    free(t);
}

/* IPv6 clients are keyed by their /64: a subscriber gets a whole /64, and
 * rotating addresses inside it must not buy fresh attempts. */
static void key_of(const char *ip, char out[46])
{
    struct in6_addr a;
    if (strchr(ip, ':') && inet_pton(AF_INET6, ip, &a) == 1 && !IN6_IS_ADDR_V4MAPPED(&a)) {
        memset(&a.s6_addr[8], 0, 8);
        char p[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, &a, p, sizeof(p)) && strlen(p) + 4 <= 46) {
            memcpy(out, p, strlen(p));
            memcpy(out + strlen(p), "/64", 4);
            return;
        }
    }
    size_t n = strnlen(ip, 45);
    memcpy(out, ip, n);
    out[n] = '\0';
}

static size_t bucket_of(const struct throttle *t, const char *ip)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)ip; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return (size_t)(h & (t->nbuckets - 1));
}

static struct entry *find(const struct throttle *t, const char *ip, struct entry ***link)
{
    struct entry **p = &t->buckets[bucket_of(t, ip)];
    for (; *p; p = &(*p)->hnext) {
        if (strcmp((*p)->ip, ip) == 0) {
            if (link)
                *link = p;
            return *p;
        }
    }
    if (link)
        *link = p;
    return NULL;
}

static void list_unlink(struct throttle *t, struct entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    e->older = e->newer = NULL;
}

static void list_push_newest(struct throttle *t, struct entry *e)
{
    e->older = t->newest;
    e->newer = NULL;
    if (t->newest)
        t->newest->newer = e;
    else
        t->oldest = e;
    t->newest = e;
}

static void remove_entry(struct throttle *t, struct entry *e)
{
    struct entry **link;
    if (find(t, e->ip, &link) == e)
        *link = e->hnext;
    list_unlink(t, e);
    t->count--;
    free(e);
}

/* Entries whose window passed are dropped from the old end: the table holds
 * only IPs that failed recently. */
static void expire(struct throttle *t, uint64_t now_ms)
{
    while (t->oldest && now_ms - t->oldest->last_fail_ms >= t->cfg.window_ms &&
           now_ms >= t->oldest->blocked_until_ms)
        remove_entry(t, t->oldest);
}

uint64_t throttle_blocked(struct throttle *t, const char *client_ip, uint64_t now_ms)
{
    char ip[46];
    key_of(client_ip, ip);
    expire(t, now_ms);
    struct entry *e = find(t, ip, NULL);
    if (!e || e->blocked_until_ms <= now_ms)
        return 0;
    t->refused++;
    return e->blocked_until_ms - now_ms;
}

unsigned throttle_fail(struct throttle *t, const char *client_ip, uint64_t now_ms)
{
    char ip[46];
    key_of(client_ip, ip);
    expire(t, now_ms);
    struct entry **link;
    struct entry *e = find(t, ip, &link);
    if (!e) {
        if (t->count >= t->cfg.max_ips) {
            t->evictions++; /* the bound: the IP quiet for longest is forgotten */
            remove_entry(t, t->oldest);
            find(t, ip, &link); /* the chain may have changed */
        }
        e = calloc(1, sizeof(*e));
        if (!e)
            return 0;
        size_t n = strnlen(ip, sizeof(e->ip) - 1);
        memcpy(e->ip, ip, n);
        *link = e;
        t->count++;
    } else {
        list_unlink(t, e);
    }
    list_push_newest(t, e);
    e->last_fail_ms = now_ms;
    e->fails++;
    if (e->fails > t->cfg.free) {
        unsigned over = e->fails - t->cfg.free - 1;
        uint64_t block = (uint64_t)t->cfg.base_block_ms << (over < 20 ? over : 20);
        uint64_t cap =
            t->cfg.max_block_ms < t->cfg.window_ms ? t->cfg.max_block_ms : t->cfg.window_ms;
        if (block > cap)
            block = cap;
        e->blocked_until_ms = now_ms + block;
        t->blocks++;
    }
    return e->fails;
}

void throttle_metrics(const struct throttle *t, struct buf *b)
{
    promtext_family(b, "xtreamd_auth_throttled_total", "counter",
                    "Client logins refused unchecked (429) because the IP is blocked after "
                    "repeated failures");
    buf_printf(b, "xtreamd_auth_throttled_total %" PRIu64 "\n", t->refused);
    promtext_family(b, "xtreamd_auth_blocks_total", "counter",
                    "Temporary per-IP login blocks started (failed logins beyond the free ones)");
    buf_printf(b, "xtreamd_auth_blocks_total %" PRIu64 "\n", t->blocks);
    promtext_family(b, "xtreamd_auth_failure_ips", "gauge",
                    "IPs with a recent failed login held by the brute-force table");
    buf_printf(b, "xtreamd_auth_failure_ips %zu\n", t->count);
    promtext_family(b, "xtreamd_auth_failure_evictions_total", "counter",
                    "IPs forgotten because the brute-force table was full (its bound)");
    buf_printf(b, "xtreamd_auth_failure_evictions_total %" PRIu64 "\n", t->evictions);
}

#include "core/ipnet.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ipnet_is_v4(const struct ipnet_addr *a)
{
    return memcmp(a->b, v4_mapped, 12) == 0;
}

int ipnet_parse_addr(const char *s, size_t n, struct ipnet_addr *out)
{
    char tmp[64];
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (memchr(tmp, '%', n)) /* zone ids name a local interface: never a rule */
        return -EINVAL;
    struct in_addr v4;
    if (inet_pton(AF_INET, tmp, &v4) == 1) {
        memcpy(out->b, v4_mapped, 12);
        memcpy(out->b + 12, &v4, 4);
        return 0;
    }
    struct in6_addr v6;
    if (inet_pton(AF_INET6, tmp, &v6) == 1) {
        memcpy(out->b, &v6, 16);
        return 0;
    }
    return -EINVAL;
}

static void mask(struct ipnet_addr *a, unsigned prefix)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
        if (bits >= 8)
            continue;
        a->b[i] &= (uint8_t)(0xff00u >> bits);
    }
}

int ipnet_parse(const char *s, size_t n, struct ipnet *out)
{
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    if (ipnet_parse_addr(s, alen, &out->addr))
        return -EINVAL;
    bool v4 = ipnet_is_v4(&out->addr);
    unsigned max = v4 ? 32 : 128, len = max;
    if (slash) {
        const char *p = slash + 1, *end = s + n;
        if (p == end || end - p > 3)
            return -EINVAL;
        len = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return -EINVAL;
            len = len * 10 + (unsigned)(*p - '0');
        }
        if (len > max || (end - slash > 2 && slash[1] == '0'))
            return -EINVAL; /* "/08": ambiguous, refused */
    }
    out->prefix = (uint8_t)(v4 ? 96 + len : len);
    struct ipnet_addr m = out->addr;
    mask(&m, out->prefix);
    if (memcmp(&m, &out->addr, sizeof(m)) != 0)
        return -EINVAL;
    return 0;
}

bool ipnet_contains(const struct ipnet *net, const struct ipnet_addr *a)
{
    unsigned p = net->prefix, full = p / 8, rest = p % 8;
    if (memcmp(net->addr.b, a->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff00u >> rest);
    return (a->b[full] & m) == net->addr.b[full];
}

char *ipnet_format_addr(const struct ipnet_addr *a, char *out, size_t len)
{
    if (ipnet_is_v4(a)) {
        if (!inet_ntop(AF_INET, a->b + 12, out, (socklen_t)len) && len)
            out[0] = '\0';
    } else if (!inet_ntop(AF_INET6, a->b, out, (socklen_t)len) && len) {
        out[0] = '\0';
    }
    return out;
}

char *ipnet_format(const struct ipnet *net, char *out, size_t len)
{
    ipnet_format_addr(&net->addr, out, len);
    bool v4 = ipnet_is_v4(&net->addr) && net->prefix >= 96;
    unsigned plen = v4 ? net->prefix - 96u : net->prefix;
    if (plen != (v4 ? 32u : 128u)) {
        size_t used = strlen(out);
        if (used < len)
            snprintf(out + used, len - used, "/%u", plen);
    }
    return out;
}

void ipnet_subscriber(const struct ipnet_addr *a, struct ipnet_addr *out)
{
    *out = *a;
    if (!ipnet_is_v4(a))
        memset(out->b + 8, 0, 8);
}

/* ---- sets ---- */

struct range {
    struct ipnet_addr lo, hi;
};

static int cmp_range(const void *x, const void *y)
{
    const struct range *a = x, *b = y;
    return memcmp(a->lo.b, b->lo.b, 16);
}

int ipset_build(struct ipset *s, const struct ipnet *nets, size_t n)
{
    memset(s, 0, sizeof(*s));
    if (n == 0)
        return 0;
    struct range *r = calloc(n, sizeof(*r));
    if (!r)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r[i].lo = nets[i].addr;
        mask(&r[i].lo, nets[i].prefix);
        r[i].hi = r[i].lo;
        for (unsigned b = nets[i].prefix; b < 128; b++)
            r[i].hi.b[b / 8] |= (uint8_t)(0x80u >> (b % 8));
    }
    qsort(r, n, sizeof(*r), cmp_range);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && memcmp(r[i].lo.b, r[m - 1].hi.b, 16) <= 0) {
            if (memcmp(r[i].hi.b, r[m - 1].hi.b, 16) > 0)
                r[m - 1].hi = r[i].hi;
            continue;
        }
        r[m++] = r[i];
    }
    s->lo = malloc(m * sizeof(*s->lo));
    s->hi = malloc(m * sizeof(*s->hi));
    if (!s->lo || !s->hi) {
        free(r);
        ipset_free(s);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        s->lo[i] = r[i].lo;
        s->hi[i] = r[i].hi;
    }
    s->n = m;
    free(r);
    return 0;
}

void ipset_free(struct ipset *s)
{
    free(s->lo);
    free(s->hi);
    memset(s, 0, sizeof(*s));
}

/* An address as two native integers that order like its bytes (a memcmp
 * of 16 bytes is a library call per step of the search; this is two loads). */
struct u128 {
    uint64_t hi, lo;
};

static struct u128 u128_of(const struct ipnet_addr *a)
{
    uint64_t h, l;
    memcpy(&h, a->b, 8);
    memcpy(&l, a->b + 8, 8);
    return (struct u128){be64toh(h), be64toh(l)};
}

static bool u128_le(struct u128 x, struct u128 y)
{
    return x.hi < y.hi || (x.hi == y.hi && x.lo <= y.lo);
}

bool ipset_contains(const struct ipset *s, const struct ipnet_addr *a)
{
    /* The last range whose lo <= a, then a <= its hi. */
    struct u128 k = u128_of(a);
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u128_le(u128_of(&s->lo[mid]), k))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && u128_le(k, u128_of(&s->hi[lo - 1]));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

bool ipnet_list_contains(const char *list, const struct ipnet_addr *a)
{
    const char *p = list;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        const char *s = p, *e = p + n;
        while (s < e && is_space(*s))
            s++;
        while (e > s && is_space(e[-1]))
            e--;
        struct ipnet net;
        if (e > s && ipnet_parse(s, (size_t)(e - s), &net) == 0 && ipnet_contains(&net, a))
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

/* ---- Forwarded / X-Forwarded-For ---- */

/* One node of a hop: "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]:80",
 * "2001:db8::1" (XFF). */
static int parse_node(const char *s, size_t n, struct ipnet_addr *out)
{
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return -EINVAL;
        size_t rest = n - (size_t)(close + 1 - s);
        if (rest && close[1] != ':')
            return -EINVAL;
        return ipnet_parse_addr(s + 1, (size_t)(close - s - 1), out);
    }
    const char *colon = memchr(s, ':', n);
    if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)))
        n = (size_t)(colon - s); /* v4:port */
    return ipnet_parse_addr(s, n, out);
}

static void push_hop(struct ipnet_addr *hops, bool *ok, size_t max, size_t *count, size_t *dropped,
                     const struct ipnet_addr *a, bool good)
{
    if (max == 0) {
        (*dropped)++;
        return;
    }
    if (*count == max) { /* keep the rightmost: shift out the leftmost */
        memmove(hops, hops + 1, (max - 1) * sizeof(*hops));
        memmove(ok, ok + 1, (max - 1) * sizeof(*ok));
        (*count)--;
        (*dropped)++;
    }
    hops[*count] = *a;
    ok[*count] = good;
    (*count)++;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* The for= value of one Forwarded element [s, e): token or quoted-string. */
static bool forwarded_for(const char *s, const char *e, struct ipnet_addr *a, bool *found)
{
    *found = false;
    while (s < e) {
        while (s < e && (is_space(*s) || *s == ';'))
            s++;
        const char *k = s;
        while (s < e && *s != '=' && *s != ';')
            s++;
        size_t klen = (size_t)(s - k);
        while (klen && is_space(k[klen - 1]))
            klen--;
        if (s >= e || *s != '=') {
            if (s < e)
                continue;
            break;
        }
        s++; /* '=' */
        char val[80];
        size_t vlen = 0;
        bool overflow = false;
        if (s < e && *s == '"') {
            s++;
            while (s < e && *s != '"') {
                if (*s == '\\' && s + 1 < e)
                    s++;
                if (vlen + 1 < sizeof(val))
                    val[vlen++] = *s;
                else
                    overflow = true;
                s++;
            }
            if (s < e)
                s++; /* closing quote */
        } else {
            while (s < e && *s != ';' && !is_space(*s)) {
                if (vlen + 1 < sizeof(val))
                    val[vlen++] = *s;
                else
                    overflow = true;
                s++;
            }
        }
        if (klen == 3 && lower(k[0]) == 'f' && lower(k[1]) == 'o' && lower(k[2]) == 'r') {
            *found = true;
            return !overflow && parse_node(val, vlen, a) == 0;
        }
    }
    return false;
}

/* Splits on commas outside quoted strings (a quoted v6 "[::1]:80" has no
 * commas, but a hostile header may put one in quotes). */
static const char *next_comma(const char *p, bool quotes)
{
    bool in = false;
    for (; *p; p++) {
        if (quotes && *p == '"')
            in = !in;
        else if (quotes && in && *p == '\\' && p[1])
            p++;
        else if (*p == ',' && !in)
            return p;
    }
    return p;
}

size_t ipnet_parse_hops(const char *value, bool forwarded, struct ipnet_addr *hops, bool *ok,
                        size_t max, size_t *dropped)
{
    size_t count = 0;
    *dropped = 0;
    const char *p = value;
    while (p && *p) {
        const char *end = next_comma(p, forwarded);
        const char *s = p, *e = end;
        while (s < e && is_space(*s))
            s++;
        while (e > s && is_space(e[-1]))
            e--;
        struct ipnet_addr a = {{0}};
        bool good;
        if (forwarded) {
            bool found;
            good = forwarded_for(s, e, &a, &found);
            if (!found && e > s) /* an element without for= says nothing of the client */
                good = false;
        } else {
            good = e > s && parse_node(s, (size_t)(e - s), &a) == 0;
        }
        if (e > s)
            push_hop(hops, ok, max, &count, dropped, &a, good);
        p = *end ? end + 1 : end;
    }
    return count;
}

bool ipnet_client_addr(const struct ipnet_addr *peer, const struct ipset *trusted,
                       const char *forwarded, const char *xff, struct ipnet_addr *client)
{
    *client = *peer;
    if (!trusted || trusted->n == 0 || !ipset_contains(trusted, peer))
        return false;
    const char *h = forwarded && *forwarded ? forwarded : xff;
    if (!h)
        return false;
    struct ipnet_addr hops[IPNET_MAX_HOPS];
    bool ok[IPNET_MAX_HOPS];
    size_t dropped;
    size_t n = ipnet_parse_hops(h, h == forwarded, hops, ok, IPNET_MAX_HOPS, &dropped);
    for (size_t i = n; i-- > 0;) {
        if (!ok[i])
            break; /* the last address believed stays the client */
        *client = hops[i];
        if (!ipset_contains(trusted, &hops[i]))
            break;
    }
    return memcmp(client, peer, sizeof(*client)) != 0;
}

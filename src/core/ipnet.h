/*
 * core/ipnet: IP addresses, CIDR ranges and sets of ranges, IPv4 and IPv6,
 * and the client address behind trusted reverse proxies (Forwarded /
 * X-Forwarded-For).
 *
 * Every address is kept as 16 bytes in network order: IPv4 as the mapped
 * form ::ffff:a.b.c.d, so one comparison covers both families and a v4 rule
 * matches a v4 client that reached a dual-stack socket. A range is an
 * address and a prefix length over those 128 bits (a v4 /24 is /120).
 *
 * Parsing is length-bounded (no NUL needed), allocation-free and fuzzed
 * (tests/fuzz/fuzz_ipnet.c, fuzz_forwarded.c). An ipset is built once (on
 * a snapshot change), immutable after, and answers "is this address in any
 * range" in O(log n) by binary search over sorted, merged ranges.
 * Threading: none; an ipset is read-only once built.
 */
#ifndef XTREAMD_CORE_IPNET_H
#define XTREAMD_CORE_IPNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipnet_addr {
    uint8_t b[16];
};

struct ipnet {
    struct ipnet_addr addr; /* host bits cleared */
    uint8_t prefix;         /* 0-128 over the 16 bytes (v4: 96 + its length) */
};

/* Longest text form ("ffff:...:ffff/128", v4-mapped forms) plus NUL. */
#define IPNET_TEXT_MAX 52

/* "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "[2001:db8::1]". 0 or -EINVAL. */
int ipnet_parse_addr(const char *s, size_t n, struct ipnet_addr *out);
/* An address or "ADDR/LEN" (v4 LEN 0-32, v6 0-128). Host bits below LEN are
 * refused (-EINVAL): "10.1.2.3/8" is more likely a typo than a wish. */
int ipnet_parse(const char *s, size_t n, struct ipnet *out);
bool ipnet_is_v4(const struct ipnet_addr *a);
bool ipnet_contains(const struct ipnet *net, const struct ipnet_addr *a);
/* Canonical text: "192.0.2.0/24", "2001:db8::/32", a single address without
 * "/LEN". Returns out. */
char *ipnet_format(const struct ipnet *net, char *out, size_t len);
char *ipnet_format_addr(const struct ipnet_addr *a, char *out, size_t len);
/* The /64 of an IPv6 address (one subscriber's prefix); v4 unchanged. */
void ipnet_subscriber(const struct ipnet_addr *a, struct ipnet_addr *out);

/* A set of ranges for "is the address in any of them" (deny lists, trusted
 * proxies). */
struct ipset {
    struct ipnet_addr *lo, *hi; /* sorted by lo, disjoint after merging */
    size_t n;
};

/* Builds a set from nets (any order, overlaps merged). 0 or -ENOMEM. */
int ipset_build(struct ipset *s, const struct ipnet *nets, size_t n);
void ipset_free(struct ipset *s);
bool ipset_contains(const struct ipset *s, const struct ipnet_addr *a);

/* Whether the comma-separated list (spaces allowed around items) of
 * addresses and ranges contains a; items that do not parse match nothing.
 * For short per-line lists: no allocation, O(items). */
bool ipnet_list_contains(const char *list, const struct ipnet_addr *a);

/*
 * The client behind trusted proxies. Only when the socket peer is in
 * `trusted` are the headers believed: the hops of `Forwarded` (RFC 7239
 * for= parameters; preferred when present) or else `X-Forwarded-For` are
 * walked from the right, skipping trusted addresses; the first untrusted hop
 * is the client. A hop that is not an address ("unknown", an obfuscated
 * identifier, garbage) ends the walk at the last address believed. Headers
 * may be NULL. At most IPNET_MAX_HOPS hops from the right are considered.
 * Returns true when *client differs from the peer.
 */
#define IPNET_MAX_HOPS 32
bool ipnet_client_addr(const struct ipnet_addr *peer, const struct ipset *trusted,
                       const char *forwarded, const char *xff, struct ipnet_addr *client);
/* The hops of a header, left to right, keeping the rightmost max (the rest
 * are counted in *dropped); unparseable hops are marked ok[i] = false.
 * forwarded selects the RFC 7239 syntax. Returns the number stored. */
size_t ipnet_parse_hops(const char *value, bool forwarded, struct ipnet_addr *hops, bool *ok,
                        size_t max, size_t *dropped);

#endif

/*
 * auth/throttle: per-IP brute-force brake on failed logins.
 *
 * Every client-auth path (player_api, panel_api, get.php, xmltv.php, stream
 * URLs) asks throttle_blocked() before it checks credentials and reports a
 * wrong password with throttle_fail(). The first `free` failures of an IP
 * within the window cost nothing; each further one blocks the IP for a
 * doubling time (1 s, 2 s, 4 s ... capped at `max_block_ms`, and never longer
 * than the window). While blocked, credentials are not checked at all: the
 * caller answers 429 with Retry-After at once, so nothing waits on the loop
 * and an attacker's guesses are bounded by the schedule, not by how fast he
 * sends. An IP with no failure for `window_ms` starts afresh. IPv6 clients
 * count per /64 (one subscriber's prefix).
 *
 * Owns a hashed table of IPs (FNV-1a, chained, power-of-two buckets) bounded
 * at `max_ips`; when full, the entry whose last failure is oldest is evicted
 * (a doubly-linked list in failure order makes that O(1)) and the eviction is
 * counted. Lookups and updates are O(1).
 * Threading: loop thread only.
 */
#ifndef XTREAMD_AUTH_THROTTLE_H
#define XTREAMD_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

struct throttle_config {
    unsigned free;          /* failures per window before blocking starts (5) */
    unsigned window_ms;     /* a quiet IP is forgotten after this (15 min) */
    unsigned base_block_ms; /* first block (1 s), doubled per further failure */
    unsigned max_block_ms;  /* cap of one block (60 s) */
    unsigned max_ips;       /* table bound (65,536) */
};

struct throttle;

void throttle_config_defaults(struct throttle_config *c);
int throttle_new(const struct throttle_config *c, struct throttle **out);
void throttle_free(struct throttle *t);
/* Milliseconds ip stays blocked from now_ms, 0 when it may try; counts the
 * refusal when blocked. */
uint64_t throttle_blocked(struct throttle *t, const char *ip, uint64_t now_ms);
/* Records a failed login; returns that ip's failures in the current window. */
unsigned throttle_fail(struct throttle *t, const char *ip, uint64_t now_ms);
/* Prometheus text: refused attempts, blocks started, tracked IPs, evictions. */
void throttle_metrics(const struct throttle *t, struct buf *b);

#endif

/*
 * auth/access: the access check of every client request, on the catalogue
 * snapshot and in-memory tables only (never SQLite on the loop).
 *
 *  - the client address: the socket peer, or — only when the peer is a
 *    trusted proxy (global rule trusted_proxy) — the Forwarded /
 *    X-Forwarded-For client (core/ipnet.h);
 *  - a per-IP request rate (token bucket: `rate` per second, `burst`) on the
 *    client routes, answered 429 with Retry-After;
 *  - before credentials: bans, the global deny list, global user-agent and
 *    country rules;
 *  - after credentials: the line's allowed ranges, lock to the first IP,
 *    distinct IPs per UTC day, user-agent and country rules;
 *  - brute force: past `ban_after` failed logins within the brake's window an
 *    IP is banned for ban_secs << (strikes - 1) (capped), persisted; an
 *    account `flag_ips` distinct IPs fail against is flagged;
 *  - the refusal log: each refusal is queued and written in batches on the
 *    thread pool with the bans, first IPs and flags (bounded queue, oldest
 *    log rows pruned by the writer); RATE_LIMITED and BANNED_IP are logged at
 *    most once per IP per ACCESS_LOG_QUIET_SECS (the rest are counted).
 *
 * What the loop decides before the database has it (a new ban, a first IP, a
 * lifted ban, a reset line) stays in a small local table until a snapshot
 * built after the write is published, so a rebuild in between never forgets
 * it. Global rules are compiled per snapshot: addresses into an ipset
 * (O(log n)), countries into bitmaps; user-agent globs are a linear list.
 * Threading: loop thread only (the writer's work runs on the pool and shares
 * nothing with the loop but its batch).
 */
#ifndef XTREAMD_AUTH_ACCESS_H
#define XTREAMD_AUTH_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "catalog/catalog.h"
#include "core/buf.h"

#define ACCESS_LOG_QUIET_SECS 10

struct access_config {
    const char *geoip_db;  /* MaxMind country database (.mmdb); NULL: country rules off */
    unsigned ban_after;    /* failed logins in the brake window before a ban (20; 0 off) */
    unsigned ban_secs;     /* first ban (600), doubled per strike */
    unsigned ban_max_secs; /* cap (7 days) */
    unsigned flag_ips;     /* distinct IPs failing on one account before it is flagged (5) */
    unsigned rate;         /* requests per second per IP on client routes (0 = off) */
    unsigned burst;        /* bucket size (0: 2 x rate) */
    unsigned max_ips;      /* bound of the rate and daily-IP tables (65,536) */
    unsigned log_max;      /* refusal log rows kept (100,000) */
    unsigned queue_max;    /* refusals waiting for the writer (4,096) */
    unsigned flush_ms;     /* writer batch period (500; driven by access_tick) */
};

void access_config_defaults(struct access_config *c);
/* "KEY=VALUE" of `serve --access`: ban-after, ban-time, ban-max, flag-ips,
 * rate, burst, max-ips, log-max. -EINVAL for a bad key or value. */
int access_config_set(struct access_config *c, const char *kv);

struct access;

/* data_dir: the writer's database (NULL: nothing persisted, tests). */
int access_new(uv_loop_t *loop, const char *data_dir, const struct access_config *cfg,
               struct access **out);
/* Writes what is queued (synchronously), then frees. */
void access_free(struct access *a);
/* SIGHUP: the tunables of cfg replace the running ones (tables shrink to a
 * smaller max-ips as they fill), and the country database is opened again
 * from cfg->geoip_db (a file replaced in place by rename, or a new path; ""
 * or NULL turns country rules off). A database that does not open keeps the
 * previous one (logged). Loop thread. */
void access_reconfigure(struct access *a, const struct access_config *cfg);
/* Compiles c's global rules and bans; drops local entries the snapshot has. */
void access_set_catalog(struct access *a, const struct catalog *c);

/* The client behind a trusted proxy, written over ip (46 bytes), canonical. */
void access_client_ip(struct access *a, char *ip, size_t iplen, const char *forwarded,
                      const char *xff);
/* 0: go on; else milliseconds until the IP may send again (counted). */
uint64_t access_rate(struct access *a, const char *ip, uint64_t now_ms, bool *log_it);

struct access_req {
    const char *ip, *user_agent, *route, *username;
    int64_t now;
};
/* Before credentials: NULL or a reason code; *retry_secs for a ban. */
const char *access_check_global(struct access *a, const struct access_req *r, int64_t *retry_secs,
                                bool *log_it);
/* After credentials, for line l: NULL or a reason code. Records the first IP
 * and the day's IPs of an admitted request. */
const char *access_check_line(struct access *a, const struct cat_line *l,
                              const struct access_req *r);
/* Queues a refusal-log row (copied). line may be NULL. */
void access_refused(struct access *a, const char *reason, const struct cat_line *l,
                    const struct access_req *r, const char *detail);
/* A failed login of ip against username, `fails` failures of ip in the
 * brake's window: may ban the IP and flag the account. */
void access_login_failed(struct access *a, const char *ip, const char *username, unsigned fails,
                         int64_t now);
/* Loop thread, after the admin API lifted a ban / reset a line in the database. */
void access_unban(struct access *a, const char *ip, int64_t now);
void access_line_reset(struct access *a, int64_t line_id, int64_t now);
/* A bound box called the portal (handshake, get_profile, watchdog): its
 * devices last_seen, written with the next batch (off the loop thread, to
 * the refusal log's file, never the main database). */
void access_device_seen(struct access *a, const char *mac, int64_t now);
/* A bound box's last channel (itv set_last_id; 0: none): kept in memory
 * (bounded by max-ips, a full table counted) and written with the next batch
 * to the activity file, from which access_new reads it back after a
 * restart. */
int64_t access_last_channel(const struct access *a, const char *mac);
void access_set_last_channel(struct access *a, const char *mac, int64_t stream_id, int64_t now);
bool access_geoip_enabled(const struct access *a);
/* Whether user agent ua matches glob pat as fnmatch(pat, ua, 0) would say
 * (the check's own matcher for '*'-only globs; tests compare the two). */
bool access_glob_match(const char *pat, const char *ua);
/* Prometheus text. */
void access_metrics(struct access *a, struct buf *b);
/* Periodic (the api's tick, ~0.5 s; now_ms monotonic): hands what is queued
 * to the writer when flush_ms has passed. */
void access_tick(struct access *a, uint64_t now_ms);
/* Flushes the queue now, synchronously (tests, shutdown). */
void access_flush(struct access *a);

#endif

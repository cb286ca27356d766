/*
 * connections: the in-memory registry of viewer connections (live TS, HLS,
 * movies, episodes) used to enforce a line's max_connections and to report
 * active_cons. Shared by the VOD server (api/vod.c) and the live engine.
 *
 * Model. Every delivering HTTP response registers one entry (line, kind,
 * item, client IP, user agent) and removes it when it ends. Entries with the
 * same (line, kind, item, IP) form one *session*: a player opening several
 * range connections for one title counts once. A removed entry lingers for
 * `window` seconds so that a player's next range request (a seek) is still
 * the same session and does not count as a new viewer.
 *
 * Limits, "newest wins" (xtream-api.md §4.3): conn_registry_enforce() closes
 * the oldest sessions of a line (every active entry of them, through their
 * kick callbacks) until the line is within its limit; the session that was
 * just registered is never the victim.
 *
 * Ownership: entries are owned by the registry; kick contexts are borrowed.
 * A kick callback is called after its entry was removed, so it may (and
 * usually does) end in conn_registry_remove() of that handle, a no-op.
 * Bounds: at most `max` entries, active or lingering (conn_registry_set_max,
 * default CONN_REGISTRY_DEFAULT_MAX). At the bound the oldest lingering entry
 * is forgotten first (counted); with none, registering fails (handle 0), the
 * refusal is counted (conn_registry_stats) and the caller must refuse the
 * connection (503): limits are never silently not enforced.
 * Lookups are hashed (core/hashtab): by handle, by session key, by line.
 * Threading: loop thread only.
 */
#ifndef XTREAMD_AUTH_CONNECTIONS_H
#define XTREAMD_AUTH_CONNECTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONN_REGISTRY_DEFAULT_MAX 65536

enum conn_kind { CONN_LIVE, CONN_HLS, CONN_MOVIE, CONN_EPISODE, CONN_TIMESHIFT };

struct conn_registry;

typedef void (*conn_kick_fn)(void *ctx);

struct conn_info {
    uint64_t handle;
    int64_t line_id;
    enum conn_kind kind;
    int64_t item_id;
    const char *ip;
    const char *ua;
    int64_t started;
};

/* window_secs: how long a removed entry keeps its session alive (0: none). */
struct conn_registry *conn_registry_new(int window_secs);
void conn_registry_free(struct conn_registry *r);
/* The bound on entries (active and lingering); 0 means 1. */
void conn_registry_set_max(struct conn_registry *r, size_t max);

/* Called on the loop thread from conn_registry_enforce() when a line over
 * its limit had connections kicked (the admin event stream). It must not
 * call back into the registry. */
typedef void (*conn_limit_fn)(void *ctx, int64_t line_id, int max, int kicked);
void conn_registry_set_limit_hook(struct conn_registry *r, conn_limit_fn fn, void *ctx);

/* Tags: an observer (the cluster's session tracking, api/cluster.c) tags the entry of a
 * connection it cares about with a nonzero number of its own; end(ctx, tag) is called once
 * when that entry is removed (the connection ended: closed, kicked, done), touch(ctx, tag) on
 * each conn_registry_touch of it (an HLS session's playlist or segment served). Neither may
 * call back into the registry. The hooks are not called from conn_registry_free. */
typedef void (*conn_tag_fn)(void *ctx, uint64_t tag);
void conn_registry_set_tag_hooks(struct conn_registry *r, conn_tag_fn end, conn_tag_fn touch,
                                 void *ctx);
/* Tags an active entry: 0, -ENOENT (unknown or ended), -EEXIST (already tagged; tag 0
 * clears). */
int conn_registry_tag(struct conn_registry *r, uint64_t handle, uint64_t tag);
/* The entry was used (its tag's touch hook, if any): true when it is active and tagged. */
bool conn_registry_touch(struct conn_registry *r, uint64_t handle);
/* The handle the latest conn_registry_add returned (0: none yet). Handles count up, so a
 * caller compares it before and after a delivery call to find the entry that call
 * registered, if any. */
uint64_t conn_registry_last_handle(const struct conn_registry *r);

/* Registers a connection; returns its handle (> 0), or 0 when out of memory or
 * full (counted; the caller refuses the connection). kick(ctx) closes the
 * connection; NULL if it cannot be closed. */
uint64_t conn_registry_add(struct conn_registry *r, int64_t line_id, enum conn_kind kind,
                           int64_t item_id, const char *ip, const char *ua, int64_t now,
                           conn_kick_fn kick, void *ctx);
/* Ends a connection (unknown handles are ignored). */
void conn_registry_remove(struct conn_registry *r, uint64_t handle, int64_t now);

/* Sessions of a line: distinct (kind, item, IP) with an active entry or one
 * removed less than the window ago. */
size_t conn_registry_count(struct conn_registry *r, int64_t line_id, int64_t now);
/* Sessions of a line with an active entry, lingering ones left out: what is
 * being watched at this moment (active_cons). O(1). */
size_t conn_registry_count_active(struct conn_registry *r, int64_t line_id);
/* Active entries (all lines). */
size_t conn_registry_active(const struct conn_registry *r);
/* Active entries of one kind (all lines): the admin stats' viewers. */
size_t conn_registry_active_kind(const struct conn_registry *r, enum conn_kind kind);
/* Entries held, active and lingering (what the bound applies to). */
size_t conn_registry_size(const struct conn_registry *r);
/* Bound hits so far: registrations refused at the bound and for want of
 * memory, and lingering entries forgotten early to make room. */
struct conn_registry_stats {
    uint64_t refused_full, refused_nomem, linger_evicted;
};
void conn_registry_stats(const struct conn_registry *r, struct conn_registry_stats *out);
/* The line's oldest active entry; 0 if none (info may be NULL). */
uint64_t conn_registry_oldest(const struct conn_registry *r, int64_t line_id,
                              struct conn_info *info);

/* Newest wins: while the line has more than max sessions (max <= 0: no
 * limit), kicks the oldest session other than keep's. Returns how many
 * connections were kicked; when any were, the limit hook (if set) is told
 * once, after the kicks. */
int conn_registry_enforce(struct conn_registry *r, int64_t line_id, int max, uint64_t keep,
                          int64_t now);

/* Closes every active connection that can be closed (a fenced cluster node moves its viewers
 * off: cluster/node.h); returns how many were kicked. Their entries stay until the
 * connections end (conn_registry_remove), as for any close. */
size_t conn_registry_kick_all(struct conn_registry *r);
/* Closes one active connection (its kick callback); false when unknown, ended or not
 * closable. */
bool conn_registry_kick(struct conn_registry *r, uint64_t handle);
/* Closes the active connections of one line watching one item (any kind): a
 * cluster session ended by newest wins on another node (cluster/admission.h).
 * line_id < 0: every connection (conn_registry_kick_all). Returns how many. */
size_t conn_registry_kick_item(struct conn_registry *r, int64_t line_id, int64_t item_id);

#endif

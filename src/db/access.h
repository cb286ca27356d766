/*
 * db/access: the tables of access control (migration 8): per-line rules (on
 * the lines row), global rules, IP bans and the refusal log. Values are
 * validated by domain/access.c; lists are written straight as JSON arrays
 * (core/jsonw) since they only ever go to the admin API and the CLI.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_ACCESS_H
#define XTREAMD_DB_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"

struct db;

struct db_line_access {
    char *allowed_ips; /* comma-separated canonical ranges, "" = any */
    bool lock_first_ip;
    char *first_ip;        /* NULL: none recorded */
    int64_t max_daily_ips; /* 0 = no cap */
    char *allowed_uas;     /* '\n'-separated globs, "" = any */
    char *denied_uas;
    char *allowed_countries; /* "FR,DE", "" = any */
    char *denied_countries;
    int64_t attack_flagged_at; /* 0: not flagged */
    bool is_mag;               /* portal only (lines.is_mag) */
};

void db_line_access_clear(struct db_line_access *a);
int db_line_access_get(struct db *db, int64_t line_id, struct db_line_access *out);
/* Writes every rule field (not first_ip, not the flag). -ENOENT: no line. */
int db_line_access_set(struct db *db, int64_t line_id, const struct db_line_access *a, int64_t now);
/* Forgets the first IP and the attack flag. -ENOENT: no line. */
int db_line_access_reset(struct db *db, int64_t line_id, int64_t now);
/* Records the first IP unless one is recorded already (the first writer wins). */
int db_line_first_ip(struct db *db, int64_t line_id, const char *ip);
/* Flags the line named username (no such line: nothing, 0). */
int db_line_flag_attack(struct db *db, const char *username, int64_t at);

/* Lines flagged for failed logins from many addresses, newest first:
 * [{"line_id","username","attack_flagged_at"}...]. */
int db_flagged_lines_json(struct db *db, struct jsonw *w, int64_t *count);

/* Global rules. kind: ip_deny, trusted_proxy, ua_allow, ua_deny,
 * country_allow, country_deny. */
int db_access_rule_add(struct db *db, const char *kind, const char *value, const char *note,
                       int64_t now, int64_t *id);
int db_access_rule_del(struct db *db, int64_t id);
/* [{"id","kind","value","note","created_at"}...] (kind NULL: all). */
int db_access_rules_json(struct db *db, const char *kind, struct jsonw *w, int64_t *count);

/* Bans: an upsert raises strikes by one and sets until; lifting deletes. */
int db_ban_put(struct db *db, const char *ip, int64_t until, int64_t strikes, const char *reason,
               int64_t now);
int db_ban_del(struct db *db, const char *ip);
/* [{"ip","until","strikes","reason","created_at","updated_at","active"}...]:
 * active ones (until > now), or every row kept for its strikes when all. */
int db_bans_json(struct db *db, bool all, int64_t now, struct jsonw *w, int64_t *count);
/* Rows of bans that ended before `before` (strikes forgotten). */
int db_bans_prune(struct db *db, int64_t before);

struct db_refusal {
    int64_t at, line_id; /* line_id 0: no line (unknown or not yet checked) */
    const char *username, *ip, *user_agent, *route, *reason, *detail;
};
/* The refusal log is <data>/refusals.db (created on first use), not the
 * main database: see db/access.c. Inserts rows in one transaction of its
 * own (whatever db's state) and keeps the newest `keep` rows. */
int db_refusals_add(struct db *db, const struct db_refusal *r, size_t n, int64_t keep);
struct db_refusal_filter {
    const char *ip, *reason, *username;
    int64_t line_id;   /* 0: any */
    int64_t since;     /* 0: any */
    int64_t before_id; /* paging: rows with id < before_id; 0: newest */
    int64_t limit;
};
/* Activity beside the refusal log (same file, same reason): a device's
 * last portal call, its last channel (itv set_last_id) and a line's
 * distinct addresses per UTC day. */
enum db_activity_kind { DB_ACT_SEEN, DB_ACT_DAILY, DB_ACT_DAILY_RESET, DB_ACT_LAST_CHANNEL };
struct db_activity {
    enum db_activity_kind kind;
    int64_t at;       /* SEEN, LAST_CHANNEL: Unix seconds; DAILY, DAILY_RESET: the UTC day */
    int64_t line_id;  /* DAILY, DAILY_RESET; LAST_CHANNEL: the stream id */
    const char *text; /* SEEN, LAST_CHANNEL: the MAC; DAILY: the address */
};
/* Applies v in order in one transaction and forgets days before oldest_day. */
int db_activity_add(struct db *db, const struct db_activity *v, size_t n, int64_t oldest_day);
/* Calls cb for each address recorded on day; a non-zero return stops and is returned. */
int db_daily_ips_load(struct db *db, int64_t day,
                      int (*cb)(void *ctx, int64_t line_id, const char *ip), void *ctx);
/* Calls cb for each device's last channel (MAC, stream id); a non-zero
 * return stops and is returned. */
int db_last_channels_load(struct db *db, int (*cb)(void *ctx, const char *mac, int64_t stream_id),
                          void *ctx);
struct db_device;
/* Raises each device's last_seen to its recorded last portal call. */
int db_device_seen_fill(struct db *db, struct db_device *v, size_t n);

/* Newest first: [{"id","at","line_id","username","ip","user_agent","route","reason","detail"}]. */
int db_refusals_json(struct db *db, const struct db_refusal_filter *f, struct jsonw *w,
                     int64_t *count);

#endif

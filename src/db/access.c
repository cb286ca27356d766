#include "db/access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "db/db_priv.h"
#include "db/devices.h"

static void key_time(struct jsonw *w, const char *key, int64_t t)
{
    jsonw_key(w, key);
    if (t <= 0) {
        jsonw_null(w);
        return;
    }
    struct tm tm;
    time_t tt = (time_t)t;
    char s[32];
    gmtime_r(&tt, &tm);
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
    jsonw_str(w, s);
}

static void key_str(struct jsonw *w, const char *key, const char *v)
{
    jsonw_key(w, key);
    jsonw_str(w, v);
}

static void key_int(struct jsonw *w, const char *key, long long v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void db_line_access_clear(struct db_line_access *a)
{
    free(a->allowed_ips);
    free(a->first_ip);
    free(a->allowed_uas);
    free(a->denied_uas);
    free(a->allowed_countries);
    free(a->denied_countries);
    memset(a, 0, sizeof(*a));
}

int db_line_access_get(struct db *db, int64_t line_id, struct db_line_access *out)
{
    struct db_stmt *st;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db,
                   "SELECT allowed_ips, lock_first_ip, first_ip, max_daily_ips, allowed_uas,"
                   " denied_uas, allowed_countries, denied_countries, attack_flagged_at, is_mag"
                   " FROM lines WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, line_id);
    int rc = db_step(st), ret = 0;
    if (rc == DB_ROW) {
        out->allowed_ips = db_col_strdup(st, 0);
        out->lock_first_ip = db_col_int(st, 1) != 0;
        if (!db_col_is_null(st, 2))
            out->first_ip = db_col_strdup(st, 2);
        out->max_daily_ips = db_col_int64(st, 3);
        out->allowed_uas = db_col_strdup(st, 4);
        out->denied_uas = db_col_strdup(st, 5);
        out->allowed_countries = db_col_strdup(st, 6);
        out->denied_countries = db_col_strdup(st, 7);
        out->attack_flagged_at = db_col_int64(st, 8);
        out->is_mag = db_col_int(st, 9) != 0;
        if (!out->allowed_ips || !out->allowed_uas || !out->denied_uas || !out->allowed_countries ||
            !out->denied_countries || (!db_col_is_null(st, 2) && !out->first_ip)) {
            db_line_access_clear(out);
            ret = -ENOMEM;
        }
    } else {
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "line access");
    }
    db_finalize(st);
    return ret;
}

static int run_changes(struct db *db, struct db_stmt *st, const char *what, bool need_row)
{
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(db, rc, what);
    if (ret == 0 && need_row && db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

int db_line_access_set(struct db *db, int64_t line_id, const struct db_line_access *a, int64_t now)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE lines SET allowed_ips = ?2, lock_first_ip = ?3, max_daily_ips = ?4,"
                   " allowed_uas = ?5, denied_uas = ?6, allowed_countries = ?7,"
                   " denied_countries = ?8, updated_at = ?9, is_mag = ?10,"
                   " first_ip = CASE WHEN ?3 = 0 THEN NULL ELSE first_ip END WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, line_id);
    db_bind_text(st, 2, a->allowed_ips ? a->allowed_ips : "");
    db_bind_int(st, 3, a->lock_first_ip);
    db_bind_int64(st, 4, a->max_daily_ips);
    db_bind_text(st, 5, a->allowed_uas ? a->allowed_uas : "");
    db_bind_text(st, 6, a->denied_uas ? a->denied_uas : "");
    db_bind_text(st, 7, a->allowed_countries ? a->allowed_countries : "");
    db_bind_text(st, 8, a->denied_countries ? a->denied_countries : "");
    db_bind_int64(st, 9, now);
    db_bind_int(st, 10, a->is_mag);
    return run_changes(db, st, "line access", true);
}

int db_line_access_reset(struct db *db, int64_t line_id, int64_t now)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE lines SET first_ip = NULL, attack_flagged_at = NULL, updated_at = ?2"
                   " WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, line_id);
    db_bind_int64(st, 2, now);
    return run_changes(db, st, "line access reset", true);
}

int db_line_first_ip(struct db *db, int64_t line_id, const char *ip)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE lines SET first_ip = ?2 WHERE id = ?1 AND lock_first_ip = 1"
                   " AND first_ip IS NULL",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, line_id);
    db_bind_text(st, 2, ip);
    return run_changes(db, st, "first ip", false);
}

int db_line_flag_attack(struct db *db, const char *username, int64_t at)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE lines SET attack_flagged_at = ?2 WHERE username = ?1"
                   " AND attack_flagged_at IS NULL",
                   &st))
        return -EIO;
    db_bind_text(st, 1, username);
    db_bind_int64(st, 2, at);
    return run_changes(db, st, "attack flag", false);
}

static void flagged_row(struct jsonw *w, struct db_stmt *st)
{
    key_int(w, "line_id", db_col_int64(st, 0));
    key_str(w, "username", db_col_text(st, 1));
    key_time(w, "attack_flagged_at", db_col_int64(st, 2));
}

static int step_json(struct db *db, struct db_stmt *st, const char *what, struct jsonw *w,
                     int64_t *count, void (*row)(struct jsonw *w, struct db_stmt *st));

int db_flagged_lines_json(struct db *db, struct jsonw *w, int64_t *count)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "SELECT id, username, attack_flagged_at FROM lines"
                   " WHERE attack_flagged_at IS NOT NULL ORDER BY attack_flagged_at DESC, id",
                   &st))
        return -EIO;
    return step_json(db, st, "flagged lines", w, count, flagged_row);
}

int db_access_rule_add(struct db *db, const char *kind, const char *value, const char *note,
                       int64_t now, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO access_rules (kind, value, note, created_at) VALUES (?1,?2,?3,?4)",
                   &st))
        return -EIO;
    db_bind_text(st, 1, kind);
    db_bind_text(st, 2, value);
    db_bind_text(st, 3, note ? note : "");
    db_bind_int64(st, 4, now);
    int ret = run_changes(db, st, "access rule", false);
    if (ret == 0 && id)
        *id = db_last_insert_id(db);
    return ret;
}

int db_access_rule_del(struct db *db, int64_t id)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM access_rules WHERE id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    return run_changes(db, st, "access rule", true);
}

static int step_json(struct db *db, struct db_stmt *st, const char *what, struct jsonw *w,
                     int64_t *count, void (*row)(struct jsonw *w, struct db_stmt *st))
{
    int rc;
    int64_t n = 0;
    jsonw_arr_begin(w);
    while ((rc = db_step(st)) == DB_ROW) {
        jsonw_obj_begin(w);
        row(w, st);
        jsonw_obj_end(w);
        n++;
    }
    jsonw_arr_end(w);
    int ret = rc == DB_DONE ? 0 : db_step_error(db, rc, what);
    db_finalize(st);
    if (count)
        *count = n;
    return ret;
}

static void rule_row(struct jsonw *w, struct db_stmt *st)
{
    key_int(w, "id", db_col_int64(st, 0));
    key_str(w, "kind", db_col_text(st, 1));
    key_str(w, "value", db_col_text(st, 2));
    key_str(w, "note", db_col_text(st, 3));
    key_time(w, "created_at", db_col_int64(st, 4));
}

int db_access_rules_json(struct db *db, const char *kind, struct jsonw *w, int64_t *count)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "SELECT id, kind, value, note, created_at FROM access_rules"
                   " WHERE CAST(?1 AS TEXT) IS NULL OR kind = ?1 ORDER BY kind, id",
                   &st))
        return -EIO;
    if (kind)
        db_bind_text(st, 1, kind);
    return step_json(db, st, "access rules", w, count, rule_row);
}

int db_ban_put(struct db *db, const char *ip, int64_t until, int64_t strikes, const char *reason,
               int64_t now)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO ip_bans (ip, until, strikes, reason, created_at, updated_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (ip) DO UPDATE SET"
                   " until = excluded.until, strikes = excluded.strikes,"
                   " reason = excluded.reason, updated_at = excluded.updated_at",
                   &st))
        return -EIO;
    db_bind_text(st, 1, ip);
    db_bind_int64(st, 2, until);
    db_bind_int64(st, 3, strikes < 1 ? 1 : strikes);
    db_bind_text(st, 4, reason ? reason : "");
    db_bind_int64(st, 5, now);
    return run_changes(db, st, "ban", false);
}

int db_ban_del(struct db *db, const char *ip)
{
    return db_delete_where_text(db, "DELETE FROM ip_bans WHERE ip = ?1", ip);
}

static void ban_row(struct jsonw *w, struct db_stmt *st)
{
    key_str(w, "ip", db_col_text(st, 0));
    key_time(w, "until", db_col_int64(st, 1));
    key_int(w, "strikes", db_col_int64(st, 2));
    key_str(w, "reason", db_col_text(st, 3));
    key_time(w, "created_at", db_col_int64(st, 4));
    key_time(w, "updated_at", db_col_int64(st, 5));
    jsonw_key(w, "active");
    jsonw_bool(w, db_col_int64(st, 1) > db_col_int64(st, 6));
}

int db_bans_json(struct db *db, bool all, int64_t now, struct jsonw *w, int64_t *count)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "SELECT ip, until, strikes, reason, created_at, updated_at, ?1 FROM ip_bans"
                   " WHERE ?2 <> 0 OR until > ?1 ORDER BY updated_at DESC, ip",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, now);
    db_bind_int(st, 2, all);
    return step_json(db, st, "bans", w, count, ban_row);
}

int db_bans_prune(struct db *db, int64_t before)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM ip_bans WHERE until < ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, before);
    return run_changes(db, st, "bans prune", false);
}

/* The refusal log lives in its own file beside xtreamd.db: its batched
 * writes must not move the main database's change counter (each move
 * rebuilds the catalogue snapshot). Opened per call: a batch every half
 * second and the admin's reads are rare enough. */
static int log_open(struct db *db, struct db **out)
{
    *out = NULL;
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/refusals.db", db->data_dir ? db->data_dir : ".");
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    struct db *l;
    if (db_open_file(path, DB_OPEN_CREATE, 5000, &l))
        return -EIO;
    if (db_exec(l, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE IF NOT EXISTS access_refusals ("
                   "  id INTEGER PRIMARY KEY,"
                   "  at INTEGER NOT NULL,"
                   "  line_id INTEGER,"
                   "  username TEXT NOT NULL DEFAULT '',"
                   "  ip TEXT NOT NULL,"
                   "  user_agent TEXT NOT NULL DEFAULT '',"
                   "  route TEXT NOT NULL DEFAULT '',"
                   "  reason TEXT NOT NULL,"
                   "  detail TEXT NOT NULL DEFAULT ''"
                   ") STRICT;"
                   "CREATE INDEX IF NOT EXISTS access_refusals_ip ON access_refusals(ip, id);"
                   "CREATE INDEX IF NOT EXISTS access_refusals_reason"
                   "  ON access_refusals(reason, id);"
                   /* Activity kept beside the log for the same reason:
                    * when a box last called the portal, and the
                    * distinct addresses of a line per UTC day. */
                   "CREATE TABLE IF NOT EXISTS device_seen ("
                   "  mac TEXT PRIMARY KEY,"
                   "  at INTEGER NOT NULL"
                   ") STRICT, WITHOUT ROWID;"
                   "CREATE TABLE IF NOT EXISTS device_last_channel ("
                   "  mac TEXT PRIMARY KEY,"
                   "  stream_id INTEGER NOT NULL,"
                   "  at INTEGER NOT NULL"
                   ") STRICT, WITHOUT ROWID;"
                   "CREATE TABLE IF NOT EXISTS daily_ips ("
                   "  day INTEGER NOT NULL,"
                   "  line_id INTEGER NOT NULL,"
                   "  ip TEXT NOT NULL,"
                   "  PRIMARY KEY (day, line_id, ip)"
                   ") STRICT, WITHOUT ROWID;")) {
        log_error("db", "refusal log %s: cannot create its tables", path);
        db_close(l);
        return -EIO;
    }
    *out = l;
    return 0;
}

int db_refusals_add(struct db *db, const struct db_refusal *r, size_t n, int64_t keep)
{
    struct db *l;
    struct db_stmt *st = NULL, *prune = NULL;
    int ret = log_open(db, &l);
    if (ret)
        return ret;
    ret = -EIO;
    if (db_exec(l, "BEGIN IMMEDIATE"))
        goto out;
    if (db_prepare(l,
                   "INSERT INTO access_refusals (at, line_id, username, ip, user_agent,"
                   " route, reason, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                   &st))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        db_reset(st);
        db_bind_int64(st, 1, r[i].at);
        if (r[i].line_id > 0)
            db_bind_int64(st, 2, r[i].line_id);
        else
            db_bind_null(st, 2);
        db_bind_text(st, 3, r[i].username ? r[i].username : "");
        db_bind_text(st, 4, r[i].ip ? r[i].ip : "");
        db_bind_text(st, 5, r[i].user_agent ? r[i].user_agent : "");
        db_bind_text(st, 6, r[i].route ? r[i].route : "");
        db_bind_text(st, 7, r[i].reason ? r[i].reason : "");
        db_bind_text(st, 8, r[i].detail ? r[i].detail : "");
        if (db_step(st) != DB_DONE)
            goto fail;
    }
    /* Bounded: the newest `keep` rows stay. */
    if (db_prepare(l,
                   "DELETE FROM access_refusals WHERE id <= (SELECT max(id) FROM"
                   " access_refusals) - ?1",
                   &prune))
        goto fail;
    db_bind_int64(prune, 1, keep);
    if (db_step(prune) != DB_DONE)
        goto fail;
    if (db_exec(l, "COMMIT") == 0) {
        ret = 0;
        goto out;
    }
fail:
    log_error("db", "writing refusals: %s", db_errmsg(l));
    db_exec_quiet(l, "ROLLBACK");
out:
    db_finalize(st);
    db_finalize(prune);
    db_close(l);
    return ret;
}

int db_activity_add(struct db *db, const struct db_activity *v, size_t n, int64_t oldest_day)
{
    struct db *l;
    /* Indexed by enum db_activity_kind; the last one prunes old days. */
    enum { NSQL = 5, PRUNE = NSQL - 1 };
    struct db_stmt *st[NSQL] = {NULL, NULL, NULL, NULL, NULL};
    int ret = log_open(db, &l);
    if (ret)
        return ret;
    ret = -EIO;
    static const char *const sql[NSQL] = {
        ("INSERT INTO device_seen (mac, at) VALUES (?1, ?2)"
         " ON CONFLICT (mac) DO UPDATE SET at = max(at, excluded.at)"),
        "INSERT OR IGNORE INTO daily_ips (day, line_id, ip) VALUES (?2, ?3, ?1)",
        "DELETE FROM daily_ips WHERE day = ?2 AND line_id = ?3",
        ("INSERT INTO device_last_channel (mac, at, stream_id) VALUES (?1, ?2, ?3)"
         " ON CONFLICT (mac) DO UPDATE SET at = excluded.at, stream_id = excluded.stream_id"),
        "DELETE FROM daily_ips WHERE day < ?2"};
    if (db_exec(l, "BEGIN IMMEDIATE"))
        goto out;
    for (int i = 0; i < NSQL; i++)
        if (db_prepare(l, sql[i], &st[i]))
            goto fail;
    for (size_t i = 0; i < n; i++) {
        struct db_stmt *s = st[v[i].kind];
        db_reset(s);
        db_bind_text(s, 1, v[i].text ? v[i].text : "");
        db_bind_int64(s, 2, v[i].at);
        if (v[i].kind != DB_ACT_SEEN)
            db_bind_int64(s, 3, v[i].line_id);
        if (db_step(s) != DB_DONE)
            goto fail;
    }
    db_bind_int64(st[PRUNE], 2, oldest_day);
    if (db_step(st[PRUNE]) != DB_DONE)
        goto fail;
    if (db_exec(l, "COMMIT") == 0) {
        ret = 0;
        goto out;
    }
fail:
    log_error("db", "writing activity: %s", db_errmsg(l));
    db_exec_quiet(l, "ROLLBACK");
out:
    for (int i = 0; i < NSQL; i++)
        db_finalize(st[i]);
    db_close(l);
    return ret;
}

/* Reads every row of sql (its ?1 bound to *param when given) from the
 * activity database, calling row() for each until it returns non-zero; an
 * SQL failure is -EIO, logged as "reading <what>". */
static int log_read(struct db *db, const char *sql, const int64_t *param, const char *what,
                    int (*row)(struct db_stmt *st, void *ctx), void *ctx)
{
    struct db *l;
    struct db_stmt *st = NULL;
    int ret = log_open(db, &l);
    if (ret)
        return ret;
    ret = -EIO;
    if (db_prepare(l, sql, &st))
        goto out;
    if (param)
        db_bind_int64(st, 1, *param);
    int rc;
    ret = 0;
    while (ret == 0 && (rc = db_step(st)) == DB_ROW)
        ret = row(st, ctx);
    if (ret == 0 && rc != DB_DONE)
        ret = -EIO;
out:
    if (ret == -EIO)
        log_error("db", "reading %s: %s", what, db_errmsg(l));
    db_finalize(st);
    db_close(l);
    return ret;
}

struct daily_ips_read {
    int (*cb)(void *ctx, int64_t line_id, const char *ip);
    void *ctx;
};

static int daily_ips_row(struct db_stmt *st, void *ctx)
{
    const struct daily_ips_read *r = ctx;
    return r->cb(r->ctx, db_col_int64(st, 0), db_col_text(st, 1));
}

int db_daily_ips_load(struct db *db, int64_t day,
                      int (*cb)(void *ctx, int64_t line_id, const char *ip), void *ctx)
{
    struct daily_ips_read r = {cb, ctx};
    return log_read(db, "SELECT line_id, ip FROM daily_ips WHERE day = ?1", &day, "daily addresses",
                    daily_ips_row, &r);
}

struct last_channels_read {
    int (*cb)(void *ctx, const char *mac, int64_t stream_id);
    void *ctx;
};

static int last_channel_row(struct db_stmt *st, void *ctx)
{
    const struct last_channels_read *r = ctx;
    return r->cb(r->ctx, db_col_text(st, 0), db_col_int64(st, 1));
}

int db_last_channels_load(struct db *db, int (*cb)(void *ctx, const char *mac, int64_t stream_id),
                          void *ctx)
{
    struct last_channels_read r = {cb, ctx};
    return log_read(db, "SELECT mac, stream_id FROM device_last_channel", NULL,
                    "devices' last channels", last_channel_row, &r);
}

int db_device_seen_fill(struct db *db, struct db_device *v, size_t n)
{
    if (n == 0)
        return 0;
    struct db *l;
    struct db_stmt *st = NULL;
    int ret = log_open(db, &l);
    if (ret)
        return ret;
    ret = -EIO;
    if (db_prepare(l, "SELECT at FROM device_seen WHERE mac = ?1", &st))
        goto out;
    for (size_t i = 0; i < n; i++) {
        db_reset(st);
        db_bind_text(st, 1, v[i].mac);
        int rc = db_step(st);
        if (rc == DB_ROW) {
            int64_t at = db_col_int64(st, 0);
            if (at > v[i].last_seen)
                v[i].last_seen = at;
        } else if (rc != DB_DONE) {
            goto out;
        }
    }
    ret = 0;
out:
    if (ret)
        log_error("db", "reading device activity: %s", db_errmsg(l));
    db_finalize(st);
    db_close(l);
    return ret;
}

static void refusal_row(struct jsonw *w, struct db_stmt *st)
{
    key_int(w, "id", db_col_int64(st, 0));
    key_time(w, "at", db_col_int64(st, 1));
    jsonw_key(w, "line_id");
    if (db_col_is_null(st, 2))
        jsonw_null(w);
    else
        jsonw_int(w, db_col_int64(st, 2));
    key_str(w, "username", db_col_text(st, 3));
    key_str(w, "ip", db_col_text(st, 4));
    key_str(w, "user_agent", db_col_text(st, 5));
    key_str(w, "route", db_col_text(st, 6));
    key_str(w, "reason", db_col_text(st, 7));
    key_str(w, "detail", db_col_text(st, 8));
}

int db_refusals_json(struct db *db, const struct db_refusal_filter *f, struct jsonw *w,
                     int64_t *count)
{
    struct db *l;
    struct db_stmt *st;
    int rc = log_open(db, &l);
    if (rc)
        return rc;
    if (db_prepare(l,
                   "SELECT id, at, line_id, username, ip, user_agent, route, reason, detail"
                   " FROM access_refusals WHERE (?1 IS NULL OR ip = ?1)"
                   " AND (?2 IS NULL OR reason = ?2) AND (?3 IS NULL OR username = ?3)"
                   " AND (?4 = 0 OR line_id = ?4) AND (?5 = 0 OR at >= ?5)"
                   " AND (?6 = 0 OR id < ?6) ORDER BY id DESC LIMIT ?7",
                   &st)) {
        db_close(l);
        return -EIO;
    }
    if (f->ip)
        db_bind_text(st, 1, f->ip);
    if (f->reason)
        db_bind_text(st, 2, f->reason);
    if (f->username)
        db_bind_text(st, 3, f->username);
    db_bind_int64(st, 4, f->line_id);
    db_bind_int64(st, 5, f->since);
    db_bind_int64(st, 6, f->before_id);
    db_bind_int64(st, 7, f->limit > 0 ? f->limit : 100);
    int64_t n = 0;
    jsonw_arr_begin(w);
    while ((rc = db_step(st)) == DB_ROW) {
        jsonw_obj_begin(w);
        refusal_row(w, st);
        jsonw_obj_end(w);
        n++;
    }
    jsonw_arr_end(w);
    if (rc != DB_DONE)
        log_error("db", "reading refusals: %s", db_errmsg(l));
    db_finalize(st);
    db_close(l);
    if (count)
        *count = n;
    return rc == DB_DONE ? 0 : -EIO;
}

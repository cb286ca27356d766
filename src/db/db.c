#include "db/db_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/array.h"
#include "core/log.h"
#include "db/schema.h"

/* Which migration texts this backend runs: SQLite runs every migration from
 * version 1; PostgreSQL starts at DB_PG_FIRST_VERSION (no PostgreSQL database
 * predates it), whose text is the whole schema of that version. */
static const char *migration_text(struct db *db, int version)
{
    if (db->ops == &db_sqlite_ops)
        return db_migrations[version - 1];
    if (version < DB_PG_FIRST_VERSION)
        return NULL;
    size_t i = (size_t)(version - DB_PG_FIRST_VERSION);
    return i < db_migration_pg_count ? db_migrations_pg[i] : NULL;
}

static int db_migrate(struct db *db)
{
    int version = 0;
    if (db->ops->schema_version(db, &version))
        return -EIO;
    if (version == (int)db_migration_count)
        return 0;
    if (db->ops == &db_pg_ops &&
        DB_PG_FIRST_VERSION + db_migration_pg_count - 1 != db_migration_count) {
        log_error("db", "migration %zu has no PostgreSQL text (schema.c: db_migrations_pg)",
                  DB_PG_FIRST_VERSION + db_migration_pg_count);
        return -EPROTO;
    }
    /* One transaction per migration, each re-reading the version under the
     * backend's schema lock (BEGIN IMMEDIATE; an advisory lock on
     * PostgreSQL), so several processes starting at once apply each
     * migration exactly once. */
    for (;;) {
        if (db_begin(db))
            return -EIO;
        if ((db->ops->lock_schema && db->ops->lock_schema(db)) ||
            db->ops->schema_version(db, &version))
            goto fail;
        if (version > (int)db_migration_count) {
            log_error("db", "%s has schema version %d, newer than this xtreamd (%zu)",
                      db->path ? db->path : "the database", version, db_migration_count);
            db_rollback(db);
            return -EPROTO;
        }
        if (version == (int)db_migration_count)
            return db_commit(db) ? -EIO : 0;
        int next = version + 1;
        const char *sql = migration_text(db, next);
        if (!sql && db->ops == &db_pg_ops && version == 0)
            next = DB_PG_FIRST_VERSION, sql = migration_text(db, next);
        if (!sql) {
            log_error("db", "no %s text for migration %d", db->ops->name, next);
            goto fail;
        }
        if (db_exec(db, sql) || db->ops->set_schema_version(db, next))
            goto fail;
        if (db_commit(db))
            return -EIO;
        log_info("db", "applied migration %d", next);
    }
fail:
    db_rollback(db);
    return -EIO;
}

/* The data folder holds subscriber passwords in clear (the Xtream API needs
 * them): owner-only. A folder or file left group/world-accessible by an older
 * version (or a copy) is narrowed here, with a notice, before it is used. */
static void secure_mode(const char *path, mode_t want)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISLNK(st.st_mode) || (st.st_mode & 077) == 0)
        return;
    if (chmod(path, want) == 0)
        log_warn("db", "%s was mode %04o (readable by others): now %04o", path,
                 (unsigned)(st.st_mode & 07777), (unsigned)want);
    else
        log_error("db", "%s is mode %04o (readable by others) and cannot be narrowed: %s", path,
                  (unsigned)(st.st_mode & 07777), strerror(errno));
}

int db_secure_data_dir(const char *data_dir)
{
    static const char *const files[] = {"xtreamd.db",     "xtreamd.db-wal", "xtreamd.db-shm",
                                        "serve.json",     "refusals.db",    "refusals.db-wal",
                                        "refusals.db-shm"};
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        int err = errno;
        log_error("db", "cannot create data directory %s: %s", data_dir, strerror(err));
        return -err;
    }
    secure_mode(data_dir, 0700);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s/%s", data_dir, files[i]);
        if (n > 0 && (size_t)n < sizeof(path))
            secure_mode(path, 0600);
    }
    return 0;
}

static const char *db_location; /* db_set_location; NULL: XTREAMD_DATABASE or the data dir */

void db_set_location(const char *url)
{
    db_location = url && *url ? url : NULL;
}

const char *db_get_location(void)
{
    if (db_location)
        return db_location;
    const char *env = getenv("XTREAMD_DATABASE");
    return env && *env ? env : NULL;
}

bool db_location_is_pg(const char *location)
{
    return location && (strncmp(location, "postgresql://", 13) == 0 ||
                        strncmp(location, "postgres://", 11) == 0);
}

void db_location_redact(const char *location, char *out, size_t len)
{
    if (!len)
        return;
    out[0] = '\0';
    if (!location)
        return;
    const char *scheme = strstr(location, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (at && (!slash || at < slash) && colon && colon < at)
        snprintf(out, len, "%.*s:***%s", (int)(colon - location), location, at);
    else
        snprintf(out, len, "%s", location);
    char *pw = strstr(out, "password=");
    if (pw) {
        char *end = strchr(pw, '&');
        char tail[512];
        snprintf(tail, sizeof(tail), "%s", end ? end : "");
        snprintf(pw, len - (size_t)(pw - out), "password=***%s", tail);
    }
}

int db_open(const char *data_dir, struct db **out)
{
    *out = NULL;
    int err = db_secure_data_dir(data_dir);
    if (err)
        return err;
    const char *loc = db_get_location();
    if (loc && !db_location_is_pg(loc)) {
        char shown[512];
        db_location_redact(loc, shown, sizeof(shown));
        log_error("db",
                  "database location '%s': expected postgresql://... (or none: SQLite in "
                  "the data directory)",
                  shown);
        return -EINVAL;
    }
    struct db *db = calloc(1, sizeof(*db));
    if (!db)
        return -ENOMEM;
    db->data_dir = strdup(data_dir);
    if (!db->data_dir)
        goto nomem;
    if (loc) {
        db->ops = &db_pg_ops;
        db->url = strdup(loc);
        if (!db->url)
            goto nomem;
    } else {
        db->ops = &db_sqlite_ops;
        size_t n = strlen(data_dir) + sizeof("/xtreamd.db");
        db->path = malloc(n);
        if (!db->path)
            goto nomem;
        snprintf(db->path, n, "%s/xtreamd.db", data_dir);
    }
    if (db->ops->open(db))
        goto fail;
    if (db_migrate(db))
        goto fail;
    *out = db;
    return 0;
nomem:
    db_close(db);
    return -ENOMEM;
fail:
    db_close(db);
    return -EIO;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    if (db->ops)
        db->ops->close(db);
    free(db->path);
    free(db->url);
    free(db->data_dir);
    free(db);
}

bool db_is_sqlite(const struct db *db)
{
    return db->ops == &db_sqlite_ops;
}

static bool channel_ok(const char *c)
{
    size_t n = strlen(c);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '_'))
            return false;
    return true;
}

int db_listen(struct db *db, const char *channel)
{
    if (db_is_sqlite(db))
        return -ENOTSUP;
    if (!channel_ok(channel))
        return -EINVAL;
    return db_pg_listen(db, channel);
}

int db_notify(struct db *db, const char *channel, const char *payload)
{
    if (db_is_sqlite(db))
        return -ENOTSUP;
    if (!channel_ok(channel))
        return -EINVAL;
    struct db_stmt *st;
    if (db_prepare(db, "SELECT pg_notify(?1, ?2)", &st))
        return -EIO;
    db_bind_text(st, 1, channel);
    db_bind_text(st, 2, payload);
    int rc = db_step(st);
    int ret = rc == DB_ROW || rc == DB_DONE ? 0 : db_step_error(db, rc, "notify");
    db_finalize(st);
    return ret;
}

int db_notification_next(struct db *db, char *channel, size_t clen, char *payload, size_t plen)
{
    if (db_is_sqlite(db))
        return -ENOTSUP;
    return db_pg_notification_next(db, channel, clen, payload, plen);
}

uint64_t db_notifications_dropped(struct db *db)
{
    return db_is_sqlite(db) ? 0 : db_pg_notes_dropped(db);
}

int db_begin(struct db *db)
{
    if (db->depth >= DB_MAX_NESTING)
        return -EOVERFLOW;
    /* A transaction opened outside db_begin (a raw BEGIN) also makes this
     * level a savepoint, so the outer owner keeps its COMMIT. */
    bool nested = db->depth > 0 || db_in_transaction(db);
    char sql[48];
    if (nested)
        snprintf(sql, sizeof(sql), "SAVEPOINT xd%d", db->depth + 1);
    else
        snprintf(sql, sizeof(sql), "%s", db->ops->begin_sql);
    int rc = db_exec(db, sql);
    if (rc)
        return rc;
    if (nested)
        db->savepts |= 1u << db->depth;
    else
        db->savepts &= ~(1u << db->depth);
    db->depth++;
    return 0;
}

int db_commit(struct db *db)
{
    if (db->depth == 0)
        return db_exec(db, "COMMIT");
    int level = db->depth;
    bool sp = db->savepts & (1u << (level - 1));
    char sql[32];
    snprintf(sql, sizeof(sql), sp ? "RELEASE xd%d" : "COMMIT", level);
    int rc = db_exec(db, sql);
    if (rc == 0)
        db->depth--;
    return rc;
}

void db_rollback(struct db *db)
{
    if (db->depth == 0) {
        if (db_in_transaction(db))
            db_exec_quiet(db, "ROLLBACK");
        return;
    }
    int level = db->depth--;
    if (db->savepts & (1u << (level - 1))) {
        char sql[48];
        snprintf(sql, sizeof(sql), "ROLLBACK TO xd%d; RELEASE xd%d", level, level);
        db_exec_quiet(db, sql);
    } else if (db_in_transaction(db)) {
        db_exec_quiet(db, "ROLLBACK");
    }
}

/* ---- the statement interface: forwards to the backend ---- */

int db_exec(struct db *db, const char *sql)
{
    return db->ops->exec(db, sql, false);
}

int db_begin_read(struct db *db)
{
    return db_exec(db, db->ops->begin_read_sql);
}

int db_exec_quiet(struct db *db, const char *sql)
{
    return db->ops->exec(db, sql, true);
}

const char *db_errmsg(struct db *db)
{
    return db->ops->errmsg(db);
}

bool db_in_transaction(struct db *db)
{
    return db->ops->in_transaction(db);
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    return db->ops->prepare(db, sql, out);
}

struct db_stmt *db_stmt_cached(struct db *db, struct db_stmt **slot, const char *sql)
{
    if (!*slot) {
        if (db_prepare(db, sql, slot))
            return NULL;
    } else {
        db->ops->reset(*slot);
        db->ops->clear_bindings(*slot);
    }
    return *slot;
}

void db_finalize(struct db_stmt *st)
{
    if (st)
        st->db->ops->finalize(st);
}

void db_reset(struct db_stmt *st)
{
    st->db->ops->reset(st);
}

void db_clear_bindings(struct db_stmt *st)
{
    st->db->ops->clear_bindings(st);
}

int db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
    return st->db->ops->bind_int64(st, i, v);
}

int db_bind_int(struct db_stmt *st, int i, int v)
{
    return st->db->ops->bind_int64(st, i, v);
}

int db_bind_double(struct db_stmt *st, int i, double v)
{
    return st->db->ops->bind_double(st, i, v);
}

int db_bind_null(struct db_stmt *st, int i)
{
    return st->db->ops->bind_null(st, i);
}

int db_bind_text(struct db_stmt *st, int i, const char *s)
{
    if (!s)
        return db_bind_null(st, i);
    return st->db->ops->bind_text(st, i, s, SIZE_MAX, false);
}

int db_bind_text_copy(struct db_stmt *st, int i, const char *s)
{
    if (!s)
        return db_bind_null(st, i);
    return st->db->ops->bind_text(st, i, s, SIZE_MAX, true);
}

int db_bind_text_n(struct db_stmt *st, int i, const char *s, size_t n)
{
    if (!s)
        return db_bind_null(st, i);
    return st->db->ops->bind_text(st, i, s, n, true);
}

int db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
    return st->db->ops->bind_blob(st, i, p, n);
}

int db_step(struct db_stmt *st)
{
    return st->db->ops->step(st);
}

int db_col_count(struct db_stmt *st)
{
    return st->db->ops->col_count(st);
}

int db_col_type(struct db_stmt *st, int i)
{
    return st->db->ops->col_type(st, i);
}

bool db_col_is_null(struct db_stmt *st, int i)
{
    return st->db->ops->col_type(st, i) == DB_T_NULL;
}

int64_t db_col_int64(struct db_stmt *st, int i)
{
    return st->db->ops->col_int64(st, i);
}

int db_col_int(struct db_stmt *st, int i)
{
    return (int)st->db->ops->col_int64(st, i);
}

double db_col_double(struct db_stmt *st, int i)
{
    return st->db->ops->col_double(st, i);
}

const char *db_col_text(struct db_stmt *st, int i)
{
    const char *t = st->db->ops->col_text(st, i);
    return t ? t : "";
}

const void *db_col_blob(struct db_stmt *st, int i)
{
    return st->db->ops->col_blob(st, i);
}

size_t db_col_bytes(struct db_stmt *st, int i)
{
    return st->db->ops->col_bytes(st, i);
}

int64_t db_changes(struct db *db)
{
    return db->ops->changes(db);
}

int64_t db_last_insert_id(struct db *db)
{
    return db->ops->last_insert_id(db);
}

int64_t db_reconnects(void)
{
    return db_pg_reconnects();
}

int64_t db_change_counter(struct db *db)
{
    return db->ops->change_counter(db);
}

bool db_reconnecting(struct db *db)
{
    return db->ops->reconnecting && db->ops->reconnecting(db);
}

int db_step_error(struct db *db, int rc, const char *what)
{
    if (rc == -EEXIST || rc == -EINVAL)
        return rc;
    log_error("db", "%s: %s", what, db_errmsg(db));
    return rc < 0 ? rc : -EIO;
}

int db_delete_where_text(struct db *db, const char *sql, const char *value)
{
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    db_bind_text(st, 1, value);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE)
        ret = db_step_error(db, rc, "delete");
    else if (db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

int db_step_id(struct db *db, struct db_stmt *st, const char *what, int64_t *id)
{
    int rc = db_step(st);
    if (rc == DB_ROW) {
        *id = db_col_int64(st, 0);
        return 0;
    }
    return rc == DB_DONE ? -ENOENT : db_step_error(db, rc, what);
}

int db_step_rows(struct db *db, struct db_stmt *st, const char *what, size_t size, size_t min_cap,
                 db_row_fn *fill, void *ctx, void **rows, size_t *n)
{
    size_t cap = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        char *grown = array_reserve(*rows, &cap, *n + 1, size, min_cap);
        if (!grown)
            return -ENOMEM;
        *rows = grown;
        char *row = grown + *n * size;
        memset(row, 0, size);
        (*n)++;
        int ret = fill(ctx, st, row);
        if (ret)
            return ret;
    }
    if (rc == DB_DONE)
        return 0;
    return what ? db_step_error(db, rc, what) : -EIO;
}

char *db_col_strdup(struct db_stmt *st, int i)
{
    return strdup(db_col_text(st, i));
}

int64_t db_now(void)
{
    /* Not time(NULL): on x86-64 its vDSO reads the tick's coarse second, up
     * to a tick behind gettimeofday, so a client that read the clock just
     * before its request could see an expiry computed from the second before
     * (admin-lines.test's plan expiry failed that way once). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

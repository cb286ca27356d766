/*
 * db/db_pg: the PostgreSQL backend of the statement interface (db_priv.h),
 * on libpq. The only file of xtreamd that includes libpq-fe.h.
 *
 * SQL arrives in the dialect subset (docs/internals/db.md): `?` and `?N`
 * placeholders are rewritten to `$N` at prepare time (outside quotes).
 * Each step runs the statement with PQexecParams (parse, bind and execute in
 * one round trip; no server-side statement to deallocate), values sent as
 * text; an integer or float binding declares its type (int8, float8) so the
 * server infers the others. The whole result is read at once.
 *
 * Errors: SQLSTATE 23505 (unique) is -EEXIST, any other class 23 (integrity)
 * -EINVAL, the rest -EIO. PostgreSQL aborts a transaction at its first error,
 * where SQLite only fails the statement; callers of db_step rely on the
 * latter (an insert that fails as a duplicate, then an update), so a write
 * inside a transaction runs under its own SAVEPOINT, rolled back on error.
 *
 * Change counter: every table of the schema has a statement-level trigger
 * that NOTIFYs xtreamd_changes (schema.c); the first db_change_counter()
 * LISTENs, later calls drain the notifications already received on the
 * socket (no query) and count them.
 *
 * A lost connection (the server restarted, a failover, a network cut) is
 * connected again: the change counter's connection (the server's loop) does
 * it without blocking, one step per call (PQresetStart/PQresetPoll), then
 * LISTENs again and counts one change, since whatever was committed meanwhile
 * was not notified to it; any other connection reconnects synchronously (a
 * worker thread) before a statement when nothing was open on it, and a read
 * that failed because the connection was lost on an idle connection runs once
 * more. A write is never repeated: it may have been committed.
 *
 * Failover: the location may name several hosts (libpq's `host=a,b` or
 * `postgresql://h1:p1,h2:p2/db`); libpq tries them in order, on every
 * connect and reconnect. Unless the location says otherwise, xtreamd asks for
 * target_session_attrs=read-write, so a (re)connection skips a standby and
 * lands on the primary, wherever it is now. A connection that finds its
 * server read-only all the same (SQLSTATE 25006: the location allowed a
 * standby, or the server was made read-only) is treated as lost: connected
 * again before its next statement, which looks for a read-write host.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "db/db_priv.h"

/* Type OIDs (pg_type.h is a server header). */
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

struct pgc {
    PGconn *c;
    char *err;             /* the last error message (owned) */
    int64_t changes;       /* rows of the last INSERT/UPDATE/DELETE */
    char insert_table[64]; /* target of the last INSERT (db_last_insert_id) */
    bool have_id;          /* last_id holds the id the last INSERT returned */
    int64_t last_id;
    struct {
        char name[64];
        bool has_id;
    } tables[48]; /* whether a table has an `id` column (RETURNING id) */
    int ntables;
    bool listening;
    int64_t notified; /* notifications counted by db_change_counter */
    /* Notifications on other channels (node commands, cluster/node.c), queued until
     * db_notification_next takes them; bounded, the overflow is counted. */
    struct pg_note {
        char channel[64];
        char payload[256];
    } notes[64];
    unsigned note_head, note_n;
    uint64_t notes_dropped;
    bool counter;   /* the change counter's connection: reconnects without blocking */
    bool resetting; /* its reconnect is under way */
    bool read_only; /* a statement failed with 25006: reconnect to find the primary */
    PostgresPollingStatusType poll;
    /* Channels LISTENed besides the catalogue's (db_pg_listen): LISTENed again after a
     * reconnect, since a new session has none. */
    char listens[4][64];
    int nlistens;
};

/* Reconnections of every connection of the process (/metrics). */
static atomic_llong reconnects;

int64_t db_pg_reconnects(void)
{
    return (int64_t)atomic_load(&reconnects);
}

#define PGC(db) ((struct pgc *)(db)->conn)

struct pg_stmt {
    struct db_stmt base;
    char *sql; /* rewritten to $N */
    int nparams;
    bool write; /* INSERT/UPDATE/DELETE: savepoint inside a transaction */
    char table[64];
    bool returning_id; /* " RETURNING id" was appended: the id, not rows */
    char **vals;       /* per parameter: the value as text, NULL for NULL */
    bool *owned;       /* vals[i] is a heap copy */
    int *lens;
    int *fmts;
    Oid *types;
    char (*num)[32]; /* storage of formatted numbers */
    bool *unused;    /* a position the text skips (?1 and ?3 but no ?2) */
    PGresult *res;
    int row, nrows; /* current row of res; -1 before the first step */
    bool done;
};

#define P(st) ((struct pg_stmt *)(st))

static void set_err(struct db *db, const char *msg)
{
    struct pgc *p = PGC(db);
    free(p->err);
    p->err = strdup(msg ? msg : "error");
    /* libpq's messages end in a newline */
    size_t n = p->err ? strlen(p->err) : 0;
    while (n > 0 && (p->err[n - 1] == '\n' || p->err[n - 1] == ' '))
        p->err[--n] = '\0';
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("db", "postgresql: %s", message);
}

/* What every session starts with (also after a reconnect). */
#define SESSION_SQL "SET client_min_messages = warning; SET TIME ZONE 'UTC'"

/* SQLSTATE 25006 read_only_sql_transaction: this server does not take
 * writes (a hot standby, or default_transaction_read_only). The connection is
 * replaced at the next chance (lost()); a failover's new primary is found by
 * the reconnect's target_session_attrs. */
static void note_error(struct db *db, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!state || strcmp(state, "25006") != 0 || PGC(db)->read_only)
        return;
    PGC(db)->read_only = true;
    log_warn("db", "the PostgreSQL server refused a write as read-only (a standby?): "
                   "connecting again to find the primary");
}

static int pg_open(struct db *db)
{
    struct pgc *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    db->conn = p;
    /* The location is expanded as a connection string (expand_dbname); its
     * own target_session_attrs, if any, comes later in the arrays and so
     * wins over this default. */
    const char *const keys[] = {"target_session_attrs", "dbname", NULL};
    const char *const vals[] = {"read-write", db->url, NULL};
    p->c = PQconnectdbParams(keys, vals, 1);
    if (!p->c || PQstatus(p->c) != CONNECTION_OK) {
        /* never the URL: it may carry a password */
        log_error("db", "cannot connect to PostgreSQL: %s",
                  p->c ? PQerrorMessage(p->c) : "out of memory");
        return -EIO;
    }
    PQsetNoticeProcessor(p->c, quiet_notice, NULL);
    return db_exec(db, SESSION_SQL);
}

static void pg_close(struct db *db)
{
    struct pgc *p = PGC(db);
    if (!p)
        return;
    if (p->c)
        PQfinish(p->c);
    free(p->err);
    free(p);
    db->conn = NULL;
}

/* The first word of sql is `word` (case-insensitive). */
static bool starts_with(const char *sql, const char *word)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '(')
        sql++;
    size_t n = strlen(word);
    return strncasecmp(sql, word, n) == 0 && (sql[n] == ' ' || sql[n] == '\n' || sql[n] == ';');
}

static bool lost(struct db *db)
{
    return PQstatus(PGC(db)->c) == CONNECTION_BAD || PGC(db)->read_only;
}

/* Connects again, blocking: a worker thread's connection, known lost, with
 * nothing open on it. The loop's connection uses the change counter's
 * non-blocking path instead. */
static int reconnect(struct db *db)
{
    struct pgc *p = PGC(db);
    PQreset(p->c);
    if (PQstatus(p->c) != CONNECTION_OK) {
        set_err(db, PQerrorMessage(p->c));
        return -EIO;
    }
    atomic_fetch_add(&reconnects, 1);
    p->listening = false;
    p->read_only = false;
    log_warn("db", "the PostgreSQL connection was lost: connected again");
    PGresult *r = PQexec(p->c, SESSION_SQL);
    int ret = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -EIO;
    if (ret)
        set_err(db, PQresultErrorMessage(r));
    PQclear(r);
    return ret;
}

/* Before a statement: a connection known lost with no db_begin level open
 * (so nobody expects a transaction on it) is connected again. */
static void revive(struct db *db)
{
    if (lost(db) && db->depth == 0 && !PGC(db)->counter)
        reconnect(db);
}

/* After a statement failed: whether to connect again and run it once more.
 * Only when the connection was lost, nothing was open on it (no
 * transaction, no db_begin level) and the statement changes nothing. */
static bool retry_after_loss(struct db *db, bool was_idle, bool harmless)
{
    return harmless && was_idle && db->depth == 0 && lost(db) && !PGC(db)->counter &&
           reconnect(db) == 0;
}

static int pg_exec(struct db *db, const char *sql, bool quiet)
{
    revive(db);
    bool idle = PQtransactionStatus(PGC(db)->c) == PQTRANS_IDLE;
    PGresult *r = PQexec(PGC(db)->c, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK &&
        retry_after_loss(db, idle,
                         starts_with(sql, "BEGIN") || starts_with(sql, "SET") ||
                             starts_with(sql, "LISTEN"))) {
        PQclear(r);
        r = PQexec(PGC(db)->c, sql);
        s = PQresultStatus(r);
    }
    int ret = 0;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        note_error(db, r);
        set_err(db, PQresultErrorMessage(r));
        if (!quiet)
            log_error("db", "%s", PGC(db)->err ? PGC(db)->err : "error");
        ret = -EIO;
    }
    PQclear(r);
    return ret;
}

static const char *pg_errmsg(struct db *db)
{
    struct pgc *p = PGC(db);
    if (!p)
        return "not open";
    return p->err ? p->err : PQerrorMessage(p->c);
}

static bool pg_in_transaction(struct db *db)
{
    /* PQTRANS_UNKNOWN: the connection is lost, and nothing is open on it. */
    PGTransactionStatusType t = PQtransactionStatus(PGC(db)->c);
    return t == PQTRANS_ACTIVE || t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

/* `?NNN` -> `$NNN`, `?` -> `$<one more than the largest so far>`, outside
 * '...' and "..." and comments. */
#define MAX_PARAMS 1000

static char *rewrite(const char *sql, int *nparams, bool **used)
{
    *used = calloc(MAX_PARAMS + 1, sizeof(**used));
    size_t n = strlen(sql);
    char *out = malloc(n * 2 + 16);
    if (!out || !*used) {
        free(out);
        return NULL;
    }
    size_t o = 0;
    int max = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = sql[i];
        if (ch == '\'' || ch == '"') {
            out[o++] = ch;
            for (i++; i < n; i++) {
                out[o++] = sql[i];
                if (sql[i] == ch)
                    break;
            }
            continue;
        }
        if (ch == '-' && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n')
                out[o++] = sql[i++];
            if (i < n)
                out[o++] = sql[i];
            continue;
        }
        if (ch != '?') {
            out[o++] = ch;
            continue;
        }
        int k = 0;
        size_t j = i + 1;
        while (j < n && sql[j] >= '0' && sql[j] <= '9' && k < 10000)
            k = k * 10 + (sql[j++] - '0');
        if (j == i + 1)
            k = max + 1;
        if (k > MAX_PARAMS) {
            free(out);
            return NULL;
        }
        if (k > max)
            max = k;
        (*used)[k] = true;
        o += (size_t)snprintf(out + o, 16, "$%d", k);
        i = j - 1;
    }
    out[o] = '\0';
    *nparams = max;
    return out;
}

static void insert_target(const char *sql, char *table, size_t len)
{
    table[0] = '\0';
    const char *p = strcasestr(sql, "INTO ");
    if (!starts_with(sql, "INSERT") || !p)
        return;
    p += 5;
    while (*p == ' ')
        p++;
    size_t k = 0;
    while (k + 1 < len && (p[k] == '_' || (p[k] >= 'a' && p[k] <= 'z') ||
                           (p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9')))
        k++;
    memcpy(table, p, k);
    table[k] = '\0';
}

static void clear_vals(struct pg_stmt *s)
{
    if (!s->vals || !s->owned || !s->types || !s->lens || !s->fmts)
        return;
    for (int i = 0; i < s->nparams; i++) {
        if (s->owned[i])
            free(s->vals[i]);
        s->vals[i] = NULL;
        s->owned[i] = false;
        s->types[i] = 0;
        s->lens[i] = 0;
        s->fmts[i] = 0;
    }
}

static void pg_finalize(struct db_stmt *st)
{
    struct pg_stmt *s = P(st);
    clear_vals(s);
    PQclear(s->res);
    free(s->sql);
    free(s->vals);
    free(s->owned);
    free(s->lens);
    free(s->fmts);
    free(s->types);
    free(s->num);
    free(s->unused);
    free(s);
}

/* Whether table has an `id` column (asked once per table and connection). A
 * table that does not exist (yet) is not remembered. */
static bool table_has_id(struct db *db, const char *table)
{
    struct pgc *p = PGC(db);
    for (int i = 0; i < p->ntables; i++)
        if (strcmp(p->tables[i].name, table) == 0)
            return p->tables[i].has_id;
    const char *vals[1] = {table};
    PGresult *r = PQexecParams(p->c,
                               "SELECT to_regclass($1) IS NOT NULL, EXISTS (SELECT 1 FROM "
                               "pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'id' "
                               "AND NOT attisdropped)",
                               1, NULL, vals, NULL, NULL, 0);
    bool known = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                 strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    bool has = known && strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    size_t cap = sizeof(p->tables) / sizeof(p->tables[0]);
    if (known && (size_t)p->ntables < cap) {
        snprintf(p->tables[p->ntables].name, sizeof(p->tables[0].name), "%s", table);
        p->tables[p->ntables++].has_id = has;
    }
    return has;
}

static int pg_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    *out = NULL;
    struct pg_stmt *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.db = db;
    bool *used = NULL;
    s->sql = rewrite(sql, &s->nparams, &used);
    if (!s->sql) {
        free(used);
        goto nomem;
    }
    size_t np = s->nparams > 0 ? (size_t)s->nparams : 1;
    s->unused = calloc(np, sizeof(*s->unused));
    if (!s->unused) {
        free(used);
        goto nomem;
    }
    for (int i = 1; i <= s->nparams; i++)
        s->unused[i - 1] = !used[i];
    free(used);
    s->vals = calloc(np, sizeof(*s->vals));
    s->owned = calloc(np, sizeof(*s->owned));
    s->lens = calloc(np, sizeof(*s->lens));
    s->fmts = calloc(np, sizeof(*s->fmts));
    s->types = calloc(np, sizeof(*s->types));
    s->num = calloc(np, sizeof(*s->num));
    if (!s->vals || !s->owned || !s->lens || !s->fmts || !s->types || !s->num)
        goto nomem;
    s->write = starts_with(sql, "INSERT") || starts_with(sql, "UPDATE") ||
               starts_with(sql, "DELETE") || starts_with(sql, "WITH");
    insert_target(sql, s->table, sizeof(s->table));
    if (s->table[0] && !strcasestr(sql, "RETURNING") && table_has_id(db, s->table)) {
        /* The new row's id comes back with the INSERT: no currval round
         * trip in db_last_insert_id (an import pays it per row). */
        size_t n = strlen(s->sql);
        while (n > 0 && (s->sql[n - 1] == ';' || s->sql[n - 1] == ' ' || s->sql[n - 1] == '\n'))
            n--;
        char *w = malloc(n + 16);
        if (!w)
            goto nomem;
        memcpy(w, s->sql, n);
        memcpy(w + n, "\nRETURNING id", sizeof("\nRETURNING id"));
        free(s->sql);
        s->sql = w;
        s->returning_id = true;
    }
    s->row = -1;
    *out = &s->base;
    return 0;
nomem:
    pg_finalize(&s->base);
    return -ENOMEM;
}

static void pg_reset(struct db_stmt *st)
{
    struct pg_stmt *s = P(st);
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->nrows = 0;
    s->done = false;
}

static void pg_clear_bindings(struct db_stmt *st)
{
    clear_vals(P(st));
}

static int slot(struct pg_stmt *s, int i)
{
    if (i < 1 || i > s->nparams || s->unused[i - 1])
        return -ERANGE;
    if (s->owned[i - 1])
        free(s->vals[i - 1]);
    s->vals[i - 1] = NULL;
    s->owned[i - 1] = false;
    s->fmts[i - 1] = 0;
    s->types[i - 1] = 0;
    return 0;
}

static int pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
    struct pg_stmt *s = P(st);
    if (slot(s, i))
        return -ERANGE;
    snprintf(s->num[i - 1], sizeof(s->num[0]), "%lld", (long long)v);
    s->vals[i - 1] = s->num[i - 1];
    s->types[i - 1] = OID_INT8;
    return 0;
}

static int pg_bind_double(struct db_stmt *st, int i, double v)
{
    struct pg_stmt *s = P(st);
    if (slot(s, i))
        return -ERANGE;
    snprintf(s->num[i - 1], sizeof(s->num[0]), "%.17g", v);
    s->vals[i - 1] = s->num[i - 1];
    s->types[i - 1] = OID_FLOAT8;
    return 0;
}

static int pg_bind_null(struct db_stmt *st, int i)
{
    return slot(P(st), i) ? -ERANGE : 0;
}

static int pg_bind_text(struct db_stmt *st, int i, const char *v, size_t n, bool copy)
{
    struct pg_stmt *s = P(st);
    if (slot(s, i))
        return -ERANGE;
    if (n == SIZE_MAX && !copy) {
        s->vals[i - 1] = (char *)v; /* kept by the caller until the reset */
        return 0;
    }
    char *d = n == SIZE_MAX ? strdup(v) : strndup(v, n);
    if (!d)
        return -ENOMEM;
    s->vals[i - 1] = d;
    s->owned[i - 1] = true;
    return 0;
}

static int pg_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
    struct pg_stmt *s = P(st);
    if (slot(s, i))
        return -ERANGE;
    if (n > INT32_MAX)
        return -E2BIG;
    s->vals[i - 1] = (char *)p;
    s->lens[i - 1] = (int)n;
    s->fmts[i - 1] = 1;
    s->types[i - 1] = OID_BYTEA;
    return 0;
}

static int map_error(struct db *db, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    set_err(db, r ? PQresultErrorMessage(r) : PQerrorMessage(PGC(db)->c));
    note_error(db, r);
    log_debug("db", "postgresql: %s", PGC(db)->err ? PGC(db)->err : "error");
    if (state && strcmp(state, "23505") == 0)
        return -EEXIST;
    if (state && strncmp(state, "23", 2) == 0)
        return -EINVAL;
    return -EIO;
}

/* A write inside a transaction, under its own savepoint: SAVEPOINT, the
 * statement and RELEASE go in one pipeline (one round trip, where three
 * PQexec calls took three: bulk writes such as an EPG import pay it per
 * row). If the statement fails, PostgreSQL skips the RELEASE and the
 * transaction waits, aborted, for the caller's ROLLBACK TO SAVEPOINT. The
 * statement's result, or NULL (PQresultStatus(NULL) is a fatal error). */
static PGresult *exec_guarded(struct db *db, struct pg_stmt *s)
{
    PGconn *c = PGC(db)->c;
    if (!PQenterPipelineMode(c))
        return NULL;
    PGresult *res[3] = {NULL, NULL, NULL};
    bool sent = PQsendQueryParams(c, "SAVEPOINT xd_stmt", 0, NULL, NULL, NULL, NULL, 0) &&
                PQsendQueryParams(c, s->sql, s->nparams, s->types, (const char *const *)s->vals,
                                  s->lens, s->fmts, 0) &&
                PQsendQueryParams(c, "RELEASE SAVEPOINT xd_stmt", 0, NULL, NULL, NULL, NULL, 0) &&
                PQpipelineSync(c);
    if (sent) {
        /* Each query's results end with NULL; then the sync's own result. */
        for (int q = 0; q < 3; q++) {
            PGresult *r;
            while ((r = PQgetResult(c)) != NULL) {
                if (!res[q])
                    res[q] = r;
                else
                    PQclear(r);
            }
        }
        PGresult *r = PQgetResult(c);
        if (r && PQresultStatus(r) != PGRES_PIPELINE_SYNC)
            sent = false;
        PQclear(r);
    }
    if (!PQexitPipelineMode(c))
        sent = false;
    /* The first that failed: the SAVEPOINT, the statement, or the RELEASE. */
    int pick = 1;
    if (PQresultStatus(res[0]) != PGRES_COMMAND_OK)
        pick = 0;
    else if (PQresultStatus(res[1]) == PGRES_COMMAND_OK ||
             PQresultStatus(res[1]) == PGRES_TUPLES_OK)
        pick = PQresultStatus(res[2]) == PGRES_COMMAND_OK ? 1 : 2;
    PGresult *out = sent ? res[pick] : NULL;
    for (int q = 0; q < 3; q++)
        if (res[q] != out)
            PQclear(res[q]);
    return out;
}

static int pg_step(struct db_stmt *st)
{
    struct pg_stmt *s = P(st);
    struct db *db = st->db;
    struct pgc *p = PGC(db);
    if (s->done)
        return DB_DONE;
    if (s->res) {
        if (++s->row < s->nrows)
            return DB_ROW;
        s->done = true;
        return DB_DONE;
    }
    /* A position the text skips still needs a type: the server cannot infer
     * one. Text, and NULL. */
    for (int i = 0; i < s->nparams; i++)
        if (s->unused[i])
            s->types[i] = 25;
    revive(db);
    bool idle = PQtransactionStatus(p->c) == PQTRANS_IDLE;
    bool sp = s->write && PQtransactionStatus(p->c) == PQTRANS_INTRANS;
    PGresult *r = sp ? exec_guarded(db, s)
                     : PQexecParams(p->c, s->sql, s->nparams, s->types,
                                    (const char *const *)s->vals, s->lens, s->fmts, 0);
    ExecStatusType rs = PQresultStatus(r);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK && retry_after_loss(db, idle, !s->write)) {
        PQclear(r);
        r = PQexecParams(p->c, s->sql, s->nparams, s->types, (const char *const *)s->vals, s->lens,
                         s->fmts, 0);
        rs = PQresultStatus(r);
    }
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        int err = map_error(db, r);
        PQclear(r);
        if (sp)
            pg_exec(db, "ROLLBACK TO SAVEPOINT xd_stmt; RELEASE SAVEPOINT xd_stmt", true);
        s->done = true;
        return err;
    }
    const char *tuples = PQcmdTuples(r);
    if (s->write && tuples && *tuples)
        p->changes = strtoll(tuples, NULL, 10);
    if (s->returning_id) {
        /* The rows are the ids RETURNING gave, not the caller's: the last
         * one is db_last_insert_id; none (ON CONFLICT DO NOTHING) keeps the
         * previous one, as SQLite's last_insert_rowid does. */
        int k = rs == PGRES_TUPLES_OK ? PQntuples(r) : 0;
        if (k > 0) {
            memcpy(p->insert_table, s->table, sizeof(p->insert_table));
            p->last_id = strtoll(PQgetvalue(r, k - 1, 0), NULL, 10);
            p->have_id = true;
        }
        PQclear(r);
        s->done = true;
        return DB_DONE;
    }
    if (s->table[0]) {
        memcpy(p->insert_table, s->table, sizeof(p->insert_table));
        p->have_id = false;
    }
    s->res = r;
    s->nrows = rs == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    s->row = 0;
    if (s->nrows > 0)
        return DB_ROW;
    s->done = true;
    return DB_DONE;
}

static bool has_row(struct pg_stmt *s, int i)
{
    return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 && i < PQnfields(s->res);
}

static int pg_col_count(struct db_stmt *st)
{
    return P(st)->res ? PQnfields(P(st)->res) : 0;
}

static int pg_col_type(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);
    if (!has_row(s, i) || PQgetisnull(s->res, s->row, i))
        return DB_T_NULL;
    switch (PQftype(s->res, i)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        return DB_T_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        return DB_T_FLOAT;
    case OID_BYTEA:
        return DB_T_BLOB;
    default:
        return DB_T_TEXT;
    }
}

static const char *pg_col_text(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);
    if (!has_row(s, i) || PQgetisnull(s->res, s->row, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

static int64_t pg_col_int64(struct db_stmt *st, int i)
{
    const char *t = pg_col_text(st, i);
    if (!t)
        return 0;
    if (t[0] == 't' && t[1] == '\0') /* a boolean expression */
        return 1;
    if (PQftype(P(st)->res, i) == OID_NUMERIC || PQftype(P(st)->res, i) == OID_FLOAT8 ||
        PQftype(P(st)->res, i) == OID_FLOAT4)
        return (int64_t)strtod(t, NULL);
    return strtoll(t, NULL, 10);
}

static double pg_col_double(struct db_stmt *st, int i)
{
    const char *t = pg_col_text(st, i);
    if (!t)
        return 0;
    if (t[0] == 't' && t[1] == '\0')
        return 1;
    return strtod(t, NULL);
}

static const void *pg_col_blob(struct db_stmt *st, int i)
{
    const char *t = pg_col_text(st, i);
    return t && *t ? t : NULL;
}

static size_t pg_col_bytes(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);
    if (!has_row(s, i) || PQgetisnull(s->res, s->row, i))
        return 0;
    return (size_t)PQgetlength(s->res, s->row, i);
}

static int64_t pg_changes(struct db *db)
{
    return PGC(db)->changes;
}

static int64_t pg_last_insert_id(struct db *db)
{
    struct pgc *p = PGC(db);
    if (p->have_id)
        return p->last_id;
    if (!p->insert_table[0])
        return 0;
    /* The identity sequence of the table the last INSERT wrote: unlike
     * lastval(), not moved by a trigger's insert into another table. */
    const char *vals[1] = {p->insert_table};
    PGresult *r = PQexecParams(p->c, "SELECT currval(pg_get_serial_sequence($1, 'id'))", 1, NULL,
                               vals, NULL, NULL, 0);
    int64_t id = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        set_err(db, PQresultErrorMessage(r));
    PQclear(r);
    return id;
}

static int pg_schema_version(struct db *db, int *version)
{
    *version = 0;
    PGresult *r = PQexec(PGC(db)->c, "SELECT to_regclass('xtreamd_schema') IS NOT NULL");
    bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                  strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    int ret = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : map_error(db, r);
    PQclear(r);
    if (ret || !exists)
        return ret;
    r = PQexec(PGC(db)->c, "SELECT version FROM xtreamd_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = map_error(db, r);
    else if (PQntuples(r) == 1)
        *version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return ret;
}

static int pg_set_schema_version(struct db *db, int version)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "DELETE FROM xtreamd_schema; INSERT INTO xtreamd_schema VALUES (%d)",
             version);
    return pg_exec(db, sql, false);
}

/* Several nodes may start at once: one migrates, the others wait here and
 * then find the version already applied. */
static int pg_lock_schema(struct db *db)
{
    return pg_exec(db,
                   "SELECT pg_advisory_xact_lock(7874633201);"
                   "CREATE TABLE IF NOT EXISTS xtreamd_schema (version INTEGER NOT NULL)",
                   false);
}

/* The notifications already read from the socket: catalogue changes are counted, the others
 * queued (the oldest kept when the queue is full: a command is never reordered). */
static void pg_drain_notes(struct pgc *p)
{
    PGnotify *n;
    const unsigned cap = sizeof(p->notes) / sizeof(p->notes[0]);
    while ((n = PQnotifies(p->c)) != NULL) {
        if (strcmp(n->relname, "xtreamd_changes") == 0) {
            p->notified++;
        } else if (p->note_n == cap) {
            p->notes_dropped++;
        } else {
            struct pg_note *q = &p->notes[(p->note_head + p->note_n) % cap];
            snprintf(q->channel, sizeof(q->channel), "%s", n->relname);
            snprintf(q->payload, sizeof(q->payload), "%s", n->extra ? n->extra : "");
            p->note_n++;
        }
        PQfreemem(n);
    }
}

/* One step of the change counter's reconnect, never blocking (it runs on
 * the server's loop): 1 connected (LISTEN again, one change counted), 0
 * still connecting, -1 failed (a new attempt at the next call). */
static int reset_step(struct db *db)
{
    struct pgc *p = PGC(db);
    if (!p->resetting) {
        if (!PQresetStart(p->c))
            return -1;
        p->resetting = true;
        p->poll = PGRES_POLLING_WRITING; /* as after PQresetStart */
    }
    for (;;) {
        if (p->poll == PGRES_POLLING_FAILED) {
            p->resetting = false;
            set_err(db, PQerrorMessage(p->c));
            return -1;
        }
        if (p->poll == PGRES_POLLING_OK)
            break;
        struct pollfd pf = {.fd = PQsocket(p->c),
                            .events = p->poll == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        if (pf.fd < 0) {
            p->poll = PGRES_POLLING_FAILED;
            continue;
        }
        if (poll(&pf, 1, 0) <= 0)
            return 0;
        p->poll = PQresetPoll(p->c);
    }
    p->resetting = false;
    p->listening = false;
    p->read_only = false;
    if (pg_exec(db, SESSION_SQL, false))
        return -1;
    for (int i = 0; i < p->nlistens; i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "LISTEN \"%s\"", p->listens[i]);
        if (pg_exec(db, sql, false))
            return -1;
    }
    atomic_fetch_add(&reconnects, 1);
    /* Whatever was committed while the connection was down was notified to
     * nobody here: one change, so the server rebuilds once. */
    p->notified++;
    log_info("db", "connected to PostgreSQL again: listening for changes");
    return 1;
}

static bool pg_reconnecting(struct db *db)
{
    return PGC(db)->resetting;
}

static int64_t pg_change_counter(struct db *db)
{
    struct pgc *p = PGC(db);
    p->counter = true;
    if ((p->resetting || lost(db)) && reset_step(db) != 1)
        return p->notified;
    if (!p->listening) {
        if (pg_exec(db, "LISTEN xtreamd_changes", true))
            goto lost;
        p->listening = true;
    }
    if (!PQconsumeInput(p->c) || lost(db)) {
        set_err(db, PQerrorMessage(p->c));
        goto lost;
    }
    pg_drain_notes(p);
    return p->notified;
lost:
    /* A connection that merely refused LISTEN is not reconnected: say so. */
    if (!lost(db)) {
        log_error("db", "LISTEN xtreamd_changes: %s", pg_errmsg(db));
        return -1;
    }
    log_warn("db",
             "lost the PostgreSQL connection (%s): reconnecting; other nodes' changes are "
             "seen again once connected",
             pg_errmsg(db));
    reset_step(db);
    return p->notified;
}

int db_pg_listen(struct db *db, const char *channel)
{
    struct pgc *p = PGC(db);
    char sql[96];
    snprintf(sql, sizeof(sql), "LISTEN \"%s\"", channel);
    int rc = pg_exec(db, sql, false);
    if (rc)
        return rc;
    for (int i = 0; i < p->nlistens; i++)
        if (strcmp(p->listens[i], channel) == 0)
            return 0;
    if (p->nlistens == (int)(sizeof(p->listens) / sizeof(p->listens[0])))
        return -ENOSPC; /* listening, but a reconnect would not LISTEN it again */
    snprintf(p->listens[p->nlistens++], sizeof(p->listens[0]), "%s", channel);
    return 0;
}

int db_pg_notification_next(struct db *db, char *channel, size_t clen, char *payload, size_t plen)
{
    struct pgc *p = PGC(db);
    if (p->resetting || lost(db))
        return 0; /* the change counter (same connection) is connecting it again */
    if (!PQconsumeInput(p->c)) {
        set_err(db, PQerrorMessage(p->c));
        return -EIO;
    }
    pg_drain_notes(p);
    if (!p->note_n)
        return 0;
    struct pg_note *n = &p->notes[p->note_head];
    snprintf(channel, clen, "%s", n->channel);
    snprintf(payload, plen, "%s", n->payload);
    p->note_head = (p->note_head + 1) % (sizeof(p->notes) / sizeof(p->notes[0]));
    p->note_n--;
    return 1;
}

uint64_t db_pg_notes_dropped(struct db *db)
{
    return PGC(db)->notes_dropped;
}

const struct db_ops db_pg_ops = {
    .name = "postgresql",
    /* READ COMMITTED, and every write transaction first takes one
     * transaction-level advisory lock, held to its COMMIT/ROLLBACK: the
     * writers serialise across connections and nodes as under SQLite's
     * BEGIN IMMEDIATE, so their read-then-write sequences (extend a line,
     * ensure a category, MAX(sort_order) + 1, a name check before an insert)
     * stay safe; each statement after the lock sees every earlier commit.
     * Readers (autocommit, db_begin_read) never wait. Lock order: this one
     * before the schema (…201) and line_changes (…202) locks, never after.
     * docs/internals/db.md, "Writers on PostgreSQL". */
    .begin_sql = "BEGIN; SELECT pg_advisory_xact_lock(7874633200)",
    .begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .errmsg = pg_errmsg,
    .in_transaction = pg_in_transaction,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .clear_bindings = pg_clear_bindings,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_null = pg_bind_null,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .step = pg_step,
    .col_count = pg_col_count,
    .col_type = pg_col_type,
    .col_int64 = pg_col_int64,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_bytes = pg_col_bytes,
    .changes = pg_changes,
    .last_insert_id = pg_last_insert_id,
    .schema_version = pg_schema_version,
    .set_schema_version = pg_set_schema_version,
    .change_counter = pg_change_counter,
    .reconnecting = pg_reconnecting,
    .lock_schema = pg_lock_schema,
};

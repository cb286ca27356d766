/*
 * db/epg: EPG SQL (see db/epg.h). The import writer keeps a bounded hash of
 * the document's channel ids -> epg_channels row id and first start, so that
 * programmes are inserted EPG_BATCH rows per statement (one round trip each on
 * PostgreSQL, not one per programme) and the cleanup after the document runs
 * per channel on the (channel, start) index.
 */
#include "db/epg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "db/db_priv.h"
#include "xmltv/xmltv.h"
#include "core/hash.h"

static bool is_decimal(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int db_epg_source_add(struct db *db, const char *name, const char *url, int priority,
                      int refresh_hours, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO epg_sources (name, url, priority, refresh_hours, created_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5)",
                   &st))
        return -EIO;
    db_bind_text_copy(st, 1, name);
    db_bind_text_copy(st, 2, url);
    db_bind_int(st, 3, priority);
    db_bind_int(st, 4, refresh_hours);
    db_bind_int64(st, 5, db_now());
    int rc = db_step(st);
    int ret = 0;
    if (rc == -EEXIST || rc == -EINVAL)
        ret = rc;
    else if (rc != DB_DONE)
        ret = -EIO;
    else if (id)
        *id = db_last_insert_id(db);
    db_finalize(st);
    return ret;
}

static void bind_name_or_id(struct db_stmt *st, const char *name_or_id)
{
    db_bind_text_copy(st, 1, name_or_id);
    if (is_decimal(name_or_id) && strlen(name_or_id) < 19)
        db_bind_int64(st, 2, strtoll(name_or_id, NULL, 10));
    else
        db_bind_int64(st, 2, -1);
}

int db_epg_source_del(struct db *db, const char *name_or_id)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM epg_sources WHERE name = ?1 OR id = ?2", &st))
        return -EIO;
    bind_name_or_id(st, name_or_id);
    int rc = db_step(st) == DB_DONE ? 0 : -EIO;
    db_finalize(st);
    if (rc == 0 && db_changes(db) == 0)
        rc = -ENOENT;
    return rc;
}

#define SOURCE_COLS                                                                                \
    "SELECT s.id, s.name, s.url, s.priority, s.refresh_hours, s.enabled,"                          \
    " COALESCE(s.last_import, 0), COALESCE(s.last_attempt, 0), s.last_status,"                     \
    " (SELECT count(*) FROM epg_channels c WHERE c.source_id = s.id),"                             \
    " (SELECT COALESCE(sum(c.programmes), 0) FROM epg_channels c WHERE c.source_id = s.id)"        \
    " FROM epg_sources s"

static int read_source(void *ctx, struct db_stmt *st, void *row)
{
    struct db_epg_source *s = row;
    (void)ctx;
    s->id = db_col_int64(st, 0);
    s->name = db_col_strdup(st, 1);
    s->url = db_col_strdup(st, 2);
    s->priority = db_col_int(st, 3);
    s->refresh_hours = db_col_int(st, 4);
    s->enabled = db_col_int(st, 5) != 0;
    s->last_import = db_col_int64(st, 6);
    s->last_attempt = db_col_int64(st, 7);
    s->last_status = db_col_strdup(st, 8);
    s->channels = db_col_int64(st, 9);
    s->programmes = db_col_int64(st, 10);
    return s->name && s->url && s->last_status ? 0 : -ENOMEM;
}

/* Any failure is -EIO (nothing logged) for the sources, guides and streams. */
static int read_sources(struct db *db, struct db_stmt *st, struct db_epg_source **out, size_t *n)
{
    void *v = NULL;
    size_t cnt = 0;
    if (db_step_rows(db, st, NULL, sizeof(**out), 8, read_source, NULL, &v, &cnt)) {
        db_epg_source_list_free(v, cnt);
        return -EIO;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int db_epg_source_list(struct db *db, struct db_epg_source **out, size_t *n)
{
    struct db_stmt *st;
    if (db_prepare(db, SOURCE_COLS " ORDER BY s.priority DESC, s.id", &st))
        return -EIO;
    int rc = read_sources(db, st, out, n);
    db_finalize(st);
    return rc;
}

int db_epg_source_get(struct db *db, const char *name_or_id, struct db_epg_source **out)
{
    struct db_stmt *st;
    size_t n = 0;
    if (db_prepare(db, SOURCE_COLS " WHERE s.name = ?1 OR s.id = ?2 LIMIT 1", &st))
        return -EIO;
    bind_name_or_id(st, name_or_id);
    int rc = read_sources(db, st, out, &n);
    db_finalize(st);
    if (rc == 0 && n == 0) {
        free(*out);
        *out = NULL;
        rc = -ENOENT;
    }
    return rc;
}

void db_epg_source_list_free(struct db_epg_source *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        free(s[i].name);
        free(s[i].url);
        free(s[i].last_status);
    }
    free(s);
}

int db_epg_source_status(struct db *db, int64_t id, int64_t now, bool ok, const char *status)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE epg_sources SET last_attempt = ?2, last_status = ?3,"
                   " last_import = CASE WHEN ?4 <> 0 THEN ?2 ELSE last_import END WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    db_bind_int64(st, 2, now);
    db_bind_text_copy(st, 3, status);
    db_bind_int(st, 4, ok);
    int rc = db_step(st) == DB_DONE ? 0 : -EIO;
    db_finalize(st);
    return rc;
}

int db_epg_keep_days(struct db *db)
{
    struct db_stmt *st;
    int days = EPG_KEEP_DAYS;
    if (db_prepare(db, "SELECT COALESCE(max(tv_archive_days), 0) FROM streams", &st))
        return days;
    if (db_step(st) == DB_ROW && db_col_int(st, 0) > days)
        days = db_col_int(st, 0);
    db_finalize(st);
    return days;
}

/* ---- import writer ------------------------------------------------------- */

struct chan_slot {
    char *id; /* NULL = empty */
    int64_t row;
    int64_t min_start; /* INT64_MAX until a programme is seen */
};

enum {
    S_GEN,
    S_CHAN_UPSERT,
    S_DEL_REPLACED,
    S_DEL_DROPPED,
    S_FILL_STOP,
    S_PRUNE,
    S_COUNT,
    S_SET_GEN,
    S_TOTALS,
    S_N
};

static const char *const import_sql[S_N] = {
    [S_GEN] = "SELECT gen + 1 FROM epg_sources WHERE id = ?1",
    [S_CHAN_UPSERT] =
        "INSERT INTO epg_channels (source_id, channel_id, display_name, name_key, id_key, icon, "
        "gen)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        " ON CONFLICT (source_id, channel_id) DO UPDATE SET"
        "  display_name = CASE WHEN excluded.display_name <> '' THEN excluded.display_name"
        "                 ELSE epg_channels.display_name END,"
        "  name_key = CASE WHEN excluded.display_name <> '' THEN excluded.name_key"
        "             ELSE epg_channels.name_key END,"
        "  id_key = excluded.id_key,"
        "  icon = CASE WHEN excluded.icon <> '' THEN excluded.icon ELSE epg_channels.icon END,"
        "  gen = excluded.gen"
        " RETURNING id",
    [S_DEL_REPLACED] = "DELETE FROM epg_programmes WHERE channel = ?1 AND start >= ?2 AND gen < ?3",
    [S_DEL_DROPPED] = "DELETE FROM epg_programmes WHERE start >= ?3 AND channel IN"
                      " (SELECT id FROM epg_channels WHERE source_id = ?1 AND gen < ?2)",
    /* A programme without stop ends where the next one starts. */
    [S_FILL_STOP] = "UPDATE epg_programmes SET stop = COALESCE((SELECT min(p2.start)"
                    " FROM epg_programmes p2 WHERE p2.channel = epg_programmes.channel"
                    " AND p2.start > epg_programmes.start), start + 1800)"
                    " WHERE gen = ?2 AND stop <= start AND channel IN"
                    " (SELECT id FROM epg_channels WHERE source_id = ?1)",
    [S_PRUNE] = "DELETE FROM epg_programmes WHERE start < ?2 AND channel IN"
                " (SELECT id FROM epg_channels WHERE source_id = ?1)",
    [S_COUNT] = "UPDATE epg_channels SET programmes ="
                " (SELECT count(*) FROM epg_programmes p WHERE p.channel = epg_channels.id)"
                " WHERE source_id = ?1",
    [S_SET_GEN] = "UPDATE epg_sources SET gen = ?2 WHERE id = ?1",
    [S_TOTALS] = "SELECT count(*), COALESCE(sum(programmes), 0) FROM epg_channels"
                 " WHERE source_id = ?1 AND gen = ?2",
};

/* Programmes per upsert statement: 12 parameters a row, far below either
 * backend's limit. On PostgreSQL a statement per programme paid a round trip
 * each: `xtreamd demo` (1,620 programmes) took over 60 s on a loaded machine. */
#define EPG_BATCH  64
#define PROG_TEXTS 8

/* A programme waiting for its batch: its own copies of the texts. */
struct prog_row {
    int64_t row, start, stop;
    char *text[PROG_TEXTS];
};

struct db_epg_import {
    struct db *db;
    int64_t source_id, gen;
    struct db_stmt *st[S_N];
    struct chan_slot *slots;
    size_t cap, used;
    struct prog_row pending[EPG_BATCH]; /* programmes not written yet */
    size_t npending;
    struct db_stmt *batch; /* the EPG_BATCH-row upsert */
};

void db_epg_import_free(struct db_epg_import *imp)
{
    if (!imp)
        return;
    for (int i = 0; i < S_N; i++)
        db_finalize(imp->st[i]);
    db_finalize(imp->batch);
    for (size_t k = 0; k < imp->npending; k++)
        for (int i = 0; i < PROG_TEXTS; i++)
            free(imp->pending[k].text[i]);
    for (size_t i = 0; i < imp->cap; i++)
        free(imp->slots[i].id);
    free(imp->slots);
    free(imp);
}

int db_epg_import_begin(struct db *db, int64_t source_id, struct db_epg_import **out)
{
    struct db_epg_import *imp = calloc(1, sizeof(*imp));
    if (!imp)
        return -ENOMEM;
    imp->db = db;
    imp->source_id = source_id;
    /* A bigger page cache for the bulk insert (bounded: 16 MiB). */
    if (db_is_sqlite(db))
        db_exec(db, "PRAGMA cache_size = -16384");
    for (int i = 0; i < S_N; i++)
        if (db_prepare(db, import_sql[i], &imp->st[i]))
            goto fail;
    struct db_stmt *g = imp->st[S_GEN];
    db_bind_int64(g, 1, source_id);
    if (db_step(g) != DB_ROW) {
        db_epg_import_free(imp);
        return -ENOENT;
    }
    imp->gen = db_col_int64(g, 0);
    db_reset(g);
    imp->cap = 1024;
    imp->slots = calloc(imp->cap, sizeof(*imp->slots));
    if (!imp->slots)
        goto fail;
    *out = imp;
    return 0;
fail:
    db_epg_import_free(imp);
    return -EIO;
}

static int grow(struct db_epg_import *imp)
{
    size_t ncap = imp->cap * 2;
    struct chan_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < imp->cap; i++) {
        if (!imp->slots[i].id)
            continue;
        size_t j = hash_fnv1a_str(imp->slots[i].id) & (ncap - 1);
        while (ns[j].id)
            j = (j + 1) & (ncap - 1);
        ns[j] = imp->slots[i];
    }
    free(imp->slots);
    imp->slots = ns;
    imp->cap = ncap;
    return 0;
}

static int upsert_channel(struct db_epg_import *imp, const char *id, const char *name,
                          const char *icon, int64_t *row)
{
    char name_key[EPG_NAME_KEY], id_key[EPG_NAME_KEY];
    epg_normalize_name(name, name_key, sizeof(name_key));
    epg_normalize_id(id, id_key, sizeof(id_key));
    struct db_stmt *st = imp->st[S_CHAN_UPSERT];
    db_bind_int64(st, 1, imp->source_id);
    db_bind_text(st, 2, id);
    db_bind_text(st, 3, name);
    db_bind_text(st, 4, name_key);
    db_bind_text(st, 5, id_key);
    db_bind_text(st, 6, icon);
    db_bind_int64(st, 7, imp->gen);
    int rc = db_step(st);
    if (rc == DB_ROW)
        *row = db_col_int64(st, 0);
    else
        log_error("epg", "channel upsert: %s", db_errmsg(imp->db));
    db_reset(st);
    db_clear_bindings(st);
    return rc == DB_ROW ? 0 : -EIO;
}

/* Finds or creates the slot of a channel id (creating its row when new). */
static int channel_slot(struct db_epg_import *imp, const char *id, const char *name,
                        const char *icon, bool declare, struct chan_slot **out)
{
    if ((imp->used + 1) * 2 > imp->cap) {
        if (imp->used >= EPG_MAX_CHANNEL)
            return -ENOSPC;
        if (grow(imp))
            return -ENOMEM;
    }
    size_t j = hash_fnv1a_str(id) & (imp->cap - 1);
    while (imp->slots[j].id && strcmp(imp->slots[j].id, id) != 0)
        j = (j + 1) & (imp->cap - 1);
    struct chan_slot *s = &imp->slots[j];
    if (s->id && !declare) {
        *out = s;
        return 0;
    }
    int64_t row;
    int rc = upsert_channel(imp, id, name, icon, &row);
    if (rc)
        return rc;
    if (!s->id) {
        s->id = strdup(id);
        if (!s->id)
            return -ENOMEM;
        s->min_start = INT64_MAX;
        imp->used++;
    }
    s->row = row;
    *out = s;
    return 0;
}

int db_epg_import_channel(struct db_epg_import *imp, const char *channel_id,
                          const char *display_name, const char *icon)
{
    struct chan_slot *s;
    return channel_slot(imp, channel_id, display_name, icon, true, &s);
}

/* The upsert of n programmes (one VALUES row each). */
static int prog_upsert_sql(struct buf *b, size_t n)
{
    buf_puts(b, "INSERT INTO epg_programmes (channel, start, stop, gen, title, sub_title,"
                " description, category, episode_num, icon, lang, rating) VALUES ");
    for (size_t k = 0; k < n; k++) {
        buf_puts(b, k ? ", (" : "(");
        for (size_t i = 1; i <= 12; i++)
            buf_printf(b, i < 12 ? "?%zu, " : "?%zu)", k * 12 + i);
    }
    buf_puts(b, " ON CONFLICT (channel, start) DO UPDATE SET stop = excluded.stop,"
                "  gen = excluded.gen, title = excluded.title, sub_title = excluded.sub_title,"
                "  description = excluded.description, category = excluded.category,"
                "  episode_num = excluded.episode_num, icon = excluded.icon,"
                "  lang = excluded.lang, rating = excluded.rating");
    return b->err;
}

static void prog_clear(struct prog_row *r)
{
    for (int i = 0; i < PROG_TEXTS; i++) {
        free(r->text[i]);
        r->text[i] = NULL;
    }
}

/* Writes the pending programmes in one statement (the prepared EPG_BATCH-row
 * one when full, a statement of their number for the last few). */
static int prog_flush(struct db_epg_import *imp)
{
    size_t n = imp->npending;
    if (n == 0)
        return 0;
    struct db_stmt *st = n == EPG_BATCH ? imp->batch : NULL;
    int rc = 0;
    if (!st) {
        struct buf b = BUF_INIT(0);
        rc = prog_upsert_sql(&b, n);
        if (!rc && db_prepare(imp->db, b.data, &st))
            rc = -EIO;
        buf_free(&b);
        if (!rc && n == EPG_BATCH)
            imp->batch = st;
    }
    if (!rc) {
        for (size_t k = 0; k < n; k++) {
            const struct prog_row *r = &imp->pending[k];
            int at = (int)(k * 12);
            db_bind_int64(st, at + 1, r->row);
            db_bind_int64(st, at + 2, r->start);
            db_bind_int64(st, at + 3, r->stop);
            db_bind_int64(st, at + 4, imp->gen);
            for (int i = 0; i < PROG_TEXTS; i++)
                db_bind_text(st, at + 5 + i, r->text[i]);
        }
        if (db_step(st) != DB_DONE) {
            log_error("epg", "programme insert: %s", db_errmsg(imp->db));
            rc = -EIO;
        }
        db_reset(st);
    }
    if (st != imp->batch)
        db_finalize(st);
    for (size_t k = 0; k < n; k++)
        prog_clear(&imp->pending[k]);
    imp->npending = 0;
    return rc;
}

int db_epg_import_programme(struct db_epg_import *imp, const struct epg_programme *p)
{
    struct chan_slot *s;
    int rc = channel_slot(imp, p->channel, "", "", false, &s);
    if (rc)
        return rc;
    if (p->start < s->min_start)
        s->min_start = p->start;
    /* A second programme at the same (channel, start) in one statement is an
     * error on PostgreSQL (a row updated twice): the later one replaces the
     * pending one, as the upsert after it would have. */
    struct prog_row *r = NULL;
    for (size_t k = 0; k < imp->npending && !r; k++)
        if (imp->pending[k].row == s->row && imp->pending[k].start == p->start)
            r = &imp->pending[k];
    if (r)
        prog_clear(r);
    else
        r = &imp->pending[imp->npending++];
    r->row = s->row;
    r->start = p->start;
    r->stop = p->stop;
    const char *texts[PROG_TEXTS] = {p->title,       p->sub_title, p->desc, p->category,
                                     p->episode_num, p->icon,      p->lang, p->rating};
    for (int i = 0; i < PROG_TEXTS; i++)
        if (!(r->text[i] = strdup(texts[i] ? texts[i] : "")))
            rc = -ENOMEM;
    if (rc == 0 && imp->npending == EPG_BATCH)
        rc = prog_flush(imp);
    return rc;
}

static int step_done(struct db_stmt *st)
{
    int rc = db_step(st);
    db_reset(st);
    return rc == DB_DONE ? 0 : -EIO;
}

int db_epg_import_finish(struct db_epg_import *imp, int64_t now, int keep_days, int64_t *channels,
                         int64_t *programmes)
{
    int rc = prog_flush(imp);
    if (rc)
        return rc;
    struct db_stmt *st = imp->st[S_DEL_REPLACED];
    for (size_t i = 0; i < imp->cap; i++) {
        const struct chan_slot *s = &imp->slots[i];
        if (!s->id || s->min_start == INT64_MAX)
            continue;
        db_bind_int64(st, 1, s->row);
        db_bind_int64(st, 2, s->min_start);
        db_bind_int64(st, 3, imp->gen);
        if (step_done(st))
            return -EIO;
    }
    st = imp->st[S_DEL_DROPPED];
    db_bind_int64(st, 1, imp->source_id);
    db_bind_int64(st, 2, imp->gen);
    db_bind_int64(st, 3, now);
    if (step_done(st))
        return -EIO;
    st = imp->st[S_FILL_STOP];
    db_bind_int64(st, 1, imp->source_id);
    db_bind_int64(st, 2, imp->gen);
    if (step_done(st))
        return -EIO;
    st = imp->st[S_PRUNE];
    db_bind_int64(st, 1, imp->source_id);
    db_bind_int64(st, 2, now - (int64_t)keep_days * 86400);
    if (step_done(st))
        return -EIO;
    st = imp->st[S_COUNT];
    db_bind_int64(st, 1, imp->source_id);
    if (step_done(st))
        return -EIO;
    st = imp->st[S_SET_GEN];
    db_bind_int64(st, 1, imp->source_id);
    db_bind_int64(st, 2, imp->gen);
    if (step_done(st))
        return -EIO;
    st = imp->st[S_TOTALS];
    db_bind_int64(st, 1, imp->source_id);
    db_bind_int64(st, 2, imp->gen);
    rc = db_step(st);
    if (rc == DB_ROW) {
        *channels = db_col_int64(st, 0);
        *programmes = db_col_int64(st, 1);
    }
    db_reset(st);
    return rc == DB_ROW ? 0 : -EIO;
}

/* ---- mapping ------------------------------------------------------------- */

static int read_guide(void *ctx, struct db_stmt *st, void *row)
{
    struct db_epg_guide *g = row;
    (void)ctx;
    g->channel_id = db_col_strdup(st, 0);
    g->display_name = db_col_strdup(st, 1);
    g->name_key = db_col_strdup(st, 2);
    g->id_key = db_col_strdup(st, 3);
    g->priority = db_col_int(st, 4);
    g->programmes = db_col_int64(st, 5);
    return g->channel_id && g->display_name && g->name_key && g->id_key ? 0 : -ENOMEM;
}

int db_epg_guides(struct db *db, struct db_epg_guide **out, size_t *n)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "SELECT c.channel_id, c.display_name, c.name_key, c.id_key, s.priority,"
                   " c.programmes FROM epg_channels c JOIN epg_sources s ON s.id = c.source_id"
                   " WHERE s.enabled = 1 AND c.programmes > 0"
                   " ORDER BY s.priority DESC, s.id, c.id",
                   &st))
        return -EIO;
    void *v = NULL;
    size_t cnt = 0;
    int rc = db_step_rows(db, st, NULL, sizeof(**out), 64, read_guide, NULL, &v, &cnt);
    db_finalize(st);
    if (rc) {
        db_epg_guides_free(v, cnt);
        return -EIO;
    }
    *out = v;
    *n = cnt;
    return 0;
}

void db_epg_guides_free(struct db_epg_guide *g, size_t n)
{
    for (size_t i = 0; g && i < n; i++) {
        free(g[i].channel_id);
        free(g[i].display_name);
        free(g[i].name_key);
        free(g[i].id_key);
    }
    free(g);
}

static int read_stream(void *ctx, struct db_stmt *st, void *row)
{
    struct db_epg_stream *s = row;
    (void)ctx;
    s->id = db_col_int64(st, 0);
    s->name = db_col_strdup(st, 1);
    s->epg_channel_id = db_col_strdup(st, 2);
    s->epg_auto_id = db_col_strdup(st, 3);
    return s->name && s->epg_channel_id && s->epg_auto_id ? 0 : -ENOMEM;
}

int db_epg_streams(struct db *db, struct db_epg_stream **out, size_t *n)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "SELECT id, name, COALESCE(epg_channel_id, ''), COALESCE(epg_auto_id, '')"
                   " FROM streams ORDER BY sort_order, id",
                   &st))
        return -EIO;
    void *v = NULL;
    size_t cnt = 0;
    int rc = db_step_rows(db, st, NULL, sizeof(**out), 64, read_stream, NULL, &v, &cnt);
    db_finalize(st);
    if (rc) {
        db_epg_streams_free(v, cnt);
        return -EIO;
    }
    *out = v;
    *n = cnt;
    return 0;
}

void db_epg_streams_free(struct db_epg_stream *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        free(s[i].name);
        free(s[i].epg_channel_id);
        free(s[i].epg_auto_id);
    }
    free(s);
}

static int read_channel(void *ctx, struct db_stmt *st, void *row)
{
    struct db_epg_channel *c = row;
    (void)ctx;
    c->source_id = db_col_int64(st, 0);
    c->source_name = db_col_strdup(st, 1);
    c->channel_id = db_col_strdup(st, 2);
    c->display_name = db_col_strdup(st, 3);
    c->icon = db_col_strdup(st, 4);
    c->programmes = db_col_int64(st, 5);
    return c->source_name && c->channel_id && c->display_name && c->icon ? 0 : -ENOMEM;
}

#define EPG_CHANNEL_WHERE                                                                          \
    " WHERE (?1 = 0 OR c.source_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR "                        \
    "instr(lower(c.channel_id),"                                                                   \
    " lower(?2)) > 0 OR instr(lower(c.display_name), lower(?2)) > 0)"

int db_epg_channel_page(struct db *db, int64_t source_id, const char *q, int64_t offset,
                        int64_t limit, struct db_epg_channel **out, size_t *n, int64_t *total)
{
    struct db_stmt *cnt, *st;
    *out = NULL;
    *n = 0;
    *total = 0;
    if (db_prepare(db, "SELECT count(*) FROM epg_channels c" EPG_CHANNEL_WHERE, &cnt))
        return -EIO;
    db_bind_int64(cnt, 1, source_id);
    if (q && *q)
        db_bind_text(cnt, 2, q);
    int rc = db_step(cnt) == DB_ROW ? 0 : -EIO;
    if (rc == 0)
        *total = db_col_int64(cnt, 0);
    db_finalize(cnt);
    if (rc)
        return rc;
    if (db_prepare(db,
                   "SELECT c.source_id, s.name, c.channel_id, c.display_name, c.icon, c.programmes"
                   " FROM epg_channels c JOIN epg_sources s ON s.id = c.source_id" EPG_CHANNEL_WHERE
                   " ORDER BY c.channel_id, c.source_id LIMIT ?3 OFFSET ?4",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, source_id);
    if (q && *q)
        db_bind_text(st, 2, q);
    db_bind_int64(st, 3, limit);
    db_bind_int64(st, 4, offset);
    void *v = NULL;
    size_t got = 0;
    rc = db_step_rows(db, st, NULL, sizeof(**out), 16, read_channel, NULL, &v, &got);
    db_finalize(st);
    if (rc)
        return -EIO;
    *out = v;
    *n = got;
    return 0;
}

void db_epg_channels_free(struct db_epg_channel *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].source_name);
        free(c[i].channel_id);
        free(c[i].display_name);
        free(c[i].icon);
    }
    free(c);
}

int db_epg_set_auto(struct db *db, int64_t stream_id, const char *auto_id)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE streams SET epg_auto_id = ?2 WHERE id = ?1"
                   " AND epg_auto_id IS DISTINCT FROM ?2",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, stream_id);
    if (auto_id)
        db_bind_text_copy(st, 2, auto_id);
    else
        db_bind_null(st, 2);
    int rc = db_step(st) == DB_DONE ? 0 : -EIO;
    db_finalize(st);
    return rc;
}

/* ---- reader -------------------------------------------------------------- */

struct db_epg_reader {
    struct db *db;
    struct db_stmt *best, *progs;
    int64_t source_id; /* of the current selection */
    bool active;
};

int db_epg_reader_open(const char *data_dir, struct db_epg_reader **out)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/xtreamd.db", data_dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    struct db_epg_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    /* SQLite: the file, read-only. PostgreSQL: the database, in read-only
     * transactions (it has no file). */
    if (db_location_is_pg(db_get_location())) {
        if (db_open(data_dir, &r->db) || db_exec(r->db, "SET default_transaction_read_only = on"))
            goto fail;
    } else if (db_open_file(path, DB_OPEN_READONLY, 200, &r->db)) {
        goto fail;
    }
    if (db_prepare(r->db,
                   "SELECT c.id, c.source_id FROM epg_channels c"
                   " JOIN epg_sources s ON s.id = c.source_id"
                   " WHERE c.channel_id = ?1 AND s.enabled = 1 AND c.programmes > 0"
                   " ORDER BY s.priority DESC, s.id LIMIT 1",
                   &r->best) ||
        db_prepare(r->db,
                   "SELECT id, start, stop, title, sub_title, description, category,"
                   " episode_num, icon, lang, rating FROM epg_programmes"
                   " WHERE channel = ?1 AND start >= ?2 AND start < ?3 AND stop > ?4"
                   " ORDER BY start LIMIT ?5",
                   &r->progs))
        goto fail;
    *out = r;
    return 0;
fail:
    log_error("epg", "cannot open the guide reader on %s", path);
    db_epg_reader_close(r);
    return -EIO;
}

void db_epg_reader_close(struct db_epg_reader *r)
{
    if (!r)
        return;
    db_finalize(r->best);
    db_finalize(r->progs);
    db_close(r->db);
    free(r);
}

int db_epg_reader_select(struct db_epg_reader *r, const char *channel_id, int64_t from, int64_t to,
                         int64_t min_stop, int limit)
{
    db_epg_reader_reset(r);
    db_bind_text_copy(r->best, 1, channel_id);
    int rc = db_step(r->best);
    if (rc != DB_ROW) {
        db_reset(r->best);
        return rc == DB_DONE ? -ENOENT : -EIO;
    }
    int64_t chan = db_col_int64(r->best, 0);
    r->source_id = db_col_int64(r->best, 1);
    db_reset(r->best);
    db_bind_int64(r->progs, 1, chan);
    db_bind_int64(r->progs, 2, from);
    db_bind_int64(r->progs, 3, to);
    db_bind_int64(r->progs, 4, min_stop);
    db_bind_int64(r->progs, 5, limit < 0 ? INT64_MAX : limit); /* PostgreSQL refuses LIMIT -1 */
    r->active = true;
    return 0;
}

int db_epg_reader_next(struct db_epg_reader *r, struct db_epg_row *row)
{
    if (!r->active)
        return 0;
    int rc = db_step(r->progs);
    if (rc == DB_DONE) {
        db_epg_reader_reset(r);
        return 0;
    }
    if (rc != DB_ROW) {
        db_epg_reader_reset(r);
        return -EIO;
    }
    struct db_stmt *st = r->progs;
    row->id = db_col_int64(st, 0);
    row->source_id = r->source_id;
    row->start = db_col_int64(st, 1);
    row->stop = db_col_int64(st, 2);
    row->title = db_col_text(st, 3);
    row->sub_title = db_col_text(st, 4);
    row->desc = db_col_text(st, 5);
    row->category = db_col_text(st, 6);
    row->episode_num = db_col_text(st, 7);
    row->icon = db_col_text(st, 8);
    row->lang = db_col_text(st, 9);
    row->rating = db_col_text(st, 10);
    return 1;
}

void db_epg_reader_reset(struct db_epg_reader *r)
{
    if (r->active)
        db_reset(r->progs);
    r->active = false;
}

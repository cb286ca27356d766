/*
 * domain/import: see import.h.
 */
#include "domain/import.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "db/categories.h"
#include "db/content.h"
#include "db/db.h"
#include "db/library.h"
#include "domain/content.h"
#include "domain/text.h"
#include "domain/vod_paths.h"
#include "media/m3u.h"
#include "core/hash.h"

#define MAX_NAME     500
#define MAX_CATEGORY DOM_IMPORT_CATEGORY_MAX
#define MAX_LOGO     4096
#define MAX_EPG_ID   256

/* An open-addressing map from a string to an id, with a per-import mark. */
struct strmap_slot {
    char *key;
    int64_t val;
    bool seen;
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap, len; /* cap is 0 or a power of two */
};

static void strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static struct strmap_slot *strmap_find(const struct strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash_fnv1a_str(key) & mask;; i = (i + 1) & mask) {
        if (!m->slots[i].key)
            return NULL;
        if (strcmp(m->slots[i].key, key) == 0)
            return &m->slots[i];
    }
}

static int strmap_grow(struct strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    struct strmap_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = hash_fnv1a_str(m->slots[i].key) & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

/* Inserts key (copied) unless present; returns its slot in *out. */
static int strmap_put(struct strmap *m, const char *key, int64_t val, struct strmap_slot **out)
{
    struct strmap_slot *s = strmap_find(m, key);
    if (s) {
        *out = s;
        return 0;
    }
    if ((m->len + 1) * 10 > m->cap * 7 && strmap_grow(m))
        return -ENOMEM;
    size_t mask = m->cap - 1, i = hash_fnv1a_str(key) & mask;
    while (m->slots[i].key)
        i = (i + 1) & mask;
    m->slots[i].key = strdup(key);
    if (!m->slots[i].key)
        return -ENOMEM;
    m->slots[i].val = val;
    m->slots[i].seen = false;
    m->len++;
    *out = &m->slots[i];
    return 0;
}

struct dom_import {
    struct db *db;
    struct dom_import_in in;
    struct db_content *content;
    bool movies;
    const char *default_category;
    struct strmap sources;    /* live: source URL -> stream id */
    struct strmap categories; /* group name -> category id */
    size_t categories_used;
    size_t rejects, created, updated, duplicates;
    int64_t next_order;
    int error;         /* a database error: stop writing, fail */
    size_t error_line; /* where it happened */
    size_t bytes;      /* fed so far (bounded by DOM_IMPORT_MAX_BYTES) */
    size_t entries;
    struct m3u_parser *parser;
    bool ended;
    char **roots; /* movies: library roots local files must lie under */
    size_t nroots;
    char *data_real; /* realpath of the data directory (never served) */
};

static void on_reject(void *ctx, size_t line, const char *reason)
{
    struct dom_import *im = ctx;
    im->rejects++;
    if (im->in.reject)
        im->in.reject(im->in.ctx, line, reason);
}

static int load_source(void *ctx, const char *url, int64_t id)
{
    struct dom_import *im = ctx;
    struct strmap_slot *s;
    return strmap_put(&im->sources, url, id, &s);
}

static int category_for(struct dom_import *im, const char *group, int64_t *id)
{
    struct strmap_slot *s = strmap_find(&im->categories, group);
    if (s) {
        *id = s->val;
        return 0;
    }
    int rc = db_category_ensure(im->db, im->movies ? "movie" : "live", group, id, NULL);
    if (rc)
        return rc;
    rc = strmap_put(&im->categories, group, *id, &s);
    if (rc == 0)
        im->categories_used++;
    return rc;
}

/* "Title (1999)" -> title "Title", year 1999. Writes the title into out. */
static int split_year(const char *name, char *out, size_t outsz)
{
    size_t n = strlen(name);
    snprintf(out, outsz, "%s", name);
    if (n < 8 || name[n - 1] != ')' || name[n - 6] != '(')
        return 0;
    int year = 0;
    for (size_t i = n - 5; i < n - 1; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        year = year * 10 + (name[i] - '0');
    }
    if (year < 1870 || year > 2100)
        return 0;
    size_t t = n - 6;
    while (t > 0 && (name[t - 1] == ' ' || name[t - 1] == '\t'))
        t--;
    if (t == 0)
        return 0;
    snprintf(out, outsz, "%.*s", (int)t, name);
    return year;
}

/* The extension of the URL's path, lower case, if it is 1-8 alphanumerics. */
static void container_of(const char *url, char *out, size_t outsz)
{
    size_t end = strcspn(url, "?#");
    size_t slash = end;
    while (slash > 0 && url[slash - 1] != '/')
        slash--;
    size_t dot = end;
    while (dot > slash && url[dot - 1] != '.')
        dot--;
    snprintf(out, outsz, "mp4");
    if (dot == slash || end - dot == 0 || end - dot > 8 || end - dot >= outsz)
        return;
    for (size_t i = dot; i < end; i++) {
        char c = url[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            snprintf(out, outsz, "mp4");
            return;
        }
        out[i - dot] = c;
    }
    out[end - dot] = '\0';
}

static bool too_long(struct dom_import *im, size_t line, const char *what, const char *s,
                     size_t max)
{
    if (strlen(s) <= max)
        return false;
    char msg[96];
    snprintf(msg, sizeof(msg), "%s longer than %zu bytes", what, max);
    on_reject(im, line, msg);
    return true;
}

/* A queued stream was written: its source's slot gets the id (0 until then). */
static int on_stream_id(void *ctx, const char *url, int64_t id)
{
    struct dom_import *im = ctx;
    struct strmap_slot *slot = strmap_find(&im->sources, url);
    if (!slot)
        return -EIO;
    slot->val = id;
    return 0;
}

static int write_live(struct dom_import *im, const struct m3u_entry *e, int64_t cat)
{
    const char *src[1] = {e->url};
    struct db_stream_in s = {
        .name = e->name,
        .category_id = cat,
        .epg_channel_id = e->tvg_id,
        .logo = e->tvg_logo,
        .sort_order = im->next_order,
        .sources = src,
        .source_count = 1,
    };
    struct strmap_slot *slot = strmap_find(&im->sources, e->url);
    int rc;
    if (slot) {
        /* A stream still queued (a duplicate line) is written first. */
        rc = slot->val ? 0 : db_stream_queue_flush(im->content, on_stream_id, im);
        if (rc == 0)
            rc = db_stream_update(im->content, slot->val, &s);
        if (slot->seen)
            im->duplicates++;
        else
            im->updated++;
    } else {
        rc = strmap_put(&im->sources, e->url, 0, &slot);
        if (rc == 0)
            rc = db_stream_queue(im->content, &s, on_stream_id, im);
        if (rc == 0)
            slot = strmap_find(&im->sources, e->url);
        im->next_order++;
        im->created++;
    }
    if (rc == 0)
        slot->seen = true;
    return rc;
}

/* A local movie file is published to every subscriber: it must resolve (no
 * symlink out) to a file under a library root and outside the data
 * directory (domain/vod_paths.h). Writes the canonical path to real; false after
 * rejecting the line. Other local forms (file:, lavfi:) are never
 * deliverable as movies. */
static bool movie_source_ok(struct dom_import *im, const struct m3u_entry *e, char real[PATH_MAX])
{
    const char *u = e->url;
    if (u[0] != '/') {
        if (strncasecmp(u, "file:", 5) == 0 || strncasecmp(u, "lavfi:", 6) == 0) {
            char why[96];
            snprintf(why, sizeof(why), "%.6s sources cannot be movies (give the file's path)", u);
            on_reject(im, e->line, why);
            return false;
        }
        snprintf(real, PATH_MAX, "%s", u);
        return true;
    }
    char why[PATH_MAX + 160];
    struct stat st;
    errno = 0;
    bool found = realpath(u, real) && stat(real, &st) == 0;
    if (!found || !S_ISREG(st.st_mode)) {
        snprintf(why, sizeof(why), "movie file '%s': %s", u,
                 found ? "not a regular file" : strerror(errno));
        on_reject(im, e->line, why);
        return false;
    }
    const char *no = dom_vod_path_refusal(real, im->roots, im->nroots, im->data_real);
    struct stat db_st;
    char db_path[PATH_MAX + 16];
    snprintf(db_path, sizeof(db_path), "%s/xtreamd.db", im->data_real ? im->data_real : ".");
    if (!no && stat(db_path, &db_st) == 0 && db_st.st_dev == st.st_dev && db_st.st_ino == st.st_ino)
        no = "the database itself (a hard link to it)";
    if (no) {
        snprintf(why, sizeof(why), "movie file '%s' is %s", u, no);
        on_reject(im, e->line, why);
        return false;
    }
    return true;
}

static int write_movie(struct dom_import *im, const struct m3u_entry *e, const char *source,
                       int64_t cat)
{
    char title[MAX_NAME + 1], container[16];
    int year = split_year(e->name, title, sizeof(title));
    container_of(source, container, sizeof(container));
    struct db_movie_in m = {
        .title = title,
        .year = year,
        .category_id = cat,
        .source = source,
        .container = container,
        .poster = e->tvg_logo,
        .sort_order = im->next_order,
    };
    int64_t id;
    int rc = db_movie_find_by_source(im->content, source, &id);
    if (rc == 0) {
        /* Duplicates inside one playlist are counted as updates. */
        im->updated++;
        return db_movie_update(im->content, &m);
    }
    if (rc != -ENOENT)
        return rc;
    im->created++;
    im->next_order++;
    return db_movie_insert(im->content, &m, &id);
}

static int on_entry(void *ctx, const struct m3u_entry *e)
{
    struct dom_import *im = ctx;
    const char *group = *e->group ? e->group : im->default_category;
    bool bad = too_long(im, e->line, "title", e->name, MAX_NAME);
    bad |= too_long(im, e->line, "group", group, MAX_CATEGORY);
    bad |= too_long(im, e->line, "tvg-logo", e->tvg_logo, MAX_LOGO);
    bad |= too_long(im, e->line, "tvg-id", e->tvg_id, MAX_EPG_ID);
    char real[PATH_MAX];
    if (im->movies && !bad)
        bad = !movie_source_ok(im, e, real);
    if (bad || im->rejects || im->error)
        return 0; /* keep parsing to list every rejection; write nothing more */
    int64_t cat;
    int rc = category_for(im, group, &cat);
    if (rc == 0)
        rc = im->movies ? write_movie(im, e, real, cat) : write_live(im, e, cat);
    if (rc) {
        im->error = rc;
        im->error_line = e->line;
    }
    return 0;
}

int dom_import_check(const struct dom_import_in *in, struct dom_error *e)
{
    const char *kind = "live";
    if (in->kind && dom_kind_parse("kind", in->kind, &kind, e) == 0 && strcmp(kind, "series") == 0)
        dom_err_field(e, "kind", "unsupported", "series is not supported (use live or movie)");
    if (in->category)
        dom_check_text("category", in->category, DOM_IMPORT_CATEGORY_MAX, false, e);
    return e->status ? -EINVAL : 0;
}

static void import_free(struct dom_import *im)
{
    if (!im)
        return;
    m3u_parser_free(im->parser);
    db_content_close(im->content);
    strmap_free(&im->sources);
    strmap_free(&im->categories);
    db_library_roots_free(im->roots, im->nroots);
    free(im->data_real);
    free(im);
}

void dom_import_abort(struct dom_import *im)
{
    if (!im)
        return;
    db_rollback(im->db);
    import_free(im);
}

int dom_import_begin(struct db *db, const struct dom_import_in *in, struct dom_import **out,
                     struct dom_error *e)
{
    *out = NULL;
    if (dom_import_check(in, e))
        return -EINVAL;
    struct dom_import *im = calloc(1, sizeof(*im));
    if (!im)
        return dom_err_internal(e, -ENOMEM, "starting the import");
    im->db = db;
    im->in = *in;
    im->movies = in->kind && strcmp(in->kind, "movie") == 0;
    im->default_category = in->category ? in->category : "Uncategorized";
    int rc = db_content_open(db, &im->content);
    if (rc) {
        import_free(im);
        return dom_err_internal(e, rc, "starting the import");
    }
    rc = db_begin(db);
    if (rc) {
        import_free(im);
        return dom_err_internal(e, rc, "starting the import");
    }
    if (im->movies && !in->remote) {
        im->data_real = realpath(in->data_dir ? in->data_dir : ".", NULL);
        if (!im->data_real)
            rc = -errno;
        else
            rc = db_library_roots(db, &im->roots, &im->nroots);
    }
    if (rc == 0 && im->movies)
        rc = db_movie_next_order(im->content, &im->next_order);
    else if (rc == 0 && (rc = db_stream_sources_each(im->content, load_source, im)) == 0)
        rc = db_stream_next_order(im->content, &im->next_order);
    struct m3u_callbacks cb = {.entry = on_entry, .reject = on_reject, .ctx = im};
    if (rc == 0)
        rc = m3u_parser_new(&cb, in->remote ? 0 : M3U_ALLOW_LOCAL, &im->parser);
    if (rc) {
        dom_import_abort(im);
        return dom_err_internal(e, rc, "starting the import");
    }
    *out = im;
    return 0;
}

int dom_import_feed(struct dom_import *im, const void *data, size_t len, struct dom_error *e)
{
    if (len > DOM_IMPORT_MAX_BYTES - im->bytes)
        return dom_err_set(e, 422, DOM_E_REJECTED, "the playlist is larger than %zu MiB",
                           DOM_IMPORT_MAX_BYTES >> 20);
    im->bytes += len;
    int rc = m3u_parser_feed(im->parser, data, len);
    return rc ? dom_err_internal(e, rc, "parsing the playlist") : 0;
}

int dom_import_finish(struct dom_import *im, struct dom_import_result *res, struct dom_error *e)
{
    int rc = 0;
    memset(res, 0, sizeof(*res));
    m3u_parser_finish(im->parser);
    size_t n = m3u_parser_entry_count(im->parser);
    if (!im->error && !im->rejects && !im->movies) {
        int qrc = db_stream_queue_flush(im->content, on_stream_id, im);
        if (qrc) {
            im->error = qrc;
            im->error_line = n;
        }
    }
    if (im->error) {
        rc = dom_err_internal(e, im->error, "writing the playlist");
        snprintf(e->detail, sizeof(e->detail),
                 "database error at line %zu (%s); nothing was imported", im->error_line,
                 strerror(-im->error));
    } else if (im->rejects) {
        rc = dom_err_set(e, 422, DOM_E_REJECTED, "%zu rejected line%s; nothing was imported",
                         im->rejects, im->rejects == 1 ? "" : "s");
    } else if (n == 0) {
        rc = dom_err_set(e, 422, DOM_E_REJECTED,
                         "the playlist has no entries; nothing was imported");
    } else if ((rc = db_commit(im->db)) != 0) {
        dom_err_internal(e, rc, "committing the import");
        snprintf(e->detail, sizeof(e->detail), "database error; nothing was imported");
    }
    if (rc) {
        dom_import_abort(im);
        return rc;
    }
    res->entries = n;
    res->created = im->created;
    res->updated = im->updated;
    res->duplicates = im->duplicates;
    res->categories = im->categories_used;
    res->movies = im->movies;
    import_free(im);
    return 0;
}

int dom_import_run(struct db *db, const struct dom_import_in *in, const void *data, size_t len,
                   dom_progress_fn progress, void *ctx, struct dom_import_result *res,
                   struct dom_error *e)
{
    struct dom_import *im;
    memset(res, 0, sizeof(*res));
    if (progress)
        progress(ctx, 0, "starting");
    if (dom_import_begin(db, in, &im, e))
        return dom_status_errno(e->status);
    const char *p = data ? data : "";
    int last = -1;
    for (size_t off = 0; off < len || off == 0;) {
        size_t n = len - off < DOM_IMPORT_CHUNK ? len - off : DOM_IMPORT_CHUNK;
        int rc = dom_import_feed(im, p + off, n, e);
        if (rc) {
            dom_import_abort(im);
            return rc;
        }
        off += n;
        /* Parsing and writing the entries is 0..95 %, the commit the rest. */
        int pct = len ? (int)((double)off * 95.0 / (double)len) : 95;
        if (progress && pct != last)
            progress(ctx, pct, "importing");
        last = pct;
        if (n == 0)
            break;
    }
    if (progress)
        progress(ctx, 97, "committing");
    int rc = dom_import_finish(im, res, e);
    if (rc == 0 && progress)
        progress(ctx, 100, "done");
    return rc;
}

/*
 * domain/streams: see streams.h.
 */
#include "domain/streams.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db/categories.h"
#include "db/content.h"
#include "db/db.h"

/* Bounds only: channel names may hold any bytes the operator gives (the
 * outputs escape them; tests/integration/metrics.test.mjs uses a newline). */
static void check_len(const char *field, const char *s, size_t max, bool allow_empty,
                      struct dom_error *e)
{
    size_t n = strlen(s);
    if (n == 0 && !allow_empty)
        dom_err_field(e, field, "required", "must not be empty");
    else if (n > max)
        dom_err_field(e, field, "too_long", "longer than %zu bytes", max);
}

static int check_in(const struct dom_stream_in *in, bool create, struct dom_error *e)
{
    if (create && !in->name)
        dom_err_field(e, "name", "required", "is required");
    if (in->name)
        check_len("name", in->name, DOM_STREAM_NAME_MAX, false, e);
    if (in->category)
        check_len("category", in->category, DOM_CATEGORY_NAME_MAX, true, e);
    if (in->epg_id)
        check_len("epg_id", in->epg_id, DOM_STREAM_EPG_ID_MAX, true, e);
    if (in->logo)
        check_len("logo", in->logo, DOM_STREAM_LOGO_MAX, true, e);
    if (create && in->source_count == 0)
        dom_err_field(e, "sources", "required", "at least one source URL is required");
    if (in->source_count > DOM_STREAM_SOURCES_MAX)
        dom_err_field(e, "sources", "too_long", "at most %d sources", DOM_STREAM_SOURCES_MAX);
    for (size_t i = 0; i < in->source_count && i < DOM_STREAM_SOURCES_MAX; i++) {
        char f[48];
        snprintf(f, sizeof(f), "sources[%zu]", i);
        check_len(f, in->sources[i], DOM_STREAM_SOURCE_MAX, false, e);
    }
    return e->status ? -EINVAL : 0;
}

/* The live category called name, created when missing; 0 for "" (none). */
static int category_id(struct db *db, const char *name, int64_t *id)
{
    if (!*name) {
        *id = 0;
        return 0;
    }
    return db_category_ensure(db, "live", name, id, NULL);
}

int dom_stream_create(struct db *db, const struct dom_stream_in *in, int64_t *id,
                      struct dom_error *e)
{
    struct db_content *c = NULL;
    int64_t cat = 0, order = 0;
    *id = 0;
    if (check_in(in, true, e))
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    if (in->category)
        rc = category_id(db, in->category, &cat);
    if (!rc)
        rc = db_content_open(db, &c);
    if (!rc)
        rc = db_stream_next_order(c, &order);
    struct db_stream_in s = {.name = in->name,
                             .category_id = cat,
                             .epg_channel_id = in->epg_id,
                             .logo = in->logo,
                             .sort_order = order,
                             .sources = in->sources,
                             .source_count = in->source_count};
    if (!rc)
        rc = db_stream_insert(c, &s, id);
    struct db_live_stream_set set = {.category_id = -1, .always_on = in->always_on};
    if (!rc && in->always_on == 1)
        rc = db_live_stream_update(db, *id, &set);
    db_content_close(c);
    if (!rc)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
        return dom_err_internal(e, rc, "adding the stream");
    }
    return 0;
}

int dom_stream_update(struct db *db, int64_t id, const struct dom_stream_in *in,
                      struct dom_error *e)
{
    if (check_in(in, false, e))
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    int64_t cat = -1;
    if (in->category)
        rc = category_id(db, in->category, &cat);
    struct db_live_stream_set set = {.name = in->name,
                                     .epg_id = in->epg_id,
                                     .logo = in->logo,
                                     .category_id = cat,
                                     .always_on = in->always_on,
                                     .sources = in->sources,
                                     .source_count = in->source_count};
    if (!rc)
        rc = db_live_stream_update(db, id, &set);
    if (!rc)
        rc = db_commit(db);
    if (!rc)
        return 0;
    db_rollback(db);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no stream with id %lld", (long long)id);
    return dom_err_internal(e, rc, "changing the stream");
}

int dom_stream_delete(struct db *db, int64_t id, struct dom_error *e)
{
    int rc = db_begin(db);
    if (!rc)
        rc = db_live_stream_delete(db, id);
    if (!rc)
        rc = db_commit(db);
    if (!rc)
        return 0;
    db_rollback(db);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no stream with id %lld", (long long)id);
    return dom_err_internal(e, rc, "deleting the stream");
}

int dom_stream_get(struct db *db, int64_t id, struct db_live_stream *out, struct dom_error *e)
{
    int rc = db_live_stream_get(db, id, out);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no stream with id %lld", (long long)id);
    return rc ? dom_err_internal(e, rc, "reading the stream") : 0;
}

int dom_stream_list(struct db *db, struct db_live_stream **out, size_t *n, struct dom_error *e)
{
    int rc = db_live_stream_list(db, out, n);
    return rc ? dom_err_internal(e, rc, "listing streams") : 0;
}

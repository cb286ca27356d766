/*
 * domain/content: the catalogue services of the admin API — streams,
 * categories, bouquets, movies, series (episodes) and EPG sources — by id:
 * get, paged list with filters, create, merge update, delete, plus the
 * ordered parts (a stream's sources, a bouquet's items, the category order)
 * and the manual EPG mapping.
 *
 * Every resource is described by a struct dom_resource: its db table
 * (db/records.h) and one struct dom_field per member with the member's rule
 * (required on create, read-only, immutable, text bound, numeric range).
 * The rules beyond one field live in this module too:
 *  - a category's kind is live|movie|series, fixed after creation; (kind,
 *    name) is unique (409 on name);
 *  - a stream has 1..DOM_STREAM_SOURCES_MAX sources of 1..4096 bytes each
 *    (DOM_STREAM_SOURCES_MAX); its category, when given, must be a
 *    live category;
 *  - a movie's category a movie category, a series' a series category;
 *  - a movie's or episode's source is an http(s) URL or an absolute local
 *    path that resolves (realpath) under a library root and outside the data
 *    directory (domain/vod_paths.h); it is stored canonical and is unique
 *    (409 on source);
 *  - an episode belongs to the series it is created under (immutable); its
 *    season row exists while an episode uses it;
 *  - a bouquet's items are an ordered list of at most DOM_BOUQUET_ITEMS_MAX
 *    distinct {kind, id}: kind all (no id) or category|live|movie|series
 *    with the id of an existing row; replacing them is one transaction;
 *  - an EPG source's url is an http(s) URL or an existing file (stored
 *    canonical), priority +-1000000, refresh_hours 0..8760;
 *  - new rows without a sort_order go to the end of their order (categories:
 *    of their kind).
 * Each write runs in its own transaction (nested as a savepoint when the
 * caller has one open, so the admin API can write its audit row with it).
 * Errors: domain/error.h, field names as the JSON members ("sources[2]",
 * "items[0].id").
 * Threading: one thread per struct db; the descriptions are constant.
 */
#ifndef XTREAMD_DOMAIN_CONTENT_H
#define XTREAMD_DOMAIN_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "db/records.h"
#include "domain/error.h"
#include "domain/page.h"

#define DOM_BOUQUET_ITEMS_MAX  4096
#define DOM_CATEGORY_ORDER_MAX 10000
#define DOM_CONTENT_BODY_MAX   (256 * 1024)

#define DOM_STREAM_SOURCES_MAX     16
#define DOM_STREAM_SOURCE_MAX      4096
#define DOM_STREAM_NAME_MAX        500
#define DOM_STREAM_LOGO_MAX        4096
#define DOM_STREAM_EPG_ID_MAX      256
#define DOM_CATEGORY_NAME_MAX      200
#define DOM_BOUQUET_NAME_MAX       200
#define DOM_BOUQUET_CATEGORIES_MAX 1024 /* category names of one dom_bouquet_create_named */

enum {
    DOM_F_REQUIRED = 1u << 0,  /* must be given on create */
    DOM_F_RO = 1u << 1,        /* never written by a client */
    DOM_F_IMMUTABLE = 1u << 2, /* given on create only */
    DOM_F_BYTES = 1u << 3,     /* text: bounds only (any bytes, e.g. channel names) */
    DOM_F_NONEMPTY = 1u << 4,  /* text: not "" */
};

struct dom_field {
    const char *name; /* the member = the db column's API name */
    unsigned flags;
    size_t max;     /* text: bytes */
    int64_t lo, hi; /* integers and reals: range (lo == hi == 0: any) */
};

struct dom_content_in;
struct dom_resource {
    const char *entity; /* "stream": messages, audit */
    const struct db_table *tbl;
    const struct dom_field *fields;
    size_t nfields;
};

extern const struct dom_resource dom_res_stream, dom_res_category, dom_res_bouquet, dom_res_movie,
    dom_res_series, dom_res_episode, dom_res_epg_source;

/* A create or merge-patch body, decoded (domain/content_json.c). */
struct dom_content_in {
    struct db_rec rec; /* given members (rec.set) with their values; strings borrowed */
    bool has_sources;
    const char **sources; /* streams */
    size_t nsources;
    bool has_items;
    struct db_item *items; /* bouquets */
    size_t nitems;
    const char *data_dir; /* movies/episodes: the data directory (never a library) */
    int64_t parent_id;    /* episodes: the series (set by the caller, from the URL) */
    void *doc;            /* owned: the parsed document the strings point into */
    char *canon;          /* owned: a canonicalised source/url */
};
void dom_content_in_free(struct dom_content_in *in);

/* One object as read: its row plus the ordered parts. */
struct dom_obj {
    struct db_rec rec;
    char **sources; /* streams */
    size_t nsources;
    struct db_item *items; /* bouquets */
    size_t nitems;
};
void dom_obj_free(const struct dom_resource *r, struct dom_obj *o);
void dom_obj_free_all(const struct dom_resource *r, struct dom_obj *o, size_t n);

/* Decodes a JSON object body for resource r (400 DOM_E_MALFORMED when it
 * is not one; 422 per member of the wrong type, unknown or read-only). The
 * jansson value (json_t *) variant takes a document already parsed
 * (borrowed; it must outlive in). Call dom_content_in_free in every case. */
int dom_content_from_json(const struct dom_resource *r, const char *body, size_t len,
                          struct dom_content_in *in, struct dom_error *e);
int dom_content_from_value(const struct dom_resource *r, void *json_value,
                           struct dom_content_in *in, struct dom_error *e);
/* The rules that need no database: types, bounds, ranges, required and
 * read-only members, item shapes. */
int dom_content_validate(const struct dom_resource *r, const struct dom_content_in *in, bool create,
                         struct dom_error *e);
/* Writes o as the resource's JSON object (times RFC 3339 UTC, null for
 * unset references). */
void dom_obj_write_json(const struct dom_resource *r, const struct dom_obj *o, struct jsonw *w);

/* ---- generic services -------------------------------------------------- */
int dom_content_get(struct db *db, const struct dom_resource *r, int64_t id, struct dom_obj *out,
                    struct dom_error *e);
int dom_content_create(struct db *db, const struct dom_resource *r, struct dom_content_in *in,
                       int64_t *id, struct dom_error *e);
int dom_content_update(struct db *db, const struct dom_resource *r, int64_t id,
                       struct dom_content_in *in, struct dom_error *e);
int dom_content_delete(struct db *db, const struct dom_resource *r, int64_t id,
                       struct dom_error *e);
int dom_content_page(struct db *db, const struct dom_resource *r, const struct db_eq *eq,
                     size_t neq, const struct db_page *p, struct dom_obj **out, size_t *n,
                     int64_t *total, struct dom_error *e);

/* ---- list filters ------------------------------------------------------- */
struct dom_stream_filter {
    int64_t category_id; /* 0: any */
    int enabled;         /* -1: any */
};
int dom_stream_page(struct db *db, const struct dom_stream_filter *f, const struct db_page *p,
                    struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e);
/* kind NULL: every kind; else checked (422 on "kind"). */
int dom_category_page(struct db *db, const char *kind, const struct db_page *p,
                      struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e);
int dom_bouquet_page(struct db *db, const struct db_page *p, struct dom_obj **out, size_t *n,
                     int64_t *total, struct dom_error *e);
/* category_id 0: any. */
int dom_movie_page(struct db *db, int64_t category_id, const struct db_page *p,
                   struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e);
int dom_series_page(struct db *db, int64_t category_id, const struct db_page *p,
                    struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e);
/* The episodes of one series (404 when it does not exist); season -1: all. */
int dom_episode_page(struct db *db, int64_t series_id, int64_t season, const struct db_page *p,
                     struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e);
int dom_epg_source_page(struct db *db, const struct db_page *p, struct dom_obj **out, size_t *n,
                        int64_t *total, struct dom_error *e);

/* ---- ordered parts and EPG ---------------------------------------------- */
/* Replaces a bouquet's whole item order in one transaction (items checked as
 * on create). */
int dom_bouquet_set_items(struct db *db, int64_t id, const struct db_item *items, size_t n,
                          struct dom_error *e);
/* Gives the listed categories sort_order 1..n in the given order (one
 * transaction; every id must exist, once). */
int dom_category_reorder(struct db *db, const int64_t *ids, size_t n, struct dom_error *e);
/* The same for bouquets (the order of bouquets in the panel and the CLI). */
int dom_bouquet_reorder(struct db *db, const int64_t *ids, size_t n, struct dom_error *e);
/* Decodes [{"kind":..,"id":..}, ...] (items) or [id, ...] (ids, into a
 * malloc'd array) bodies. */
int dom_items_from_json(const char *body, size_t len, struct dom_content_in *in,
                        struct dom_error *e);
int dom_ids_from_json(const char *body, size_t len, int64_t **ids, size_t *n, struct dom_error *e);
/* An episode of series_id (404 when absent or of another series). */
int dom_episode_check_parent(struct db *db, int64_t series_id, int64_t episode_id,
                             struct dom_error *e);
/* The manual EPG mapping: sets the stream's guide id ("" or NULL clears it,
 * 1..256 bytes of text otherwise). 404 for an unknown stream. */
int dom_epg_map(struct db *db, int64_t stream_id, const char *epg_channel_id, struct dom_error *e);
/* An EPG source's import status (last import, last attempt, result text,
 * channel and programme counts): its object. */
int dom_epg_source_status(struct db *db, int64_t id, struct dom_obj *out, struct dom_error *e);

/* ---- members by name (callers that build or read records by hand) -------- */
/* The canonical static kind ("live", "movie", "series") of s, or -EINVAL
 * with a field error on `field`. */
int dom_kind_parse(const char *field, const char *s, const char **kind, struct dom_error *e);
/* Gives member `field` of r a value (strings borrowed). -ENOENT: no such member. */
int dom_in_set_str(const struct dom_resource *r, struct dom_content_in *in, const char *field,
                   const char *s);
int dom_in_set_int(const struct dom_resource *r, struct dom_content_in *in, const char *field,
                   int64_t v);
/* Member `field` of o: "" / 0 when absent. */
const char *dom_obj_str(const struct dom_resource *r, const struct dom_obj *o, const char *field);
int64_t dom_obj_int(const struct dom_resource *r, const struct dom_obj *o, const char *field);

/* ---- addressing by name (the CLI names bouquets and categories) ---------- */
/* The ids (at most max, lowest first) of the rows of r whose name is exactly
 * name; for categories only those of kind unless kind is NULL (a name may
 * exist once per kind). 404 DOM_E_NOT_FOUND when there is none. */
int dom_content_find_by_name(struct db *db, const struct dom_resource *r, const char *kind,
                             const char *name, int64_t *ids, size_t max, size_t *n,
                             struct dom_error *e);
/* Every row matching eq, ordered by sort (nsort keys, then id), read page by
 * page; free with dom_obj_free_all. */
int dom_content_list_all(struct db *db, const struct dom_resource *r, const struct db_eq *eq,
                         size_t neq, const char *const *sort, size_t nsort, struct dom_obj **out,
                         size_t *n, struct dom_error *e);
/* Every category (kind NULL) or those of one kind (checked, 422 on "kind"),
 * by kind then the operator's order. */
int dom_category_list_all(struct db *db, const char *kind, struct dom_obj **out, size_t *n,
                          struct dom_error *e);
/* The id of the category (kind, name), created at the end of its kind's
 * order when missing (the category rules apply; field errors about the
 * name are reported on `field`). "" gives 0: no category. */
int dom_category_ensure(struct db *db, const char *kind, const char *name, const char *field,
                        int64_t *id, struct dom_error *e);
/* A bouquet given by category names: everything (all) or the categories
 * called so (every kind that has the name, unless kind narrows it; a
 * category once). Errors on name, all, kind, categories[i] (422
 * DOM_E_REFERENCE for an unknown name; nothing is written). *nitems: the
 * number of items. */
struct dom_bouquet_named {
    const char *name;
    bool all;
    const char *kind;
    const char *const *categories;
    size_t ncategories;
};
int dom_bouquet_create_named(struct db *db, const struct dom_bouquet_named *in, int64_t *id,
                             size_t *nitems, struct dom_error *e);
int dom_bouquet_delete_named(struct db *db, const char *name, struct dom_error *e);
/* Creates (id 0, *out_id set) or merge-updates a stream whose live category
 * is given by name: NULL leaves it, "" clears it, another name is the live
 * category so called, created when missing — one transaction. */
int dom_stream_save(struct db *db, int64_t id, struct dom_content_in *in, const char *category,
                    int64_t *out_id, struct dom_error *e);
/* A bouquet item for people: a category's "kind/name", a title's name, ""
 * for all or a row that no longer exists. */
void dom_item_label(struct db *db, const struct db_item *it, char *buf, size_t n);

#endif

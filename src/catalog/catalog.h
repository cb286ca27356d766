/*
 * catalog: an immutable, versioned in-memory snapshot of everything the client
 * API reads — lines (by username), categories, live streams, movies, series
 * with seasons and episodes, bouquets, and the EPG read model beside them
 * (catalog/guide.h) — so that client requests never touch SQLite.
 *
 * Lifecycle: catalog_load() builds a snapshot from the database (on a worker
 * thread); the server publishes it and drops the previous one. A snapshot's
 * data never changes after it is built. The only mutable parts are its caches
 * (resolved bouquet views and rendered responses, with their gzip variants),
 * which only the loop thread touches; they die with the snapshot, which is how
 * a database change invalidates every cached response at once. Cached bodies
 * together (identity and gzip) are bounded per snapshot in bytes and entries,
 * least recently used evicted first.
 *
 * Threading: catalog_load() may run on any thread with its own struct db;
struct cat_guide;
 * everything else is loop-thread only. Refcounted so that a response still
 * streaming from an old snapshot keeps it alive.
 */
#ifndef XTREAMD_CATALOG_CATALOG_H
#define XTREAMD_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/urlsign.h"
#include "core/refbuf.h"

struct tx_profile; /* media/profile.h */

struct db;

enum cat_kind { CAT_LIVE, CAT_MOVIE, CAT_SERIES, CAT_KIND_COUNT };

enum cat_output { CAT_OUT_TS = 1, CAT_OUT_M3U8 = 2 };

struct cat_category {
    int64_t id;
    enum cat_kind kind;
    const char *name;
};

/* Where a channel runs in a cluster (stream_placements; none: any node on demand). */
struct cat_placement {
    int64_t node_id;
    int64_t parent_node_id; /* 0: the stream's sources; else pull that node's origin URL */
    bool always;
};

struct cat_stream {
    int64_t id;
    const char *name;
    int64_t category_id; /* 0 = none */
    const char *stream_type;
    const char *epg_channel_id; /* NULL if unmapped */
    const char *logo;
    const char *custom_sid;
    const char *direct_source; /* "" unless the stream is a direct source */
    int archive_days;
    bool is_adult;
    int64_t added;
    /* Live engine (stream/live.c): ingest URLs in priority order, always-on. */
    const char *const *sources;
    size_t source_count;
    bool always_on;
    /* Transcode profile (a copy in the snapshot's arena), NULL: copied as it
     * comes. The engine reads it here, never from SQL on the loop. */
    const struct tx_profile *profile;
    /* Cluster placements by node id (docs/internals/live.md §Origin–edge). */
    const struct cat_placement *placements;
    size_t placement_count;
};

struct cat_movie {
    int64_t id;
    const char *title;
    const char *original_title;
    int year; /* 0 = unknown */
    int64_t category_id;
    const char *container;
    const char *poster, *backdrop, *plot, *cast, *director, *genre, *country;
    const char *release_date, *youtube_trailer, *mpaa_rating;
    const char *video_json, *audio_json; /* "" when not probed */
    const char *custom_sid;
    const char *direct_source;
    double rating;
    int64_t tmdb_id;
    int64_t duration_secs;
    int64_t bitrate_kbps;
    bool available;
    int64_t added;
    /* Delivery (api/vod.c): canonical file path or http(s) URL, the file's
     * size and mtime at the last scan, local artwork files ("" = none). */
    const char *source;
    int64_t file_size, file_mtime;
    const char *poster_file, *backdrop_file;
};

struct cat_episode {
    int64_t id;
    int season;
    int episode_num;
    const char *title;
    const char *container;
    const char *plot, *release_date, *image, *video_json, *audio_json;
    const char *custom_sid, *direct_source;
    double rating;
    int64_t tmdb_id;
    int64_t duration_secs;
    int64_t bitrate_kbps;
    int64_t added;
    const char *source; /* as cat_movie */
    int64_t file_size, file_mtime;
    const char *image_file;
};

struct cat_season {
    int number;
    const char *name, *overview, *air_date, *cover;
    int episode_count;
};

struct cat_series {
    int64_t id;
    const char *title;
    int year;
    int64_t category_id;
    const char *cover, *backdrop, *plot, *cast, *director, *genre, *release_date;
    const char *youtube_trailer;
    double rating;
    int64_t tmdb_id;
    int episode_run_time;
    int64_t added, last_modified;
    const char *cover_file, *backdrop_file; /* local artwork, "" = none */
    struct cat_season *seasons;             /* ascending by number; one per season with episodes */
    size_t season_count;
    struct cat_episode *episodes; /* ascending by (season, episode_num, id) */
    size_t episode_count;
};

struct cat_line {
    int64_t id;
    const char *username;
    const char *password;
    int max_connections;
    int64_t exp_date; /* 0 = never */
    bool is_trial, enabled, banned;
    unsigned outputs;            /* enum cat_output bits */
    const char *outputs_list[2]; /* allowed_output_formats in stored order */
    size_t outputs_count;
    const char *message;
    int64_t created_at;
    const char *view_key; /* bouquet ids in the line's order, "" for "sees everything" */
    /* Access rules (domain/access.h gives the stored forms; "" = no rule). */
    const char *allowed_ips; /* canonical ranges, comma-separated */
    const char *allowed_uas; /* globs, '\n'-separated */
    const char *denied_uas;
    const char *allowed_countries; /* "FR,DE" */
    const char *denied_countries;
    const char *first_ip; /* NULL: none recorded yet */
    bool lock_first_ip;
    int max_daily_ips; /* 0 = no cap */
    /* A MAG line (lines.is_mag): used only through the portal; the client
     * API and the stream URLs with its credentials refuse it
     * (DEVICE_NOT_ALLOWED, like XUI/XCVM's get.php). */
    bool is_mag;
};

/* A global access rule (kind as in domain/access.h) and a persisted ban. */
struct cat_access_rule {
    const char *kind, *value;
};
struct cat_ban {
    const char *ip; /* an address, or an IPv6 "/64" */
    int64_t until, strikes;
};

/* A MAC-bound device (MAG portal): the MAC in upper case with colons. */
struct cat_device {
    const char *mac;
    const char *username; /* its line's */
};

struct cat_view; /* what one set of bouquets can see; see view.c */

struct catalog {
    int refs;
    uint64_t version;
    int64_t built_at;
    int64_t built_at_ms; /* wall clock (ms) before the build's read transaction began:
                            a commit earlier than this is in the snapshot */
    struct cat_category *categories[CAT_KIND_COUNT];
    size_t category_count[CAT_KIND_COUNT];
    struct cat_stream *streams;
    size_t stream_count;
    struct cat_movie *movies;
    size_t movie_count;
    struct cat_series *series;
    size_t series_count;
    size_t line_count; /* lines: catalog_line(), catalog_line_by_id() */
    struct cat_access_rule *access_rules;
    size_t access_rule_count;
    struct cat_ban *bans; /* every row kept (expired ones carry strikes) */
    size_t ban_count;
    struct cat_device *devices; /* sorted by mac (strcmp) */
    size_t device_count;
    /* Signed stream URLs (settings signed_urls*, keys: core/urlsign.h). */
    struct cat_signing {
        bool enabled;             /* hand out signed URLs */
        bool bind_ip;             /* bind them to the client's /24 or /64 */
        int64_t ttl;              /* seconds */
        struct urlsign_keys keys; /* n == 0: no key (tokens refused) */
    } signing;
    /* internals (catalog.c): string arena, hash indexes, bouquet items, caches */
    struct catalog_priv *priv;
};

/* Builds a snapshot from the database, with its EPG read model. */
int catalog_load(struct db *db, uint64_t version, struct catalog **out);
/* Same, reusing prev's EPG read model when the guide did not change (prev may
 * be NULL; it must stay referenced by the caller during the call). */
int catalog_load_reuse(struct db *db, uint64_t version, const struct catalog *prev,
                       struct catalog **out);
/* The snapshot's EPG read model (catalog/guide.h); NULL if none was built. */
const struct cat_guide *catalog_guide(const struct catalog *c);
struct catalog *catalog_ref(struct catalog *c);
void catalog_unref(struct catalog *c);
/* Allocator settings that let freed snapshots go back to the kernel (RSS stays
 * flat over rebuilds); serve calls it once, before the first snapshot. */
void catalog_memory_setup(void);

const struct cat_line *catalog_line(const struct catalog *c, const char *username);
const struct cat_line *catalog_line_by_id(const struct catalog *c, int64_t id);
/* The line a device MAC ("00:1A:79:..", normalised) is bound to, or NULL. */
const struct cat_line *catalog_device_line(const struct catalog *c, const char *mac);
const struct cat_category *catalog_category(const struct catalog *c, enum cat_kind kind,
                                            int64_t id);
const struct cat_stream *catalog_stream(const struct catalog *c, int64_t id);
const struct cat_movie *catalog_movie(const struct catalog *c, int64_t id);
const struct cat_series *catalog_series(const struct catalog *c, int64_t id);
/* An episode and the series it belongs to. */
const struct cat_episode *catalog_episode(const struct catalog *c, int64_t id,
                                          const struct cat_series **series);

/* The view of a line's bouquets (built on first use, cached in the snapshot). */
struct cat_view *catalog_view(struct catalog *c, const struct cat_line *line);
bool cat_view_has_stream(const struct cat_view *v, const struct catalog *c, size_t index);
bool cat_view_has_movie(const struct cat_view *v, const struct catalog *c, size_t index);
bool cat_view_has_series(const struct cat_view *v, const struct catalog *c, size_t index);
bool cat_view_has_category(const struct cat_view *v, enum cat_kind kind, size_t index);
/* The view's items of a kind in output order (xtream-api.md §3.4: the line's
 * bouquets in its order, each bouquet's items in its order, each item once;
 * catalogue order for a view that sees everything): for j < count,
 * cat_view_item() is the index into c->streams / movies / series. */
size_t cat_view_count(const struct cat_view *v, const struct catalog *c, enum cat_kind kind);
size_t cat_view_item(const struct cat_view *v, enum cat_kind kind, size_t j);

/* Response cache, scoped to a view or to the whole snapshot, keyed by the
 * full key string (compared whole: the hash only picks a bucket). Bounded in
 * entries and bytes (identity and gzip bodies together); a store past a bound
 * evicts the least recently used entries (counted), and a body larger than
 * the whole byte bound is refused (counted). Lookups return a new reference
 * or NULL and count as a use. Stores take their own reference. */
struct refbuf *cat_view_cache_get(struct cat_view *v, const char *key);
void cat_view_cache_put(struct cat_view *v, const char *key, struct refbuf *rb);
struct refbuf *catalog_cache_get(struct catalog *c, const char *key);
void catalog_cache_put(struct catalog *c, const char *key, struct refbuf *rb);
/* When `to` holds the same catalogue as `from` — equal content hashes of
 * every row but the lines', and the same guide — `to` adopts from's
 * view-scoped responses (JSON lists; identity and gzip bodies shared, LRU
 * order kept), so that a rebuild for a line change does not make every
 * list render again. Snapshot-wide entries (playlists, which embed a line's
 * credentials) are not carried. Returns the number of entries adopted.
 * Loop thread. */
size_t catalog_adopt_caches(struct catalog *to, struct catalog *from);

/* The gzip variant of a cached response, kept in the same entry as the
 * identity body (so it dies with the snapshot too) and counted against the
 * same byte bound. The caller compresses; the cache only stores.
 *  get: 0 and *gz = a new reference, or *gz = NULL when the variant was
 *       declined (serve identity); -EAGAIN: entry present, nothing decided
 *       yet (compress, then put); -ENOENT: no entry under key.
 *  put: attaches gz (NULL declines: "not worth it") — decided once, for good.
 *       -ENOSPC past the byte bound (recorded as declined), -EEXIST when
 *       already decided, -ENOENT without an entry. */
int cat_view_cache_get_gzip(struct cat_view *v, const char *key, struct refbuf **gz);
int cat_view_cache_put_gzip(struct cat_view *v, const char *key, struct refbuf *gz);

/* For /metrics: the snapshot's cache now, and process-wide counters. */
struct catalog_cache_stats {
    size_t entries, bytes, max_entries, max_bytes;
    uint64_t evictions, refused;
    uint64_t adopted; /* entries carried into a rebuilt snapshot (catalog_adopt_caches) */
    uint64_t version; /* the snapshot's version (0: none) */
};
void catalog_cache_stats(const struct catalog *c, struct catalog_cache_stats *out);
int catalog_cache_get_gzip(struct catalog *c, const char *key, struct refbuf **gz);
int catalog_cache_put_gzip(struct catalog *c, const char *key, struct refbuf *gz);

#endif

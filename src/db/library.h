/*
 * db/library: the SQL of library scans (`xtreamd vod scan`, `series scan`):
 * looking up what a previous scan stored for a file, inserting or updating
 * movies, series (keyed by their canonical folder) and episodes with file
 * facts, NFO metadata and probe results, and marking the files a scan did
 * not find as unavailable (never deleting them).
 *
 * Text inputs are borrowed for the call; NULL is stored as ''. Callers wrap
 * a batch in db_begin()/db_commit(). Statements are cached on the handle.
 * Threading: one thread at a time, like the struct db it wraps.
 */
#ifndef XTREAMD_DB_LIBRARY_H
#define XTREAMD_DB_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_library;

int db_library_open(struct db *db, struct db_library **out);
void db_library_close(struct db_library *l);

enum db_library_kind { DB_LIBRARY_MOVIE, DB_LIBRARY_EPISODE };

struct db_library_file {
    int64_t id;
    int64_t size, mtime;
    bool available;
};

/* What is stored for a source path; -ENOENT if nothing. */
int db_library_get(struct db_library *l, enum db_library_kind k, const char *source,
                   struct db_library_file *out);
/* Marks an unchanged file available again. */
int db_library_touch(struct db_library *l, enum db_library_kind k, int64_t id);

/* Everything a scan knows about one file. */
struct db_library_item {
    const char *source, *root, *container;
    int64_t size, mtime;
    const char *title, *original_title;
    int year;
    int64_t category_id;                     /* movies */
    int64_t series_id;                       /* episodes */
    int season, episode_num;                 /* episodes */
    const char *poster_file, *backdrop_file; /* image_file for episodes: poster_file */
    const char *plot, *cast, *director, *genre, *country, *release_date, *trailer, *mpaa;
    double rating;
    int64_t tmdb_id;
    int64_t duration_secs, bitrate_kbps;
    const char *video_json, *audio_json, *languages;
};

/* Insert, or update the row with the same source (available again). */
int db_library_upsert(struct db_library *l, enum db_library_kind k,
                      const struct db_library_item *it, int64_t *id);

struct db_library_series {
    const char *folder; /* canonical show folder: the key */
    const char *title;
    int year;
    int64_t category_id;
    const char *cover_file, *backdrop_file;
    const char *plot, *cast, *director, *genre, *release_date, *trailer;
    double rating;
    int64_t tmdb_id;
    int episode_run_time;
};

int db_library_series_upsert(struct db_library *l, const struct db_library_series *s, int64_t *id);

/* Marks unavailable every available row of kind under root whose source is
 * not in seen (sorted with strcmp). *marked gets the count. */
int db_library_mark_missing(struct db_library *l, enum db_library_kind k, const char *root,
                            const char *const *seen, size_t nseen, size_t *marked);

/* Every movie and episode source that starts with dir + "/" (malloc'd list). */
int db_library_sources_under(struct db_library *l, const char *dir, char ***out, size_t *n);
/* Stores file facts and probe results for the movie or episode with source. */
int db_library_set_probe(struct db_library *l, const char *source, int64_t size, int64_t mtime,
                         int64_t duration_secs, int64_t bitrate_kbps, const char *video_json,
                         const char *audio_json, const char *languages);

/* ---- library roots ---------------------------------------------------------- */

/* Registers a canonical folder as a library root (idempotent). 0 or -errno. */
int db_library_root_add(struct db *db, const char *path);
/* -ENOENT when it was not a root. */
int db_library_root_remove(struct db *db, const char *path);
/* Every root, sorted; *out is a malloc'd array of malloc'd strings (free
 * with db_library_roots_free). */
int db_library_roots(struct db *db, char ***out, size_t *n);
void db_library_roots_free(char **roots, size_t n);

#endif

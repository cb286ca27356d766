#include "db/library.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/log.h"
#include "db/db_priv.h"

enum {
    Q_MOVIE_GET,
    Q_EPISODE_GET,
    Q_MOVIE_TOUCH,
    Q_EPISODE_TOUCH,
    Q_MOVIE_UPSERT,
    Q_EPISODE_UPSERT,
    Q_SERIES_FIND,
    Q_SERIES_INSERT,
    Q_SERIES_UPDATE,
    Q_SEASON_ENSURE,
    Q_MOVIE_UNDER,
    Q_EPISODE_UNDER,
    Q_MOVIE_MISSING,
    Q_EPISODE_MISSING,
    Q_SOURCES_UNDER,
    Q_MOVIE_PROBE,
    Q_EPISODE_PROBE,
    Q_COUNT
};

/* Upserts bind: ?1 source ?2 root ?3 container ?4 size ?5 mtime ?6 title
 * ?7 original_title ?8 year ?9 category/series ?10 season ?11 episode ?12 poster_file
 * ?13 backdrop_file ?14 plot ?15 cast ?16 director ?17 genre ?18 country
 * ?19 release_date ?20 trailer ?21 mpaa ?22 rating ?23 tmdb_id ?24 duration
 * ?25 bitrate ?26 video_json ?27 audio_json ?28 languages ?29 now */
static const char *const sql_text[Q_COUNT] = {
    [Q_MOVIE_GET] = "SELECT id, file_size, file_mtime, available FROM movies WHERE source = ?1",
    [Q_EPISODE_GET] = "SELECT id, file_size, file_mtime, available FROM episodes WHERE source = ?1",
    [Q_MOVIE_TOUCH] = "UPDATE movies SET available = 1 WHERE id = ?1 AND available = 0",
    [Q_EPISODE_TOUCH] = "UPDATE episodes SET available = 1 WHERE id = ?1 AND available = 0",
    [Q_MOVIE_UPSERT] =
        "INSERT INTO movies (source, library_root, container, file_size, file_mtime, title,"
        " original_title, year, category_id, poster_file, backdrop_file, plot, cast_names,"
        " director, genre, country, release_date, youtube_trailer, mpaa_rating, rating, tmdb_id,"
        " duration_secs, bitrate_kbps, video_json, audio_json, languages, available, sort_order,"
        " added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, 0), NULLIF(?9, 0), ?12, ?13, ?14,"
        " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, 1,"
        " (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM movies), ?29)"
        " ON CONFLICT (source) DO UPDATE SET library_root = ?2, container = ?3, file_size = ?4,"
        " file_mtime = ?5, title = ?6, original_title = ?7, year = NULLIF(?8, 0),"
        " category_id = COALESCE(NULLIF(?9, 0), movies.category_id), poster_file = ?12,"
        " backdrop_file = ?13, plot = ?14, cast_names = ?15, director = ?16, genre = ?17,"
        " country = ?18, release_date = ?19, youtube_trailer = ?20, mpaa_rating = ?21,"
        " rating = ?22, tmdb_id = ?23, duration_secs = ?24, bitrate_kbps = ?25,"
        " video_json = ?26, audio_json = ?27, languages = ?28, available = 1",
    [Q_EPISODE_UPSERT] =
        "INSERT INTO episodes (source, library_root, container, file_size, file_mtime, title,"
        " series_id, season_number, episode_num, image_file, plot, release_date, rating,"
        " tmdb_id, duration_secs, bitrate_kbps, video_json, audio_json, languages, available,"
        " added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?9, ?10, ?11, ?12, ?14, ?19, ?22, ?23, ?24,"
        " ?25, ?26, ?27, ?28, 1, ?29)"
        " ON CONFLICT (source) DO UPDATE SET library_root = ?2, container = ?3, file_size = ?4,"
        " file_mtime = ?5, title = ?6, series_id = ?9, season_number = ?10, episode_num = ?11,"
        " image_file = ?12, plot = ?14, release_date = ?19, rating = ?22, tmdb_id = ?23,"
        " duration_secs = ?24, bitrate_kbps = ?25, video_json = ?26, audio_json = ?27,"
        " languages = ?28, available = 1",
    [Q_SERIES_FIND] = "SELECT id FROM series WHERE folder = ?1 ORDER BY id LIMIT 1",
    [Q_SERIES_INSERT] =
        "INSERT INTO series (folder, title, year, category_id, cover_file, backdrop_file, plot,"
        " cast_names, director, genre, release_date, youtube_trailer, rating, tmdb_id,"
        " episode_run_time, sort_order, added, last_modified) VALUES (?1, ?2, NULLIF(?3, 0),"
        " NULLIF(?4, 0), ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
        " (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM series), ?16, ?16)",
    [Q_SERIES_UPDATE] =
        "UPDATE series SET title = ?2, year = NULLIF(?3, 0),"
        " category_id = COALESCE(NULLIF(?4, 0), category_id), cover_file = ?5,"
        " backdrop_file = ?6, plot = ?7, cast_names = ?8, director = ?9, genre = ?10,"
        " release_date = ?11, youtube_trailer = ?12, rating = ?13, tmdb_id = ?14,"
        " episode_run_time = ?15, last_modified = ?16 WHERE id = ?17",
    [Q_SEASON_ENSURE] = "INSERT INTO seasons (series_id, season_number) VALUES (?1, ?2)"
                        " ON CONFLICT (series_id, season_number) DO NOTHING",
    [Q_MOVIE_UNDER] = "SELECT id, source FROM movies WHERE library_root = ?1 AND available = 1",
    [Q_EPISODE_UNDER] = "SELECT id, source FROM episodes WHERE library_root = ?1 AND available = 1",
    [Q_MOVIE_MISSING] = "UPDATE movies SET available = 0 WHERE id = ?1",
    [Q_EPISODE_MISSING] = "UPDATE episodes SET available = 0 WHERE id = ?1",
    [Q_SOURCES_UNDER] =
        "SELECT source FROM movies WHERE substr(source, 1, length(?1)) = ?1"
        " UNION SELECT source FROM episodes WHERE substr(source, 1, length(?1)) = ?1"
        " ORDER BY 1",
    [Q_MOVIE_PROBE] = "UPDATE movies SET file_size = ?2, file_mtime = ?3, duration_secs = ?4,"
                      " bitrate_kbps = ?5, video_json = ?6, audio_json = ?7, languages = ?8"
                      " WHERE source = ?1",
    [Q_EPISODE_PROBE] = "UPDATE episodes SET file_size = ?2, file_mtime = ?3, duration_secs = ?4,"
                        " bitrate_kbps = ?5, video_json = ?6, audio_json = ?7, languages = ?8"
                        " WHERE source = ?1",
};

struct db_library {
    struct db *db;
    struct db_stmt *st[Q_COUNT];
};

int db_library_open(struct db *db, struct db_library **out)
{
    struct db_library *l = calloc(1, sizeof(*l));
    *out = l;
    if (!l)
        return -ENOMEM;
    l->db = db;
    return 0;
}

void db_library_close(struct db_library *l)
{
    if (!l)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        db_finalize(l->st[i]);
    free(l);
}

static struct db_stmt *stmt(struct db_library *l, int q)
{
    return db_stmt_cached(l->db, &l->st[q], sql_text[q]);
}

static int run(struct db_library *l, struct db_stmt *st)
{
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(l->db, rc, "library");
    db_reset(st);
    return ret;
}

static void text(struct db_stmt *st, int i, const char *s)
{
    db_bind_text(st, i, s ? s : "");
}

int db_library_get(struct db_library *l, enum db_library_kind k, const char *source,
                   struct db_library_file *out)
{
    struct db_stmt *st = stmt(l, k == DB_LIBRARY_MOVIE ? Q_MOVIE_GET : Q_EPISODE_GET);
    if (!st)
        return -EIO;
    text(st, 1, source);
    int rc = db_step(st), ret = 0;
    if (rc == DB_ROW) {
        out->id = db_col_int64(st, 0);
        out->size = db_col_int64(st, 1);
        out->mtime = db_col_int64(st, 2);
        out->available = db_col_int(st, 3) != 0;
    } else {
        ret = rc == DB_DONE ? -ENOENT : db_step_error(l->db, rc, "library");
    }
    db_reset(st);
    return ret;
}

int db_library_touch(struct db_library *l, enum db_library_kind k, int64_t id)
{
    struct db_stmt *st = stmt(l, k == DB_LIBRARY_MOVIE ? Q_MOVIE_TOUCH : Q_EPISODE_TOUCH);
    if (!st)
        return -EIO;
    db_bind_int64(st, 1, id);
    return run(l, st);
}

int db_library_upsert(struct db_library *l, enum db_library_kind k,
                      const struct db_library_item *it, int64_t *id)
{
    if (k == DB_LIBRARY_EPISODE) {
        struct db_stmt *se = stmt(l, Q_SEASON_ENSURE);
        if (!se)
            return -EIO;
        db_bind_int64(se, 1, it->series_id);
        db_bind_int(se, 2, it->season);
        int rc = run(l, se);
        if (rc)
            return rc;
    }
    struct db_stmt *st = stmt(l, k == DB_LIBRARY_MOVIE ? Q_MOVIE_UPSERT : Q_EPISODE_UPSERT);
    if (!st)
        return -EIO;
    text(st, 1, it->source);
    text(st, 2, it->root);
    text(st, 3, it->container);
    db_bind_int64(st, 4, it->size);
    db_bind_int64(st, 5, it->mtime);
    text(st, 6, it->title);
    text(st, 7, it->original_title);
    db_bind_int(st, 8, it->year);
    db_bind_int64(st, 9, k == DB_LIBRARY_MOVIE ? it->category_id : it->series_id);
    db_bind_int(st, 10, it->season);
    db_bind_int(st, 11, it->episode_num);
    text(st, 12, it->poster_file);
    text(st, 13, it->backdrop_file);
    text(st, 14, it->plot);
    text(st, 15, it->cast);
    text(st, 16, it->director);
    text(st, 17, it->genre);
    text(st, 18, it->country);
    text(st, 19, it->release_date);
    text(st, 20, it->trailer);
    text(st, 21, it->mpaa);
    db_bind_double(st, 22, it->rating);
    db_bind_int64(st, 23, it->tmdb_id);
    db_bind_int64(st, 24, it->duration_secs);
    db_bind_int64(st, 25, it->bitrate_kbps);
    text(st, 26, it->video_json);
    text(st, 27, it->audio_json);
    text(st, 28, it->languages);
    db_bind_int64(st, 29, db_now());
    int rc = run(l, st);
    if (rc)
        return rc;
    struct db_library_file f;
    rc = db_library_get(l, k, it->source, &f);
    if (rc == 0)
        *id = f.id;
    return rc;
}

int db_library_series_upsert(struct db_library *l, const struct db_library_series *s, int64_t *id)
{
    struct db_stmt *st = stmt(l, Q_SERIES_FIND);
    if (!st)
        return -EIO;
    text(st, 1, s->folder);
    int rc = db_step(st);
    int64_t found = rc == DB_ROW ? db_col_int64(st, 0) : 0;
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return db_step_error(l->db, rc, "library");
    st = stmt(l, found ? Q_SERIES_UPDATE : Q_SERIES_INSERT);
    if (!st)
        return -EIO;
    text(st, 1, s->folder);
    text(st, 2, s->title);
    db_bind_int(st, 3, s->year);
    db_bind_int64(st, 4, s->category_id);
    text(st, 5, s->cover_file);
    text(st, 6, s->backdrop_file);
    text(st, 7, s->plot);
    text(st, 8, s->cast);
    text(st, 9, s->director);
    text(st, 10, s->genre);
    text(st, 11, s->release_date);
    text(st, 12, s->trailer);
    db_bind_double(st, 13, s->rating);
    db_bind_int64(st, 14, s->tmdb_id);
    db_bind_int(st, 15, s->episode_run_time);
    db_bind_int64(st, 16, db_now());
    if (found)
        db_bind_int64(st, 17, found);
    rc = run(l, st);
    if (rc)
        return rc;
    *id = found ? found : db_last_insert_id(l->db);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int db_library_mark_missing(struct db_library *l, enum db_library_kind k, const char *root,
                            const char *const *seen, size_t nseen, size_t *marked)
{
    *marked = 0;
    struct db_stmt *st = stmt(l, k == DB_LIBRARY_MOVIE ? Q_MOVIE_UNDER : Q_EPISODE_UNDER);
    if (!st)
        return -EIO;
    text(st, 1, root);
    size_t cap = 0, n = 0;
    int64_t *gone = NULL;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *src = db_col_text(st, 1);
        if (nseen && bsearch(&src, seen, nseen, sizeof(*seen), cmp_str))
            continue;
        int64_t *g = array_reserve(gone, &cap, n + 1, sizeof(*g), 64);
        if (!g) {
            free(gone);
            db_reset(st);
            return -ENOMEM;
        }
        gone = g;
        gone[n++] = db_col_int64(st, 0);
    }
    db_reset(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(l->db, rc, "library");
    for (size_t i = 0; ret == 0 && i < n; i++) {
        struct db_stmt *up = stmt(l, k == DB_LIBRARY_MOVIE ? Q_MOVIE_MISSING : Q_EPISODE_MISSING);
        if (!up) {
            ret = -EIO;
            break;
        }
        db_bind_int64(up, 1, gone[i]);
        ret = run(l, up);
    }
    if (ret == 0)
        *marked = n;
    free(gone);
    return ret;
}

int db_library_sources_under(struct db_library *l, const char *dir, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char prefix[4200];
    if ((size_t)snprintf(prefix, sizeof(prefix), "%s/", dir) >= sizeof(prefix))
        return -ENAMETOOLONG;
    struct db_stmt *st = stmt(l, Q_SOURCES_UNDER);
    if (!st)
        return -EIO;
    text(st, 1, prefix);
    size_t cap = 0;
    char **list = NULL;
    int rc, ret = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        char **g = array_reserve(list, &cap, *n + 1, sizeof(*g), 16);
        if (!g) {
            ret = -ENOMEM;
            break;
        }
        list = g;
        list[*n] = strdup(db_col_text(st, 0));
        if (!list[*n]) {
            ret = -ENOMEM;
            break;
        }
        (*n)++;
    }
    if (!ret && rc != DB_DONE)
        ret = db_step_error(l->db, rc, "library");
    db_reset(st);
    *out = list;
    return ret;
}

int db_library_set_probe(struct db_library *l, const char *source, int64_t size, int64_t mtime,
                         int64_t duration_secs, int64_t bitrate_kbps, const char *video_json,
                         const char *audio_json, const char *languages)
{
    for (int q = Q_MOVIE_PROBE; q <= Q_EPISODE_PROBE; q++) {
        struct db_stmt *st = stmt(l, q);
        if (!st)
            return -EIO;
        text(st, 1, source);
        db_bind_int64(st, 2, size);
        db_bind_int64(st, 3, mtime);
        db_bind_int64(st, 4, duration_secs);
        db_bind_int64(st, 5, bitrate_kbps);
        text(st, 6, video_json);
        text(st, 7, audio_json);
        text(st, 8, languages);
        int rc = run(l, st);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- library roots ---------------------------------------------------------- */

int db_library_root_add(struct db *db, const char *path)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO library_roots (path, added) VALUES (?1, ?2)"
                   " ON CONFLICT (path) DO NOTHING",
                   &st))
        return -EIO;
    db_bind_text(st, 1, path);
    db_bind_int64(st, 2, db_now());
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "library root");
    db_finalize(st);
    return ret;
}

int db_library_root_remove(struct db *db, const char *path)
{
    return db_delete_where_text(db, "DELETE FROM library_roots WHERE path = ?1", path);
}

void db_library_roots_free(char **roots, size_t n)
{
    for (size_t i = 0; roots && i < n; i++)
        free(roots[i]);
    free(roots);
}

int db_library_roots(struct db *db, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct db_stmt *st;
    if (db_prepare(db, "SELECT path FROM library_roots ORDER BY path", &st))
        return -EIO;
    char **v = NULL;
    size_t len = 0, cap = 0;
    int rc, ret = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **nv = realloc(v, ncap * sizeof(*v));
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        if (!(v[len] = db_col_strdup(st, 0))) {
            ret = -ENOMEM;
            break;
        }
        len++;
    }
    if (ret == 0 && rc != DB_DONE)
        ret = db_step_error(db, rc, "library roots");
    db_finalize(st);
    if (ret) {
        db_library_roots_free(v, len);
        return ret;
    }
    *out = v;
    *n = len;
    return 0;
}

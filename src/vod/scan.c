/*
 * vod/scan: see scan.h. Three phases: walk (collect canonical candidate
 * paths), probe (workers take jobs by an atomic index; results stay in the
 * job), write (main thread, one transaction).
 */
#include "vod/scan.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "db/library.h"
#include "vod/names.h"
#include "vod/nfo.h"
#include "vod/probe.h"

struct job {
    char *path;       /* canonical */
    char *show;       /* series: canonical show folder */
    char *season_dir; /* series: name of the folder between show and file, or NULL */
    int64_t size, mtime;
    int64_t existing_id; /* > 0 when the database has this source */
    bool probe;          /* new or changed */
    int rc;
    struct vod_probe pr;
    char err[256];
};

struct scan {
    const struct vod_scan_opts *o;
    char root[PATH_MAX];
    size_t root_len;
    struct job *jobs;
    size_t njobs, cap;
    atomic_size_t next, done, errors;
    struct vod_scan_stats *st;
    int last_percent; /* of the last on_progress call */
};

static void report(struct scan *s, const char *path, const char *why)
{
    if (s->o->report)
        fprintf(s->o->report, "%s: %s\n", path, why);
}

static bool under_root(const struct scan *s, const char *real)
{
    return strncmp(real, s->root, s->root_len) == 0 &&
           (real[s->root_len] == '/' || (s->root_len == 1 && s->root[0] == '/'));
}

static int add_job(struct scan *s, const char *real, const struct stat *st)
{
    if (s->njobs == s->cap) {
        if (s->cap >= VOD_SCAN_MAX_FILES)
            return -E2BIG;
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct job *g = realloc(s->jobs, cap * sizeof(*g));
        if (!g)
            return -ENOMEM;
        s->jobs = g;
        s->cap = cap;
    }
    struct job *j = &s->jobs[s->njobs];
    memset(j, 0, sizeof(*j));
    j->path = strdup(real);
    if (!j->path)
        return -ENOMEM;
    j->size = (int64_t)st->st_size;
    j->mtime = (int64_t)st->st_mtime;
    if (s->o->series) {
        /* root/Show[/Season]/file: the show is the first component under root */
        const char *rel = real + s->root_len + 1;
        const char *slash = strchr(rel, '/');
        if (!slash) {
            report(s, real, "not inside a show folder (expected ROOT/Show/[Season N/]file)");
            free(j->path);
            return 0;
        }
        j->show = strndup(real, (size_t)(slash - real));
        const char *last = strrchr(real, '/');
        if (last > slash) { /* there is a folder between show and file */
            const char *prev = last - 1;
            while (prev > slash && *prev != '/')
                prev--;
            j->season_dir = strndup(prev + 1, (size_t)(last - prev - 1));
        }
        if (!j->show) {
            free(j->path);
            return -ENOMEM;
        }
    }
    s->njobs++;
    return 0;
}

static int walk(struct scan *s, const char *dir, int depth)
{
    if (depth > VOD_SCAN_MAX_DEPTH) {
        report(s, dir, "too deep, skipped");
        return 0;
    }
    DIR *d = opendir(dir);
    if (!d) {
        report(s, dir, strerror(errno));
        s->st->failed++;
        return 0;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files */
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path)) {
            report(s, dir, "path too long, entry skipped");
            continue;
        }
        struct stat lst;
        if (lstat(path, &lst) != 0)
            continue;
        if (S_ISDIR(lst.st_mode)) {
            rc = walk(s, path, depth + 1);
            continue;
        }
        if (!vod_is_video_name(de->d_name))
            continue;
        char real[PATH_MAX];
        struct stat st;
        if (!realpath(path, real) || stat(real, &st) != 0) {
            report(s, path, strerror(errno));
            s->st->failed++;
            continue;
        }
        if (!under_root(s, real)) {
            report(s, path, "links outside the library root, skipped");
            s->st->failed++;
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        if (access(real, R_OK) != 0) {
            report(s, real, strerror(errno));
            s->st->failed++;
            continue;
        }
        rc = add_job(s, real, &st);
    }
    closedir(d);
    return rc;
}

static void *worker(void *arg)
{
    struct scan *s = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&s->next, 1);
        if (i >= s->njobs)
            break;
        struct job *j = &s->jobs[i];
        if (j->probe) {
            j->rc = vod_probe_file(j->path, &j->pr, j->err, sizeof(j->err));
            if (j->rc)
                atomic_fetch_add(&s->errors, 1);
        }
        atomic_fetch_add(&s->done, 1);
    }
    return NULL;
}

/* The job runner's callback, from the scanning thread only. */
static void notify(struct scan *s, int percent, const char *stage)
{
    if (s->o->on_progress)
        s->o->on_progress(s->o->progress_ctx, percent, stage);
}

static void progress(struct scan *s, bool final)
{
    if (s->o->on_progress && s->njobs) {
        /* Probing is 5..90 % of a scan. */
        int pct = 5 + (int)(atomic_load(&s->done) * 85 / s->njobs);
        if (pct != s->last_percent)
            notify(s, pct, "probing");
        s->last_percent = pct;
    }
    if (!s->o->progress)
        return;
    size_t done = atomic_load(&s->done), errs = atomic_load(&s->errors) + s->st->failed;
    bool tty = isatty(2);
    if (!tty && !final)
        return; /* logs get the final line only */
    fprintf(stderr, "%sscan: %zu/%zu files, %zu errors%s", tty ? "\r" : "", done, s->njobs, errs,
            final ? "\n" : "");
    fflush(stderr);
}

static void run_probes(struct scan *s)
{
    int jobs = s->o->jobs;
    if (jobs <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = n > 0 ? (int)n : 2;
    }
    if (jobs > VOD_SCAN_MAX_JOBS)
        jobs = VOD_SCAN_MAX_JOBS;
    pthread_t th[VOD_SCAN_MAX_JOBS];
    int started = 0;
    for (int i = 0; i < jobs; i++)
        if (pthread_create(&th[i], NULL, worker, s) == 0)
            started++;
    if (started == 0)
        worker(s);
    while (atomic_load(&s->done) < s->njobs) {
        progress(s, false);
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    progress(s, true);
}

/* First existing sidecar among dir/<stem><suffix> (stem may be NULL: the
 * folder-level name), canonical and inside the root; "" when none. */
static void find_art(const struct scan *s, const char *dir, const char *stem,
                     const char *const *names, char *out, size_t outlen)
{
    static const char *const exts[] = {"jpg", "jpeg", "png", "webp"};
    out[0] = '\0';
    for (size_t i = 0; names[i]; i++) {
        for (size_t e = 0; e < sizeof(exts) / sizeof(exts[0]); e++) {
            char p[PATH_MAX], real[PATH_MAX];
            int n = stem ? snprintf(p, sizeof(p), "%s/%s%s.%s", dir, stem, names[i], exts[e])
                         : snprintf(p, sizeof(p), "%s/%s.%s", dir, names[i], exts[e]);
            if (n < 0 || (size_t)n >= sizeof(p))
                continue;
            struct stat st;
            if (realpath(p, real) && under_root(s, real) && stat(real, &st) == 0 &&
                S_ISREG(st.st_mode)) {
                snprintf(out, outlen, "%s", real);
                return;
            }
        }
    }
}

static bool load_nfo(const char *path, struct vod_nfo *nfo)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && vod_nfo_load(path, nfo) == 0;
}

/* dir (copy of the file's folder) and stem (file name without extension). */
static void split_path(const char *path, char *dir, size_t dirlen, char *stem, size_t stemlen,
                       const char **base)
{
    const char *slash = strrchr(path, '/');
    snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
    *base = slash + 1;
    const char *dot = strrchr(*base, '.');
    snprintf(stem, stemlen, "%.*s", (int)(dot ? dot - *base : (long)strlen(*base)), *base);
}

static void fill_probe(struct db_library_item *it, const struct job *j)
{
    it->duration_secs = (int64_t)(j->pr.duration + 0.5);
    it->bitrate_kbps = j->pr.bitrate_kbps;
    it->video_json = j->pr.video_json;
    it->audio_json = j->pr.audio_json;
    it->languages = j->pr.languages;
}

static void fill_nfo(struct db_library_item *it, const struct vod_nfo *n)
{
    if (n->title[0])
        it->title = n->title;
    it->original_title = n->original_title;
    if (n->year)
        it->year = n->year;
    it->plot = n->plot;
    it->cast = n->cast;
    it->director = n->director;
    it->genre = n->genre;
    it->country = n->country;
    it->release_date = n->premiered;
    it->trailer = n->trailer;
    it->mpaa = n->mpaa;
    it->rating = n->rating;
    it->tmdb_id = n->tmdb_id;
}

static int write_movie(struct scan *s, struct db_library *l, struct job *j)
{
    char dir[PATH_MAX], stem[NAME_MAX + 1], p[PATH_MAX + NAME_MAX + 16], ext[16];
    char poster[PATH_MAX], backdrop[PATH_MAX];
    const char *base;
    split_path(j->path, dir, sizeof(dir), stem, sizeof(stem), &base);
    bool own_dir =
        strcmp(dir, s->root) != 0; /* folder-level sidecars only in a movie's own folder */
    struct vod_movie_name mn;
    if (vod_parse_movie_name(base, &mn) != 0)
        snprintf(mn.title, sizeof(mn.title), "%s", stem);
    struct vod_nfo nfo;
    memset(&nfo, 0, sizeof(nfo));
    snprintf(p, sizeof(p), "%s/%s.nfo", dir, stem);
    bool have_nfo = load_nfo(p, &nfo);
    if (!have_nfo && own_dir) {
        snprintf(p, sizeof(p), "%s/movie.nfo", dir);
        have_nfo = load_nfo(p, &nfo);
    }
    static const char *const poster_own[] = {"-poster", "-cover", NULL};
    static const char *const poster_dir[] = {"poster", "folder", "cover", NULL};
    static const char *const fanart_own[] = {"-fanart", "-backdrop", NULL};
    static const char *const fanart_dir[] = {"fanart", "backdrop", NULL};
    find_art(s, dir, stem, poster_own, poster, sizeof(poster));
    if (!poster[0] && own_dir)
        find_art(s, dir, NULL, poster_dir, poster, sizeof(poster));
    find_art(s, dir, stem, fanart_own, backdrop, sizeof(backdrop));
    if (!backdrop[0] && own_dir)
        find_art(s, dir, NULL, fanart_dir, backdrop, sizeof(backdrop));
    vod_name_ext(base, ext, sizeof(ext));
    struct db_library_item it = {
        .source = j->path,
        .root = s->root,
        .container = ext,
        .size = j->size,
        .mtime = j->mtime,
        .title = mn.title,
        .year = mn.year,
        .category_id = s->o->category_id,
        .poster_file = poster,
        .backdrop_file = backdrop,
    };
    if (have_nfo)
        fill_nfo(&it, &nfo);
    fill_probe(&it, j);
    int64_t id;
    return db_library_upsert(l, DB_LIBRARY_MOVIE, &it, &id);
}

/* Creates or refreshes the series of a show folder. */
static int write_show(struct scan *s, struct db_library *l, const char *show, int64_t *id)
{
    struct vod_movie_name sn;
    const char *name = strrchr(show, '/') + 1;
    if (vod_parse_movie_name(name, &sn) != 0) /* "Show (2019)" */
        snprintf(sn.title, sizeof(sn.title), "%s", name);
    char p[PATH_MAX + NAME_MAX + 16], cover[PATH_MAX], backdrop[PATH_MAX];
    struct vod_nfo nfo;
    memset(&nfo, 0, sizeof(nfo));
    snprintf(p, sizeof(p), "%s/tvshow.nfo", show);
    bool have_nfo = load_nfo(p, &nfo);
    static const char *const poster_dir[] = {"poster", "folder", "cover", NULL};
    static const char *const fanart_dir[] = {"fanart", "backdrop", NULL};
    find_art(s, show, NULL, poster_dir, cover, sizeof(cover));
    find_art(s, show, NULL, fanart_dir, backdrop, sizeof(backdrop));
    struct db_library_series in = {
        .folder = show,
        .title = have_nfo && nfo.title[0] ? nfo.title : sn.title,
        .year = have_nfo && nfo.year ? nfo.year : sn.year,
        .category_id = s->o->category_id,
        .cover_file = cover,
        .backdrop_file = backdrop,
    };
    if (have_nfo) {
        in.plot = nfo.plot;
        in.cast = nfo.cast;
        in.director = nfo.director;
        in.genre = nfo.genre;
        in.release_date = nfo.premiered;
        in.trailer = nfo.trailer;
        in.rating = nfo.rating;
        in.tmdb_id = nfo.tmdb_id;
        in.episode_run_time = nfo.runtime_min;
    }
    s->st->shows++;
    return db_library_series_upsert(l, &in, id);
}

static int write_episode(struct scan *s, struct db_library *l, struct job *j, int64_t series_id)
{
    char dir[PATH_MAX], stem[NAME_MAX + 1], p[PATH_MAX + NAME_MAX + 16], ext[16], thumb[PATH_MAX];
    const char *base;
    split_path(j->path, dir, sizeof(dir), stem, sizeof(stem), &base);
    struct vod_episode_name en;
    struct vod_nfo nfo;
    memset(&nfo, 0, sizeof(nfo));
    snprintf(p, sizeof(p), "%s/%s.nfo", dir, stem);
    bool have_nfo = load_nfo(p, &nfo);
    if (vod_parse_episode_name(base, j->season_dir, &en) != 0) {
        if (!have_nfo || nfo.episode < 0) {
            report(s, j->path, "no episode number in the name (expected S01E02, 1x02 or similar)");
            return 1;
        }
        en.season = nfo.season >= 0 ? nfo.season : 1;
        en.episode = nfo.episode;
        en.title[0] = '\0';
    }
    if (have_nfo && nfo.season >= 0)
        en.season = nfo.season;
    if (have_nfo && nfo.episode >= 0)
        en.episode = nfo.episode;
    static const char *const thumb_own[] = {"-thumb", "", NULL};
    find_art(s, dir, stem, thumb_own, thumb, sizeof(thumb));
    vod_name_ext(base, ext, sizeof(ext));
    struct db_library_item it = {
        .source = j->path,
        .root = s->root,
        .container = ext,
        .size = j->size,
        .mtime = j->mtime,
        .title = en.title,
        .series_id = series_id,
        .season = en.season,
        .episode_num = en.episode,
        .poster_file = thumb,
    };
    if (have_nfo)
        fill_nfo(&it, &nfo);
    fill_probe(&it, j);
    int64_t id;
    return db_library_upsert(l, DB_LIBRARY_EPISODE, &it, &id);
}

static int strcmp0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_job_path(const void *a, const void *b)
{
    const struct job *x = a, *y = b;
    int c = strcmp0(x->show, y->show);
    return c ? c : strcmp(x->path, y->path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Looks every job up in the database and decides which need probing. */
static int classify(struct scan *s, struct db_library *l)
{
    enum db_library_kind k = s->o->series ? DB_LIBRARY_EPISODE : DB_LIBRARY_MOVIE;
    for (size_t i = 0; i < s->njobs; i++) {
        struct job *j = &s->jobs[i];
        struct db_library_file f;
        int rc = db_library_get(l, k, j->path, &f);
        if (rc == -ENOENT) {
            j->probe = true;
            continue;
        }
        if (rc)
            return rc;
        j->existing_id = f.id;
        j->probe = f.size != j->size || f.mtime != j->mtime;
    }
    return 0;
}

static int write_all(struct scan *s, struct db *db, struct db_library *l)
{
    enum db_library_kind k = s->o->series ? DB_LIBRARY_EPISODE : DB_LIBRARY_MOVIE;
    const char **seen = calloc(s->njobs ? s->njobs : 1, sizeof(*seen));
    if (!seen)
        return -ENOMEM;
    size_t nseen = 0;
    int rc = db_begin(db);
    const char *show = NULL;
    int64_t series_id = 0;
    for (size_t i = 0; rc == 0 && i < s->njobs; i++) {
        struct job *j = &s->jobs[i];
        if (s->o->series && strcmp0(show, j->show) != 0) {
            rc = write_show(s, l, j->show, &series_id);
            show = j->show;
            if (rc)
                break;
        }
        if (j->probe && j->rc) {
            report(s, j->path, j->err);
            s->st->failed++;
            continue;
        }
        if (!j->probe) {
            rc = db_library_touch(l, k, j->existing_id);
            if (rc == 0) {
                s->st->unchanged++;
                seen[nseen++] = j->path;
            }
            continue;
        }
        int w = s->o->series ? write_episode(s, l, j, series_id) : write_movie(s, l, j);
        if (w == 1) { /* skipped with a report */
            s->st->failed++;
            continue;
        }
        rc = w;
        if (rc == 0) {
            if (j->existing_id)
                s->st->updated++;
            else
                s->st->added++;
            seen[nseen++] = j->path;
        }
    }
    if (rc == 0) {
        qsort(seen, nseen, sizeof(*seen), cmp_str);
        rc = db_library_mark_missing(l, k, s->root, seen, nseen, &s->st->missing);
    }
    if (rc == 0)
        rc = db_commit(db);
    else
        db_rollback(db);
    free(seen);
    return rc;
}

int vod_scan(struct db *db, const struct vod_scan_opts *o, struct vod_scan_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    struct scan s = {.o = o, .st = stats};
    struct stat st;
    s.last_percent = -1;
    notify(&s, 0, "walking");
    if (!realpath(o->root, s.root))
        return -errno;
    if (stat(s.root, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    s.root_len = strlen(s.root);
    struct db_library *l = NULL;
    int rc = walk(&s, s.root, 0);
    if (rc == 0)
        rc = db_library_open(db, &l);
    if (rc == 0) {
        if (s.njobs) /* qsort(NULL, 0, ...) is undefined */
            qsort(s.jobs, s.njobs, sizeof(*s.jobs), cmp_job_path);
        stats->files = s.njobs;
        rc = classify(&s, l);
    }
    if (rc == 0) {
        notify(&s, 5, "probing");
        run_probes(&s);
        notify(&s, 92, "writing");
        rc = write_all(&s, db, l);
    }
    /* Scanning a folder makes it a library root: its files may be delivered
     * (domain/vod_paths.h), and playlists may name files under it. */
    if (rc == 0)
        rc = db_library_root_add(db, s.root);
    if (rc == 0)
        notify(&s, 100, "done");
    db_library_close(l);
    for (size_t i = 0; i < s.njobs; i++) {
        free(s.jobs[i].path);
        free(s.jobs[i].show);
        free(s.jobs[i].season_dir);
        vod_probe_clear(&s.jobs[i].pr);
    }
    free(s.jobs);
    return rc;
}

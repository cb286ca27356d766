/*
 * cli/import: `xtreamd import m3u FILE|URL` — live channels or movies from an
 * M3U playlist.
 *
 * Owns reading the playlist (a file, stdin "-", or an http(s) URL fetched with
 * libcurl into a buffer of at most 256 MiB), feeding media/m3u, and writing the
 * entries through db/content in ONE transaction. All-or-nothing: the first
 * rejected line stops the writes, the parser still runs to the end so every
 * rejection is listed, and the transaction is rolled back. Re-importing
 * updates instead of duplicating: live streams are matched by source URL
 * (an in-memory map of every stream_sources URL, loaded once, so matching
 * costs O(1) per entry), movies by their unique source.
 * Local file paths and lavfi: sources are accepted only from local playlists:
 * a downloaded playlist must not make the server read local files.
 * Single-threaded.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "db/categories.h"
#include "db/content.h"
#include "db/db.h"
#include "db/library.h"
#include "http/outbound.h"
#include "media/m3u.h"
#include "vod/roots.h"

#define MAX_PLAYLIST       ((size_t)256 << 20)
#define MAX_PRINTED_REJECT 1000
#define MAX_NAME           500
#define MAX_CATEGORY       200
#define MAX_LOGO           4096
#define MAX_EPG_ID         256
#define READ_CHUNK         65536

#ifndef XTREAMD_VERSION
#define XTREAMD_VERSION "0.0.0-dev"
#endif

static const char usage_import[] =
    "usage: xtreamd import m3u FILE|URL [--kind live|movie] [--category NAME]\n"
    "                          [--allow-host HOST] [--data DIR]\n"
    "  Imports an M3U playlist (a file, '-' for stdin, or an http(s) URL) as live\n"
    "  channels (default) or movies. group-title (or #EXTGRP) names the category,\n"
    "  created when missing; entries without one go to --category, else\n"
    "  \"Uncategorized\". Re-importing updates entries with the same URL.\n"
    "  A movie given as a file path must lie under a library root (see\n"
    "  'xtreamd vod root') and outside the data directory.\n"
    "  Any rejected line aborts the whole import; every rejection is listed.\n"
    "options:\n"
    "  --kind live|movie   what the entries are (default live)\n"
    "  --category NAME     category for entries without a group\n"
    "  --allow-host HOST   let the download reach HOST although it is this machine,\n"
    "                      loopback or link-local (refused otherwise); repeatable\n"
    "  --data DIR          data directory (default " CLI_DEFAULT_DATA ")\n";

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

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

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
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
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
        size_t j = hash_str(m->slots[i].key) & (ncap - 1);
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
    size_t mask = m->cap - 1, i = hash_str(key) & mask;
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

struct import {
    const char *cmd;
    struct db *db;
    struct db_content *content;
    bool movies;
    const char *default_category;
    struct strmap sources;    /* live: source URL -> stream id */
    struct strmap categories; /* group name -> category id */
    size_t categories_used;
    size_t rejects, created, updated, duplicates;
    int64_t next_order;
    int error;    /* a database error: stop writing, fail */
    char **roots; /* movies: library roots local files must lie under */
    size_t nroots;
    char *data_real; /* realpath of the data directory (never served) */
};

static void on_reject(void *ctx, size_t line, const char *reason)
{
    struct import *im = ctx;
    im->rejects++;
    if (im->rejects <= MAX_PRINTED_REJECT)
        fprintf(stderr, "line %zu: %s\n", line, reason);
}

static int load_source(void *ctx, const char *url, int64_t id)
{
    struct import *im = ctx;
    struct strmap_slot *s;
    return strmap_put(&im->sources, url, id, &s);
}

static int category_for(struct import *im, const char *group, int64_t *id)
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

static bool too_long(struct import *im, size_t line, const char *what, const char *s, size_t max)
{
    if (strlen(s) <= max)
        return false;
    char msg[96];
    snprintf(msg, sizeof(msg), "%s longer than %zu bytes", what, max);
    on_reject(im, line, msg);
    return true;
}

static int write_live(struct import *im, const struct m3u_entry *e, int64_t cat)
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
        rc = db_stream_update(im->content, slot->val, &s);
        if (slot->seen)
            im->duplicates++;
        else
            im->updated++;
    } else {
        int64_t id;
        rc = db_stream_insert(im->content, &s, &id);
        if (rc == 0)
            rc = strmap_put(&im->sources, e->url, id, &slot);
        im->next_order++;
        im->created++;
    }
    if (rc == 0)
        slot->seen = true;
    return rc;
}

/* A local movie file is published to every subscriber: it must resolve (no
 * symlink out) to a file under a library root and outside the data
 * directory (vod/roots.h). Writes the canonical path to real; false after
 * rejecting the line. Other local forms (file:, lavfi:) are never
 * deliverable as movies. */
static bool movie_source_ok(struct import *im, const struct m3u_entry *e, char real[PATH_MAX])
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
    const char *no = vod_path_refusal(real, im->roots, im->nroots, im->data_real);
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

static int write_movie(struct import *im, const struct m3u_entry *e, const char *source,
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
    struct import *im = ctx;
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
        fprintf(stderr, "%s: database error at line %zu (%s)\n", im->cmd, e->line, strerror(-rc));
        im->error = rc;
    }
    return 0;
}

static size_t curl_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    return buf_append(b, ptr, n) == 0 ? n : 0; /* 0 aborts the transfer */
}

static int download(const char *cmd, const char *url, struct buf *out)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    int ret = -EIO;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: libcurl failed to initialise\n", cmd);
        return -EIO;
    }
    CURL *c = curl_easy_init();
    if (!c)
        goto done;
    struct outbound_check chk;
    curl_easy_setopt(c, CURLOPT_URL, url);
    outbound_apply(c, &chk); /* http/https only; never this host (outbound.h) */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 900L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 512L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_PLAYLIST);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "xtreamd/" XTREAMD_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        ret = 0;
    } else if (chk.refused[0]) {
        fprintf(stderr, "%s: download refused: the URL leads to %s (--allow-host HOST allows it)\n",
                cmd, chk.refused);
    } else if (out->err == -E2BIG || rc == CURLE_FILESIZE_EXCEEDED) {
        fprintf(stderr, "%s: download failed: playlist larger than %zu MiB\n", cmd,
                MAX_PLAYLIST >> 20);
    } else {
        /* The URL itself is not echoed: playlist URLs often carry credentials. */
        fprintf(stderr, "%s: download failed: %s\n", cmd,
                *errbuf ? errbuf : curl_easy_strerror(rc));
    }
    curl_easy_cleanup(c);
done:
    curl_global_cleanup();
    return ret;
}

static bool is_remote(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

/* Feeds a local file (or stdin for "-") through the parser. */
static int feed_file(const char *cmd, const char *path, struct m3u_parser *p)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", cmd, path, strerror(errno));
        return -errno;
    }
    char *chunk = malloc(READ_CHUNK);
    size_t total = 0;
    int ret = chunk ? 0 : -ENOMEM;
    while (ret == 0) {
        size_t n = fread(chunk, 1, READ_CHUNK, f);
        if (n == 0) {
            if (ferror(f)) {
                fprintf(stderr, "%s: read error on '%s'\n", cmd, path);
                ret = -EIO;
            }
            break;
        }
        total += n;
        if (total > MAX_PLAYLIST) {
            fprintf(stderr, "%s: '%s' is larger than %zu MiB\n", cmd, path, MAX_PLAYLIST >> 20);
            ret = -E2BIG;
            break;
        }
        ret = m3u_parser_feed(p, chunk, n);
    }
    free(chunk);
    if (f != stdin)
        fclose(f);
    return ret;
}

static int check_category_name(const char *cmd, const char *opt, const char *s, void *ctx)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= MAX_CATEGORY;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
    json_t *j = ok ? json_string(s) : NULL; /* NULL when not valid UTF-8 */
    if (!j) {
        fprintf(stderr, "%s: %s: '%s' must be 1-%d bytes of printable UTF-8\n", cmd, opt, s,
                MAX_CATEGORY);
        return -EINVAL;
    }
    json_decref(j);
    return 0;
}

static int check_kind(const char *cmd, const char *opt, const char *s, void *ctx)
{
    if (strcmp(s, "series") != 0)
        return 0;
    fprintf(stderr, "%s: %s series is not supported (use live or movie)\n", cmd, opt);
    return -EINVAL;
}

static int import_m3u(int argc, char **argv)
{
    const char *cmd = "xtreamd import m3u";
    const char *data = CLI_DEFAULT_DATA, *src = NULL, *kind = "live";
    const char *category = "Uncategorized";
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--kind", CLI_KIND, &kind, .check = check_kind),
        CLI_OPT("--category", CLI_STR, &category, .check = check_category_name),
        CLI_OPT_ALLOW_HOST(),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &src, .min = 1, .max = 1, .name = "FILE or URL"};
    int r = cli_parse(cmd, usage_import, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);

    struct import im = {
        .cmd = cmd,
        .movies = strcmp(kind, "movie") == 0,
        .default_category = category,
    };
    struct buf body = BUF_INIT(MAX_PLAYLIST);
    struct m3u_parser *parser = NULL;
    int ret = CLI_FAIL, rc;
    bool remote = is_remote(src);
    if (remote && download(cmd, src, &body))
        return CLI_FAIL;
    if (cli_open_db(cmd, data, &im.db))
        goto out;
    if (db_content_open(im.db, &im.content) || db_begin(im.db))
        goto dberr;
    if (im.movies && !remote) {
        im.data_real = realpath(data, NULL);
        if (!im.data_real || db_library_roots(im.db, &im.roots, &im.nroots))
            goto dberr;
    }
    if (im.movies)
        rc = db_movie_next_order(im.content, &im.next_order);
    else if ((rc = db_stream_sources_each(im.content, load_source, &im)) == 0)
        rc = db_stream_next_order(im.content, &im.next_order);
    if (rc)
        goto dberr;
    struct m3u_callbacks cb = {.entry = on_entry, .reject = on_reject, .ctx = &im};
    if (m3u_parser_new(&cb, remote ? 0 : M3U_ALLOW_LOCAL, &parser))
        goto out;
    if (remote)
        rc = m3u_parser_feed(parser, body.data ? body.data : "", body.len);
    else
        rc = feed_file(cmd, src, parser);
    if (rc)
        goto out;
    m3u_parser_finish(parser);
    if (im.error)
        goto out;
    if (im.rejects) {
        if (im.rejects > MAX_PRINTED_REJECT)
            fprintf(stderr, "... and %zu more rejected lines\n", im.rejects - MAX_PRINTED_REJECT);
        fprintf(stderr, "%s: %zu rejected line%s; nothing was imported\n", cmd, im.rejects,
                im.rejects == 1 ? "" : "s");
        goto out;
    }
    size_t n = m3u_parser_entry_count(parser);
    if (n == 0) {
        fprintf(stderr, "%s: the playlist has no entries; nothing was imported\n", cmd);
        goto out;
    }
    if (db_commit(im.db))
        goto dberr;
    printf("Imported %zu %s in %zu categor%s (%zu new, %zu updated", n,
           im.movies ? (n == 1 ? "movie" : "movies") : (n == 1 ? "channel" : "channels"),
           im.categories_used, im.categories_used == 1 ? "y" : "ies", im.created, im.updated);
    if (im.duplicates)
        printf(", %zu duplicate URLs merged", im.duplicates);
    printf(")\n");
    ret = CLI_OK;
    goto out;
dberr:
    fprintf(stderr, "%s: database error; nothing was imported\n", cmd);
out:
    if (ret != CLI_OK && im.db)
        db_rollback(im.db);
    m3u_parser_free(parser);
    db_content_close(im.content);
    db_close(im.db);
    strmap_free(&im.sources);
    strmap_free(&im.categories);
    db_library_roots_free(im.roots, im.nroots);
    free(im.data_real);
    buf_free(&body);
    return ret;
}

int cli_import(int argc, char **argv)
{
    static const char usage[] = "usage: xtreamd import m3u FILE|URL [options]\n"
                                "Run 'xtreamd import m3u --help' for the options.\n";
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        fputs(usage_import, stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "m3u") == 0)
        return import_m3u(argc - 1, argv + 1);
    fprintf(stderr, "xtreamd import: unknown format '%s' (supported: m3u)\n", argv[1]);
    return CLI_USAGE;
}

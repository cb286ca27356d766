/*
 * epg/import: one XMLTV source into the database. The document is streamed
 * from a file or an http(s) URL (libcurl) through zlib (when it starts with
 * the gzip magic, whatever its name) into the expat parser, whose callbacks
 * write rows with prepared statements: memory stays constant.
 *
 * Invariant: one transaction per source. A malformed document, a download
 * error or a database error rolls everything back, so the previous guide
 * stays; the source's last_status then says why (with line and column for
 * XML errors).
 * Threading: runs on the calling thread (a libuv worker in the server, the
 * main thread in the CLI) with that thread's struct db.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/log.h"
#include "db/db.h"
#include "db/epg.h"
#include "epg/epg.h"
#include "http/outbound.h"

#define CHUNK          (64 * 1024)
#define MAX_DOWNLOAD_S 600

struct feeder {
    struct epg_parser *parser;
    z_stream zs;
    int mode; /* 0 undecided, 1 plain, 2 gzip */
    unsigned char magic[2];
    size_t magic_len;
    unsigned char out[CHUNK];
    int64_t bytes;
    int err;
    /* Progress: the document's size when known (file size, Content-Length). */
    int64_t total;
    int last_percent;
    const char *stage;
    epg_progress_fn progress;
    void *progress_ctx;
    CURL *curl;
};

/* Reading and parsing the document is 0..90 %; saving and mapping the rest. */
static void report(struct feeder *f, int percent, const char *stage)
{
    if (!f->progress || (percent == f->last_percent && stage == f->stage))
        return;
    f->last_percent = percent;
    f->stage = stage;
    f->progress(f->progress_ctx, percent, stage);
}

static void report_bytes(struct feeder *f)
{
    if (!f->progress)
        return;
    if (f->curl && f->total <= 0) {
        curl_off_t cl = -1;
        if (curl_easy_getinfo(f->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
            cl > 0)
            f->total = (int64_t)cl;
    }
    int pct = f->total > 0 ? (int)(f->bytes * 90 / f->total) : 1;
    report(f, pct > 90 ? 90 : pct, f->curl ? "downloading" : "reading");
}

struct sink {
    struct db_epg_import *imp;
    int64_t channels, programmes;
};

static int on_channel(void *ud, const struct epg_channel *ch)
{
    struct sink *s = ud;
    return db_epg_import_channel(s->imp, ch->id, ch->display_name, ch->icon);
}

static int on_programme(void *ud, const struct epg_programme *p)
{
    struct sink *s = ud;
    s->programmes++;
    return db_epg_import_programme(s->imp, p);
}

static int feed_plain(struct feeder *f, const void *data, size_t len, bool final)
{
    return epg_parser_feed(f->parser, data, len, final);
}

static int feed_gzip(struct feeder *f, const void *data, size_t len, bool final)
{
    f->zs.next_in = (Bytef *)data;
    f->zs.avail_in = (uInt)len;
    do {
        f->zs.next_out = f->out;
        f->zs.avail_out = sizeof(f->out);
        int zrc = inflate(&f->zs, Z_NO_FLUSH);
        size_t have = sizeof(f->out) - f->zs.avail_out;
        if (have) {
            int rc = epg_parser_feed(f->parser, f->out, have, false);
            if (rc)
                return rc;
        }
        if (zrc == Z_STREAM_END) {
            if (f->zs.avail_in == 0)
                break;
            inflateReset(&f->zs); /* concatenated gzip members */
        } else if (zrc == Z_BUF_ERROR) {
            break;
        } else if (zrc != Z_OK) {
            return -EILSEQ;
        }
    } while (f->zs.avail_in > 0 || f->zs.avail_out == 0);
    if (final)
        return epg_parser_feed(f->parser, NULL, 0, true);
    return 0;
}

static int feed(struct feeder *f, const void *data, size_t len, bool final)
{
    f->bytes += (int64_t)len;
    report_bytes(f);
    if (f->mode == 0) {
        const unsigned char *d = data;
        while (len > 0 && f->magic_len < 2) {
            f->magic[f->magic_len++] = *d++;
            len--;
        }
        data = d;
        if (f->magic_len < 2 && !final)
            return 0;
        f->mode = f->magic_len == 2 && f->magic[0] == 0x1f && f->magic[1] == 0x8b ? 2 : 1;
        if (f->mode == 2) {
            if (inflateInit2(&f->zs, 15 + 16) != Z_OK)
                return -ENOMEM;
        }
        int rc = f->mode == 2 ? feed_gzip(f, f->magic, f->magic_len, false)
                              : feed_plain(f, f->magic, f->magic_len, false);
        if (rc)
            return rc;
    }
    return f->mode == 2 ? feed_gzip(f, data, len, final) : feed_plain(f, data, len, final);
}

static size_t curl_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct feeder *f = ud;
    size_t n = size * nmemb;
    f->err = feed(f, ptr, n, false);
    return f->err ? 0 : n;
}

static int fetch_url(struct feeder *f, const char *url, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -ENOMEM;
    char cerr[CURL_ERROR_SIZE] = "";
    struct outbound_check chk;
    curl_easy_setopt(c, CURLOPT_URL, url);
    outbound_apply(c, &chk); /* http/https only; never this host (http/outbound.h) */
    f->curl = c;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)MAX_DOWNLOAD_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "xtreamd-epg/1");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    f->curl = NULL;
    if (f->err)
        return f->err;
    if (cc != CURLE_OK && chk.refused[0]) {
        snprintf(err, errlen, "download refused: the URL leads to %s (--allow-host HOST allows it)",
                 chk.refused);
        return -EACCES;
    }
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "download failed: %s", cerr[0] ? cerr : curl_easy_strerror(cc));
        return -EIO;
    }
    return feed(f, NULL, 0, true);
}

static int read_file(struct feeder *f, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -errno;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode))
        f->total = (int64_t)st.st_size;
    unsigned char *b = malloc(CHUNK);
    int rc = b ? 0 : -ENOMEM;
    while (rc == 0) {
        size_t n = fread(b, 1, CHUNK, fp);
        if (n == 0) {
            rc = ferror(fp) ? -EIO : feed(f, NULL, 0, true);
            if (rc == -EIO)
                snprintf(err, errlen, "cannot read %s", path);
            break;
        }
        rc = feed(f, b, n, false);
    }
    free(b);
    fclose(fp);
    return rc;
}

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* mem != NULL: import that buffer instead of the source's url. */
static int run_import(struct db *db, int64_t source_id, const char *url, const void *mem,
                      size_t memlen, int64_t now, struct epg_import_result *res,
                      epg_progress_fn progress, void *progress_ctx)
{
    struct sink sink = {0};
    struct feeder f = {
        .total = mem ? (int64_t)memlen : 0,
        .last_percent = -1,
        .progress = progress,
        .progress_ctx = progress_ctx,
    };
    report(&f, 0, "starting");
    int keep = db_epg_keep_days(db);
    int rc = db_begin(db);
    if (rc) {
        snprintf(res->error, sizeof(res->error), "database busy");
        return rc;
    }
    rc = db_epg_import_begin(db, source_id, &sink.imp);
    if (rc) {
        snprintf(res->error, sizeof(res->error), "database error");
        goto fail;
    }
    struct epg_parser_cb cb = {.channel = on_channel, .programme = on_programme, .ud = &sink};
    rc = epg_parser_new(&cb, &f.parser);
    if (rc)
        goto fail;
    if (mem)
        rc = feed(&f, mem, memlen, true);
    else if (is_url(url))
        rc = fetch_url(&f, url, res->error, sizeof(res->error));
    else
        rc = read_file(&f, url, res->error, sizeof(res->error));
    res->bytes = f.bytes;
    if (rc == -EBADMSG)
        snprintf(res->error, sizeof(res->error), "malformed XMLTV: %s", epg_parser_error(f.parser));
    else if (rc == -EILSEQ)
        snprintf(res->error, sizeof(res->error), "corrupt gzip data");
    else if (rc == -ENOSPC)
        snprintf(res->error, sizeof(res->error), "more than %d channels", EPG_MAX_CHANNEL);
    if (rc)
        goto fail;
    res->skipped = (int64_t)epg_parser_skipped(f.parser);
    report(&f, 92, "saving");
    rc = db_epg_import_finish(sink.imp, now, keep, &res->channels, &res->programmes);
    if (rc)
        goto fail;
    db_epg_import_free(sink.imp);
    sink.imp = NULL;
    report(&f, 96, "mapping");
    rc = epg_automap(db, true);
    if (rc < 0)
        goto fail;
    char status[128];
    snprintf(status, sizeof(status), "ok: %lld channels, %lld programmes", (long long)res->channels,
             (long long)res->programmes);
    rc = db_epg_source_status(db, source_id, now, true, status);
    if (rc || (rc = db_commit(db)) != 0)
        goto fail;
    if (f.mode == 2)
        inflateEnd(&f.zs);
    epg_parser_free(f.parser);
    report(&f, 100, "done");
    return 0;
fail:
    if (!res->error[0])
        snprintf(res->error, sizeof(res->error), "import failed: %s", strerror(-rc));
    db_epg_import_free(sink.imp);
    if (f.mode == 2)
        inflateEnd(&f.zs);
    epg_parser_free(f.parser);
    db_rollback(db);
    db_epg_source_status(db, source_id, now, false, res->error);
    log_warn("epg", "source %lld: %s (previous guide kept)", (long long)source_id, res->error);
    return rc < 0 ? rc : -EIO;
}

int epg_import_source(struct db *db, int64_t source_id, int64_t now, struct epg_import_result *res)
{
    return epg_import_source_progress(db, source_id, now, res, NULL, NULL);
}

int epg_import_source_progress(struct db *db, int64_t source_id, int64_t now,
                               struct epg_import_result *res, epg_progress_fn progress,
                               void *progress_ctx)
{
    memset(res, 0, sizeof(*res));
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)source_id);
    struct db_epg_source *src;
    int rc = db_epg_source_get(db, key, &src);
    if (rc) {
        snprintf(res->error, sizeof(res->error), "no such source");
        return rc;
    }
    rc = run_import(db, source_id, src->url, NULL, 0, now, res, progress, progress_ctx);
    db_epg_source_list_free(src, 1);
    return rc;
}

int epg_import_memory(struct db *db, int64_t source_id, const void *data, size_t len, int64_t now,
                      struct epg_import_result *res)
{
    memset(res, 0, sizeof(*res));
    return run_import(db, source_id, NULL, data ? data : "", len, now, res, NULL, NULL);
}

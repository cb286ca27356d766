/*
 * cli/import: `xtreamd import m3u FILE|URL` — live channels or movies from an
 * M3U playlist.
 *
 * Owns moving the bytes: reading the playlist (a file, stdin "-", or an
 * http(s) URL fetched with libcurl into a buffer of at most 256 MiB) and
 * feeding it to the import service, which holds every rule and the ONE
 * transaction (domain/import.h: all-or-nothing, re-imports update, local
 * sources only from local playlists); this file prints each rejected line
 * and the summary. Single-threaded.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "db/db.h"
#include "domain/import.h"
#include "http/outbound.h"

#define MAX_PLAYLIST       DOM_IMPORT_MAX_BYTES
#define MAX_PRINTED_REJECT 1000
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

static int download(const char *cmd, const char *url, struct buf *out)
{
    char err[256];
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: libcurl failed to initialise\n", cmd);
        return -EIO;
    }
    int ret = outbound_fetch(url, out, MAX_PLAYLIST, "xtreamd/" XTREAMD_VERSION, err, sizeof(err));
    if (ret == -EFBIG)
        fprintf(stderr, "%s: download failed: playlist larger than %zu MiB\n", cmd,
                MAX_PLAYLIST >> 20);
    else if (ret)
        fprintf(stderr, "%s: %s\n", cmd, err);
    curl_global_cleanup();
    return ret;
}

static bool is_remote(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

/* Feeds a local file (or stdin for "-") to the import. */
static int feed_file(const char *cmd, const char *path, struct dom_import *im, struct dom_error *e)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        int err = errno;
        fprintf(stderr, "%s: cannot open '%s': %s\n", cmd, path, strerror(err));
        return -err;
    }
    char *chunk = malloc(READ_CHUNK);
    int ret = chunk ? 0 : -ENOMEM;
    if (!chunk)
        fprintf(stderr, "%s: out of memory\n", cmd);
    while (ret == 0) {
        size_t n = fread(chunk, 1, READ_CHUNK, f);
        if (n == 0) {
            if (ferror(f)) {
                fprintf(stderr, "%s: read error on '%s'\n", cmd, path);
                ret = -EIO;
            }
            break;
        }
        ret = dom_import_feed(im, chunk, n, e);
        if (ret)
            cli_dom_fail(cmd, e, NULL);
    }
    free(chunk);
    if (f != stdin)
        fclose(f);
    return ret;
}

/* Prints each rejected line (the first MAX_PRINTED_REJECT of them). */
static void print_reject(void *ctx, size_t line, const char *reason)
{
    size_t *count = ctx;
    if (++*count <= MAX_PRINTED_REJECT)
        fprintf(stderr, "line %zu: %s\n", line, reason);
}

static const struct cli_field_name import_names[] = {
    {"kind", "--kind"},
    {"category", "--category"},
    {NULL, NULL},
};

static int import_m3u(int argc, char **argv)
{
    const char *cmd = "xtreamd import m3u";
    const char *data = CLI_DEFAULT_DATA, *src = NULL, *kind = NULL, *category = NULL;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--kind", CLI_STR, &kind),
        CLI_OPT("--category", CLI_STR, &category),
        CLI_OPT_ALLOW_HOST(),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &src, .min = 1, .max = 1, .name = "FILE or URL"};
    int r = cli_parse(cmd, usage_import, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);

    size_t rejects = 0;
    struct dom_import_in in = {
        .kind = kind,
        .category = category,
        .remote = is_remote(src),
        .data_dir = data,
        .reject = print_reject,
        .ctx = &rejects,
    };
    struct dom_error e;
    struct dom_import_result res;
    struct dom_import *im = NULL;
    struct buf body = BUF_INIT(MAX_PLAYLIST);
    struct db *db = NULL;
    int ret = CLI_FAIL;
    dom_error_reset(&e);
    if (dom_import_check(&in, &e)) /* before a download that may take minutes */
        return cli_dom_fail(cmd, &e, import_names);
    if (in.remote && download(cmd, src, &body))
        return CLI_FAIL;
    if (cli_open_db(cmd, data, &db))
        goto out;
    if (dom_import_begin(db, &in, &im, &e)) {
        ret = cli_dom_fail(cmd, &e, import_names);
        goto out;
    }
    if (in.remote)
        r = dom_import_feed(im, body.data ? body.data : "", body.len, &e);
    else
        r = feed_file(cmd, src, im, &e);
    if (r) {
        if (in.remote)
            cli_dom_fail(cmd, &e, NULL);
        dom_import_abort(im);
        goto out;
    }
    r = dom_import_finish(im, &res, &e);
    if (r) {
        if (rejects > MAX_PRINTED_REJECT)
            fprintf(stderr, "... and %zu more rejected lines\n", rejects - MAX_PRINTED_REJECT);
        ret = cli_dom_fail(cmd, &e, import_names);
        goto out;
    }
    size_t n = res.entries;
    printf("Imported %zu %s in %zu categor%s (%zu new, %zu updated", n,
           res.movies ? (n == 1 ? "movie" : "movies") : (n == 1 ? "channel" : "channels"),
           res.categories, res.categories == 1 ? "y" : "ies", res.created, res.updated);
    if (res.duplicates)
        printf(", %zu duplicate URLs merged", res.duplicates);
    printf(")\n");
    ret = CLI_OK;
out:
    db_close(db);
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

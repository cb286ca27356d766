/*
 * cli/library: `xtreamd vod scan` and `xtreamd series scan` — the library
 * import (vod/scan.c) with a category option, a progress line and a summary.
 *
 * Exit status: 0 when the scan completed and at least one file is in the
 * library (imported now or unchanged) or there was nothing to import; 1 when
 * the root is unreadable, the database write failed, or files were found but
 * none could be imported; 2 for usage errors. Per-file problems are printed
 * as "path: reason" on stderr and do not stop the scan. Single-threaded
 * (the scan runs its own probe workers).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "db/library.h"
#include "domain/library.h"
#include "vod/scan.h"

static const char usage_vod[] =
    "usage: xtreamd vod scan PATH [--category NAME] [--jobs N] [--data DIR]\n"
    "       xtreamd series scan PATH [--category NAME] [--jobs N] [--data DIR]\n"
    "  Imports the video files under PATH: movies from names like \"Title (Year).mkv\";\n"
    "  series from PATH/Show/Season N/Show S01E02 Title.mkv (also 1x02, S1E2, files\n"
    "  directly in the show folder). Kodi .nfo sidecars and local artwork (poster.jpg,\n"
    "  folder.jpg, fanart.jpg, <file>-poster.jpg) are used when present; every new or\n"
    "  changed file is probed with ffprobe (N in parallel, default: CPUs).\n"
    "  Re-scans are incremental; files no longer found are marked unavailable.\n"
    "  Exit status: 0 done (problems with single files are listed on stderr),\n"
    "  1 nothing could be imported or the scan failed, 2 usage error.\n"
    "       xtreamd vod root list|add DIR|remove DIR [--data DIR]\n"
    "  Library roots: the folders whose files may be published as movies and\n"
    "  episodes (a scan adds its PATH; 'import m3u --kind movie' accepts file\n"
    "  paths only under a root). The data directory is never a library.\n";

static const struct cli_field_name root_names[] = {{"path", "DIR"}, {NULL, NULL}};
static const struct cli_field_name scan_names[] = {{"category", "--category"}, {NULL, NULL}};

/* `vod root list|add DIR|remove DIR` (also `series root ...`: one set). */
static int library_root(int argc, char **argv)
{
    const char *cmd = "xtreamd vod root", *data = CLI_DEFAULT_DATA, *pos[2] = {NULL, NULL};
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos p = {.v = pos, .min = 1, .max = 2, .name = "list|add|remove"};
    int r = cli_parse(cmd, usage_vod, argc, argv, opts, &p);
    if (r)
        return cli_parse_exit(r);
    bool list = strcmp(pos[0], "list") == 0, add = strcmp(pos[0], "add") == 0;
    if ((!list && !add && strcmp(pos[0], "remove") != 0) || (list != (p.n == 1))) {
        fprintf(stderr, "%s: want 'list', 'add DIR' or 'remove DIR'\n", cmd);
        return CLI_USAGE;
    }
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    int rc;
    dom_error_reset(&e);
    if (list) {
        char **roots;
        size_t n;
        rc = dom_library_roots(db, &roots, &n, &e);
        for (size_t i = 0; rc == 0 && i < n; i++)
            printf("%s\n", roots[i]);
        if (rc == 0)
            db_library_roots_free(roots, n);
    } else if (add) {
        rc = dom_library_root_add(db, pos[1], data, &e);
    } else {
        rc = dom_library_root_remove(db, pos[1], &e);
    }
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, root_names);
    return CLI_OK;
}

int cli_library(int argc, char **argv)
{
    bool series = strcmp(argv[0], "series") == 0;
    const char *cmd = series ? "xtreamd series scan" : "xtreamd vod scan";
    if (argc < 2 || cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0 ||
        cli_wants_help(argc, argv)) {
        fputs(usage_vod, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "root") == 0)
        return library_root(argc - 1, argv + 1);
    if (strcmp(argv[1], "scan") != 0) {
        fprintf(stderr, "xtreamd %s: unknown command '%s'\n", argv[0], argv[1]);
        fputs(usage_vod, stderr);
        return CLI_USAGE;
    }
    const char *data = CLI_DEFAULT_DATA, *category = NULL, *root = NULL;
    long long jobs = 0;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--category", CLI_STR, &category),
        CLI_OPT("--jobs", CLI_INT, &jobs, .min = 1, .max = VOD_SCAN_MAX_JOBS),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &root, .max = 1};
    int r = cli_parse(cmd, usage_vod, argc - 1, argv + 1, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    if (!root) {
        fprintf(stderr, "%s: missing PATH (the folder to scan)\n", cmd);
        return CLI_USAGE;
    }
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    int64_t cat = 0;
    struct dom_error e;
    dom_error_reset(&e);
    if (category && dom_library_category(db, series, category, &cat, &e)) {
        db_close(db);
        return cli_dom_fail(cmd, &e, scan_names);
    }
    struct vod_scan_opts o = {
        .root = root,
        .series = series,
        .category_id = cat,
        .jobs = (int)jobs,
        .progress = true,
        .report = stderr,
    };
    struct vod_scan_stats st;
    int rc = vod_scan(db, &o, &st);
    db_close(db);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", cmd, root, strerror(-rc));
        return CLI_FAIL;
    }
    printf("%s: %zu files", cmd, st.files);
    if (series)
        printf(" in %zu shows", st.shows);
    printf(": %zu added, %zu updated, %zu unchanged, %zu failed, %zu marked unavailable\n",
           st.added, st.updated, st.unchanged, st.failed, st.missing);
    if (st.failed && st.added + st.updated + st.unchanged == 0)
        return CLI_FAIL;
    return CLI_OK;
}

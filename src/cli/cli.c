#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "core/log.h"
#include "db/db.h"

#ifndef XTREAMD_VERSION
#define XTREAMD_VERSION "0.0.0-dev"
#endif

static const char usage_text[] =
    "usage: xtreamd COMMAND [ARGS] [--data DIR]\n"
    "\n"
    "commands:\n"
    "  serve       run the server (xtreamd serve --help)\n"
    "  demo        create a demo catalogue, bouquet and line\n"
    "  import m3u  import live channels or movies from an M3U playlist\n"
    "  line        add, change, list, show and delete subscriber lines\n"
    "  bouquet     add, list and delete bouquets\n"
    "  category    list categories\n"
    "  stream      add, list, show, change and delete live channels\n"
    "  channel     running channels of the server: list, show, start, stop, restart\n"
    "  connections live viewers of the server (--kill ID)\n"
    "  epg         add, list, delete and import EPG (XMLTV) sources; mapping report\n"
    "  vod scan    import a folder of movie files (ffprobe, .nfo, artwork)\n"
    "  series scan import a folder of shows (Show/Season N/S01E02 files)\n"
    "  version     print the version\n"
    "  help        print this help\n"
    "\n"
    "Every command accepts --data DIR (default " CLI_DEFAULT_DATA ") and --help.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (cli_is_help(argv[i]))
            return true;
    }
    return false;
}

int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: option %s needs a value\n", cmd, name);
        return -EINVAL;
    }
    *i += 1;
    *val = argv[*i];
    return 1;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long long min, long long max,
                  long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        fprintf(stderr, "%s: %s: invalid value '%s' (expected an integer from %lld to %lld)\n", cmd,
                opt, s, min, max);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int cli_parse_kind(const char *cmd, const char *opt, const char *s, const char **kind)
{
    static const char *const kinds[] = {"live", "movie", "series"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(s, kinds[i]) == 0) {
            *kind = kinds[i];
            return 0;
        }
    }
    fprintf(stderr, "%s: %s: invalid kind '%s' (expected live, movie or series)\n", cmd, opt, s);
    return -EINVAL;
}

int cli_bad_arg(const char *cmd, const char *arg)
{
    if (arg[0] == '-' && arg[1] != '\0')
        fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", cmd, arg, cmd);
    else
        fprintf(stderr, "%s: unexpected argument '%s' (see %s --help)\n", cmd, arg, cmd);
    return CLI_USAGE;
}

int cli_print_json(json_t *j)
{
    if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        json_decref(j);
        return -EIO;
    }
    fputc('\n', stdout);
    json_decref(j);
    return 0;
}

int cli_open_db(const char *cmd, const char *data_dir, struct db **out)
{
    int rc = db_open(data_dir, out);
    if (rc)
        fprintf(stderr, "%s: cannot open the database in '%s': %s\n", cmd, data_dir, strerror(-rc));
    return rc;
}

void cli_print_cell(const char *s, int width)
{
    size_t n = strlen(s);
    if (n > (size_t)width && width > 3) {
        /* Cut on a UTF-8 character boundary. */
        size_t cut = (size_t)width - 3;
        while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
        printf("%.*s...%*s", (int)cut, s, (int)((size_t)width - 3 - cut), "");
    } else {
        printf("%-*s", width, s);
    }
}

static int cmd_version(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r = cli_opt_value("xtreamd version", argc, argv, &i, "--data", &v);
        if (r < 0)
            return CLI_USAGE;
        if (r == 0 && !cli_is_help(argv[i]))
            return cli_bad_arg("xtreamd version", argv[i]);
    }
    printf("xtreamd %s\n", XTREAMD_VERSION);
    return CLI_OK;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    /* Only warnings and errors from the libraries below: the commands print
     * their own results. */
    log_set_level(LOG_WARN);
    if (strcmp(cmd, "help") == 0 || cli_is_help(cmd)) {
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            /* "xtreamd help line" == "xtreamd line --help" */
            char *sub[] = {argv[2], "--help", NULL};
            if (strcmp(argv[2], "serve") == 0)
                return cli_serve(2, sub);
            if (strcmp(argv[2], "line") == 0 || strcmp(argv[2], "bouquet") == 0 ||
                strcmp(argv[2], "category") == 0 || strcmp(argv[2], "import") == 0 ||
                strcmp(argv[2], "demo") == 0 || strcmp(argv[2], "vod") == 0 ||
                strcmp(argv[2], "series") == 0 || strcmp(argv[2], "epg") == 0)
                return cli_main(3, (char *[]){argv[0], argv[2], "--help", NULL});
            fprintf(stderr, "xtreamd help: unknown command '%s'\n", argv[2]);
            fputs(usage_text, stderr);
            return CLI_USAGE;
        }
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "import") == 0)
        return cli_import(argc - 1, argv + 1);
    if (strcmp(cmd, "line") == 0)
        return cli_line(argc - 1, argv + 1);
    if (strcmp(cmd, "bouquet") == 0)
        return cli_bouquet(argc - 1, argv + 1);
    if (strcmp(cmd, "category") == 0)
        return cli_category(argc - 1, argv + 1);
    if (strcmp(cmd, "stream") == 0)
        return cli_stream(argc - 1, argv + 1);
    if (strcmp(cmd, "channel") == 0 || strcmp(cmd, "connections") == 0)
        return cli_channel(argc, argv);
    if (strcmp(cmd, "epg") == 0)
        return cli_epg(argc - 1, argv + 1);
    if (strcmp(cmd, "vod") == 0 || strcmp(cmd, "series") == 0)
        return cli_library(argc - 1, argv + 1);
    fprintf(stderr, "xtreamd: unknown command '%s'\n", cmd);
    fputs(usage_text, stderr);
    return CLI_USAGE;
}

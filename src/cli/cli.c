#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/serve_config.h"
#include "core/log.h"
#include "db/db.h"
#include "stream/live.h"

#ifndef XTREAMD_VERSION
#define XTREAMD_VERSION "0.0.0-dev"
#endif

static const char usage_text[] =
    "usage: xtreamd COMMAND [ARGS] [--data DIR]\n"
    "\n"
    "commands:\n"
    "  serve       run the server (xtreamd serve --help)\n"
    "  config      check or show the server's configuration (file, environment)\n"
    "  demo        create a demo catalogue, bouquet and line\n"
    "  import m3u  import live channels or movies from an M3U playlist\n"
    "  line        add, change, list, show and delete subscriber lines\n"
    "  plan        add, change, list, show and delete plans (what a new line gets)\n"
    "  profile     add, change, list, show and delete transcode profiles\n"
    "  bouquet     add, list and delete bouquets\n"
    "  category    list categories\n"
    "  stream      add, list, show, change and delete live channels\n"
    "  channel     running channels of the server: list, show, start, stop, restart\n"
    "  connections live viewers of the server (--kill ID)\n"
    "  log level   the running server's log levels (default or per subsystem)\n"
    "  epg         add, list, delete and import EPG (XMLTV) sources; mapping report\n"
    "  admin       add, list, change and delete admin accounts (admin API logins)\n"
    "  token       add, list and revoke admin API tokens (for scripts)\n"
    "  reseller    add, list, show, credit, transfer and delete resellers; groups\n"
    "  credits     check: re-derive every reseller balance from the credit ledger\n"
    "  access      access rules of lines and global ones, the refusal log\n"
    "  ban         list and lift IP bans (brute-force protection)\n"
    "  device      add, list and delete MAC-bound set-top boxes (MAG portal)\n"
    "  signing     signed stream URLs: settings, key rotation, minting a URL\n"
    "  vod scan    import a folder of movie files (ffprobe, .nfo, artwork)\n"
    "  vod root    list, add and remove library roots (where local movies may be)\n"
    "  series scan import a folder of shows (Show/Season N/S01E02 files)\n"
    "  backup      write a compressed, checksummed copy of the database (safe while\n"
    "              the server runs)\n"
    "  restore     replace the database with a backup (verified first; server stopped)\n"
    "  version     print the version\n"
    "  help        print this help\n"
    "\n"
    "Every command accepts --data DIR (default " CLI_DEFAULT_DATA ") and --help.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static const char usage_version[] = "usage: xtreamd version [--data DIR]\n"
                                    "  Prints \"xtreamd <version>\" (also: xtreamd --version).\n";

static int cmd_version(int argc, char **argv)
{
    const char *data = CLI_DEFAULT_DATA;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    int r = cli_parse("xtreamd version", usage_version, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    printf("xtreamd %s\n", XTREAMD_VERSION);
    return CLI_OK;
}

/* Every command but serve (which is run before the log level is lowered) and
 * help (which takes a command name). */
static const struct cli_cmd commands[] = {
    {"version", cmd_version},   {"--version", cmd_version},
    {"demo", cli_demo},         {"import", cli_import},
    {"line", cli_line},         {"bouquet", cli_bouquet},
    {"category", cli_category}, {"stream", cli_stream},
    {"channel", cli_channel},   {"connections", cli_channel},
    {"epg", cli_epg},           {"vod", cli_library},
    {"series", cli_library},    {"admin", cli_admin},
    {"token", cli_token},       {"plan", cli_plan},
    {"backup", cli_backup},     {"restore", cli_restore},
    {"log", cli_log}, /* the running server's log levels */
    {"access", cli_access},     {"ban", cli_ban},
    {"signing", cli_signing},   {NULL, NULL},
};

/* --database URL (or --database=URL), taken out of argv wherever it is: every
 * command that opens the database then opens that one (db_set_location). */
static int take_database(int *argc, char **argv)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--database") == 0 && i + 1 < *argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--database=", 11) == 0)
            v = argv[i] + 11;
        else {
            argv[out++] = argv[i];
            continue;
        }
        if (!db_location_is_pg(v)) {
            fprintf(stderr, "xtreamd: --database: expected postgresql://...\n");
            return -EINVAL;
        }
        db_set_location(v);
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int cli_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "__child") == 0) /* internal: how ffmpeg is started */
        return live_child_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return cli_serve(argc - 1, argv + 1); /* --database is a serve setting */
    if (take_database(&argc, argv))
        return CLI_USAGE;
    /* Only warnings and errors from the libraries below: the commands print
     * their own results. */
    log_set_level(LOG_WARN);
    /* Not in the table above: one more row makes clang-format re-pack it. */
    if (argc >= 2 && strcmp(argv[1], "config") == 0)
        return cli_config(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "device") == 0)
        return cli_device(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "profile") == 0)
        return cli_profile(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "reseller") == 0)
        return cli_reseller(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "credits") == 0)
        return cli_credits(argc - 1, argv + 1);
    if (argc > 2 && strcmp(argv[1], "help") == 0) {
        /* "xtreamd help line" == "xtreamd line --help" */
        char *sub[] = {argv[2], "--help", NULL};
        if (strcmp(argv[2], "serve") == 0)
            return cli_serve(2, sub);
        if (strcmp(argv[2], "line") == 0 || strcmp(argv[2], "bouquet") == 0 ||
            strcmp(argv[2], "category") == 0 || strcmp(argv[2], "import") == 0 ||
            strcmp(argv[2], "demo") == 0 || strcmp(argv[2], "vod") == 0 ||
            strcmp(argv[2], "series") == 0 || strcmp(argv[2], "epg") == 0 ||
            strcmp(argv[2], "admin") == 0 || strcmp(argv[2], "token") == 0 ||
            strcmp(argv[2], "plan") == 0 || strcmp(argv[2], "config") == 0 ||
            strcmp(argv[2], "backup") == 0 || strcmp(argv[2], "restore") == 0 ||
            strcmp(argv[2], "log") == 0 || strcmp(argv[2], "access") == 0 ||
            strcmp(argv[2], "ban") == 0 || strcmp(argv[2], "device") == 0 ||
            strcmp(argv[2], "signing") == 0 || strcmp(argv[2], "profile") == 0 ||
            strcmp(argv[2], "reseller") == 0 || strcmp(argv[2], "credits") == 0)
            return cli_main(3, (char *[]){argv[0], argv[2], "--help", NULL});
        fprintf(stderr, "xtreamd help: unknown command '%s'\n", argv[2]);
        fputs(usage_text, stderr);
        return CLI_USAGE;
    }
    return cli_dispatch("xtreamd", usage_text, commands, argc, argv);
}

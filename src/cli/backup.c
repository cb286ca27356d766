/*
 * cli/backup: `xtreamd backup` and `xtreamd restore` — thin callers of
 * domain/backup.h. restore refuses while a server runs on the data folder
 * (serve.json names a live process: cli/handover.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/handover.h"
#include "domain/backup.h"

static const char usage_backup[] =
    "usage: xtreamd backup [--data DIR] FILE\n"
    "  Writes a consistent, compressed, checksummed copy of the database to FILE\n"
    "  (replaced atomically if it exists). Safe while the server runs: the copy\n"
    "  holds every change committed before it started and blocks no writer.\n";

static const char usage_restore[] =
    "usage: xtreamd restore [--data DIR] FILE\n"
    "  Replaces the database with the backup FILE. The file's checksum, the\n"
    "  database's integrity and its schema are checked first; nothing is replaced\n"
    "  if any check fails. Refused while a server runs on DIR (stop it first).\n"
    "  The previous database is kept as DIR/xtreamd.db.pre-restore-<UTC time>.\n";

int cli_backup(int argc, char **argv)
{
    const char *data = CLI_DEFAULT_DATA, *file = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &file, .min = 1, .max = 1, .name = "FILE"};
    int r = cli_parse("xtreamd backup", usage_backup, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    char err[4400];
    struct backup_info info;
    if (backup_create(data, file, &info, err, sizeof(err)) != 0) {
        fprintf(stderr, "xtreamd backup: %s\n", err);
        return CLI_FAIL;
    }
    printf("backup %s: database %llu bytes, file %llu bytes\n", file,
           (unsigned long long)info.raw_size,
           (unsigned long long)(info.payload_size + BACKUP_HEADER_SIZE));
    return CLI_OK;
}

static int server_busy(void *ud, const char *data_dir, char *why, size_t whylen)
{
    (void)ud;
    long pid = handover_running_pid(data_dir);
    if (pid > 0)
        snprintf(why, whylen, "a server (pid %ld) runs on %s", pid, data_dir);
    return pid > 0;
}

int cli_restore(int argc, char **argv)
{
    const char *data = CLI_DEFAULT_DATA, *file = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &file, .min = 1, .max = 1, .name = "FILE"};
    int r = cli_parse("xtreamd restore", usage_restore, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    char err[4400], side[4400];
    if (backup_restore(data, file, server_busy, NULL, side, sizeof(side), err, sizeof(err)) != 0) {
        fprintf(stderr, "xtreamd restore: %s\n", err);
        return CLI_FAIL;
    }
    printf("restored %s into %s/xtreamd.db\n", file, data);
    if (side[0])
        printf("the previous database is kept as %s\n", side);
    return CLI_OK;
}

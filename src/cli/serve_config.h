/*
 * serve_config: the configuration of `xtreamd serve` in layers, each value
 * recorded with where it came from (struct serve_origin):
 *
 *   defaults < file (config/conffile.h) < environment (XTREAMD_*) < flags
 *
 * Keys of the file, environment names and flags are the rows of the table
 * (cli/serve_options.h); every value goes through the row's setter, so a
 * file, the environment and the command line accept exactly the same
 * values. The flags are applied by serve.c (parse_flags); this file does the
 * file and the environment, `xtreamd config check|show|example`, and the
 * comparison a reload (SIGHUP) needs. docs/configuration.md is the
 * operator's reference. Single-threaded (start-up and the loop thread).
 */
#ifndef XTREAMD_CLI_SERVE_CONFIG_H
#define XTREAMD_CLI_SERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/args.h"
#include "cli/serve_options.h"
#include "config/conffile.h"

#define SERVE_CONFIG_DEFAULT "/etc/xtreamd/xtreamd.conf"
#define SERVE_CONFIG_ENV     "XTREAMD_CONFIG"

/* The file to read: FLAG (--config) if given, else $XTREAMD_CONFIG, else
 * SERVE_CONFIG_DEFAULT when it exists; "" (no file) otherwise. */
void serve_config_path(const char *flag, char *out, size_t len);
/* Applies a parsed file's entries (layer "file PATH:LINE"). On the first bad
 * entry: -EINVAL and "FILE:LINE: <what is wrong with KEY>" in err. */
int serve_config_apply_file(struct serve_settings *s, const struct conffile *f, char *err,
                            size_t errlen);
/* Applies every row's XTREAMD_* variable that is set and not empty (layer
 * "env NAME"); a repeatable row's value is split at commas. */
int serve_config_apply_env(struct serve_settings *s, char *err, size_t errlen);
/* The file (path from serve_config_path, written to path; "" when none),
 * then the environment, over s. An explicit file that is missing is an
 * error. 0 or -errno with the message in err. */
int serve_config_load(struct serve_settings *s, const char *flag, char *path, size_t pathlen,
                      char *err, size_t errlen);

/* The command line layer: every row is the long option --NAME (a flag row
 * without a value), applied in order with layer "flag --NAME", plus the
 * options of EXTRA (CLI_OPT_END-terminated, at most 8; e.g. --config).
 * cli_parse's result (0, or what cli_parse_exit maps). */
int serve_config_flags(struct serve_settings *set, const char *cmd, const char *usage, int argc,
                       char **argv, const struct cli_opt *extra);

/* `xtreamd config show`: every setting, its effective value and source. */
void serve_config_show(FILE *f, const struct serve_settings *s, const char *path, bool json);
/* `xtreamd config example`: every key, commented out at its default, with
 * its help (packaging/xtreamd.conf is this output). */
void serve_config_example(FILE *f);

/* Calls fn for every setting whose effective value differs between A and B
 * (KEY as in `config show`: "listen", "live.watchdog", "allow-host"). */
void serve_config_diff(const struct serve_settings *a, const struct serve_settings *b,
                       void (*fn)(void *ud, const char *key, const char *was, const char *now),
                       void *ud);

/* `xtreamd config` (cli/serve_config.c). */
int cli_config(int argc, char **argv);

#endif

/*
 * cli/args: option-parsing helpers shared by the `xtreamd` sub-commands.
 *
 * Owns nothing. Every helper that rejects input prints one line on stderr
 * naming the option and the bad value, so callers only map the return value to
 * an exit code (negative → CLI_USAGE or CLI_FAIL as documented per helper).
 * Single-threaded (the command line runs before any server thread exists).
 */
#ifndef XTREAMD_CLI_ARGS_H
#define XTREAMD_CLI_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct db;

#define CLI_DEFAULT_DATA "./data"

/* Sub-command entry points; argv[0] is the command word ("line", ...). */
int cli_line(int argc, char **argv);
int cli_bouquet(int argc, char **argv);
int cli_category(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_stream(int argc, char **argv);  /* cli/stream.c */
int cli_channel(int argc, char **argv); /* cli/channel.c: channel and connections */
int cli_epg(int argc, char **argv);
/* `xtreamd vod scan` / `xtreamd series scan` (cli/library.c); argv[0] is "vod"/"series". */
int cli_library(int argc, char **argv);

/* True for "--help" or "-h". */
bool cli_is_help(const char *arg);

/* True when any argument before a "--" is --help/-h. */
bool cli_wants_help(int argc, char **argv);

/* Matches option `name` at argv[*i] in the forms "--name VALUE" and
 * "--name=VALUE". Returns 1 and sets *val (advancing *i past a separate value),
 * 0 when argv[*i] is not this option, or -EINVAL (after printing "<cmd>: option
 * --name needs a value") when the value is missing. */
int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **val);

/* Parses a decimal integer in [min, max]; prints "<cmd>: <opt>: ..." and returns
 * -EINVAL on anything else (empty, trailing junk, out of range). */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long long min, long long max,
                  long long *out);

/* Accepts live|movie|series and returns the canonical static string. */
int cli_parse_kind(const char *cmd, const char *opt, const char *s, const char **kind);

/* Prints "<cmd>: unknown option 'arg'" (or "unexpected argument") and returns
 * CLI_USAGE. */
int cli_bad_arg(const char *cmd, const char *arg);

/* Opens (creating and migrating) the database in data_dir; prints the reason on
 * failure and returns a negative errno. */
int cli_open_db(const char *cmd, const char *data_dir, struct db **out);

/* Prints j (consumed, may be NULL) to stdout as indented JSON and a newline;
 * -EIO when there was nothing to print or the write failed. */
int cli_print_json(json_t *j);

/* Writes s as a table cell: truncated to `width` display bytes, padded. */
void cli_print_cell(const char *s, int width);

#endif

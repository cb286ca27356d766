/*
 * cli/args: the option parser, the sub-command dispatcher and the helpers
 * shared by the `xtreamd` sub-commands.
 *
 * Owns nothing: a command describes its options in a table of struct cli_opt
 * pointing at its own variables, and cli_parse() walks argv once, filling
 * them. Accepted forms, for every command alike: "--name VALUE" and
 * "--name=VALUE" for options with a value (the value may start with '-'),
 * "--name" for flags, options before or after positional arguments, "--" ends
 * the options, a lone "-" is a positional argument, and --help/-h anywhere
 * before "--" prints the usage.
 *
 * Invariants: every helper that rejects input prints one line on stderr naming
 * the command, the option and the bad value, so callers only map the return
 * value to an exit code (cli_parse_exit). Values are stored as pointers into
 * argv, never copied.
 * Single-threaded (the command line runs before any server thread exists).
 */
#ifndef XTREAMD_CLI_ARGS_H
#define XTREAMD_CLI_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/error.h"

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
int cli_admin(int argc, char **argv);    /* cli/admin.c: admin accounts */
int cli_plan(int argc, char **argv);     /* cli/plan.c: plans (packages) */
int cli_log(int argc, char **argv);      /* cli/log_cmd.c: the running server's log levels */
int cli_token(int argc, char **argv);    /* cli/token.c: API tokens */
int cli_backup(int argc, char **argv);   /* cli/backup.c */
int cli_restore(int argc, char **argv);  /* cli/backup.c */
int cli_access(int argc, char **argv);   /* cli/access.c: access rules, refusal log */
int cli_ban(int argc, char **argv);      /* cli/access.c: IP bans */
int cli_device(int argc, char **argv);   /* cli/device.c: MAC-bound boxes */
int cli_signing(int argc, char **argv);  /* cli/signing.c: signed stream URLs */
int cli_profile(int argc, char **argv);  /* cli/profile.c: transcode profiles */
int cli_reseller(int argc, char **argv); /* cli/reseller.c: resellers and their groups */
int cli_credits(int argc, char **argv);  /* cli/reseller.c: credits check */
/* `xtreamd vod scan` / `xtreamd series scan` (cli/library.c); argv[0] is "vod"/"series". */
int cli_library(int argc, char **argv);

/* What an option does. The flag kinds take no value ("--json=1" is an unknown
 * option); the others take one. */
enum cli_kind {
    CLI_FLAG,  /* bool *: set to true */
    CLI_CONST, /* int *: set to .val; the last one given wins */
    CLI_TRI,   /* int *, starting at -1: set to .val; a different earlier value is a usage
                  error ("'--no-trial' contradicts an earlier option") */
    CLI_STR,   /* const char **: the value as given (the last one wins); may be NULL when
                  .check does all the work */
    CLI_INT,   /* long long *: a decimal integer in [.min, .max] */
    CLI_KIND,  /* const char **: live|movie|series, as a static string */
    CLI_LIST,  /* struct cli_list *: repeatable, values appended in order */
};

/* Validates (and may convert into ctx) a value after the kind's own checks;
 * prints "<cmd>: <opt>: reason" and returns -EINVAL to reject it. */
typedef int (*cli_check_fn)(const char *cmd, const char *opt, const char *val, void *ctx);

struct cli_opt {
    const char *name; /* "--name"; NULL ends the table */
    enum cli_kind kind;
    void *target;
    long long min, max; /* CLI_INT bounds */
    int val;            /* CLI_CONST, CLI_TRI */
    cli_check_fn check; /* optional, value kinds only */
    void *ctx;          /* passed to check */
    bool disabled;      /* treated as unknown (for tables shared by sub-commands) */
};

/* The values of a repeatable option; more than cap of them is a usage error
 * ("at most <cap> --name options"). */
struct cli_list {
    const char **v;
    size_t n, cap;
};

#define CLI_LIST_OF(arr) ((struct cli_list){.v = (arr), .cap = sizeof(arr) / sizeof((arr)[0])})

/* A table entry: CLI_OPT("--jobs", CLI_INT, &jobs, .min = 1, .max = 64) — the
 * target, then any other fields by name. */
#define CLI_OPT(n, k, ...)                                                                         \
    {                                                                                              \
        .name = (n), .kind = (k), .target = __VA_ARGS__                                            \
    }
/* Entries most commands have, and the end of a table. */
#define CLI_OPT_DATA(p) CLI_OPT("--data", CLI_STR, (p))
#define CLI_OPT_JSON(p) CLI_OPT("--json", CLI_FLAG, (p))
#define CLI_OPT_END                                                                                \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* Positional arguments: up to max are stored in v, in order; one more is
 * "unexpected argument"; fewer than min is "missing <name> (see <cmd> --help)". */
struct cli_pos {
    const char **v;
    int min, max;
    const char *name;
    int n; /* out */
};

/* Parses argv[1..argc-1] against opts (and pos; NULL: no positional
 * arguments). Returns 0 when the command should go on, 1 after printing usage
 * on stdout for --help/-h, or -EINVAL after printing the usage error on stderr:
 * unknown option, missing or bad value, unexpected or missing positional. */
int cli_parse(const char *cmd, const char *usage, int argc, char **argv, const struct cli_opt *opts,
              struct cli_pos *pos);

/* Maps a non-zero cli_parse() result to the exit status: 0 for --help, 2 for
 * a usage error. */
int cli_parse_exit(int r);

/* A sub-command: its word and its entry point (which gets argv[0] == name). */
struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
};

/* Runs the entry of cmds (ended by {NULL, NULL}) named by argv[1], with
 * argv + 1, and returns its exit status. No argv[1]: the usage on stderr, 2;
 * "help", --help or -h: the usage on stdout, 0; any other word:
 * "<group>: unknown command 'WORD'" and the usage on stderr, 2. */
int cli_dispatch(const char *group, const char *usage, const struct cli_cmd *cmds, int argc,
                 char **argv);

/* A check: rejects an empty value ("<cmd>: <opt>: empty name"). */
int cli_check_nonempty(const char *cmd, const char *opt, const char *val, void *ctx);
/* --allow-host HOST (repeatable): adds HOST to the outbound policy
 * (http/outbound.h) of this run, so that its downloads may reach it. */
int cli_check_allow_host(const char *cmd, const char *opt, const char *val, void *ctx);
#define CLI_OPT_ALLOW_HOST(...)                                                                    \
    CLI_OPT("--allow-host", CLI_STR, NULL, .check = cli_check_allow_host, __VA_ARGS__)

/* True for "--help" or "-h". */
bool cli_is_help(const char *arg);

/* True when any argument before a "--" is --help/-h. */
bool cli_wants_help(int argc, char **argv);

/* Parses a decimal integer in [min, max]; prints "<cmd>: <opt>: ..." and returns
 * -EINVAL on anything else (empty, trailing junk, out of range). */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long long min, long long max,
                  long long *out);

/* Accepts live|movie|series and returns the canonical static string. */
int cli_parse_kind(const char *cmd, const char *opt, const char *s, const char **kind);

/* Opens (creating and migrating) the database in data_dir; prints the reason on
 * failure and returns a negative errno. */
int cli_open_db(const char *cmd, const char *data_dir, struct db **out);

/* Reports a database call of cmd that failed with rc and returns CLI_FAIL (the
 * exit status): "<cmd>: " and not_found formatted like printf (e.g. "no line
 * '%s'") when rc is -ENOENT and not_found is not NULL, else "<cmd>: database
 * error". */
int cli_db_fail(const char *cmd, int rc, const char *not_found, ...)
    __attribute__((format(printf, 3, 4)));

/* How a domain field is called on this command line: {"max_connections",
 * "--max-connections"}; a table ends with {NULL, NULL}. */
struct cli_field_name {
    const char *field, *label;
};

/* Reports a failed domain call (domain/error.h): one "<cmd>: <label>:
 * <message>" line per field error (label from names, matched on the field
 * up to '[', else the field itself), else "<cmd>: <detail>". Returns the exit
 * status: CLI_USAGE for invalid values (DOM_E_VALIDATION), else CLI_FAIL. */
int cli_dom_fail(const char *cmd, const struct dom_error *e, const struct cli_field_name *names);

/* The shape of most one-shot commands: opens data_dir's database, runs the
 * domain call fn(db, arg, e), closes it. Returns CLI_OK, or the exit status
 * after printing the failure (cli_open_db, cli_dom_fail with names). */
int cli_db_call(const char *cmd, const char *data_dir,
                int (*fn)(struct db *db, const char *arg, struct dom_error *e), const char *arg,
                const struct cli_field_name *names);

/* Prints j (consumed, may be NULL) to stdout as indented JSON and a newline;
 * -EIO when there was nothing to print or the write failed. */
int cli_print_json(json_t *j);
/* The same for JSON text a domain serialiser wrote (e.g. dom_line_write_json),
 * re-indented; -EIO when it is not JSON or the write failed. */
int cli_print_json_text(const char *text);

/* Writes s as a table cell: truncated to `width` display bytes, padded. */
void cli_print_cell(const char *s, int width);

#endif

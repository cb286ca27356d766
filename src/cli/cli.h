/*
 * cli: the `xtreamd` command line. cli_main() dispatches sub-commands
 * (serve, demo, import, line, bouquet, category, help, version).
 *
 * Conventions for every command: `--help` prints usage to stdout and exits 0;
 * exit codes are 0 success, 1 runtime failure (not found, rejected import,
 * database error), 2 usage error; errors go to stderr and name the bad
 * argument or value. `--data DIR` selects the data directory (default ./data).
 * Commands parse argv and call the services of src/domain/, which hold every
 * rule (docs/internals/cli.md); cli_dom_fail() prints their field errors.
 */
#ifndef XTREAMD_CLI_CLI_H
#define XTREAMD_CLI_CLI_H

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

int cli_main(int argc, char **argv);

/* `xtreamd serve` (src/cli/serve.c). argv[0] is "serve". */
int cli_serve(int argc, char **argv);

#endif

/*
 * cli/remote: one call to the running server's admin API on loopback
 * (cli/channel.c), authenticated with the per-run token of <data>/serve.json.
 * Blocking, 10 s timeout, 16 MiB answer bound. Single-threaded.
 */
#ifndef XTREAMD_CLI_REMOTE_H
#define XTREAMD_CLI_REMOTE_H

struct buf;

/* method path with the JSON body send (NULL: none); the status and the body
 * of the answer into *status and body. 0, or -errno after printing why
 * (prefixed by cmd) to stderr. */
int cli_server_request(const char *cmd, const char *data, const char *method, const char *path,
                       const char *send, int *status, struct buf *body);

#endif

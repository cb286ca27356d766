/*
 * serve_options: every setting of `xtreamd serve`, as one table.
 *
 * A row names a setting once: its name is the long flag (`--name`), the
 * configuration file's key and the environment variable (`XTREAMD_` + the
 * name in upper case, `-` as `_`). Its setter validates a text value and
 * stores it in struct serve_settings; the usage text (and the man page made
 * from it) comes from the rows' help. Sources are applied in layers over the
 * defaults — file, then environment, then flags — each through
 * serve_option_apply, so a later layer overrides an earlier one; repeatable
 * settings (SERVE_OPT_LIST) add to what earlier layers gave.
 *
 * Strings in the settings are owned by it (copied on set). Not thread-safe:
 * built once at start-up (and on reload into a fresh struct).
 */
#ifndef XTREAMD_CLI_SERVE_OPTIONS_H
#define XTREAMD_CLI_SERVE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "archive/archive.h"
#include "auth/access.h"
#include "auth/throttle.h"
#include "stream/live.h"

#define SERVE_MAX_ALLOW_HOSTS 64
#define SERVE_MAX_LOG_LEVELS  64

struct serve_settings {
    char *data;     /* data directory ("./data") */
    char *database; /* NULL: SQLite in data; "postgresql://...": that server (db_set_location) */
    char *listen;   /* "HOST:PORT" as given ("0.0.0.0:8080") */
    char listen_host[256];
    int listen_port;
    char *public_url;               /* NULL: from the request's Host header */
    char *cluster_role;             /* NULL or "main" (cluster/node.h) */
    char *cluster_db_url;           /* main: the database edges use; NULL = database */
    unsigned cluster_orphan_ttl_ms; /* main: end a silent node's sessions after (60000) */
    int cluster_offline;            /* edge: enum offline_policy (OFFLINE_DENY) */
    unsigned cluster_hls_ttl_ms;    /* main: an HLS session's lease without a refresh (30000) */
    unsigned header_ms, idle_ms;
    struct throttle_config throttle;
    struct access_config access; /* --access KEY=VALUE, --geoip-db (owned string) */
    bool redirect_remote;        /* remote VOD: 302 to the source instead of relaying */
    struct live_config live;
    struct archive_config archive; /* --archive KEY=VALUE (the TV archive recorder) */
    char *allow_hosts[SERVE_MAX_ALLOW_HOSTS];
    size_t nallow_hosts;
    /* Scheduled backups (cli/backup_sched.h): off while backup_dir is NULL. */
    char *backup_dir;
    unsigned backup_interval_s; /* default 24 h */
    unsigned backup_keep;       /* files kept in backup_dir; default 7 */
    unsigned stop_grace_ms;     /* SIGTERM / hand-over drain; default 10000, 0 = at once */
    unsigned loops;             /* --loops: I/O loops, 1..LIVE_MAX_LOOPS (default: CPUs) */

    /* Where values come from (cli/serve_config.h): while `layer` is set
     * ("file:12", "env XTREAMD_LISTEN", "flag"), every value applied is
     * recorded in origins, in order; a setting with no origin has its
     * default. */
    const char *layer;
    struct serve_origin *origins;
    size_t norigins, caporigins;

    char *log_file;                         /* NULL: stderr */
    int log_format;                         /* enum log_format (core/log.h) */
    char *log_levels[SERVE_MAX_LOG_LEVELS]; /* "[TAG=]LEVEL", applied in order */
    size_t nlog_levels;

    char *listen_tls; /* "HOST:PORT" of the HTTPS listener; NULL = none */
    char listen_tls_host[256];
    int listen_tls_port;
    char *tls_cert, *tls_key;  /* PEM files (http/tls.h) */
    bool https_redirect_admin; /* plain /api/v1 requests: 308 to HTTPS */

    char *web_root; /* the built web panel; NULL: panel_default_root (panel/panel.h) */

    /* private: strings to free */
    char **owned;
    size_t nowned, capowned;
};

struct serve_origin {
    const struct serve_option *o;
    const char *value; /* as applied ("5", "watchdog=5") */
    const char *where; /* the layer then */
};

enum serve_opt_kind {
    SERVE_OPT_VALUE, /* one value; a later layer replaces it */
    SERVE_OPT_LIST,  /* repeatable; every occurrence adds */
    SERVE_OPT_FLAG,  /* a flag without argument on the command line ("true");
                        "true"/"false"/"1"/"0"/"yes"/"no" in files and env */
};

struct serve_option {
    const char *name; /* long flag, file key, env XTREAMD_NAME */
    const char *arg;  /* argument name in the usage ("SECONDS"); NULL for flags */
    enum serve_opt_kind kind;
    /* 0, or -EINVAL for a bad value (-ENOSPC: a list is full, -ENOMEM). */
    int (*set)(struct serve_settings *s, const char *value);
    const char *want; /* what a good value looks like, for errors: "HOST:PORT" */
    const char *help; /* usage text; '\n' starts a continuation line */
};

extern const struct serve_option serve_options[];
extern const size_t serve_options_count;

void serve_settings_init(struct serve_settings *s);
void serve_settings_free(struct serve_settings *s);
const struct serve_option *serve_option_find(const char *name);
/* Applies one value of o. On failure writes "invalid AS \"VALUE\" (want
 * WANT)" (or the list-full reason) to err and returns -errno; AS is how the
 * source named the setting ("--listen", "XTREAMD_LISTEN"; NULL: its name). */
int serve_option_apply(struct serve_settings *s, const struct serve_option *o, const char *as,
                       const char *value, char *err, size_t errlen);
/* The last origin of o whose value starts with PREFIX (NULL: any); NULL when
 * o has its default. */
const struct serve_origin *serve_option_origin(const struct serve_settings *s,
                                               const struct serve_option *o, const char *prefix);
/* The effective value of a one-value row as text ("10" for header-timeout,
 * "" when unset); -ENOENT for a row that has no formatter (a test checks that
 * every row has one). */
int serve_option_format(const struct serve_settings *s, const struct serve_option *o, char *out,
                        size_t len);
/* The environment variable of a setting: XTREAMD_ + upper case, '-' as '_'. */
int serve_option_env_name(const struct serve_option *o, char *out, size_t outlen);
/* "true"/"1"/"yes"/"on" and their opposites; -EINVAL otherwise. */
int serve_parse_bool(const char *v, bool *out);
/* The rows' usage text, wrapped at the help's own line breaks. */
void serve_options_usage(FILE *f);

#endif

/*
 * serve_options: the table of `serve` settings and their setters (see the
 * header). A setter validates completely before it stores, so a bad value
 * leaves the previous one in place.
 */
#include "cli/serve_options.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cluster/offline.h"
#include "core/log.h"
#include "db/db.h"

static int own(struct serve_settings *s, const char *value, char **out)
{
    if (s->nowned == s->capowned) {
        size_t cap = s->capowned ? s->capowned * 2 : 16;
        char **n = realloc(s->owned, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->owned = n;
        s->capowned = cap;
    }
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    s->owned[s->nowned++] = copy;
    *out = copy;
    return 0;
}

/* HOST:PORT, [V6]:PORT; port 0 picks a free one. */
static int split_listen(const char *arg, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg)
        return -EINVAL;
    const char *h = arg;
    size_t hl = (size_t)(colon - arg);
    if (*h == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hostlen)
        return -EINVAL;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

static int parse_seconds(const char *arg, unsigned *ms)
{
    char *end;
    double v = strtod(arg, &end);
    if (*end || end == arg || !(v > 0) || v > 86400)
        return -EINVAL;
    *ms = (unsigned)(v * 1000);
    return 0;
}

int serve_parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int set_data(struct serve_settings *s, const char *v)
{
    if (!*v)
        return -EINVAL;
    return own(s, v, &s->data);
}

static int set_cluster_role(struct serve_settings *s, const char *v)
{
    if (strcmp(v, "main") != 0)
        return -EINVAL;
    return own(s, v, &s->cluster_role);
}

static int set_cluster_orphan_ttl(struct serve_settings *s, const char *v)
{
    return parse_seconds(v, &s->cluster_orphan_ttl_ms);
}

static int set_cluster_offline(struct serve_settings *s, const char *v)
{
    int p = offline_policy_parse(v);
    if (p < 0)
        return -EINVAL;
    s->cluster_offline = p;
    return 0;
}

/* At least two report periods (ADMISSION_REPORT_MS, 5 s): a refreshing HLS viewer's lease is
 * written every period and must never lapse between two. */
static int set_cluster_hls_ttl(struct serve_settings *s, const char *v)
{
    unsigned ms;
    if (parse_seconds(v, &ms) || ms < 10000)
        return -EINVAL;
    s->cluster_hls_ttl_ms = ms;
    return 0;
}

static int set_cluster_db(struct serve_settings *s, const char *v)
{
    if (!db_location_is_pg(v))
        return -EINVAL;
    return own(s, v, &s->cluster_db_url);
}

static int set_database(struct serve_settings *s, const char *v)
{
    if (!db_location_is_pg(v))
        return -EINVAL;
    return own(s, v, &s->database);
}

/* A listen address: the text as given, and its host and port parts. */
static int set_address(struct serve_settings *s, const char *v, char **text, char *host,
                       size_t hostlen, int *port)
{
    char h[256];
    int p;
    if (hostlen > sizeof(h) || split_listen(v, h, hostlen, &p))
        return -EINVAL;
    int rc = own(s, v, text);
    if (rc)
        return rc;
    memcpy(host, h, hostlen);
    *port = p;
    return 0;
}

static int set_listen(struct serve_settings *s, const char *v)
{
    return set_address(s, v, &s->listen, s->listen_host, sizeof(s->listen_host), &s->listen_port);
}

static int set_listen_tls(struct serve_settings *s, const char *v)
{
    return set_address(s, v, &s->listen_tls, s->listen_tls_host, sizeof(s->listen_tls_host),
                       &s->listen_tls_port);
}

static int set_web_root(struct serve_settings *s, const char *v)
{
    return *v ? own(s, v, &s->web_root) : -EINVAL;
}

static int set_tls_cert(struct serve_settings *s, const char *v)
{
    return *v ? own(s, v, &s->tls_cert) : -EINVAL;
}

static int set_tls_key(struct serve_settings *s, const char *v)
{
    return *v ? own(s, v, &s->tls_key) : -EINVAL;
}

static int set_https_redirect_admin(struct serve_settings *s, const char *v)
{
    return serve_parse_bool(v, &s->https_redirect_admin);
}

static int set_public_url(struct serve_settings *s, const char *v)
{
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
        return -EINVAL;
    return own(s, v, &s->public_url);
}

static int set_header_timeout(struct serve_settings *s, const char *v)
{
    return parse_seconds(v, &s->header_ms);
}

static int set_idle_timeout(struct serve_settings *s, const char *v)
{
    return parse_seconds(v, &s->idle_ms);
}

static int set_channel_idle(struct serve_settings *s, const char *v)
{
    return parse_seconds(v, &s->live.idle_ms);
}

/* A non-empty text kept for a field another module declares const. */
static int own_text(struct serve_settings *s, const char *v, const char **field)
{
    char *copy;
    if (!*v)
        return -EINVAL;
    int rc = own(s, v, &copy);
    if (rc == 0)
        *field = copy;
    return rc;
}

static int set_ffmpeg(struct serve_settings *s, const char *v)
{
    return own_text(s, v, &s->live.ffmpeg);
}

static int set_allow_host(struct serve_settings *s, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 253)
        return -EINVAL;
    if (s->nallow_hosts == SERVE_MAX_ALLOW_HOSTS)
        return -ENOSPC;
    return own(s, v, &s->allow_hosts[s->nallow_hosts++]);
}

static int set_login_window(struct serve_settings *s, const char *v)
{
    return parse_seconds(v, &s->throttle.window_ms);
}

static int set_login_free(struct serve_settings *s, const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < 0 || n > 1000000)
        return -EINVAL;
    s->throttle.free = (unsigned)n;
    return 0;
}

static int set_access(struct serve_settings *s, const char *v)
{
    struct access_config probe = s->access; /* a bad knob changes nothing */
    int rc = access_config_set(&probe, v);
    if (rc == 0)
        s->access = probe;
    return rc;
}

static int set_geoip_db(struct serve_settings *s, const char *v)
{
    return own_text(s, v, &s->access.geoip_db);
}

static int set_remote_vod(struct serve_settings *s, const char *v)
{
    if (strcmp(v, "relay") == 0)
        s->redirect_remote = false;
    else if (strcmp(v, "redirect") == 0)
        s->redirect_remote = true;
    else
        return -EINVAL;
    return 0;
}

static int set_live(struct serve_settings *s, const char *v)
{
    /* Validate on a copy: a bad knob leaves every knob as it was. */
    struct live_config probe = s->live;
    int rc = live_config_set(&probe, v);
    if (rc == 0)
        s->live = probe;
    return rc;
}

static int set_archive(struct serve_settings *s, const char *v)
{
    struct archive_config probe = s->archive; /* a bad knob changes nothing */
    int rc = archive_config_set(&probe, v);
    if (rc == 0)
        s->archive = probe;
    return rc;
}

static int set_backup_dir(struct serve_settings *s, const char *v)
{
    if (!*v)
        return -EINVAL;
    return own(s, v, &s->backup_dir);
}

/* A duration: N with a unit s, m, h or d; a bare number is hours. */
static int set_backup_interval(struct serve_settings *s, const char *v)
{
    char *end;
    double n = strtod(v, &end);
    double mul = 3600;
    if (end == v || !(n > 0))
        return -EINVAL;
    if (*end == 's')
        mul = 1;
    else if (*end == 'm')
        mul = 60;
    else if (*end == 'd')
        mul = 86400;
    else if (*end && *end != 'h')
        return -EINVAL;
    if (*end && end[1])
        return -EINVAL;
    double secs = n * mul;
    if (secs < 1 || secs > 366.0 * 86400)
        return -EINVAL;
    s->backup_interval_s = (unsigned)secs;
    return 0;
}

static int set_backup_keep(struct serve_settings *s, const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < 1 || n > 100000)
        return -EINVAL;
    s->backup_keep = (unsigned)n;
    return 0;
}

static int set_stop_grace(struct serve_settings *s, const char *v)
{
    char *end;
    double n = strtod(v, &end);
    if (*end || end == v || !(n >= 0) || n > 86400)
        return -EINVAL;
    s->stop_grace_ms = (unsigned)(n * 1000);
    return 0;
}

/* One I/O loop per online CPU (issue 11: two loops on two cores kept 4000 of 4000
 * viewers at the rate where one loop kept none), within 1..LIVE_MAX_LOOPS; a sysconf
 * failure counts as one CPU. Resolved here so `config show` prints the number. */
static unsigned cpu_loops(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > LIVE_MAX_LOOPS ? LIVE_MAX_LOOPS : (unsigned)n;
}

static int set_loops(struct serve_settings *s, const char *v)
{
    if (strcmp(v, "auto") == 0) {
        s->loops = cpu_loops();
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < 1 || n > LIVE_MAX_LOOPS)
        return -EINVAL;
    s->loops = (unsigned)n;
    return 0;
}

static int set_log_file(struct serve_settings *s, const char *v)
{
    if (!*v)
        return -EINVAL;
    return own(s, v, &s->log_file);
}

static int set_log_format(struct serve_settings *s, const char *v)
{
    enum log_format f;
    if (log_format_parse(v, &f))
        return -EINVAL;
    s->log_format = (int)f;
    return 0;
}

static int set_log_level(struct serve_settings *s, const char *v)
{
    char tag[LOG_TAG_MAX];
    enum log_level level;
    if (log_parse_level_setting(v, tag, &level))
        return -EINVAL;
    if (s->nlog_levels == SERVE_MAX_LOG_LEVELS)
        return -ENOSPC;
    return own(s, v, &s->log_levels[s->nlog_levels++]);
}

const struct serve_option serve_options[] = {
    {"data", "DIR", SERVE_OPT_VALUE, set_data, "a directory", "data directory (default ./data)"},
    {"database", "URL", SERVE_OPT_VALUE, set_database, "postgresql://...",
     "the catalogue database on a PostgreSQL server\n(default: SQLite in the data directory)"},
    {"cluster-role", "ROLE", SERVE_OPT_VALUE, set_cluster_role, "main",
     "main: this node is a cluster's main (PostgreSQL only;\nneeds --public-url). Edges join "
     "with 'xtreamd node enrol'"},
    {"cluster-database-url", "URL", SERVE_OPT_VALUE, set_cluster_db, "postgresql://...",
     "main: the database edges are told to use at\nenrolment (default: --database)"},
    {"cluster-orphan-ttl", "SECONDS", SERVE_OPT_VALUE, set_cluster_orphan_ttl, "seconds",
     "main: end the viewer sessions of a node silent this\nlong, so lines regain their slots "
     "(default 60)"},
    {"cluster-offline-admission", "POLICY", SERVE_OPT_VALUE, set_cluster_offline, "deny or local",
     "edge: new viewers while the main or the database\ncannot be reached: deny (503, default) "
     "or local\n(admitted here, reconciled when the main is back)"},
    {"cluster-hls-ttl", "SECONDS", SERVE_OPT_VALUE, set_cluster_hls_ttl, "seconds (>= 10)",
     "main: an HLS viewer's session stays counted this long\nafter its last playlist or "
     "segment request (default 30)"},
    {"listen", "HOST:PORT", SERVE_OPT_VALUE, set_listen, "HOST:PORT",
     "address to listen on (default 0.0.0.0:8080;\n[::]:PORT for IPv6; port 0 picks a free port)"},
    {"public-url", "URL", SERVE_OPT_VALUE, set_public_url, "http(s)://HOST[:PORT]",
     "base URL put in playlists and server_info\n(default: from the request's Host header)"},
    {"listen-tls", "HOST:PORT", SERVE_OPT_VALUE, set_listen_tls, "HOST:PORT",
     "HTTPS listener beside --listen (default: none;\nneeds --tls-cert and --tls-key)"},
    {"tls-cert", "FILE", SERVE_OPT_VALUE, set_tls_cert, "a PEM file",
     "HTTPS certificate, PEM, leaf first then the chain\n(reloaded on SIGHUP)"},
    {"tls-key", "FILE", SERVE_OPT_VALUE, set_tls_key, "a PEM file",
     "private key of --tls-cert, PEM (reloaded on SIGHUP)"},
    {"https-redirect-admin", NULL, SERVE_OPT_FLAG, set_https_redirect_admin, "true or false",
     "answer plain-HTTP admin API requests (/api/v1)\nwith 308 to the HTTPS port; stream and "
     "client\nroutes stay on both"},
    {"web-root", "DIR", SERVE_OPT_VALUE, set_web_root, "a directory",
     "the built web panel served at / (default: web/dist\nof the source tree the binary was built "
     "in,\nelse /usr/share/xtreamd/web)"},
    {"header-timeout", "SECONDS", SERVE_OPT_VALUE, set_header_timeout,
     "seconds, above 0 up to 86400",
     "a request's head and body must arrive within this\n(default 10)"},
    {"idle-timeout", "SECONDS", SERVE_OPT_VALUE, set_idle_timeout, "seconds, above 0 up to 86400",
     "close idle keep-alive connections after this\n(default 60)"},
    {"channel-idle", "SECONDS", SERVE_OPT_VALUE, set_channel_idle, "seconds, above 0 up to 86400",
     "stop an on-demand channel this long after its\nlast viewer left (default 30)"},
    {"ffmpeg", "PATH", SERVE_OPT_VALUE, set_ffmpeg, "a program",
     "ffmpeg program for live ingest (default ffmpeg)"},
    {"allow-host", "HOST", SERVE_OPT_LIST, set_allow_host, "a host name or address",
     "let the VOD relay and guide downloads reach HOST\nalthough it is loopback, link-local or "
     "this\nmachine (refused otherwise); repeatable"},
    {"login-window", "SECONDS", SERVE_OPT_VALUE, set_login_window, "seconds, above 0 up to 86400",
     "failed logins of an IP are remembered this long\n(default 900)"},
    {"login-free", "N", SERVE_OPT_VALUE, set_login_free, "0-1000000",
     "failed logins of an IP within the window before it\nis blocked 1, 2, 4 ... up to 60 s per "
     "further\nfailure (default 5)"},
    {"access", "KEY=VALUE", SERVE_OPT_LIST, set_access, "an access KEY=VALUE",
     "access control tuning, repeatable (docs/operator-guide.md,\nAccess control): ban-after "
     "(20), ban-time (600 s),\nban-max (604800 s), flag-ips (5), rate (0 = off,\nrequests/s "
     "per IP), burst (2 x rate), max-ips\n(65536), log-max (100000 refusal rows)"},
    {"geoip-db", "PATH", SERVE_OPT_VALUE, set_geoip_db, "a MaxMind country .mmdb file",
     "country database for country rules (without it\nthey are off)"},
    {"remote-vod", "MODE", SERVE_OPT_VALUE, set_remote_vod, "relay or redirect",
     "movies/episodes with an http(s) source: relay\n(default: streamed through xtreamd, Range "
     "passed\nthrough) or redirect (302 to the source)"},
    {"live", "KEY=VALUE", SERVE_OPT_LIST, set_live, "a live tuning KEY=VALUE",
     "live engine tuning, repeatable (docs/operator-guide.md):\nwatchdog, probe-timeout, "
     "failover-after,\nprimary-retry, primary-healthy, backup-check, slow-lag,\nslow-grace, "
     "max-skips, no-progress, hls-segment,\nhls-session, ring-seconds, ring-mb, line-check,\nidle, "
     "stall-slate, start-burst, start-rate,\nmax-starting, registry-max, overload-pct,\nwrite, "
     "write-interval"},
    {"archive", "KEY=VALUE", SERVE_OPT_LIST, set_archive, "an archive KEY=VALUE",
     "TV archive (catch-up) recorder, repeatable\n(docs/operator-guide.md, TV archive): dir\n"
     "(<data>/archive), quota-mb (0 = none),\nsegment-seconds (6), queue-mb (64), retry-seconds "
     "(10),\nprune-seconds (60)"},
    {"backup-dir", "DIR", SERVE_OPT_VALUE, set_backup_dir, "a directory",
     "take scheduled backups into DIR (created 0700;\nxtreamd-<UTC time>.xbak; default: none)"},
    {"backup-interval", "TIME", SERVE_OPT_VALUE, set_backup_interval,
     "N with s, m, h or d (bare N: hours), 1s up to 366d",
     "time between scheduled backups, e.g. 6h, 1d\n(default 24h; the first one after one "
     "interval)"},
    {"backup-keep", "N", SERVE_OPT_VALUE, set_backup_keep, "1-100000",
     "scheduled backups kept in backup-dir; older ones\nare deleted (default 7)"},
    {"stop-grace", "SECONDS", SERVE_OPT_VALUE, set_stop_grace, "seconds, 0 up to 86400",
     "on SIGTERM or a hand-over, in-flight requests and\n(hand-over) viewers get this long to "
     "finish\n(default 10; 0 closes them at once)"},
    {"loops", "N|auto", SERVE_OPT_VALUE, set_loops, "1-16 or auto",
     "I/O loops (threads): live TS viewers are written\nby loops 1..N-1 once their response "
     "head is sent\n(default auto: the online CPUs, at most 16;\n1: everything on one loop)"},
    {"log-file", "FILE", SERVE_OPT_VALUE, set_log_file, "a file name",
     "append the log to FILE instead of stderr;\nSIGHUP and SIGUSR1 reopen it (logrotate)"},
    {"log-format", "FORMAT", SERVE_OPT_VALUE, set_log_format, "text or json",
     "text (default) or json (one JSON object a line:\ntime, level, tag, message)"},
    {"log-level", "[TAG=]LEVEL", SERVE_OPT_LIST, set_log_level,
     "[TAG=]debug|info|warn|error (TAG: [a-z0-9_-])",
     "minimum level (default info), or one subsystem's\n(http=warn); repeatable; changed at run "
     "time\nby xtreamd log level"},
};

const size_t serve_options_count = sizeof(serve_options) / sizeof(serve_options[0]);

void serve_settings_init(struct serve_settings *s)
{
    memset(s, 0, sizeof(*s));
    throttle_config_defaults(&s->throttle);
    access_config_defaults(&s->access);
    live_config_defaults(&s->live);
    archive_config_defaults(&s->archive);
    s->header_ms = 10000;
    s->cluster_orphan_ttl_ms = 60000;
    s->cluster_hls_ttl_ms = 30000;
    s->idle_ms = 60000;
    s->backup_interval_s = 86400;
    s->backup_keep = 7;
    s->stop_grace_ms = 10000;
    /* Defaults go through the setters too: one validation, one owner. */
    if (set_loops(s, "auto") || set_data(s, "./data") || set_listen(s, "0.0.0.0:8080"))
        abort(); /* out of memory at start-up, or a bad built-in default */
}

void serve_settings_free(struct serve_settings *s)
{
    free(s->origins);
    for (size_t i = 0; i < s->nowned; i++)
        free(s->owned[i]);
    free(s->owned);
    memset(s, 0, sizeof(*s));
}

const struct serve_option *serve_option_find(const char *name)
{
    for (size_t i = 0; i < serve_options_count; i++)
        if (strcmp(serve_options[i].name, name) == 0)
            return &serve_options[i];
    return NULL;
}

/* Records that o got VALUE from the current layer. */
static int note_origin(struct serve_settings *s, const struct serve_option *o, const char *value)
{
    if (s->norigins == s->caporigins) {
        size_t cap = s->caporigins ? s->caporigins * 2 : 16;
        struct serve_origin *n = realloc(s->origins, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->origins = n;
        s->caporigins = cap;
    }
    struct serve_origin r = {.o = o};
    char *v, *w;
    if (own(s, value, &v) || own(s, s->layer, &w))
        return -ENOMEM;
    r.value = v;
    r.where = w;
    s->origins[s->norigins++] = r;
    return 0;
}

const struct serve_origin *serve_option_origin(const struct serve_settings *s,
                                               const struct serve_option *o, const char *prefix)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    for (size_t i = s->norigins; i-- > 0;)
        if (s->origins[i].o == o && strncmp(s->origins[i].value, prefix ? prefix : "", pl) == 0)
            return &s->origins[i];
    return NULL;
}

static void fmt_seconds(char *out, size_t len, unsigned ms)
{
    snprintf(out, len, "%g", ms / 1000.0);
}

int serve_option_format(const struct serve_settings *s, const struct serve_option *o, char *out,
                        size_t len)
{
    const char *n = o->name;
    if (strcmp(n, "data") == 0)
        snprintf(out, len, "%s", s->data);
    else if (strcmp(n, "cluster-role") == 0)
        snprintf(out, len, "%s", s->cluster_role ? s->cluster_role : "");
    else if (strcmp(n, "cluster-orphan-ttl") == 0)
        fmt_seconds(out, len, s->cluster_orphan_ttl_ms);
    else if (strcmp(n, "cluster-offline-admission") == 0)
        snprintf(out, len, "%s", offline_policy_name(s->cluster_offline));
    else if (strcmp(n, "cluster-hls-ttl") == 0)
        fmt_seconds(out, len, s->cluster_hls_ttl_ms);
    else if (strcmp(n, "cluster-database-url") == 0)
        db_location_redact(s->cluster_db_url, out, len); /* never a password */
    else if (strcmp(n, "database") == 0)
        db_location_redact(s->database, out, len); /* never a password */
    else if (strcmp(n, "listen") == 0)
        snprintf(out, len, "%s", s->listen);
    else if (strcmp(n, "public-url") == 0)
        snprintf(out, len, "%s", s->public_url ? s->public_url : "");
    else if (strcmp(n, "header-timeout") == 0)
        fmt_seconds(out, len, s->header_ms);
    else if (strcmp(n, "idle-timeout") == 0)
        fmt_seconds(out, len, s->idle_ms);
    else if (strcmp(n, "channel-idle") == 0)
        fmt_seconds(out, len, s->live.idle_ms);
    else if (strcmp(n, "ffmpeg") == 0)
        snprintf(out, len, "%s", s->live.ffmpeg);
    else if (strcmp(n, "login-window") == 0)
        fmt_seconds(out, len, s->throttle.window_ms);
    else if (strcmp(n, "login-free") == 0)
        snprintf(out, len, "%u", s->throttle.free);
    else if (strcmp(n, "remote-vod") == 0)
        snprintf(out, len, "%s", s->redirect_remote ? "redirect" : "relay");
    else if (strcmp(n, "listen-tls") == 0)
        snprintf(out, len, "%s", s->listen_tls ? s->listen_tls : "");
    else if (strcmp(n, "tls-cert") == 0)
        snprintf(out, len, "%s", s->tls_cert ? s->tls_cert : "");
    else if (strcmp(n, "tls-key") == 0)
        snprintf(out, len, "%s", s->tls_key ? s->tls_key : "");
    else if (strcmp(n, "web-root") == 0)
        snprintf(out, len, "%s", s->web_root ? s->web_root : "");
    else if (strcmp(n, "https-redirect-admin") == 0)
        snprintf(out, len, "%s", s->https_redirect_admin ? "true" : "false");
    else if (strcmp(n, "backup-dir") == 0)
        snprintf(out, len, "%s", s->backup_dir ? s->backup_dir : "");
    else if (strcmp(n, "backup-interval") == 0)
        snprintf(out, len, "%us", s->backup_interval_s);
    else if (strcmp(n, "backup-keep") == 0)
        snprintf(out, len, "%u", s->backup_keep);
    else if (strcmp(n, "stop-grace") == 0)
        fmt_seconds(out, len, s->stop_grace_ms);
    else if (strcmp(n, "loops") == 0)
        snprintf(out, len, "%u", s->loops);
    else if (strcmp(n, "log-file") == 0)
        snprintf(out, len, "%s", s->log_file ? s->log_file : "");
    else if (strcmp(n, "log-format") == 0)
        snprintf(out, len, "%s", s->log_format == LOG_FORMAT_JSON ? "json" : "text");
    else if (strcmp(n, "geoip-db") == 0)
        snprintf(out, len, "%s", s->access.geoip_db ? s->access.geoip_db : "");
    else if (strcmp(n, "allow-host") == 0 || strcmp(n, "live") == 0 || strcmp(n, "archive") == 0 ||
             strcmp(n, "log-level") == 0 || strcmp(n, "access") == 0)
        snprintf(out, len, "%s", ""); /* lists: shown value by value (cli/serve_config.c) */
    else
        return -ENOENT;
    return 0;
}

int serve_option_apply(struct serve_settings *s, const struct serve_option *o, const char *as,
                       const char *value, char *err, size_t errlen)
{
    if (!as)
        as = o->name;
    int rc = o->set(s, value);
    if (rc == 0 && s->layer)
        rc = note_origin(s, o, value);
    if (rc == -ENOSPC)
        snprintf(err, errlen, "too many %s values (at most %d)", as, SERVE_MAX_ALLOW_HOSTS);
    else if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory setting %s", as);
    else if (rc)
        snprintf(err, errlen, "invalid %s \"%s\" (want %s)", as, value, o->want);
    return rc;
}

int serve_option_env_name(const struct serve_option *o, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "XTREAMD_%s", o->name);
    if (n < 0 || (size_t)n >= outlen)
        return -ENAMETOOLONG;
    for (char *p = out; *p; p++)
        *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    return 0;
}

void serve_options_usage(FILE *f)
{
    enum { COL = 27 };
    for (size_t i = 0; i < serve_options_count; i++) {
        const struct serve_option *o = &serve_options[i];
        int n = fprintf(f, "  --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        if (n < 0)
            return;
        fprintf(f, "%*s", n < COL ? COL - n : 1, "");
        for (const char *p = o->help; *p; p++) {
            fputc(*p, f);
            if (*p == '\n')
                fprintf(f, "%*s", COL, "");
        }
        fputc('\n', f);
    }
}

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

static int set_listen(struct serve_settings *s, const char *v)
{
    char host[sizeof(s->listen_host)];
    int port;
    if (split_listen(v, host, sizeof(host), &port))
        return -EINVAL;
    int rc = own(s, v, &s->listen);
    if (rc)
        return rc;
    memcpy(s->listen_host, host, sizeof(host));
    s->listen_port = port;
    return 0;
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

static int set_ffmpeg(struct serve_settings *s, const char *v)
{
    char *copy;
    if (!*v)
        return -EINVAL;
    int rc = own(s, v, &copy);
    if (rc == 0)
        s->live.ffmpeg = copy;
    return rc;
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
    char *copy;
    if (!*v)
        return -EINVAL;
    int rc = own(s, v, &copy);
    if (rc == 0)
        s->access.geoip_db = copy;
    return rc;
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

const struct serve_option serve_options[] = {
    {"data", "DIR", SERVE_OPT_VALUE, set_data, "a directory", "data directory (default ./data)"},
    {"listen", "HOST:PORT", SERVE_OPT_VALUE, set_listen, "HOST:PORT",
     "address to listen on (default 0.0.0.0:8080;\n[::]:PORT for IPv6; port 0 picks a free port)"},
    {"public-url", "URL", SERVE_OPT_VALUE, set_public_url, "http(s)://HOST[:PORT]",
     "base URL put in playlists and server_info\n(default: from the request's Host header)"},
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
     "stall-slate, start-burst, start-rate,\nmax-starting, registry-max"},
};

const size_t serve_options_count = sizeof(serve_options) / sizeof(serve_options[0]);

void serve_settings_init(struct serve_settings *s)
{
    memset(s, 0, sizeof(*s));
    throttle_config_defaults(&s->throttle);
    access_config_defaults(&s->access);
    live_config_defaults(&s->live);
    s->header_ms = 10000;
    s->idle_ms = 60000;
    /* Defaults go through the setters too: one validation, one owner. */
    if (set_data(s, "./data") || set_listen(s, "0.0.0.0:8080"))
        abort(); /* out of memory at start-up, or a bad built-in default */
}

void serve_settings_free(struct serve_settings *s)
{
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

int serve_option_apply(struct serve_settings *s, const struct serve_option *o, const char *as,
                       const char *value, char *err, size_t errlen)
{
    if (!as)
        as = o->name;
    int rc = o->set(s, value);
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

/*
 * cli/signing: `xtreamd signing ...` — signed stream URLs (issue 13,
 * core/urlsign.h) from the server's shell: the settings (`signing set`),
 * their state and the key ids (`signing show`, never the key material), a key
 * rotation (`signing rotate`) and minting one signed URL path (`signing url`,
 * for a front desk or a middleware that hands out links). A running server
 * picks changes up with its next catalogue snapshot.
 * Single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/urlsign.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "db/db.h"
#include "db/settings.h"
#include "domain/lines.h"
#include "domain/settings.h"

static const char usage_show[] = "usage: xtreamd signing show [--data DIR]\n"
                                 "  The signed URL settings and the signing key ids (JSON).\n";
static const char usage_set[] =
    "usage: xtreamd signing set [--enabled on|off] [--ttl SECS] [--bind-ip on|off]\n"
    "                           [--grace SECS] [--data DIR]\n"
    "  Changes the settings signed_urls, signed_url_ttl, signed_url_bind_ip and\n"
    "  signed_url_grace (turning it on creates the first key).\n";
static const char usage_rotate[] =
    "usage: xtreamd signing rotate [--data DIR]\n"
    "  A new signing key; URLs signed with the previous one keep working for\n"
    "  signed_url_grace seconds (0: revoked at once).\n";
static const char usage_url[] =
    "usage: xtreamd signing url USERNAME live|movie|series ID.EXT [--ttl SECS]\n"
    "                           [--expires UNIX] [--ip ADDR] [--data DIR]\n"
    "  Prints the path of a signed URL (/live/TOKEN/ID.EXT) for the line; --ip binds\n"
    "  it to that address's /24 or /64. Default expiry: now + signed_url_ttl.\n";
static const char usage_signing[] = "usage: xtreamd signing COMMAND ...\n"
                                    "commands:\n"
                                    "  show      settings and key ids\n"
                                    "  set       change the settings\n"
                                    "  rotate    a new signing key\n"
                                    "  url       mint a signed URL path\n";

static int read_keys(struct db *db, struct urlsign_keys *ks)
{
    char *text = NULL;
    int rc = db_setting_get(db, URLSIGN_SETTING_KEYS, &text);
    if (rc == -ENOENT) {
        memset(ks, 0, sizeof(*ks));
        return 0;
    }
    if (rc == 0)
        rc = urlsign_keys_parse(text, (int64_t)time(NULL), ks);
    free(text);
    return rc;
}

static int show(const char *cmd, struct db *db)
{
    struct urlsign_keys ks;
    if (read_keys(db, &ks)) {
        fprintf(stderr, "%s: the stored keys are unreadable; run `xtreamd signing rotate`\n", cmd);
        return CLI_FAIL;
    }
    printf("{\"enabled\": %s, \"ttl\": %lld, \"bind_ip\": %s, \"grace\": %lld, \"keys\": [",
           dom_setting_int(db, "signed_urls") ? "true" : "false",
           dom_setting_int(db, "signed_url_ttl"),
           dom_setting_int(db, "signed_url_bind_ip") ? "true" : "false",
           dom_setting_int(db, "signed_url_grace"));
    for (size_t i = 0; i < ks.n; i++) {
        if (ks.k[i].not_after)
            printf("%s{\"id\": %u, \"valid_until\": %lld}", i ? ", " : "", ks.k[i].id,
                   (long long)ks.k[i].not_after);
        else
            printf("%s{\"id\": %u, \"current\": true}", i ? ", " : "", ks.k[i].id);
    }
    printf("]}\n");
    memset(&ks, 0, sizeof(ks));
    return CLI_OK;
}

static int signing_show(int argc, char **argv)
{
    const char *cmd = "xtreamd signing show", *data = CLI_DEFAULT_DATA;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    int r = cli_parse(cmd, usage_show, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    r = show(cmd, db);
    db_close(db);
    return r;
}

static int onoff(const char *cmd, const char *opt, const char *val, void *ctx)
{
    int *out = ctx;
    if (strcmp(val, "on") == 0 || strcmp(val, "1") == 0)
        *out = 1;
    else if (strcmp(val, "off") == 0 || strcmp(val, "0") == 0)
        *out = 0;
    else {
        fprintf(stderr, "%s: %s: on or off\n", cmd, opt);
        return -EINVAL;
    }
    return 0;
}

static int signing_set(int argc, char **argv)
{
    const char *cmd = "xtreamd signing set", *data = CLI_DEFAULT_DATA;
    int enabled = -1, bind = -1;
    long long ttl = -1, grace = -1;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--enabled", CLI_STR, NULL, .check = onoff, .ctx = &enabled),
        CLI_OPT("--bind-ip", CLI_STR, NULL, .check = onoff, .ctx = &bind),
        CLI_OPT("--ttl", CLI_INT, &ttl, .min = 60, .max = 2592000),
        CLI_OPT("--grace", CLI_INT, &grace, .min = 0, .max = 2592000),
        CLI_OPT_END,
    };
    int r = cli_parse(cmd, usage_set, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct buf b = BUF_INIT(0);
    buf_putc(&b, '{');
    if (enabled >= 0)
        buf_printf(&b, "%s\"signed_urls\":%d", b.len > 1 ? "," : "", enabled);
    if (bind >= 0)
        buf_printf(&b, "%s\"signed_url_bind_ip\":%d", b.len > 1 ? "," : "", bind);
    if (ttl >= 0)
        buf_printf(&b, "%s\"signed_url_ttl\":%lld", b.len > 1 ? "," : "", ttl);
    if (grace >= 0)
        buf_printf(&b, "%s\"signed_url_grace\":%lld", b.len > 1 ? "," : "", grace);
    buf_putc(&b, '}');
    struct db *db;
    if (b.err || cli_open_db(cmd, data, &db)) {
        buf_free(&b);
        return CLI_FAIL;
    }
    struct dom_error e;
    dom_error_reset(&e);
    if (dom_settings_patch(db, b.data, b.len, &e)) {
        buf_free(&b);
        db_close(db);
        return cli_dom_fail(cmd, &e, NULL);
    }
    buf_free(&b);
    r = show(cmd, db);
    db_close(db);
    return r;
}

static int signing_rotate(int argc, char **argv)
{
    const char *cmd = "xtreamd signing rotate", *data = CLI_DEFAULT_DATA;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    int r = cli_parse(cmd, usage_rotate, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    uint32_t id;
    if (dom_signing_rotate(db, &id, &e)) {
        db_close(db);
        return cli_dom_fail(cmd, &e, NULL);
    }
    r = show(cmd, db);
    db_close(db);
    return r;
}

static int signing_url(int argc, char **argv)
{
    const char *cmd = "xtreamd signing url", *data = CLI_DEFAULT_DATA, *ip = NULL;
    const char *pos_v[3] = {NULL, NULL, NULL};
    long long ttl = -1, expires = -1;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--ttl", CLI_INT, &ttl, .min = 1, .max = 2592000),
        CLI_OPT("--expires", CLI_INT, &expires, .min = 0, .max = 253402300799LL),
        CLI_OPT("--ip", CLI_STR, &ip),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = pos_v, .min = 3, .max = 3, .name = "USERNAME KIND ID.EXT"};
    int r = cli_parse(cmd, usage_url, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    const char *kind = pos_v[1];
    if (strcmp(kind, "live") != 0 && strcmp(kind, "movie") != 0 && strcmp(kind, "series") != 0) {
        fprintf(stderr, "%s: KIND: live, movie or series\n", cmd);
        return CLI_USAGE;
    }
    const char *dot = strrchr(pos_v[2], '.');
    char *end;
    errno = 0;
    long long id = strtoll(pos_v[2], &end, 10);
    if (errno || end == pos_v[2] || id < 0 || (dot ? end != dot : *end)) {
        fprintf(stderr, "%s: ID.EXT: a stream id and an extension (42.ts)\n", cmd);
        return CLI_USAGE;
    }
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct db_line l = {0};
    struct urlsign_keys ks;
    r = CLI_FAIL;
    if (dom_line_get(db, pos_v[0], &l, &e)) {
        r = cli_dom_fail(cmd, &e, NULL);
        goto out;
    }
    if (read_keys(db, &ks) || !ks.n) {
        fprintf(stderr, "%s: no signing key: run `xtreamd signing rotate` (or set --enabled on)\n",
                cmd);
        goto out;
    }
    struct urlsign_claims c = {.line_id = l.id, .kind = kind[0], .stream_id = id, .bound = !!ip};
    snprintf(c.username, sizeof(c.username), "%s", pos_v[0]);
    c.expires = expires >= 0
                    ? expires
                    : (int64_t)time(NULL) + (ttl > 0 ? ttl : dom_setting_int(db, "signed_url_ttl"));
    char tok[URLSIGN_TOKEN_MAX];
    int rc = urlsign_make(&ks.k[0], c, ip, tok, sizeof(tok));
    memset(&ks, 0, sizeof(ks));
    if (rc) {
        fprintf(stderr, "%s: %s\n", cmd, ip ? "--ip: not an IP address" : strerror(-rc));
        goto out;
    }
    printf("/%s/%s/%s\n", kind, tok, pos_v[2]);
    r = CLI_OK;
out:
    db_line_clear(&l);
    db_close(db);
    return r;
}

int cli_signing(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {{"show", signing_show},
                                          {"set", signing_set},
                                          {"rotate", signing_rotate},
                                          {"url", signing_url},
                                          {NULL, NULL}};
    return cli_dispatch("xtreamd signing", usage_signing, cmds, argc, argv);
}

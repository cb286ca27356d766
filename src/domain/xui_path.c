/*
 * domain/xui_path: see xui_path.h.
 */
#include "domain/xui_path.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* The first segments the client API, the admin API, the panel and the MAG
 * portal answer (api/api.c's route table, admin /api/v1, panel /assets): a
 * shim path under one of them would take a path a client uses. */
static const char *const reserved[] = {
    "api",
    "live",
    "movie",
    "series",
    "timeshift",
    "timeshifts",
    "catchup",
    "streaming",
    "images",
    "preview",
    "hls",
    "play",
    "c",
    "stalker_portal",
    "playlist",
    "epg",
    "player_api",
    "created_live",
    "radio_streams",
    "metrics",
    "assets",
    "player_api.php",
    "panel_api.php",
    "get.php",
    "xmltv.php",
    "portal.php",
    "server",
    "favicon.ico",
    "index.html",
    NULL,
};

static bool path_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == '-';
}

int dom_xui_path_check(const char *field, const char *s, struct dom_error *e)
{
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    if (s[0] != '/')
        return dom_err_field(e, field, "format", "must start with '/' (or be empty: off)");
    if (n > DOM_XUI_PATH_MAX)
        return dom_err_field(e, field, "too_long", "at most %d characters", DOM_XUI_PATH_MAX);
    if (n < DOM_XUI_PATH_MIN)
        return dom_err_field(e, field, "too_short",
                             "at least %d characters: the path is a secret, make it long",
                             DOM_XUI_PATH_MIN);
    if (s[n - 1] == '/')
        return dom_err_field(e, field, "format", "must not end with '/'");
    const char *seg[DOM_XUI_PATH_SEGMENTS];
    size_t len[DOM_XUI_PATH_SEGMENTS], nseg = 0;
    const char *p = s + 1;
    for (;;) {
        size_t k = strcspn(p, "/");
        if (k == 0)
            return dom_err_field(e, field, "format", "must not contain an empty segment (//)");
        for (size_t i = 0; i < k; i++)
            if (!path_char(p[i]))
                return dom_err_field(e, field, "charset",
                                     "segments are made of A-Z a-z 0-9 . _ ~ - only");
        if ((k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
            return dom_err_field(e, field, "format", "must not contain . or .. segments");
        if (nseg == DOM_XUI_PATH_SEGMENTS)
            return dom_err_field(e, field, "format", "at most %d segments", DOM_XUI_PATH_SEGMENTS);
        seg[nseg] = p;
        len[nseg++] = k;
        if (!p[k])
            break;
        p += k + 1;
    }
    for (size_t i = 0; reserved[i]; i++)
        if (strlen(reserved[i]) == len[0] && strncasecmp(reserved[i], seg[0], len[0]) == 0)
            return dom_err_field(e, field, "reserved",
                                 "/%s is a client API path: choose another first segment",
                                 reserved[i]);
    if (nseg == 3 && seg[2][0] >= '0' && seg[2][0] <= '9')
        return dom_err_field(e, field, "reserved",
                             "a three-segment path ending in a number is the short live "
                             "stream form /user/password/id");
    return 0;
}

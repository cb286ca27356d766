#include "media/m3u.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pending_state {
    PEND_NONE,     /* no #EXTINF waiting */
    PEND_OK,       /* a valid #EXTINF waiting for its URL */
    PEND_REJECTED, /* a rejected #EXTINF: its URL line is consumed silently */
};

/* Offsets into pend[] of the strings of the waiting #EXTINF. */
struct pend_fields {
    size_t title, tvg_id, tvg_name, tvg_logo, group_title;
};

struct m3u_parser {
    struct m3u_callbacks cb;
    unsigned flags;
    int stopped;     /* non-zero callback result that stopped the parser */
    size_t lineno;   /* number of the line being accumulated */
    size_t line_len; /* bytes in line[] */
    bool overflow;   /* current line exceeded M3U_MAX_LINE */
    bool after_cr;   /* previous byte was a CR (a following LF is skipped) */
    bool seen_header;
    bool seen_content; /* a non-blank line has been seen */
    size_t entries, rejects;

    enum pending_state pend_state;
    size_t pend_line;
    long pend_duration;
    size_t pend_len;
    struct pend_fields pf;
    size_t grp_len; /* bytes in grp[]; valid when has_grp */
    bool has_grp;

    char line[M3U_MAX_LINE + 1];
    char pend[M3U_MAX_LINE + 16]; /* five NUL-terminated strings, each a part of one line */
    char grp[M3U_MAX_GROUP + 1];
};

static void reject(struct m3u_parser *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject(struct m3u_parser *p, size_t line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->rejects++;
    if (p->cb.reject)
        p->cb.reject(p->cb.ctx, line, msg);
}

int m3u_parser_new(const struct m3u_callbacks *cb, unsigned flags, struct m3u_parser **out)
{
    struct m3u_parser *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (!p)
        return -ENOMEM;
    p->cb = *cb;
    p->flags = flags;
    p->lineno = 1;
    *out = p;
    return 0;
}

void m3u_parser_free(struct m3u_parser *p)
{
    free(p);
}

size_t m3u_parser_entry_count(const struct m3u_parser *p)
{
    return p->entries;
}

size_t m3u_parser_reject_count(const struct m3u_parser *p)
{
    return p->rejects;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive: does s (length n) start with the ASCII prefix pre? */
static bool has_prefix(const char *s, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (lower(s[i]) != pre[i])
            return false;
    return true;
}

static bool name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && has_prefix(s, n, name);
}

/* Checks UTF-8 validity (no overlongs, surrogates or values past U+10FFFF) and
 * the absence of control characters other than tab. Returns NULL or a reason. */
static const char *check_text(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return "control character in line";
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return "invalid UTF-8";
        }
        if (n - i < len)
            return "invalid UTF-8";
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return "invalid UTF-8";
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return "invalid UTF-8";
        if (cp >= 0x80 && cp <= 0x9f)
            return "control character in line";
        i += len;
    }
    return NULL;
}

/* Appends s[0..n) plus a NUL to pend[] and returns its offset. The caller
 * guarantees the total fits: every string is a disjoint part of one line. */
static size_t pend_put(struct m3u_parser *p, const char *s, size_t n)
{
    size_t off = p->pend_len;
    memcpy(p->pend + off, s, n);
    p->pend[off + n] = '\0';
    p->pend_len += n + 1;
    return off;
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Parses the text after "#EXTINF:" (s, n). Returns NULL or a reason. */
static const char *parse_extinf(struct m3u_parser *p, const char *s, size_t n)
{
    size_t i = 0;
    long dur = 0;
    bool neg = false, digits = false;
    const char *v[4] = {"", "", "", ""}; /* tvg-id, tvg-name, tvg-logo, group-title */
    size_t vn[4] = {0, 0, 0, 0};

    p->pend_len = 0;
    while (i < n && is_space(s[i]))
        i++;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (dur < 100000000)
            dur = dur * 10 + (s[i] - '0');
        digits = true;
        i++;
    }
    if (digits && i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if ((!digits && neg) || (i < n && !is_space(s[i]) && s[i] != ','))
        return "invalid #EXTINF duration";
    p->pend_duration = !digits ? -1 : (neg ? -dur : dur);

    for (;;) {
        while (i < n && is_space(s[i]))
            i++;
        if (i >= n)
            return "#EXTINF without ',' before the title";
        if (s[i] == ',') {
            i++;
            break;
        }
        size_t name = i;
        while (i < n && !is_space(s[i]) && s[i] != ',' && s[i] != '=')
            i++;
        size_t name_len = i - name;
        if (i >= n || s[i] != '=')
            continue; /* a bare word: ignored */
        i++;
        const char *val;
        size_t val_len;
        if (i < n && (s[i] == '"' || s[i] == '\'')) {
            char q = s[i++];
            const char *end = memchr(s + i, q, n - i);
            if (!end)
                return "unterminated attribute value";
            val = s + i;
            val_len = (size_t)(end - val);
            i = (size_t)(end - s) + 1;
        } else {
            val = s + i;
            while (i < n && !is_space(s[i]) && s[i] != ',')
                i++;
            val_len = (size_t)(s + i - val);
        }
        trim(&val, &val_len);
        int k = name_is(s + name, name_len, "tvg-id")        ? 0
                : name_is(s + name, name_len, "tvg-name")    ? 1
                : name_is(s + name, name_len, "tvg-logo")    ? 2
                : name_is(s + name, name_len, "group-title") ? 3
                                                             : -1;
        if (k >= 0) {
            v[k] = val;
            vn[k] = val_len;
        }
    }
    const char *title = s + i;
    size_t title_len = n - i;
    trim(&title, &title_len);
    p->pf.title = pend_put(p, title, title_len);
    p->pf.tvg_id = pend_put(p, v[0], vn[0]);
    p->pf.tvg_name = pend_put(p, v[1], vn[1]);
    p->pf.tvg_logo = pend_put(p, v[2], vn[2]);
    p->pf.group_title = pend_put(p, v[3], vn[3]);
    if (title_len == 0 && vn[1] == 0)
        return "#EXTINF without a title";
    return NULL;
}

static bool scheme_is(const char *s, size_t n, const char *name)
{
    return name_is(s, n, name);
}

/* Validates a URL line. Returns NULL or writes a reason into why. */
static bool check_url(struct m3u_parser *p, const char *u, size_t n, char *why, size_t why_len)
{
    bool local = (p->flags & M3U_ALLOW_LOCAL) != 0;
    if (n > M3U_MAX_URL) {
        snprintf(why, why_len, "URL longer than %d bytes", M3U_MAX_URL);
        return false;
    }
    if (u[0] == '/') {
        if (!local)
            snprintf(why, why_len, "local file path not allowed in a downloaded playlist");
        return local;
    }
    size_t k = 0;
    if ((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z')) {
        k = 1;
        while (k < n && k < 32 &&
               ((u[k] >= 'a' && u[k] <= 'z') || (u[k] >= 'A' && u[k] <= 'Z') ||
                (u[k] >= '0' && u[k] <= '9') || u[k] == '+' || u[k] == '-' || u[k] == '.'))
            k++;
    }
    if (k == 0 || k >= n || u[k] != ':') {
        snprintf(why, why_len, "not a URL or absolute file path");
        return false;
    }
    if (scheme_is(u, k, "lavfi") || scheme_is(u, k, "file")) {
        if (!local) {
            snprintf(why, why_len, "URL scheme not allowed in a downloaded playlist \"%.*s:\"",
                     (int)k, u);
            return false;
        }
        if (n == k + 1) {
            snprintf(why, why_len, "empty %.*s: source", (int)k, u);
            return false;
        }
        return true;
    }
    static const char *const net[] = {"http", "https", "rtmp", "rtmps",
                                      "rtsp", "rtp",   "udp",  "srt"};
    for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++) {
        if (!scheme_is(u, k, net[i]))
            continue;
        if (n < k + 4 || u[k + 1] != '/' || u[k + 2] != '/') {
            snprintf(why, why_len, "%.*s URL without \"//\" and a host", (int)k, u);
            return false;
        }
        return true;
    }
    snprintf(why, why_len, "URL scheme not allowed \"%.*s:\"", (int)k, u);
    return false;
}

static int handle_url(struct m3u_parser *p, const char *s, size_t n)
{
    char why[160];
    enum pending_state st = p->pend_state;
    p->pend_state = PEND_NONE;
    bool had_grp = p->has_grp;
    p->has_grp = false;
    if (st == PEND_NONE) {
        reject(p, p->lineno, "URL without #EXTINF");
        return 0;
    }
    if (st == PEND_REJECTED)
        return 0;
    if (!check_url(p, s, n, why, sizeof(why))) {
        reject(p, p->lineno, "%s", why);
        return 0;
    }
    /* The URL goes into line[] in place: it already is NUL-terminated there. */
    const char *group = p->pend + p->pf.group_title;
    if (!*group && had_grp)
        group = p->grp;
    const char *title = p->pend + p->pf.title;
    struct m3u_entry e = {
        .line = p->pend_line,
        .url_line = p->lineno,
        .duration = p->pend_duration,
        .title = title,
        .name = *title ? title : p->pend + p->pf.tvg_name,
        .tvg_id = p->pend + p->pf.tvg_id,
        .tvg_name = p->pend + p->pf.tvg_name,
        .tvg_logo = p->pend + p->pf.tvg_logo,
        .group = group,
        .url = s,
    };
    p->entries++;
    return p->cb.entry ? p->cb.entry(p->cb.ctx, &e) : 0;
}

static void finish_pending(struct m3u_parser *p)
{
    if (p->pend_state == PEND_OK)
        reject(p, p->pend_line, "#EXTINF without URL");
    p->pend_state = PEND_NONE;
}

/* Processes the complete line in line[0..line_len). */
static int handle_line(struct m3u_parser *p)
{
    char *s = p->line;
    size_t n = p->line_len;
    s[n] = '\0';
    if (p->lineno == 1 && n >= 3 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
        (unsigned char)s[2] == 0xbf) {
        s += 3;
        n -= 3;
    }
    const char *cs = s;
    trim(&cs, &n);
    s = (char *)cs;
    s[n] = '\0';
    if (n == 0)
        return 0;
    bool first = !p->seen_content;
    p->seen_content = true;
    const char *bad = check_text((const unsigned char *)s, n);
    bool is_extinf = has_prefix(s, n, "#extinf:");
    if (first) {
        if (has_prefix(s, n, "#extm3u") && (n == 7 || is_space(s[7]))) {
            p->seen_header = true;
            if (bad)
                reject(p, p->lineno, "%s", bad);
            return 0;
        }
        reject(p, p->lineno, "missing #EXTM3U header");
    }
    if (bad) {
        reject(p, p->lineno, "%s", bad);
        if (is_extinf) {
            finish_pending(p);
            p->pend_state = PEND_REJECTED;
        } else if (s[0] != '#') {
            p->pend_state = PEND_NONE;
            p->has_grp = false;
        }
        return 0;
    }
    if (is_extinf) {
        finish_pending(p);
        p->pend_line = p->lineno;
        const char *why = parse_extinf(p, s + 8, n - 8);
        if (why) {
            reject(p, p->lineno, "%s", why);
            p->pend_state = PEND_REJECTED;
        } else {
            p->pend_state = PEND_OK;
        }
        return 0;
    }
    if (has_prefix(s, n, "#extgrp:")) {
        const char *g = s + 8;
        size_t gn = n - 8;
        trim(&g, &gn);
        if (gn > M3U_MAX_GROUP) {
            reject(p, p->lineno, "#EXTGRP longer than %d bytes", M3U_MAX_GROUP);
            return 0;
        }
        memcpy(p->grp, g, gn);
        p->grp[gn] = '\0';
        p->grp_len = gn;
        p->has_grp = gn > 0;
        return 0;
    }
    if (s[0] == '#')
        return 0; /* #EXTM3U again, #EXTVLCOPT, #KODIPROP, comments, HLS tags */
    return handle_url(p, s, n);
}

static int end_line(struct m3u_parser *p)
{
    int rc = 0;
    if (p->overflow)
        reject(p, p->lineno, "line longer than %d bytes", M3U_MAX_LINE);
    else
        rc = handle_line(p);
    if (p->overflow) {
        /* Whatever this line was, an #EXTINF before it has lost its URL or
         * its own text; do not let the next line pair up with stale state. */
        p->seen_content = true;
        if (p->pend_state == PEND_OK)
            p->pend_state = PEND_REJECTED;
    }
    p->overflow = false;
    p->line_len = 0;
    p->lineno++;
    return rc;
}

int m3u_parser_feed(struct m3u_parser *p, const void *data, size_t len)
{
    const char *d = data;
    if (p->stopped)
        return p->stopped;
    for (size_t i = 0; i < len; i++) {
        char c = d[i];
        if (p->after_cr) {
            p->after_cr = false;
            if (c == '\n')
                continue;
        }
        if (c == '\n' || c == '\r') {
            p->after_cr = c == '\r';
            int rc = end_line(p);
            if (rc) {
                p->stopped = rc;
                return rc;
            }
            continue;
        }
        if (p->line_len < M3U_MAX_LINE)
            p->line[p->line_len++] = c;
        else
            p->overflow = true;
    }
    return 0;
}

int m3u_parser_finish(struct m3u_parser *p)
{
    if (p->stopped)
        return p->stopped;
    if (p->line_len || p->overflow) {
        int rc = end_line(p);
        if (rc) {
            p->stopped = rc;
            return rc;
        }
    }
    finish_pending(p);
    if (!p->seen_content)
        reject(p, 1, "missing #EXTM3U header (empty playlist)");
    return 0;
}

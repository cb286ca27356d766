/*
 * vod/nfo: see nfo.h. Character data is accumulated per element into a
 * bounded buffer and dispatched on the element's end tag by its name and
 * depth (direct children of the root, plus actor/name and ratings/rating/value).
 */
#include "vod/nfo.h"

#include <errno.h>
#include <expat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct nfo_ctx {
    struct vod_nfo *out;
    int depth;
    char path[4][32]; /* element names at depths 1..4 */
    char text[4096];
    size_t tlen;
    bool rating_default; /* inside <rating default="true"> */
    bool uniqueid_tmdb;
};

static void set_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static void join_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(dst);
    if (!*src || n + 3 >= cap)
        return;
    if (n)
        snprintf(dst + n, cap - n, ", %s", src);
    else
        snprintf(dst, cap, "%s", src);
}

static long long parse_ll(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    return end == s ? 0 : v;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct nfo_ctx *c = ud;
    c->depth++;
    if (c->depth <= 4)
        set_field(c->path[c->depth - 1], sizeof(c->path[0]), name);
    c->tlen = 0;
    c->text[0] = '\0';
    if (c->depth == 1) {
        if (strcmp(name, "movie") == 0)
            c->out->kind = VOD_NFO_MOVIE;
        else if (strcmp(name, "tvshow") == 0)
            c->out->kind = VOD_NFO_TVSHOW;
        else if (strcmp(name, "episodedetails") == 0)
            c->out->kind = VOD_NFO_EPISODE;
    }
    if (c->depth == 3 && strcmp(name, "rating") == 0) {
        c->rating_default = false;
        for (size_t i = 0; attrs[i] && attrs[i + 1]; i += 2)
            if (strcmp(attrs[i], "default") == 0 && strcmp(attrs[i + 1], "true") == 0)
                c->rating_default = true;
    }
    if (c->depth == 2 && strcmp(name, "uniqueid") == 0) {
        c->uniqueid_tmdb = false;
        for (size_t i = 0; attrs[i] && attrs[i + 1]; i += 2)
            if (strcmp(attrs[i], "type") == 0 && strcmp(attrs[i + 1], "tmdb") == 0)
                c->uniqueid_tmdb = true;
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct nfo_ctx *c = ud;
    size_t room = sizeof(c->text) - 1 - c->tlen;
    size_t n = (size_t)len < room ? (size_t)len : room;
    memcpy(c->text + c->tlen, s, n);
    c->tlen += n;
    c->text[c->tlen] = '\0';
}

static void trim(char *s)
{
    size_t n = strlen(s), lead = strspn(s, " \t\r\n");
    while (n > lead && strchr(" \t\r\n", s[n - 1]))
        n--;
    memmove(s, s + lead, n - lead);
    s[n - lead] = '\0';
}

static void end_direct(struct nfo_ctx *c, const char *name, const char *t)
{
    struct vod_nfo *o = c->out;
    if (strcmp(name, "title") == 0)
        set_field(o->title, sizeof(o->title), t);
    else if (strcmp(name, "originaltitle") == 0)
        set_field(o->original_title, sizeof(o->original_title), t);
    else if (strcmp(name, "plot") == 0 || (strcmp(name, "outline") == 0 && !o->plot[0]))
        set_field(o->plot, sizeof(o->plot), t);
    else if (strcmp(name, "genre") == 0)
        join_field(o->genre, sizeof(o->genre), t);
    else if (strcmp(name, "director") == 0)
        join_field(o->director, sizeof(o->director), t);
    else if (strcmp(name, "country") == 0)
        join_field(o->country, sizeof(o->country), t);
    else if (strcmp(name, "premiered") == 0 || strcmp(name, "aired") == 0 ||
             strcmp(name, "releasedate") == 0)
        set_field(o->premiered, sizeof(o->premiered), t);
    else if (strcmp(name, "mpaa") == 0)
        set_field(o->mpaa, sizeof(o->mpaa), t);
    else if (strcmp(name, "trailer") == 0)
        set_field(o->trailer, sizeof(o->trailer), t);
    else if (strcmp(name, "year") == 0) {
        long long y = parse_ll(t);
        o->year = y > 0 && y < 10000 ? (int)y : 0;
    } else if (strcmp(name, "season") == 0) {
        long long v = parse_ll(t);
        o->season = v >= 0 && v < 10000 ? (int)v : -1;
    } else if (strcmp(name, "episode") == 0) {
        long long v = parse_ll(t);
        o->episode = v >= 0 && v < 100000 ? (int)v : -1;
    } else if (strcmp(name, "rating") == 0) {
        double r = strtod(t, NULL);
        if (r >= 0 && r <= 10)
            o->rating = r;
    } else if (strcmp(name, "runtime") == 0) {
        long long v = parse_ll(t);
        o->runtime_min = v > 0 && v < 100000 ? (int)v : 0;
    } else if (strcmp(name, "tmdbid") == 0 || (strcmp(name, "uniqueid") == 0 && c->uniqueid_tmdb)) {
        long long v = parse_ll(t);
        if (v > 0)
            o->tmdb_id = v;
    }
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct nfo_ctx *c = ud;
    trim(c->text);
    const char *t = c->text;
    if (c->depth == 2)
        end_direct(c, name, t);
    else if (c->depth == 3 && strcmp(c->path[1], "actor") == 0 && strcmp(name, "name") == 0)
        join_field(c->out->cast, sizeof(c->out->cast), t);
    else if (c->depth == 4 && strcmp(c->path[1], "ratings") == 0 && strcmp(name, "value") == 0 &&
             (c->rating_default || c->out->rating == 0)) {
        double r = strtod(t, NULL);
        if (r >= 0 && r <= 10)
            c->out->rating = r;
    }
    c->tlen = 0;
    c->text[0] = '\0';
    c->depth--;
}

int vod_nfo_parse(const char *data, size_t len, struct vod_nfo *out)
{
    memset(out, 0, sizeof(*out));
    out->season = out->episode = -1;
    if (len > VOD_NFO_MAX_BYTES)
        return -EFBIG;
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p)
        return -ENOMEM;
    struct nfo_ctx c = {.out = out};
    XML_SetUserData(p, &c);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    int ok = XML_Parse(p, data, (int)len, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    if (!ok || out->kind == VOD_NFO_UNKNOWN)
        return -EINVAL;
    return 0;
}

int vod_nfo_load(const char *path, struct vod_nfo *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    char *data = malloc(VOD_NFO_MAX_BYTES);
    if (!data) {
        fclose(f);
        return -ENOMEM;
    }
    size_t n = fread(data, 1, VOD_NFO_MAX_BYTES, f);
    fclose(f);
    int rc = vod_nfo_parse(data, n, out);
    free(data);
    return rc;
}

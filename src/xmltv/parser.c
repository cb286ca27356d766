/*
 * epg/parser: a streaming XMLTV reader on expat. The document is fed in
 * pieces of any size; each complete <channel> and <programme> is handed to a
 * callback with its text fields in fixed-size buffers, so memory stays
 * constant whatever the document size.
 *
 * Security: expat ≥ 2.4 limits entity amplification (billion laughs); no
 * external entity handler is installed and parameter entities are never
 * parsed, so nothing outside the document is ever read.
 * Bounds: nesting depth EPG_MAX_DEPTH (deeper is an error), every field cut
 * at its EPG_MAX_* size on a UTF-8 boundary. Markup that is still incomplete
 * after EPG_MAX_MARKUP bytes (a start tag with a huge attribute, a comment
 * that never ends), an attribute value past EPG_MAX_ATTR and a kept
 * element's text past EPG_MAX_TEXT are errors naming the line: expat 2.5
 * rescans an incomplete token from its start on every feed, so an unbounded
 * token costs time quadratic in its size (a 24 MB attribute cost 18x a 4 MB
 * one). The document is fed to expat in EPG_FEED_CHUNK pieces so the pending
 * token is checked at least that often, which keeps the cost linear.
 * Threading: one parser per thread.
 */
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmltv/xmltv.h"

enum field {
    F_NONE,
    F_DISPLAY_NAME,
    F_TITLE,
    F_SUB_TITLE,
    F_DESC,
    F_CATEGORY,
    F_EPISODE,
    F_LANGUAGE,
    F_RATING,
    F_COUNT
};

struct text {
    char *s;
    size_t len, cap; /* cap includes the NUL */
    size_t seen;     /* bytes of text offered, kept or not (EPG_MAX_TEXT) */
    bool set;        /* first occurrence already taken */
};

enum ctx { C_NONE, C_CHANNEL, C_PROGRAMME };

struct epg_parser {
    XML_Parser xp;
    struct epg_parser_cb cb;
    int depth;
    enum ctx ctx;
    bool skip; /* current programme lacks required attributes */
    enum field cur;
    int cur_depth;
    bool cur_append; /* collecting into the current field */
    bool episode_onscreen;
    bool in_rating;
    int cb_err;
    size_t skipped;
    long long fed;      /* bytes given to expat so far */
    char last_elem[48]; /* the last element opened, for error messages */
    char id[EPG_MAX_ID], channel[EPG_MAX_ID], icon[EPG_MAX_URL], title_lang[EPG_MAX_SHORT];
    int64_t start, stop;
    struct text f[F_COUNT];
    char error[256];
};

static const size_t field_cap[F_COUNT] = {
    [F_DISPLAY_NAME] = EPG_MAX_NAME, [F_TITLE] = EPG_MAX_TITLE,    [F_SUB_TITLE] = EPG_MAX_TITLE,
    [F_DESC] = EPG_MAX_DESC,         [F_CATEGORY] = EPG_MAX_SHORT, [F_EPISODE] = EPG_MAX_SHORT,
    [F_LANGUAGE] = EPG_MAX_SHORT,    [F_RATING] = EPG_MAX_SHORT,
};

static const char *const field_name[F_COUNT] = {
    [F_DISPLAY_NAME] = "display-name", [F_TITLE] = "title",
    [F_SUB_TITLE] = "sub-title",       [F_DESC] = "desc",
    [F_CATEGORY] = "category",         [F_EPISODE] = "episode-num",
    [F_LANGUAGE] = "language",         [F_RATING] = "rating value",
};

/* Stops the parse with -EBADMSG and "line L, column C: <why>". */
static void fail_at(struct epg_parser *p, const char *why)
{
    snprintf(p->error, sizeof(p->error), "line %lu, column %lu: %s",
             (unsigned long)XML_GetCurrentLineNumber(p->xp),
             (unsigned long)XML_GetCurrentColumnNumber(p->xp), why);
    p->cb_err = -EBADMSG;
    XML_StopParser(p->xp, XML_FALSE);
}

/* Copies at most cap-1 bytes, cut on a UTF-8 boundary. */
static void copy_bounded(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static const char *attr(const XML_Char **atts, const char *name)
{
    for (int i = 0; atts[i]; i += 2)
        if (strcmp(atts[i], name) == 0)
            return atts[i + 1];
    return NULL;
}

static void reset_fields(struct epg_parser *p)
{
    for (int i = 0; i < F_COUNT; i++) {
        if (p->f[i].s)
            p->f[i].s[0] = '\0';
        p->f[i].len = 0;
        p->f[i].set = false;
    }
    p->icon[0] = p->title_lang[0] = '\0';
    p->episode_onscreen = false;
}

static void begin_field(struct epg_parser *p, enum field f, bool replace)
{
    struct text *t = &p->f[f];
    if (t->set && !replace)
        return;
    t->len = 0;
    t->seen = 0;
    t->s[0] = '\0';
    t->set = true;
    p->cur = f;
    p->cur_depth = p->depth;
    p->cur_append = true;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct epg_parser *p = ud;
    p->depth++;
    snprintf(p->last_elem, sizeof(p->last_elem), "%s", name);
    for (int i = 0; atts[i]; i += 2) {
        if (strlen(atts[i + 1]) > EPG_MAX_ATTR) {
            char why[160];
            snprintf(why, sizeof(why), "attribute %.40s of <%.40s> is longer than %d bytes",
                     atts[i], name, EPG_MAX_ATTR);
            fail_at(p, why);
            return;
        }
    }
    if (p->depth > EPG_MAX_DEPTH) {
        snprintf(p->error, sizeof(p->error), "line %lu, column %lu: elements nested too deeply",
                 (unsigned long)XML_GetCurrentLineNumber(p->xp),
                 (unsigned long)XML_GetCurrentColumnNumber(p->xp));
        p->cb_err = -EBADMSG;
        XML_StopParser(p->xp, XML_FALSE);
        return;
    }
    if (p->depth == 1) {
        if (strcmp(name, "tv") != 0) {
            snprintf(p->error, sizeof(p->error),
                     "line %lu, column %lu: the root element is <%.40s>, not <tv>",
                     (unsigned long)XML_GetCurrentLineNumber(p->xp),
                     (unsigned long)XML_GetCurrentColumnNumber(p->xp), name);
            p->cb_err = -EBADMSG;
            XML_StopParser(p->xp, XML_FALSE);
        }
        return;
    }
    if (p->depth == 2) {
        reset_fields(p);
        p->ctx = C_NONE;
        if (strcmp(name, "channel") == 0) {
            const char *id = attr(atts, "id");
            p->ctx = C_CHANNEL;
            p->skip = !id || !*id || strlen(id) >= EPG_MAX_ID;
            if (!p->skip)
                copy_bounded(p->id, sizeof(p->id), id);
        } else if (strcmp(name, "programme") == 0) {
            const char *ch = attr(atts, "channel"), *start = attr(atts, "start"),
                       *stop = attr(atts, "stop");
            p->ctx = C_PROGRAMME;
            p->skip = !ch || !*ch || strlen(ch) >= EPG_MAX_ID || !start ||
                      epg_parse_time(start, strlen(start), &p->start) != 0;
            if (!p->skip)
                copy_bounded(p->channel, sizeof(p->channel), ch);
            if (!stop || epg_parse_time(stop, strlen(stop), &p->stop) != 0)
                p->stop = 0;
        }
        return;
    }
    if (p->ctx == C_NONE || p->skip)
        return;
    if (p->depth == 3 && p->ctx == C_CHANNEL) {
        if (strcmp(name, "display-name") == 0)
            begin_field(p, F_DISPLAY_NAME, false);
        else if (strcmp(name, "icon") == 0 && !p->icon[0] && attr(atts, "src"))
            copy_bounded(p->icon, sizeof(p->icon), attr(atts, "src"));
        return;
    }
    if (p->ctx != C_PROGRAMME)
        return;
    if (p->depth == 3) {
        p->in_rating = strcmp(name, "rating") == 0;
        if (strcmp(name, "title") == 0) {
            bool first = !p->f[F_TITLE].set;
            begin_field(p, F_TITLE, false);
            const char *lang = attr(atts, "lang");
            if (first && lang)
                copy_bounded(p->title_lang, sizeof(p->title_lang), lang);
        } else if (strcmp(name, "sub-title") == 0) {
            begin_field(p, F_SUB_TITLE, false);
        } else if (strcmp(name, "desc") == 0) {
            begin_field(p, F_DESC, false);
        } else if (strcmp(name, "category") == 0) {
            begin_field(p, F_CATEGORY, false);
        } else if (strcmp(name, "episode-num") == 0) {
            const char *sys = attr(atts, "system");
            bool onscreen = sys && strcmp(sys, "onscreen") == 0;
            /* Prefer the human-readable numbering when there is one. */
            if (onscreen && !p->episode_onscreen) {
                p->episode_onscreen = true;
                begin_field(p, F_EPISODE, true);
            } else {
                begin_field(p, F_EPISODE, false);
            }
        } else if (strcmp(name, "language") == 0) {
            begin_field(p, F_LANGUAGE, false);
        } else if (strcmp(name, "icon") == 0 && !p->icon[0] && attr(atts, "src")) {
            copy_bounded(p->icon, sizeof(p->icon), attr(atts, "src"));
        }
    } else if (p->depth == 4 && strcmp(name, "value") == 0) {
        /* <rating><value>..</value></rating>; star-rating is not kept */
        if (p->in_rating)
            begin_field(p, F_RATING, false);
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct epg_parser *p = ud;
    if (!p->cur_append || p->depth != p->cur_depth)
        return;
    struct text *t = &p->f[p->cur];
    t->seen += (size_t)len;
    if (t->seen > EPG_MAX_TEXT) {
        char why[96];
        snprintf(why, sizeof(why), "the text of <%s> is longer than %d bytes", field_name[p->cur],
                 EPG_MAX_TEXT);
        fail_at(p, why);
        return;
    }
    size_t room = t->cap - 1 - t->len;
    size_t n = (size_t)len < room ? (size_t)len : room;
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

/* Trims surrounding whitespace and cuts a split UTF-8 sequence at the end. */
static const char *finish_text(struct text *t)
{
    size_t n = t->len;
    while (n > 0 && ((unsigned char)t->s[n - 1] & 0xc0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)t->s[n - 1] & 0x80)) {
        unsigned char lead = (unsigned char)t->s[n - 1];
        size_t need = (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : 4;
        if (t->len - (n - 1) < need)
            t->len = n - 1;
    }
    t->s[t->len] = '\0';
    char *b = t->s;
    while (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')
        b++;
    char *e = t->s + t->len;
    while (e > b && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t'))
        e--;
    *e = '\0';
    return b;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct epg_parser *p = ud;
    (void)name;
    if (p->cur_append && p->depth == p->cur_depth)
        p->cur_append = false;
    if (p->depth == 2 && p->ctx != C_NONE) {
        int rc = 0;
        if (p->skip) {
            if (p->ctx == C_PROGRAMME)
                p->skipped++;
        } else if (p->ctx == C_CHANNEL && p->cb.channel) {
            struct epg_channel ch = {
                .id = p->id,
                .display_name = finish_text(&p->f[F_DISPLAY_NAME]),
                .icon = p->icon,
            };
            rc = p->cb.channel(p->cb.ud, &ch);
        } else if (p->ctx == C_PROGRAMME && p->cb.programme) {
            struct epg_programme pr = {
                .channel = p->channel,
                .start = p->start,
                .stop = p->stop,
                .title = finish_text(&p->f[F_TITLE]),
                .sub_title = finish_text(&p->f[F_SUB_TITLE]),
                .desc = finish_text(&p->f[F_DESC]),
                .category = finish_text(&p->f[F_CATEGORY]),
                .episode_num = finish_text(&p->f[F_EPISODE]),
                .icon = p->icon,
                .rating = finish_text(&p->f[F_RATING]),
            };
            const char *lang = p->title_lang[0] ? p->title_lang : finish_text(&p->f[F_LANGUAGE]);
            pr.lang = lang;
            rc = p->cb.programme(p->cb.ud, &pr);
        }
        p->ctx = C_NONE;
        if (rc) {
            p->cb_err = rc;
            XML_StopParser(p->xp, XML_FALSE);
        }
    }
    p->depth--;
}

int epg_parser_new(const struct epg_parser_cb *cb, struct epg_parser **out)
{
    struct epg_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cb = *cb;
    for (int i = 1; i < F_COUNT; i++) {
        p->f[i].cap = field_cap[i];
        p->f[i].s = malloc(field_cap[i]);
        if (!p->f[i].s)
            goto fail;
        p->f[i].s[0] = '\0';
    }
    p->f[F_NONE].cap = 1;
    p->f[F_NONE].s = calloc(1, 1);
    p->xp = XML_ParserCreate(NULL);
    if (!p->f[F_NONE].s || !p->xp)
        goto fail;
    XML_SetUserData(p->xp, p);
    XML_SetElementHandler(p->xp, on_start, on_end);
    XML_SetCharacterDataHandler(p->xp, on_text);
    XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
    *out = p;
    return 0;
fail:
    epg_parser_free(p);
    return -ENOMEM;
}

void epg_parser_free(struct epg_parser *p)
{
    if (!p)
        return;
    if (p->xp)
        XML_ParserFree(p->xp);
    for (int i = 0; i < F_COUNT; i++)
        free(p->f[i].s);
    free(p);
}

int epg_parser_feed(struct epg_parser *p, const void *data, size_t len, bool final)
{
    if (p->cb_err)
        return p->cb_err;
    while (len > 0 || final) {
        int chunk = len > EPG_FEED_CHUNK ? EPG_FEED_CHUNK : (int)len;
        bool last = final && (size_t)chunk == len;
        if (XML_Parse(p->xp, data, chunk, last) == XML_STATUS_ERROR) {
            if (p->cb_err)
                return p->cb_err;
            snprintf(p->error, sizeof(p->error), "line %lu, column %lu: %s",
                     (unsigned long)XML_GetCurrentLineNumber(p->xp),
                     (unsigned long)XML_GetCurrentColumnNumber(p->xp),
                     XML_ErrorString(XML_GetErrorCode(p->xp)));
            return -EBADMSG;
        }
        if (p->cb_err)
            return p->cb_err;
        p->fed += chunk;
        /* Between calls expat's current position is the start of the token
         * it could not finish; everything after it waits to be rescanned. */
        long long at = (long long)XML_GetCurrentByteIndex(p->xp);
        if (!last && at >= 0 && p->fed - at > EPG_MAX_MARKUP) {
            snprintf(p->error, sizeof(p->error),
                     "line %lu, column %lu: markup after <%s> is longer than %d bytes (a tag "
                     "with a huge attribute, or a comment or tag that never ends)",
                     (unsigned long)XML_GetCurrentLineNumber(p->xp),
                     (unsigned long)XML_GetCurrentColumnNumber(p->xp),
                     p->last_elem[0] ? p->last_elem : "(document start)", EPG_MAX_MARKUP);
            p->cb_err = -EBADMSG;
            return -EBADMSG;
        }
        if (chunk > 0)
            data = (const char *)data + chunk;
        len -= (size_t)chunk;
        if (last)
            break;
    }
    return 0;
}

const char *epg_parser_error(const struct epg_parser *p)
{
    return p->error;
}

size_t epg_parser_skipped(const struct epg_parser *p)
{
    return p->skipped;
}

/*
 * xmltv: the pure XMLTV layer below db/ and epg/ — limits, time parsing,
 * channel-name normalisation (the match keys db/epg.c stores) and the
 * streaming expat parser. No database, no loop: the fuzzable layer.
 *
 * Owns the parser state of one document (epg_parser). Invariants: every
 * time is UTC Unix seconds; every element text, attribute and nesting level
 * is bounded (EPG_MAX_*), longer text is cut on a UTF-8 boundary.
 * Threading: any thread; a parser is used by one thread at a time.
 */
#ifndef XTREAMD_XMLTV_XMLTV_H
#define XTREAMD_XMLTV_XMLTV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EPG_MAX_ID      256     /* channel id */
#define EPG_MAX_NAME    256     /* display-name */
#define EPG_MAX_URL     1024    /* icon src */
#define EPG_MAX_TITLE   512     /* title, sub-title */
#define EPG_MAX_DESC    8192    /* desc */
#define EPG_MAX_SHORT   128     /* category, episode-num, lang, rating */
#define EPG_MAX_DEPTH   32      /* element nesting */
#define EPG_NAME_KEY    256     /* normalised name buffer */
#define EPG_KEEP_DAYS   7       /* history kept when no channel has a deeper archive */
#define EPG_MAX_CHANNEL 200000  /* channels per source */
#define EPG_MAX_ATTR    65536   /* an attribute value; longer is an error */
#define EPG_MAX_TEXT    1048576 /* a kept element's text; longer is an error */
#define EPG_MAX_MARKUP  1048576 /* one tag/comment/PI still incomplete; longer is an error */
#define EPG_FEED_CHUNK  65536   /* bytes given to expat per call */

/* ---- time ---------------------------------------------------------------- */

/* Parses an XMLTV time "YYYYMMDDHHMMSS +HHMM" (also "YYYYMMDDHHMM", without
 * offset = UTC, offsets "+HH:MM", "Z", "UTC", "GMT") to Unix seconds UTC.
 * 0 or -EINVAL. */
int epg_parse_time(const char *s, size_t len, int64_t *out);
/* Unix seconds for a UTC civil date (proleptic Gregorian). */
int64_t epg_civil_to_unix(int y, int mon, int d, int h, int mi, int sec);
/* Formats t as "YYYYmmddHHMMSS +0000" (out: 21 bytes incl. NUL). */
void epg_format_xmltv_time(int64_t t, char out[21]);

/* ---- names --------------------------------------------------------------- */

/* Normalises a channel name for matching: lower case, Latin diacritics
 * folded, punctuation and spaces dropped, quality tokens (HD, FHD, UHD, 4K,
 * SD, HEVC, 720p, 1080p...) removed. Writes a NUL-terminated key (cut to
 * outlen-1); returns its length (0 for a name with nothing left). */
size_t epg_normalize_name(const char *name, char *out, size_t outlen);
/* The key of a channel id: its part before the first '.', normalised
 * ("BBCOne.uk" -> "bbcone"). */
size_t epg_normalize_id(const char *id, char *out, size_t outlen);

/* ---- parser (no database: the fuzzable layer) --------------------------- */

struct epg_channel {
    const char *id, *display_name, *icon;
};

struct epg_programme {
    const char *channel;
    int64_t start, stop; /* stop = 0 when absent (the importer fills it in) */
    const char *title, *sub_title, *desc, *category, *episode_num, *icon, *lang, *rating;
};

struct epg_parser_cb {
    /* Return 0 to continue, negative errno to stop the parse with that error. */
    int (*channel)(void *ud, const struct epg_channel *ch);
    int (*programme)(void *ud, const struct epg_programme *p);
    void *ud;
};

struct epg_parser;
int epg_parser_new(const struct epg_parser_cb *cb, struct epg_parser **out);
void epg_parser_free(struct epg_parser *p);
/* Feeds a piece of the document (final = true on the last one, len may be 0).
 * Returns 0, -EBADMSG for a malformed document (message via
 * epg_parser_error), or a callback's error. */
int epg_parser_feed(struct epg_parser *p, const void *data, size_t len, bool final);
/* "line L, column C: <reason>" for the last -EBADMSG. */
const char *epg_parser_error(const struct epg_parser *p);
/* Counters: programmes skipped because of missing/invalid attributes. */
size_t epg_parser_skipped(const struct epg_parser *p);

#endif

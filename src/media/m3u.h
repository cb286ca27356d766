/*
 * media/m3u: a streaming parser for extended M3U playlists (import side).
 *
 * Owns a parser state with two fixed buffers (one line, one pending #EXTINF),
 * so memory is bounded whatever the input: a line longer than M3U_MAX_LINE
 * bytes is a rejection, not a crash. Pure: no I/O, no allocation after
 * m3u_parser_new(). Bytes may be fed in pieces of any size; lines end in LF,
 * CRLF or CR. Every problem is reported through the reject callback with the
 * 1-based line number and a reason, and parsing continues, so that a caller can
 * list every rejection before deciding to write nothing. Safe on any bytes
 * (fuzzed by tests/fuzz/fuzz_m3u.c).
 *
 * Accepted input: optional UTF-8 BOM, a "#EXTM3U" header line, then entries
 * "#EXTINF:<duration> key="value" ...,<title>" followed by the URL line.
 * Known attributes: tvg-id, tvg-name, tvg-logo, group-title (names are matched
 * case-insensitively). "#EXTGRP:<group>" supplies the group when there is no
 * group-title. Other "#" lines (#EXTVLCOPT, #KODIPROP, comments) are ignored.
 * URL schemes: http, https, rtmp, rtmps, rtsp, rtp, udp, srt; with
 * M3U_ALLOW_LOCAL also absolute file paths, file:// and lavfi: graphs.
 * Text must be valid UTF-8 without control characters (tab is allowed).
 *
 * Threading: a parser is used by one thread at a time.
 */
#ifndef XTREAMD_MEDIA_M3U_H
#define XTREAMD_MEDIA_M3U_H

#include <stddef.h>
#include <stdint.h>

#define M3U_MAX_LINE  65536 /* bytes per line, excluding the line ending */
#define M3U_MAX_URL   4096
#define M3U_MAX_GROUP 1024 /* bytes of an #EXTGRP value */

enum {
    M3U_ALLOW_LOCAL = 1 << 0, /* file paths, file:// and lavfi: sources */
};

/* One playlist entry. Strings are NUL-terminated, never NULL ("" when
 * absent) and valid only during the entry callback. */
struct m3u_entry {
    size_t line;       /* line number of the #EXTINF */
    size_t url_line;   /* line number of the URL */
    long duration;     /* seconds, -1 for live/unknown */
    const char *title; /* text after the first comma outside quotes, trimmed */
    const char *name;  /* title, or tvg-name when the title is empty; never "" */
    const char *tvg_id;
    const char *tvg_name;
    const char *tvg_logo;
    const char *group; /* group-title, else #EXTGRP, else "" */
    const char *url;
};

struct m3u_callbacks {
    /* Called for every accepted entry; a non-zero (negative errno) return
     * stops the parser and is returned by m3u_parser_feed/finish. */
    int (*entry)(void *ctx, const struct m3u_entry *e);
    /* Called for every rejected line. `reason` is valid during the call. */
    void (*reject)(void *ctx, size_t line, const char *reason);
    void *ctx;
};

struct m3u_parser;

int m3u_parser_new(const struct m3u_callbacks *cb, unsigned flags, struct m3u_parser **out);
void m3u_parser_free(struct m3u_parser *p);

/* Parses len more bytes. Returns 0, or the first non-zero entry callback
 * result (after which the parser refuses further input with that value). */
int m3u_parser_feed(struct m3u_parser *p, const void *data, size_t len);

/* Ends the input: flushes a last line without a newline and reports an
 * #EXTINF still waiting for its URL, or a missing header. */
int m3u_parser_finish(struct m3u_parser *p);

size_t m3u_parser_entry_count(const struct m3u_parser *p);
size_t m3u_parser_reject_count(const struct m3u_parser *p);

#endif

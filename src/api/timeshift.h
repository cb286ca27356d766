/*
 * timeshift: the catch-up request forms of xtream-api.md §2.4 and §2.2 parsed
 * into one range (stream, start, duration, output). Pure functions on
 * untrusted text, any thread, no allocation, no libc time zone state.
 *
 * Wall-clock starts are read in the zone the server advertises in
 * server_info.timezone, which is always "UTC" (docs/api.md): NPM-style clients
 * are then exact and Kodi users set their catch-up correction.
 */
#ifndef XTREAMD_API_TIMESHIFT_H
#define XTREAMD_API_TIMESHIFT_H

#include <stddef.h>
#include <stdint.h>

/* Longest range one request may ask for: a day (1440 one-minute files in XC). */
#define TIMESHIFT_MAX_MINUTES 1440

struct timeshift_range {
    int64_t stream_id;
    int64_t start;    /* Unix seconds (UTC) */
    int64_t duration; /* seconds, > 0; 0 = open: up to now, growing (?utc= forms) */
    char ext[8];      /* "ts" or "m3u8" */
};

/* A start in any of the forms clients send: "YYYY-MM-DD:HH-MM" (canonical),
 * "YYYY-MM-DD:HH-MM-SS", "YYYY-MM-DD_HH-MM[-SS]", "YYYY-MM-DD:HH:MM[:SS]",
 * "YYYY-MM-DD HH:MM[:SS]", ISO-8601 "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]",
 * "YYYYMMDD-HH" (hour precision), and all digits: Unix seconds (1-11 digits)
 * or milliseconds (13 digits). 0, or -EINVAL for anything else (bad fields
 * included: month 13, 25:00, Feb 30). */
int timeshift_parse_start(const char *s, size_t n, int64_t *out);

/* A duration in whole minutes, 1..TIMESHIFT_MAX_MINUTES; 0 or -EINVAL/-ERANGE. */
int timeshift_parse_minutes(const char *s, size_t n, int64_t *out);

/* "ID.EXT" (or "ID": ts) with EXT ts or m3u8; 0 or -EINVAL. */
int timeshift_parse_id(const char *s, size_t n, struct timeshift_range *r);

/* The three text parts of the path and query forms into r. On an error
 * returns -EINVAL (or -ERANGE) and sets *field to the field at fault
 * ("stream", "start", "duration") for a field-named 400. */
int timeshift_parse(const char *id_ext, const char *start, const char *minutes,
                    struct timeshift_range *r, const char **field);

/* ?utc=UNIX[&lutc=UNIX] on a live URL (Kodi's "shift" catch-up): start =
 * utc, duration open (0: from there on, as far as the archive goes). lutc is
 * only the client's clock at request time; it is checked, not used. lutc may
 * be NULL. r->stream_id and r->ext are the caller's. */
int timeshift_parse_utc(const char *utc, const char *lutc, struct timeshift_range *r,
                        const char **field);

#endif

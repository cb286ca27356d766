/*
 * vod/nfo: Kodi-style .nfo sidecars (<movie>, <tvshow>, <episodedetails>)
 * parsed with expat into fixed-size fields. Unknown elements are ignored;
 * repeated ones (genre, director, actor/name, country) are joined with ", ".
 * A file that is not XML (Kodi also allows a bare URL) is -EINVAL.
 * Bounds: input at most VOD_NFO_MAX_BYTES; every field truncated to its size.
 * Threading: pure (no globals), any thread.
 */
#ifndef XTREAMD_VOD_NFO_H
#define XTREAMD_VOD_NFO_H

#include <stddef.h>
#include <stdint.h>

#define VOD_NFO_MAX_BYTES (1 << 20)

enum vod_nfo_kind { VOD_NFO_UNKNOWN, VOD_NFO_MOVIE, VOD_NFO_TVSHOW, VOD_NFO_EPISODE };

struct vod_nfo {
    enum vod_nfo_kind kind;
    char title[256], original_title[256];
    char plot[4096];
    char genre[512], director[512], cast[1024], country[256];
    char premiered[32]; /* premiered / aired / releasedate, as given */
    char mpaa[64];
    char trailer[512];
    int year;
    int season, episode; /* -1 unknown */
    double rating;
    int64_t tmdb_id;
    int runtime_min;
};

int vod_nfo_parse(const char *data, size_t len, struct vod_nfo *out);
/* Reads and parses a file (at most VOD_NFO_MAX_BYTES). */
int vod_nfo_load(const char *path, struct vod_nfo *out);

#endif

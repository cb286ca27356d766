/*
 * vod/names: pure parsers for library file and folder names — movies
 * ("Title (Year).mkv", "Title.2010.1080p.mkv", "Title [2010].mp4") and
 * episodes ("Show S01E02 Title.mkv", "1x02", "S1E2", "Season 01/…",
 * "Episode 2"). No I/O, no allocation; outputs are bounded and truncated.
 * Threading: pure functions, any thread.
 */
#ifndef XTREAMD_VOD_NAMES_H
#define XTREAMD_VOD_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define VOD_NAME_MAX 256

struct vod_movie_name {
    char title[VOD_NAME_MAX];
    int year; /* 0 = unknown */
};

struct vod_episode_name {
    int season;  /* -1 = unknown */
    int episode; /* -1 = unknown */
    char title[VOD_NAME_MAX];
};

/* Whether a file name has a video extension (mkv, mp4, avi, …). */
bool vod_is_video_name(const char *name);
/* The extension of name, lower-cased into ext ("" when none or too long). */
void vod_name_ext(const char *name, char *ext, size_t extlen);

/* A movie from a file (or folder) name; extension stripped. -EINVAL if empty. */
int vod_parse_movie_name(const char *name, struct vod_movie_name *out);

/* An episode from a file name; season comes from the name or, failing that,
 * from `season_dir` ("Season 2", "S02", "Specials"; may be NULL). Returns
 * -EINVAL when no episode number can be found. */
int vod_parse_episode_name(const char *name, const char *season_dir, struct vod_episode_name *out);

/* The season number of a folder name ("Season 1", "Season 01", "S01",
 * "Specials" = 0); -1 if it is not a season folder. */
int vod_season_dir(const char *name);

#endif

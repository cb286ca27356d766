/*
 * vod/names: see names.h. Names are scanned byte by byte with explicit
 * bounds; the only outputs are the fixed-size fields of the result structs.
 */
#include "vod/names.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const video_exts[] = {"mkv",  "mp4", "m4v",  "avi", "mov", "ts",  "m2ts",
                                         "webm", "mpg", "mpeg", "wmv", "flv", "3gp", "ogv"};

void vod_name_ext(const char *name, char *ext, size_t extlen)
{
    const char *dot = strrchr(name, '.');
    if (extlen)
        ext[0] = '\0';
    if (!dot || dot == name || strlen(dot + 1) >= extlen || strlen(dot + 1) > 8)
        return;
    size_t i = 0;
    for (const char *p = dot + 1; *p; p++)
        ext[i++] = (char)tolower((unsigned char)*p);
    ext[i] = '\0';
}

bool vod_is_video_name(const char *name)
{
    char ext[16];
    vod_name_ext(name, ext, sizeof(ext));
    for (size_t i = 0; i < sizeof(video_exts) / sizeof(video_exts[0]); i++)
        if (strcmp(ext, video_exts[i]) == 0)
            return true;
    return false;
}

/* Copies [s, s+n) into out, turning '.' and '_' into spaces when the name has
 * no spaces (scene style), collapsing spaces and trimming separators. */
static void clean_copy(const char *s, size_t n, char *out, size_t outlen)
{
    bool scene = memchr(s, ' ', n) == NULL;
    size_t o = 0;
    bool space = true; /* drop leading spaces */
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        char ch = s[i];
        if (ch == '_' || (scene && ch == '.'))
            ch = ' ';
        if (ch == ' ' || ch == '\t') {
            if (space)
                continue;
            space = true;
            out[o++] = ' ';
            continue;
        }
        space = false;
        out[o++] = ch;
    }
    out[o] = '\0';
    /* trim trailing separators */
    while (o > 0 && strchr(" -.([", out[o - 1]))
        out[--o] = '\0';
    /* and leading ones */
    size_t lead = strspn(out, " -.)]");
    if (lead)
        memmove(out, out + lead, o - lead + 1);
}

static size_t stem_len(const char *name)
{
    size_t n = strlen(name);
    if (vod_is_video_name(name) || strrchr(name, '.')) {
        const char *dot = strrchr(name, '.');
        char ext[16];
        vod_name_ext(name, ext, sizeof(ext));
        if (dot && ext[0])
            n = (size_t)(dot - name);
    }
    return n;
}

static bool is_year_at(const char *s, size_t i, size_t n)
{
    if (i + 4 > n)
        return false;
    for (size_t k = 0; k < 4; k++)
        if (!isdigit((unsigned char)s[i + k]))
            return false;
    int y = (s[i] - '0') * 1000 + (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
    if (y < 1880 || y > 2100)
        return false;
    bool left = i == 0 || !isalnum((unsigned char)s[i - 1]);
    bool right = i + 4 == n || !isalnum((unsigned char)s[i + 4]);
    return left && right;
}

int vod_parse_movie_name(const char *name, struct vod_movie_name *out)
{
    memset(out, 0, sizeof(*out));
    if (name[0] == '.')
        return -EINVAL; /* hidden file: no title */
    size_t n = stem_len(name);
    /* The last year-looking token that is not at the very start wins
     * ("2001 A Space Odyssey (1968)"), bracketed or not. */
    size_t at = n;
    for (size_t i = 1; i + 4 <= n; i++)
        if (is_year_at(name, i, n))
            at = i;
    if (at < n) {
        out->year = (name[at] - '0') * 1000 + (name[at + 1] - '0') * 100 +
                    (name[at + 2] - '0') * 10 + (name[at + 3] - '0');
        clean_copy(name, at, out->title, sizeof(out->title));
        if (!out->title[0]) { /* only a year: keep the whole stem */
            out->year = 0;
            clean_copy(name, n, out->title, sizeof(out->title));
        }
    } else {
        clean_copy(name, n, out->title, sizeof(out->title));
    }
    return out->title[0] ? 0 : -EINVAL;
}

/* Reads up to 4 digits at s[*i]; -1 if none. */
static int digits(const char *s, size_t *i, size_t n)
{
    int v = 0, k = 0;
    while (*i < n && k < 4 && isdigit((unsigned char)s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    return k ? v : -1;
}

/* Finds "SxxEyy" / "sXeY" / "NxNN" in s[0,n); sets season, episode and the
 * [start, end) of the token. */
static bool find_token(const char *s, size_t n, int *season, int *episode, size_t *start,
                       size_t *end)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && isalnum((unsigned char)s[i - 1]))
            continue;
        size_t j = i;
        if ((s[j] == 'S' || s[j] == 's') && j + 1 < n && isdigit((unsigned char)s[j + 1])) {
            j++;
            int se = digits(s, &j, n);
            while (j < n && (s[j] == ' ' || s[j] == '.' || s[j] == '_' || s[j] == '-'))
                j++;
            if (j + 1 < n && (s[j] == 'E' || s[j] == 'e') && isdigit((unsigned char)s[j + 1])) {
                j++;
                int ep = digits(s, &j, n);
                /* multi-episode "S01E01E02" / "S01E01-E02": keep the first */
                while (j + 1 < n && (s[j] == 'E' || s[j] == 'e' || s[j] == '-') &&
                       (isdigit((unsigned char)s[j + 1]) ||
                        (s[j] == '-' && (s[j + 1] == 'E' || s[j + 1] == 'e')))) {
                    j++;
                    if (s[j] == 'E' || s[j] == 'e')
                        j++;
                    digits(s, &j, n);
                }
                *season = se;
                *episode = ep;
                *start = i;
                *end = j;
                return true;
            }
        }
        j = i;
        if (isdigit((unsigned char)s[j])) {
            int se = digits(s, &j, n);
            if (j + 1 < n && (s[j] == 'x' || s[j] == 'X') && isdigit((unsigned char)s[j + 1]) &&
                se >= 0 && se < 100) {
                j++;
                int ep = digits(s, &j, n);
                if (j == n || !isalnum((unsigned char)s[j])) {
                    *season = se;
                    *episode = ep;
                    *start = i;
                    *end = j;
                    return true;
                }
            }
        }
    }
    return false;
}

int vod_season_dir(const char *name)
{
    if (strcasecmp(name, "Specials") == 0 || strcasecmp(name, "Special") == 0)
        return 0;
    size_t n = strlen(name), i = 0;
    if (strncasecmp(name, "Season", 6) == 0)
        i = 6;
    else if (strncasecmp(name, "Series", 6) == 0)
        i = 6;
    else if (name[0] == 'S' || name[0] == 's')
        i = 1;
    else
        return -1;
    while (i < n && (name[i] == ' ' || name[i] == '_' || name[i] == '.' || name[i] == '-'))
        i++;
    int v = digits(name, &i, n);
    return v >= 0 && i == n ? v : -1;
}

int vod_parse_episode_name(const char *name, const char *season_dir, struct vod_episode_name *out)
{
    memset(out, 0, sizeof(*out));
    out->season = out->episode = -1;
    size_t n = stem_len(name), start, end;
    int se, ep;
    if (find_token(name, n, &se, &ep, &start, &end)) {
        out->season = se;
        out->episode = ep;
        clean_copy(name + end, n - end, out->title, sizeof(out->title));
        return 0;
    }
    /* "Episode 2 - Title", "E02 Title", "02 - Title" with the season folder */
    size_t i = 0;
    if (strncasecmp(name, "Episode", 7) == 0) {
        i = 7;
        while (i < n && (name[i] == ' ' || name[i] == '_' || name[i] == '.'))
            i++;
    } else if ((name[0] == 'E' || name[0] == 'e') && n > 1 && isdigit((unsigned char)name[1])) {
        i = 1;
    }
    ep = digits(name, &i, n);
    if (ep < 0 || (i < n && isalnum((unsigned char)name[i])))
        return -EINVAL;
    out->episode = ep;
    out->season = season_dir ? vod_season_dir(season_dir) : -1;
    if (out->season < 0)
        out->season = 1;
    clean_copy(name + i, n - i, out->title, sizeof(out->title));
    return 0;
}

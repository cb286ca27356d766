/*
 * vod/demo_media: see demo_media.h. Clips are made in parallel (one ffmpeg
 * child per missing file, at most DEMO_PARALLEL at a time).
 */
#include "vod/demo_media.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/library.h"
#include "vod/probe.h"

#define DEMO_PARALLEL 8
#define DEMO_MAX      64

extern char **environ;

static int mkdirs(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    return 0;
}

static pid_t spawn_clip(const char *path, unsigned n)
{
    char src[96], tone[64];
    snprintf(src, sizeof(src), "%s=size=320x180:rate=25", n % 2 ? "smptebars" : "testsrc2");
    snprintf(tone, sizeof(tone), "sine=frequency=%u:sample_rate=48000", 330 + 110 * (n % 5));
    char *argv[] = {"ffmpeg",       "-nostdin",   "-v",
                    "error",        "-y",         "-f",
                    "lavfi",        "-i",         src,
                    "-f",           "lavfi",      "-i",
                    tone,           "-t",         "4",
                    "-c:v",         "libx264",    "-preset",
                    "ultrafast",    "-pix_fmt",   "yuv420p",
                    "-c:a",         "aac",        "-b:a",
                    "64k",          "-shortest",  "-metadata:s:a:0",
                    "language=eng", (char *)path, NULL};
    pid_t pid;
    if (posix_spawnp(&pid, "ffmpeg", NULL, NULL, argv, environ) != 0)
        return -1;
    return pid;
}

int vod_demo_media(struct db *db, const char *media_dir)
{
    const char *const *paths = NULL;
    size_t n = 0;
    char **list = NULL;
    struct db_library *l;
    int rc = db_library_open(db, &l);
    if (rc == 0)
        rc = db_library_sources_under(l, media_dir, &list, &n);
    paths = (const char *const *)list;
    pid_t pids[DEMO_MAX];
    bool made[DEMO_MAX] = {false}; /* only new clips are probed: a re-run writes nothing */
    size_t npids = 0;
    bool no_ffmpeg = false;
    for (size_t i = 0; rc == 0 && i < n && i < DEMO_MAX; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0 && st.st_size > 0)
            continue;
        if (no_ffmpeg || mkdirs(paths[i]))
            continue;
        if (npids == DEMO_PARALLEL) {
            for (size_t k = 0; k < npids; k++)
                waitpid(pids[k], NULL, 0);
            npids = 0;
        }
        pid_t pid = spawn_clip(paths[i], (unsigned)i);
        if (pid < 0) {
            no_ffmpeg = true;
            continue;
        }
        pids[npids++] = pid;
        made[i] = true;
    }
    for (size_t k = 0; k < npids; k++)
        waitpid(pids[k], NULL, 0);
    if (no_ffmpeg)
        fprintf(stderr, "xtreamd demo: ffmpeg is not installed: the demo movies and episodes have "
                        "no media files (install ffmpeg and run 'xtreamd demo' again)\n");
    for (size_t i = 0; rc == 0 && i < n && i < DEMO_MAX; i++) {
        struct vod_probe pr;
        if (!made[i])
            continue;
        struct stat st;
        char err[256];
        if (stat(paths[i], &st) != 0 || vod_probe_file(paths[i], &pr, err, sizeof(err)) != 0)
            continue;
        rc = db_library_set_probe(l, paths[i], (int64_t)st.st_size, (int64_t)st.st_mtime,
                                  (int64_t)(pr.duration + 0.5), pr.bitrate_kbps, pr.video_json,
                                  pr.audio_json, pr.languages);
        vod_probe_clear(&pr);
    }
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
    db_library_close(l);
    return rc ? rc : no_ffmpeg ? -ENOENT : 0;
}

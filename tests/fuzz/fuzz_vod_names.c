/* libFuzzer target for vod/names and vod/nfo (and the ffprobe JSON summary):
 * any bytes as a file name, a season folder, an .nfo document and ffprobe
 * output; results must be NUL-terminated and within their bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vod/names.h"
#include "vod/nfo.h"
#include "vod/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct vod_movie_name m;
    if (vod_parse_movie_name(s, &m) == 0 && strlen(m.title) >= sizeof(m.title))
        abort();
    struct vod_episode_name e;
    if (vod_parse_episode_name(s, s, &e) == 0 &&
        (e.episode < 0 || strlen(e.title) >= sizeof(e.title)))
        abort();
    (void)vod_season_dir(s);
    (void)vod_is_video_name(s);
    static struct vod_nfo n;
    if (vod_nfo_parse((const char *)data, size, &n) == 0 &&
        (strlen(n.title) >= sizeof(n.title) || strlen(n.cast) >= sizeof(n.cast)))
        abort();
    struct vod_probe p;
    if (vod_probe_parse((const char *)data, size, &p) == 0) {
        if (!p.video_json || !p.audio_json)
            abort();
        vod_probe_clear(&p);
    }
    free(s);
    return 0;
}

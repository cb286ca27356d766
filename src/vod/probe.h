/*
 * vod/probe: media facts of a file from `ffprobe -v error -print_format json
 * -show_format -show_streams` (a child process, never linked libav*).
 *
 * vod_probe_parse() is the pure half (fuzzed): ffprobe JSON in, a summary out
 * — duration, bitrate, container, and the first video and audio streams as
 * XC-shaped JSON objects (a whitelist of ffprobe's own stream keys, e.g.
 * {"codec_name":"h264","width":1280,"height":720,...}) plus the audio
 * languages. vod_probe_file() runs ffprobe with a time limit and a bound on
 * its output. Strings returned are malloc'd and freed by vod_probe_clear().
 * Threading: any thread; vod_probe_file() blocks (run it on a worker).
 */
#ifndef XTREAMD_VOD_PROBE_H
#define XTREAMD_VOD_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define VOD_PROBE_MAX_OUTPUT (4 << 20)
#define VOD_PROBE_TIMEOUT_MS 30000

struct vod_probe {
    double duration;      /* seconds */
    int64_t bitrate_kbps; /* format bit_rate / 1000 */
    char container[64];   /* format_name, e.g. "matroska,webm" */
    char *video_json;     /* "" when no video stream; never NULL after success */
    char *audio_json;
    char languages[128]; /* distinct audio languages, comma-separated */
};

int vod_probe_parse(const char *json, size_t len, struct vod_probe *out);
/* Runs ffprobe (program name/path `ffprobe`, or $XTREAMD_FFPROBE) on path.
 * On failure, err gets a one-line reason. */
int vod_probe_file(const char *path, struct vod_probe *out, char *err, size_t errlen);
void vod_probe_clear(struct vod_probe *p);

#endif

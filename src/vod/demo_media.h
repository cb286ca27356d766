/*
 * vod/demo_media: the media files of `xtreamd demo` — short generated clips
 * (ffmpeg lavfi testsrc2/smptebars + a sine tone, H.264/AAC; the container
 * follows the path's extension: MP4, or MKV for one movie) written at the
 * paths the demo catalogue points to, then probed so that the API shows real
 * durations and codecs. Existing files are kept. Blocking; CLI only.
 */
#ifndef XTREAMD_VOD_DEMO_MEDIA_H
#define XTREAMD_VOD_DEMO_MEDIA_H

struct db;

/* Generates every missing movie/episode file under media_dir that the
 * database references, and stores their probe results. Returns 0, or
 * -ENOENT when ffmpeg is not installed (a message is printed). */
int vod_demo_media(struct db *db, const char *media_dir);

#endif

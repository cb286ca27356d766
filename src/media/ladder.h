/*
 * media/ladder: an adaptive-bitrate ladder — several renditions of one
 * channel made by ONE ffmpeg (issue 14 item 2). Pure rendering only: the argv
 * and the HLS master playlist, unit-tested. A profile with renditions
 * (media/profile.h) is a ladder: tx_ladder_from_profile() gives the view
 * these functions take; the live engine reads rendition i from fd 1 or 2+i
 * (docs/internals/live.md, "ABR ladders").
 *
 * The renditions share the base profile's codecs, audio, frame rate and GOP;
 * each has its own size and rates. One decode, a split filter, one encoder
 * per rendition with identical keyframe placement (-force_key_frames on the
 * clock, -sc_threshold 0 for x264, same -g), so segments of every variant
 * start at the same instants and a player can switch between them at any
 * segment boundary. Rendition 0 (the top) goes to pipe:1 like a single
 * rendition does today; rendition i > 0 to pipe:(2 + i), i.e. fds 3, 4, ...
 * (the caller gives the child those extra stdio pipes).
 * Thread-safe, no allocation.
 */
#ifndef XTREAMD_MEDIA_LADDER_H
#define XTREAMD_MEDIA_LADDER_H

#include <stddef.h>

#include "media/profile.h"

struct tx_ladder {
    struct tx_profile base; /* codecs, audio, fps, gop, rate control, extra_args */
    struct tx_rung rung[LADDER_MAX];
    int n; /* 1..LADDER_MAX, top (highest bitrate) first */
};

/* The ladder of a profile with renditions (l->base is p without them). */
void tx_ladder_from_profile(const struct tx_profile *p, struct tx_ladder *l);

/* 0 or -EINVAL with *e naming "renditions[i].<field>" (or a base field):
 * 1-4 rungs, strictly decreasing bitrate and not increasing height, a base
 * that transcodes (not copy), without a logo (one overlay per ladder is left
 * for later), with a frame rate (needed for BANDWIDTH/FRAME-RATE and -g). */
int tx_ladder_validate(const struct tx_ladder *l, struct tx_error *e);

/* The argv after "-i SOURCE" (out->post) for the whole ladder, each
 * rendition's output ending in "-f mpegts pipe:N". 0, -EINVAL or -ENOSPC. */
int tx_ladder_render(const struct tx_ladder *l, unsigned hw_available, struct tx_argv *out);

/* The HLS master playlist: one #EXT-X-STREAM-INF per rendition, top first,
 * with BANDWIDTH (peak: maxrate or bitrate, plus audio, plus 10% for the
 * MPEG-TS mux), AVERAGE-BANDWIDTH (bitrate plus audio, plus 5%),
 * RESOLUTION, FRAME-RATE and CODECS, then the URL uri_prefix + "<i>.m3u8".
 * Returns the length written (excluding the NUL) or -ENOSPC. */
int tx_ladder_master(const struct tx_ladder *l, const char *uri_prefix, char *out, size_t len);

/* RFC 6381 codecs of the ladder's output as a player expects them. */
const char *tx_ladder_codecs(const struct tx_ladder *l);

#endif

/*
 * media/progress: a parser for ffmpeg's "-progress" output — blocks of
 * key=value lines ending with "progress=continue" (or "progress=end"):
 * frame, fps, bitrate (" 301.2kbits/s"), total_size, out_time*, dup_frames,
 * drop_frames, speed ("1.01x"), stream_N_M_q. Values may be "N/A".
 *
 * Lines are fed one at a time without their line ending; a line that is not
 * a progress key is left to the caller (ffmpeg's warnings share stderr).
 * The numbers of a block become visible (struct ffprogress.last) only when
 * the block ends, so a reader never sees half of one. Pure, bounded, safe on
 * any bytes (fuzzed by tests/fuzz/fuzz_progress.c). One thread per parser.
 */
#ifndef XTREAMD_MEDIA_PROGRESS_H
#define XTREAMD_MEDIA_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ffprogress_values {
    double speed;                            /* encoding speed over real time; < 0: unknown */
    double fps;                              /* < 0: unknown */
    double bitrate_bps;                      /* ffmpeg's output bitrate; < 0: unknown */
    int64_t frames, dup_frames, drop_frames; /* < 0: unknown */
    int64_t out_time_us;                     /* < 0: unknown */
};

struct ffprogress {
    struct ffprogress_values cur;  /* the block being read */
    struct ffprogress_values last; /* the last whole block */
    uint64_t blocks;               /* whole blocks seen */
    uint64_t bad_values;           /* known keys with an unreadable value */
};

void ffprogress_init(struct ffprogress *p);
/* Every value unknown. */
void ffprogress_values_reset(struct ffprogress_values *v);
/* 0: not a progress line; 1: consumed; 2: consumed and a block ended
 * (p->last updated). */
int ffprogress_line(struct ffprogress *p, const char *line, size_t len);

#endif

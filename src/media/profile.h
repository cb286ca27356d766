/*
 * media/profile: transcode profiles — the typed description of how a live
 * channel is re-encoded, its validation rules, and its rendering into an
 * ffmpeg argv (never a shell string).
 *
 * A profile is a fixed-size value (no pointers), so the catalogue snapshot and
 * the live engine copy it by value. Rules (tx_profile_validate), each error
 * naming its field as the CLI and the admin API spell it:
 *  - name: 1-63 bytes of [A-Za-z0-9._-];
 *  - video_codec: copy | libx264 | libx265. With a hardware backend the
 *    encoder is rendered as the backend's (h264_vaapi, hevc_nvenc, ...);
 *  - hw_backend: none | vaapi | nvenc | qsv (needs a codec other than copy);
 *  - rate_control: cbr | vbr; bitrate_kbps 50-100000 (required unless copy),
 *    maxrate_kbps 0 or >= bitrate (vbr; cbr: = bitrate), bufsize_kbps 0
 *    (default: bitrate for cbr, 2 x maxrate for vbr) or 10-200000;
 *  - gop_seconds 1-20; width/height 0 (source; one 0 keeps the aspect) or
 *    16-7680 even; fps 0 (source) or 1-120; deinterlace 0/1;
 *  - audio_codec: copy | aac | ac3 | mp2; audio_bitrate_kbps 0 (default 128)
 *    or 16-640; audio_channels 0 (source) or 1-8;
 *  - logo: "" or an absolute path of [A-Za-z0-9._/-] without "..", overlaid
 *    at logo_position tl | tr | bl | br with a 10-pixel margin;
 *  - size, fps, deinterlace and logo need a video codec other than copy;
 *  - extra_args: see tx_extra_check;
 *  - renditions: 0-4, see tx_ladder_validate (media/ladder.h): a ladder
 *    transcodes (not copy), has a frame rate and no logo, each rendition has
 *    a size, and bitrates strictly decrease from the top one.
 *
 * Pure: no I/O, no allocation. Thread-safe (no shared state).
 */
#ifndef XTREAMD_MEDIA_PROFILE_H
#define XTREAMD_MEDIA_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TX_NAME_MAX  64
#define TX_CODEC_MAX 16
#define TX_LOGO_MAX  256
#define TX_EXTRA_MAX 512 /* bytes of extra_args */
#define TX_EXTRA_TOK 32  /* tokens of extra_args (options + values) */
#define TX_ARGV_MAX  128 /* argv entries tx_render may produce */

enum tx_hw { TX_HW_NONE, TX_HW_VAAPI, TX_HW_NVENC, TX_HW_QSV, TX_HW_COUNT };
enum tx_rc { TX_RC_VBR, TX_RC_CBR };
enum tx_pos { TX_POS_TL, TX_POS_TR, TX_POS_BL, TX_POS_BR };

#define LADDER_MAX 4 /* renditions of an adaptive-bitrate ladder */

/* One rendition of a ladder (media/ladder.h): its size and rates; the rest
 * (codecs, GOP, fps, audio, extra_args) is the profile's. */
struct tx_rung {
    int width, height; /* both required (even, 16-7680) */
    int bitrate_kbps, maxrate_kbps;
};

struct tx_profile {
    int64_t id;
    char name[TX_NAME_MAX];
    char video_codec[TX_CODEC_MAX]; /* copy, libx264, libx265 */
    enum tx_hw hw;
    enum tx_rc rc;
    int bitrate_kbps, maxrate_kbps, bufsize_kbps;
    int gop_seconds;
    int width, height, fps;
    bool deinterlace;
    char audio_codec[TX_CODEC_MAX]; /* copy, aac, ac3, mp2 */
    int audio_bitrate_kbps, audio_channels;
    char logo[TX_LOGO_MAX];
    enum tx_pos logo_position;
    char extra_args[TX_EXTRA_MAX];
    /* An adaptive-bitrate ladder (issue 14 item 2): 0 = a single output;
     * 1-LADDER_MAX renditions made by one ffmpeg, top (highest bitrate)
     * first. A ladder's width/height/bitrate_kbps/maxrate_kbps are those of
     * its top rendition (tx_ladder_sync_top keeps them so). */
    int nrenditions;
    struct tx_rung renditions[LADDER_MAX];
    int64_t created_at, updated_at;
};

/* A rule broken: the field (as in the JSON) and a message. */
struct tx_error {
    char field[48];
    char msg[160];
};

/* Defaults: video libx264 vbr 2000 kbit/s, GOP 2 s, audio aac 128 kbit/s. */
void tx_profile_init(struct tx_profile *p);
/* 0 or -EINVAL with *e set (the first rule broken). */
int tx_profile_validate(const struct tx_profile *p, struct tx_error *e);
/*
 * renditions as text (the CLI's --ladder and the database column):
 * "WxH:KBPS[:MAXKBPS]" items separated by ',', top first; "" is no ladder.
 * parse: 0 or -EINVAL with *e naming "renditions" (sets p->nrenditions and
 * p->renditions only; the ladder rules are tx_profile_validate's). format:
 * the length written or -ENOSPC.
 */
int tx_renditions_parse(const char *s, struct tx_profile *p, struct tx_error *e);
int tx_renditions_format(const struct tx_profile *p, char *out, size_t len);
/* A ladder's top rendition as the profile's own size and rates. */
void tx_ladder_sync_top(struct tx_profile *p);

/* Names of the enums ("none", "cbr", "tl", ...) and their parsers
 * (0 or -EINVAL). */
const char *tx_hw_name(enum tx_hw hw);
int tx_hw_parse(const char *s, enum tx_hw *out);
const char *tx_rc_name(enum tx_rc rc);
int tx_rc_parse(const char *s, enum tx_rc *out);
const char *tx_pos_name(enum tx_pos pos);
int tx_pos_parse(const char *s, enum tx_pos *out);

/*
 * extra_args: options appended after the profile's own, written as
 * whitespace-separated "-option value" pairs (no quotes, no escapes). Only
 * this allow-list is accepted, each option once, each with one value:
 *   -preset, -tune, -profile:v, -pix_fmt   a word: [a-z0-9_]{1,32}
 *   -level, -crf                           a number: [0-9.]{1,8}
 *   -bf, -refs, -rc-lookahead, -threads    an integer 0-64
 *   -x264-params, -x265-params             key=value[:key=value...] of
 *                                          [A-Za-z0-9_.,=:+-], without keys
 *                                          that read or write files (stats,
 *                                          qpfile, dump-yuv, csv, analysis-*)
 * Anything else (-i, -f, -filter_complex, -vf, output names, an unknown
 * option, a value with a '/' or a quote) is refused, the error naming
 * "extra_args" and the offending token. Safe on any bytes (fuzzed by
 * tests/fuzz/fuzz_tx_extra.c).
 */
int tx_extra_check(const char *s, size_t len, struct tx_error *e);
/* Splits a checked extra_args into tokens copied into buf (NUL-separated);
 * returns the token count or -EINVAL / -ENOSPC. */
int tx_extra_split(const char *s, char *buf, size_t buflen, const char **tok, int max);

/* The rendered command-line pieces of a profile for one source:
 *   ffmpeg <global> <pre...> -i SOURCE <post...> -f mpegts pipe:1
 * pre: hardware device set-up (before the input); post: the logo input,
 * the filters, maps, encoders and rate control. Strings point into the
 * struct's own scratch: do not copy the struct while argv is in use. */
struct tx_argv {
    const char *pre[16];
    int npre;
    const char *post[TX_ARGV_MAX];
    int npost;
    enum tx_hw hw;       /* the backend rendered (after fallback) */
    const char *encoder; /* the video encoder rendered ("copy" for copy) */
    char scratch[2048];
    size_t used;
};

/* A formatted string kept in a's scratch (for argv values); NULL when the
 * scratch is full. */
const char *tx_argv_fmt(struct tx_argv *a, const char *f, ...)
    __attribute__((format(printf, 2, 3)));

/* Renders p for the backends available (bit (1 << TX_HW_x) set; software is
 * always available). A hardware backend that is not available renders the
 * software encoder instead (out->hw = TX_HW_NONE): the caller reports the
 * fallback. 0, -EINVAL (p breaks a rule) or -ENOSPC. */
int tx_render(const struct tx_profile *p, unsigned hw_available, struct tx_argv *out);

/* The video encoder for codec on backend ("h264_vaapi", "libx264"...). */
const char *tx_encoder(const char *video_codec, enum tx_hw hw);

#endif

#include "media/ladder.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(struct tx_error *e, const char *field, const char *msg)
{
    if (e) {
        snprintf(e->field, sizeof(e->field), "%s", field);
        snprintf(e->msg, sizeof(e->msg), "%s", msg);
    }
    return -EINVAL;
}

/* Rung i as a whole profile: the base with its size and rates. */
static void rung_profile(const struct tx_ladder *l, int i, struct tx_profile *p)
{
    *p = l->base;
    p->width = l->rung[i].width;
    p->height = l->rung[i].height;
    p->bitrate_kbps = l->rung[i].bitrate_kbps;
    p->maxrate_kbps = l->rung[i].maxrate_kbps;
}

void tx_ladder_from_profile(const struct tx_profile *p, struct tx_ladder *l)
{
    memset(l, 0, sizeof(*l));
    l->base = *p;
    l->base.nrenditions = 0;
    memset(l->base.renditions, 0, sizeof(l->base.renditions));
    l->n = p->nrenditions;
    for (int i = 0; i < p->nrenditions && i < LADDER_MAX; i++)
        l->rung[i] = p->renditions[i];
}

int tx_ladder_validate(const struct tx_ladder *l, struct tx_error *e)
{
    if (l->n < 1 || l->n > LADDER_MAX)
        return fail(e, "renditions", "1-4 renditions");
    if (tx_profile_validate(&l->base, e) < 0)
        return -EINVAL;
    if (strcmp(l->base.video_codec, "copy") == 0)
        return fail(e, "video_codec", "a ladder transcodes: not copy");
    if (l->base.logo[0])
        return fail(e, "logo", "not supported in a ladder yet");
    if (!l->base.fps)
        return fail(e, "fps", "a ladder needs a frame rate");
    for (int i = 0; i < l->n; i++) {
        struct tx_profile p;
        rung_profile(l, i, &p);
        struct tx_error re;
        char field[48];
        if (!p.width || !p.height) {
            snprintf(field, sizeof(field), "renditions[%d].%s", i, p.width ? "height" : "width");
            return fail(e, field, "required in a ladder");
        }
        if (tx_profile_validate(&p, &re) < 0) {
            snprintf(field, sizeof(field), "renditions[%d].%.16s", i, re.field);
            return fail(e, field, re.msg);
        }
        if (i &&
            (p.bitrate_kbps >= l->rung[i - 1].bitrate_kbps || p.height > l->rung[i - 1].height)) {
            snprintf(field, sizeof(field), "renditions[%d].bitrate_kbps", i);
            return fail(e, field, "below the rendition above it (top first), no taller");
        }
    }
    return 0;
}

int tx_ladder_render(const struct tx_ladder *l, unsigned hw_available, struct tx_argv *a)
{
    if (tx_ladder_validate(l, NULL) < 0)
        return -EINVAL;
    /* Each rung rendered alone gives its encoder/rate/audio options; the
     * video chain is rebuilt around one split. */
    struct tx_argv one;
    struct tx_profile p;
    rung_profile(l, 0, &p);
    int rc = tx_render(&p, hw_available, &one);
    if (rc)
        return rc;
    memset(a, 0, sizeof(*a));
    a->hw = one.hw;
    a->encoder = one.encoder;
    for (int i = 0; i < one.npre; i++)
        a->pre[a->npre++] = one.pre[i]; /* static strings */
    const char *tail = a->hw == TX_HW_VAAPI ? "format=nv12,hwupload"
                       : a->hw == TX_HW_QSV ? "format=nv12,hwupload=extra_hw_frames=64"
                                            : "format=yuv420p";
    char graph[1024];
    size_t gl = 0;
    int n = snprintf(graph, sizeof(graph), "[0:v]%sfps=%d,split=%d",
                     l->base.deinterlace ? "yadif," : "", l->base.fps, l->n);
    if (n < 0 || (size_t)n >= sizeof(graph))
        return -ENOSPC;
    gl = (size_t)n;
    for (int i = 0; i < l->n; i++) {
        n = snprintf(graph + gl, sizeof(graph) - gl, "[s%d]", i);
        if (n < 0 || (size_t)n >= sizeof(graph) - gl)
            return -ENOSPC;
        gl += (size_t)n;
    }
    for (int i = 0; i < l->n; i++) {
        n = snprintf(graph + gl, sizeof(graph) - gl, ";[s%d]scale=%d:%d,%s[v%d]", i,
                     l->rung[i].width, l->rung[i].height, tail, i);
        if (n < 0 || (size_t)n >= sizeof(graph) - gl)
            return -ENOSPC;
        gl += (size_t)n;
    }
#define POST(s)                                                                                    \
    do {                                                                                           \
        const char *s_ = (s);                                                                      \
        if (!s_ || a->npost >= TX_ARGV_MAX)                                                        \
            return -ENOSPC;                                                                        \
        a->post[a->npost++] = s_;                                                                  \
    } while (0)
    POST("-filter_complex");
    POST(tx_argv_fmt(a, "%s", graph));
    for (int i = 0; i < l->n; i++) {
        rung_profile(l, i, &p);
        /* the rung's own options, minus its video chain and maps (from
         * "-c:v" on: encoder, GOP, rates, audio, extra args) */
        if ((rc = tx_render(&p, hw_available, &one)))
            return rc;
        int k = 0;
        while (k < one.npost && strcmp(one.post[k], "-c:v") != 0)
            k++;
        POST("-map");
        POST(tx_argv_fmt(a, "[v%d]", i));
        POST("-map");
        POST("0:a?");
        for (; k < one.npost; k++)
            POST(tx_argv_fmt(a, "%s", one.post[k]));
        POST("-f");
        POST("mpegts");
        POST(tx_argv_fmt(a, "pipe:%d", i == 0 ? 1 : 2 + i));
    }
#undef POST
    return 0;
}

const char *tx_ladder_codecs(const struct tx_ladder *l)
{
    /* x264/x265's defaults for live: High profile level 4.0, Main L4.0;
     * AAC-LC, or AC-3 / MP2 as named by RFC 6381 registrations */
    bool hevc = strcmp(l->base.video_codec, "libx265") == 0;
    const char *a = strcmp(l->base.audio_codec, "ac3") == 0   ? "ac-3"
                    : strcmp(l->base.audio_codec, "mp2") == 0 ? "mp4a.40.34"
                                                              : "mp4a.40.2";
    if (hevc)
        return strcmp(a, "ac-3") == 0         ? "hvc1.1.6.L120.90,ac-3"
               : strcmp(a, "mp4a.40.34") == 0 ? "hvc1.1.6.L120.90,mp4a.40.34"
                                              : "hvc1.1.6.L120.90,mp4a.40.2";
    return strcmp(a, "ac-3") == 0         ? "avc1.640028,ac-3"
           : strcmp(a, "mp4a.40.34") == 0 ? "avc1.640028,mp4a.40.34"
                                          : "avc1.640028,mp4a.40.2";
}

int tx_ladder_master(const struct tx_ladder *l, const char *uri_prefix, char *out, size_t len)
{
    if (tx_ladder_validate(l, NULL) < 0)
        return -EINVAL;
    size_t used = 0;
    int n = snprintf(out, len, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    used = (size_t)n;
    int audio = strcmp(l->base.audio_codec, "copy") == 0
                    ? 128 /* unknown: a typical stereo AAC */
                    : (l->base.audio_bitrate_kbps ? l->base.audio_bitrate_kbps : 128);
    for (int i = 0; i < l->n; i++) {
        const struct tx_rung *r = &l->rung[i];
        long long peak_kbps = (r->maxrate_kbps ? r->maxrate_kbps : r->bitrate_kbps) + audio;
        long long avg_kbps = r->bitrate_kbps + audio;
        n = snprintf(out + used, len - used,
                     "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,RESOLUTION=%dx%d,"
                     "FRAME-RATE=%d.000,CODECS=\"%s\"\n%s%d.m3u8\n",
                     peak_kbps * 1100, avg_kbps * 1050, r->width, r->height, l->base.fps,
                     tx_ladder_codecs(l), uri_prefix, i);
        if (n < 0 || (size_t)n >= len - used)
            return -ENOSPC;
        used += (size_t)n;
    }
    return (int)used;
}

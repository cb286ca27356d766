#include "media/profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "media/ladder.h"

static const char *const hw_names[TX_HW_COUNT] = {"none", "vaapi", "nvenc", "qsv"};
static const char *const rc_names[] = {"vbr", "cbr"};
static const char *const pos_names[] = {"tl", "tr", "bl", "br"};

const char *tx_hw_name(enum tx_hw hw)
{
    return (unsigned)hw < TX_HW_COUNT ? hw_names[hw] : "?";
}

const char *tx_rc_name(enum tx_rc rc)
{
    return (unsigned)rc < 2 ? rc_names[rc] : "?";
}

const char *tx_pos_name(enum tx_pos pos)
{
    return (unsigned)pos < 4 ? pos_names[pos] : "?";
}

static int find_name(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -EINVAL;
}

int tx_hw_parse(const char *s, enum tx_hw *out)
{
    int i = find_name(s, hw_names, TX_HW_COUNT);
    if (i < 0)
        return i;
    *out = (enum tx_hw)i;
    return 0;
}

int tx_rc_parse(const char *s, enum tx_rc *out)
{
    int i = find_name(s, rc_names, 2);
    if (i < 0)
        return i;
    *out = (enum tx_rc)i;
    return 0;
}

int tx_pos_parse(const char *s, enum tx_pos *out)
{
    int i = find_name(s, pos_names, 4);
    if (i < 0)
        return i;
    *out = (enum tx_pos)i;
    return 0;
}

void tx_profile_init(struct tx_profile *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->video_codec, sizeof(p->video_codec), "libx264");
    snprintf(p->audio_codec, sizeof(p->audio_codec), "aac");
    p->hw = TX_HW_NONE;
    p->rc = TX_RC_VBR;
    p->bitrate_kbps = 2000;
    p->gop_seconds = 2;
    p->audio_bitrate_kbps = 128;
    p->logo_position = TX_POS_TR;
}

static int fail(struct tx_error *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct tx_error *e, const char *field, const char *fmt, ...)
{
    if (e) {
        snprintf(e->field, sizeof(e->field), "%s", field);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool all_of(const char *s, size_t n, const char *set, bool words)
{
    for (size_t i = 0; i < n; i++)
        if (!(words && is_word_char(s[i])) && !strchr(set, s[i]))
            return false;
    return true;
}

/* ---- extra_args ---- */

enum val_kind { V_WORD, V_NUMBER, V_INT, V_PARAMS };

static const struct {
    const char *opt;
    enum val_kind kind;
} allowed[] = {
    {"-preset", V_WORD},  {"-tune", V_WORD},          {"-profile:v", V_WORD},
    {"-pix_fmt", V_WORD}, {"-level", V_NUMBER},       {"-crf", V_NUMBER},
    {"-bf", V_INT},       {"-refs", V_INT},           {"-rc-lookahead", V_INT},
    {"-threads", V_INT},  {"-x264-params", V_PARAMS}, {"-x265-params", V_PARAMS},
};
#define ALLOWED_N (sizeof(allowed) / sizeof(allowed[0]))

/* Encoder parameters that name files: never from a profile. */
static const char *const file_keys[] = {"stats",
                                        "qpfile",
                                        "dump-yuv",
                                        "csv",
                                        "analysis-save",
                                        "analysis-load",
                                        "analysis-reuse-file",
                                        "zonefile",
                                        "lambda-file",
                                        "dolby-vision-rpu",
                                        "input",
                                        "output",
                                        "recon"};

static bool params_ok(const char *v, size_t n)
{
    if (!all_of(v, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.,=:+-", true))
        return false;
    /* Each key (the text before '=' of every ':'-separated item). */
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j] != ':')
            j++;
        size_t k = i;
        while (k < j && v[k] != '=')
            k++;
        if (k == i)
            return false; /* empty key */
        for (size_t f = 0; f < sizeof(file_keys) / sizeof(file_keys[0]); f++)
            if (strlen(file_keys[f]) == k - i && memcmp(file_keys[f], v + i, k - i) == 0)
                return false;
        i = j + 1;
    }
    return v[n - 1] != ':';
}

static bool value_ok(enum val_kind kind, const char *v, size_t n)
{
    switch (kind) {
    case V_WORD:
        return n <= 32 && all_of(v, n, "", true);
    case V_NUMBER:
        return n <= 8 && all_of(v, n, "0123456789.", false);
    case V_INT: {
        if (n > 2 || !all_of(v, n, "0123456789", false))
            return false;
        int x = 0;
        for (size_t i = 0; i < n; i++)
            x = x * 10 + (v[i] - '0');
        return x <= 64;
    }
    case V_PARAMS:
        return n <= 256 && params_ok(v, n);
    }
    return false;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

int tx_extra_check(const char *s, size_t len, struct tx_error *e)
{
    if (len >= TX_EXTRA_MAX)
        return fail(e, "extra_args", "longer than %d bytes", TX_EXTRA_MAX - 1);
    bool seen[ALLOWED_N] = {false};
    size_t i = 0;
    int ntok = 0;
    int opt = -1; /* option waiting for its value */
    while (i < len) {
        while (i < len && is_space(s[i]))
            i++;
        if (i >= len)
            break;
        size_t start = i;
        while (i < len && !is_space(s[i]))
            i++;
        const char *t = s + start;
        size_t n = i - start;
        if (++ntok > TX_EXTRA_TOK)
            return fail(e, "extra_args", "more than %d words", TX_EXTRA_TOK);
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)t[k] < 0x20 || (unsigned char)t[k] >= 0x7f)
                return fail(e, "extra_args", "a control or non-ASCII byte");
        if (opt < 0) {
            int found = -1;
            for (size_t k = 0; k < ALLOWED_N; k++)
                if (strlen(allowed[k].opt) == n && memcmp(allowed[k].opt, t, n) == 0)
                    found = (int)k;
            if (found < 0)
                return fail(e, "extra_args", "option '%.*s' is not allowed", (int)(n > 40 ? 40 : n),
                            t);
            if (seen[found])
                return fail(e, "extra_args", "option '%s' given twice", allowed[found].opt);
            seen[found] = true;
            opt = found;
        } else {
            if (!value_ok(allowed[opt].kind, t, n))
                return fail(e, "extra_args", "bad value '%.*s' for %s", (int)(n > 40 ? 40 : n), t,
                            allowed[opt].opt);
            opt = -1;
        }
    }
    if (opt >= 0)
        return fail(e, "extra_args", "option '%s' needs a value", allowed[opt].opt);
    return 0;
}

int tx_extra_split(const char *s, char *buf, size_t buflen, const char **tok, int max)
{
    size_t len = strlen(s);
    if (tx_extra_check(s, len, NULL) < 0)
        return -EINVAL;
    size_t used = 0;
    int n = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(s[i]))
            i++;
        if (i >= len)
            break;
        size_t start = i;
        while (i < len && !is_space(s[i]))
            i++;
        if (n >= max || used + (i - start) + 1 > buflen)
            return -ENOSPC;
        memcpy(buf + used, s + start, i - start);
        buf[used + (i - start)] = '\0';
        tok[n++] = buf + used;
        used += i - start + 1;
    }
    return n;
}

/* ---- the profile ---- */

static bool name_ok(const char *s)
{
    size_t n = strnlen(s, TX_NAME_MAX);
    return n >= 1 && n < TX_NAME_MAX && all_of(s, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-", true);
}

static bool logo_ok(const char *s)
{
    size_t n = strnlen(s, TX_LOGO_MAX);
    if (n == 0)
        return true;
    return n < TX_LOGO_MAX && s[0] == '/' && !strstr(s, "..") &&
           all_of(s, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ./-", true);
}

static bool dim_ok(int v)
{
    return v == 0 || (v >= 16 && v <= 7680 && v % 2 == 0);
}

int tx_profile_validate(const struct tx_profile *p, struct tx_error *e)
{
    if (!name_ok(p->name))
        return fail(e, "name", "1-%d bytes of letters, digits, '.', '_' or '-'", TX_NAME_MAX - 1);
    bool copy = strcmp(p->video_codec, "copy") == 0;
    if (!copy && strcmp(p->video_codec, "libx264") != 0 && strcmp(p->video_codec, "libx265") != 0)
        return fail(e, "video_codec", "one of copy, libx264, libx265");
    if ((unsigned)p->hw >= TX_HW_COUNT)
        return fail(e, "hw_backend", "one of none, vaapi, nvenc, qsv");
    if (copy && p->hw != TX_HW_NONE)
        return fail(e, "hw_backend", "needs a video codec other than copy");
    if (p->rc != TX_RC_VBR && p->rc != TX_RC_CBR)
        return fail(e, "rate_control", "one of cbr, vbr");
    if (!copy && (p->bitrate_kbps < 50 || p->bitrate_kbps > 100000))
        return fail(e, "bitrate_kbps", "50-100000 kbit/s");
    if (copy && p->bitrate_kbps != 0 && (p->bitrate_kbps < 50 || p->bitrate_kbps > 100000))
        return fail(e, "bitrate_kbps", "0 or 50-100000 kbit/s");
    if (p->maxrate_kbps != 0 && (p->maxrate_kbps < p->bitrate_kbps || p->maxrate_kbps > 200000))
        return fail(e, "maxrate_kbps", "0 or bitrate_kbps-200000 kbit/s");
    if (p->rc == TX_RC_CBR && p->maxrate_kbps != 0 && p->maxrate_kbps != p->bitrate_kbps)
        return fail(e, "maxrate_kbps", "a cbr profile's maxrate is its bitrate (give 0)");
    if (p->bufsize_kbps != 0 && (p->bufsize_kbps < 10 || p->bufsize_kbps > 200000))
        return fail(e, "bufsize_kbps", "0 or 10-200000 kbit");
    if (p->gop_seconds < 1 || p->gop_seconds > 20)
        return fail(e, "gop_seconds", "1-20 seconds");
    if (!dim_ok(p->width))
        return fail(e, "width", "0 (source) or an even 16-7680");
    if (!dim_ok(p->height))
        return fail(e, "height", "0 (source) or an even 16-7680");
    if (p->fps < 0 || p->fps > 120)
        return fail(e, "fps", "0 (source) or 1-120");
    if (copy && (p->width || p->height))
        return fail(e, p->width ? "width" : "height", "needs a video codec other than copy");
    if (copy && p->fps)
        return fail(e, "fps", "needs a video codec other than copy");
    if (copy && p->deinterlace)
        return fail(e, "deinterlace", "needs a video codec other than copy");
    if (strcmp(p->audio_codec, "copy") != 0 && strcmp(p->audio_codec, "aac") != 0 &&
        strcmp(p->audio_codec, "ac3") != 0 && strcmp(p->audio_codec, "mp2") != 0)
        return fail(e, "audio_codec", "one of copy, aac, ac3, mp2");
    if (p->audio_bitrate_kbps != 0 && (p->audio_bitrate_kbps < 16 || p->audio_bitrate_kbps > 640))
        return fail(e, "audio_bitrate_kbps", "0 (default) or 16-640 kbit/s");
    if (p->audio_channels < 0 || p->audio_channels > 8)
        return fail(e, "audio_channels", "0 (source) or 1-8");
    if (!logo_ok(p->logo))
        return fail(e, "logo",
                    "an absolute path of letters, digits, '.', '_', '-' and '/', "
                    "without '..'");
    if ((unsigned)p->logo_position > TX_POS_BR)
        return fail(e, "logo_position", "one of tl, tr, bl, br");
    if (copy && p->logo[0])
        return fail(e, "logo", "needs a video codec other than copy");
    size_t xl = strnlen(p->extra_args, TX_EXTRA_MAX);
    if (xl >= TX_EXTRA_MAX)
        return fail(e, "extra_args", "longer than %d bytes", TX_EXTRA_MAX - 1);
    int rc = tx_extra_check(p->extra_args, xl, e);
    if (rc || p->nrenditions == 0)
        return rc;
    if (p->nrenditions < 0 || p->nrenditions > LADDER_MAX)
        return fail(e, "renditions", "0-%d renditions", LADDER_MAX);
    struct tx_ladder l;
    tx_ladder_from_profile(p, &l);
    return tx_ladder_validate(&l, e);
}

void tx_ladder_sync_top(struct tx_profile *p)
{
    if (p->nrenditions <= 0)
        return;
    p->width = p->renditions[0].width;
    p->height = p->renditions[0].height;
    p->bitrate_kbps = p->renditions[0].bitrate_kbps;
    p->maxrate_kbps = p->renditions[0].maxrate_kbps;
}

/* A decimal 0-999999 at *s (advanced); -1 if none. */
static long small_num(const char **s)
{
    const char *q = *s;
    long v = 0;
    int digits = 0;
    while (*q >= '0' && *q <= '9' && digits < 7) {
        v = v * 10 + (*q - '0');
        q++;
        digits++;
    }
    if (!digits || (*q >= '0' && *q <= '9'))
        return -1;
    *s = q;
    return v;
}

int tx_renditions_parse(const char *s, struct tx_profile *p, struct tx_error *e)
{
    struct tx_rung r[LADDER_MAX];
    int n = 0;
    memset(r, 0, sizeof(r));
    while (s && *s) {
        if (n == LADDER_MAX)
            return fail(e, "renditions", "at most %d renditions", LADDER_MAX);
        long w = small_num(&s), h = -1, b = -1, m = 0;
        if (w >= 0 && *s == 'x' && (s++, (h = small_num(&s)) >= 0) && *s == ':' &&
            (s++, (b = small_num(&s)) >= 0) && *s == ':')
            s++, m = small_num(&s);
        if (w < 0 || h < 0 || b < 0 || m < 0 || (*s && *s != ','))
            return fail(e, "renditions", "rendition %d: WIDTHxHEIGHT:KBPS[:MAXKBPS]", n);
        r[n++] = (struct tx_rung){(int)w, (int)h, (int)b, (int)m};
        if (*s == ',' && !*++s)
            return fail(e, "renditions", "a rendition after the last ','");
    }
    p->nrenditions = n;
    memset(p->renditions, 0, sizeof(p->renditions));
    memcpy(p->renditions, r, (size_t)n * sizeof(r[0]));
    return 0;
}

int tx_renditions_format(const struct tx_profile *p, char *out, size_t len)
{
    size_t used = 0;
    if (len)
        out[0] = '\0';
    for (int i = 0; i < p->nrenditions && i < LADDER_MAX; i++) {
        const struct tx_rung *r = &p->renditions[i];
        int n = r->maxrate_kbps ? snprintf(out + used, len - used, "%s%dx%d:%d:%d", i ? "," : "",
                                           r->width, r->height, r->bitrate_kbps, r->maxrate_kbps)
                                : snprintf(out + used, len - used, "%s%dx%d:%d", i ? "," : "",
                                           r->width, r->height, r->bitrate_kbps);
        if (n < 0 || (size_t)n >= len - used)
            return -ENOSPC;
        used += (size_t)n;
    }
    return (int)used;
}

/* ---- rendering ---- */

const char *tx_encoder(const char *video_codec, enum tx_hw hw)
{
    if (strcmp(video_codec, "copy") == 0)
        return "copy";
    bool hevc = strcmp(video_codec, "libx265") == 0;
    switch (hw) {
    case TX_HW_VAAPI:
        return hevc ? "hevc_vaapi" : "h264_vaapi";
    case TX_HW_NVENC:
        return hevc ? "hevc_nvenc" : "h264_nvenc";
    case TX_HW_QSV:
        return hevc ? "hevc_qsv" : "h264_qsv";
    default:
        return hevc ? "libx265" : "libx264";
    }
}

const char *tx_argv_fmt(struct tx_argv *a, const char *f, ...)
{
    size_t room = sizeof(a->scratch) - a->used;
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(a->scratch + a->used, room, f, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        return NULL;
    const char *s = a->scratch + a->used;
    a->used += (size_t)n + 1;
    return s;
}

#define POST(s)                                                                                    \
    do {                                                                                           \
        const char *s_ = (s);                                                                      \
        if (!s_ || a->npost >= TX_ARGV_MAX)                                                        \
            return -ENOSPC;                                                                        \
        a->post[a->npost++] = s_;                                                                  \
    } while (0)

static bool has_tok(const char *const *tok, int n, const char *opt)
{
    for (int i = 0; i < n; i += 2)
        if (strcmp(tok[i], opt) == 0)
            return true;
    return false;
}

int tx_render(const struct tx_profile *p, unsigned hw_available, struct tx_argv *a)
{
    memset(a, 0, sizeof(*a));
    if (tx_profile_validate(p, NULL) < 0)
        return -EINVAL;
    const char *tok[TX_EXTRA_TOK];
    char tokbuf[TX_EXTRA_MAX + TX_EXTRA_TOK];
    int ntok = tx_extra_split(p->extra_args, tokbuf, sizeof(tokbuf), tok, TX_EXTRA_TOK);
    if (ntok < 0)
        return ntok;
    bool copy = strcmp(p->video_codec, "copy") == 0;
    a->hw = p->hw;
    if (a->hw != TX_HW_NONE && !(hw_available & (1u << a->hw)))
        a->hw = TX_HW_NONE; /* fallback to software: the caller reports it */
    a->encoder = tx_encoder(p->video_codec, a->hw);

    if (a->hw == TX_HW_VAAPI) {
        a->pre[a->npre++] = "-vaapi_device";
        a->pre[a->npre++] = "/dev/dri/renderD128";
    } else if (a->hw == TX_HW_QSV) {
        a->pre[a->npre++] = "-init_hw_device";
        a->pre[a->npre++] = "qsv=hw";
        a->pre[a->npre++] = "-filter_hw_device";
        a->pre[a->npre++] = "hw";
    }

    if (copy) {
        POST("-map");
        POST("0:v?");
        POST("-map");
        POST("0:a?");
        POST("-c:v");
        POST("copy");
    } else {
        /* The video chain: deinterlace, scale, frame rate, then the pixel
         * format the encoder takes (uploaded to the device for vaapi/qsv). */
        char chain[256];
        size_t cl = 0;
        chain[0] = '\0';
#define CHAIN(...)                                                                                 \
    do {                                                                                           \
        int n_ = snprintf(chain + cl, sizeof(chain) - cl, "%s", cl ? "," : "");                    \
        if (n_ < 0 || (size_t)n_ >= sizeof(chain) - cl)                                            \
            return -ENOSPC;                                                                        \
        cl += (size_t)n_;                                                                          \
        n_ = snprintf(chain + cl, sizeof(chain) - cl, __VA_ARGS__);                                \
        if (n_ < 0 || (size_t)n_ >= sizeof(chain) - cl)                                            \
            return -ENOSPC;                                                                        \
        cl += (size_t)n_;                                                                          \
    } while (0)
        if (p->deinterlace)
            CHAIN("yadif");
        if (p->width || p->height)
            CHAIN("scale=%d:%d", p->width ? p->width : -2, p->height ? p->height : -2);
        if (p->fps)
            CHAIN("fps=%d", p->fps);
        char tail[64];
        if (a->hw == TX_HW_VAAPI)
            snprintf(tail, sizeof(tail), "format=nv12,hwupload");
        else if (a->hw == TX_HW_QSV)
            snprintf(tail, sizeof(tail), "format=nv12,hwupload=extra_hw_frames=64");
        else
            snprintf(tail, sizeof(tail), "format=yuv420p");
        if (p->logo[0]) {
            static const char *const at[] = {"10:10", "W-w-10:10", "10:H-h-10", "W-w-10:H-h-10"};
            POST("-loop");
            POST("1");
            POST("-i");
            POST(p->logo);
            POST("-filter_complex");
            POST(tx_argv_fmt(
                a, "[0:v]%s[base];[1:v]format=rgba[logo];[base][logo]overlay=%s:shortest=1,%s[v]",
                cl ? chain : "null", at[p->logo_position], tail));
            POST("-map");
            POST("[v]");
        } else {
            CHAIN("%s", tail);
            POST("-map");
            POST("0:v?");
            POST("-vf");
            POST(tx_argv_fmt(a, "%s", chain));
        }
#undef CHAIN
        POST("-map");
        POST("0:a?");
        POST("-c:v");
        POST(a->encoder);
        bool x264 = strcmp(a->encoder, "libx264") == 0;
        bool sw = a->hw == TX_HW_NONE;
        if (sw && !has_tok(tok, ntok, "-preset")) {
            /* live encoding must keep up: medium (the default) rarely does */
            POST("-preset");
            POST("veryfast");
        }
        if (p->fps) {
            POST("-g");
            POST(tx_argv_fmt(a, "%d", p->gop_seconds * p->fps));
        }
        /* Keyframes on the clock, whatever the source's frame rate: segment
         * and chunk boundaries line up across restarts and renditions. */
        POST("-force_key_frames");
        POST(tx_argv_fmt(a, "expr:gte(t,n_forced*%d)", p->gop_seconds));
        if (x264) {
            POST("-sc_threshold");
            POST("0");
        }
        if (a->hw == TX_HW_NVENC) {
            POST("-forced-idr");
            POST("1");
            POST("-rc");
            POST(p->rc == TX_RC_CBR ? "cbr" : "vbr");
        }
        POST("-b:v");
        POST(tx_argv_fmt(a, "%dk", p->bitrate_kbps));
        if (p->rc == TX_RC_CBR) {
            int buf = p->bufsize_kbps ? p->bufsize_kbps : p->bitrate_kbps;
            POST("-minrate");
            POST(tx_argv_fmt(a, "%dk", p->bitrate_kbps));
            POST("-maxrate");
            POST(tx_argv_fmt(a, "%dk", p->bitrate_kbps));
            POST("-bufsize");
            POST(tx_argv_fmt(a, "%dk", buf));
        } else if (p->maxrate_kbps) {
            int buf = p->bufsize_kbps ? p->bufsize_kbps : 2 * p->maxrate_kbps;
            POST("-maxrate");
            POST(tx_argv_fmt(a, "%dk", p->maxrate_kbps));
            POST("-bufsize");
            POST(tx_argv_fmt(a, "%dk", buf));
        }
    }
    POST("-c:a");
    POST(p->audio_codec);
    if (strcmp(p->audio_codec, "copy") != 0) {
        POST("-b:a");
        POST(tx_argv_fmt(a, "%dk", p->audio_bitrate_kbps ? p->audio_bitrate_kbps : 128));
        if (p->audio_channels) {
            POST("-ac");
            POST(tx_argv_fmt(a, "%d", p->audio_channels));
        }
    }
    for (int i = 0; i < ntok; i++)
        POST(tx_argv_fmt(a, "%s", tok[i]));
    return 0;
}

/*
 * Unit tests for media/profile.c (transcode profiles: rules, the extra_args
 * allow-list, the exact argv rendered, hardware fallback) and
 * media/progress.c (ffmpeg -progress blocks).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "media/ladder.h"
#include "media/profile.h"
#include "media/progress.h"

/* The rendered post-input argv joined by single spaces. */
static const char *joined(const struct tx_argv *a, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->npost; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "", a->post[i]);
        assert_true(n >= 0 && (size_t)n < len - used);
        used += (size_t)n;
    }
    return buf;
}

static void named(struct tx_profile *p, const char *name)
{
    tx_profile_init(p);
    snprintf(p->name, sizeof(p->name), "%s", name);
}

static void test_render_small_cbr(void **state)
{
    (void)state;
    struct tx_profile p;
    named(&p, "small");
    p.width = 320;
    p.height = 180;
    p.fps = 25;
    p.rc = TX_RC_CBR;
    p.bitrate_kbps = 300;
    p.gop_seconds = 1;
    p.audio_bitrate_kbps = 64;
    p.audio_channels = 2;
    snprintf(p.extra_args, sizeof(p.extra_args), "-preset ultrafast  -tune zerolatency");
    struct tx_argv a;
    assert_int_equal(tx_render(&p, 0, &a), 0);
    char buf[2048];
    assert_string_equal(joined(&a, buf, sizeof(buf)),
                        "-map 0:v? -vf scale=320:180,fps=25,format=yuv420p -map 0:a? -c:v libx264 "
                        "-g 25 -force_key_frames expr:gte(t,n_forced*1) -sc_threshold 0 "
                        "-b:v 300k -minrate 300k -maxrate 300k -bufsize 300k "
                        "-c:a aac -b:a 64k -ac 2 -preset ultrafast -tune zerolatency");
    assert_int_equal(a.npre, 0);
    assert_int_equal(a.hw, TX_HW_NONE);
    assert_string_equal(a.encoder, "libx264");
}

static void test_render_copy(void **state)
{
    (void)state;
    struct tx_profile p;
    named(&p, "copy-aac");
    snprintf(p.video_codec, sizeof(p.video_codec), "copy");
    p.bitrate_kbps = 0;
    struct tx_argv a;
    assert_int_equal(tx_render(&p, 0, &a), 0);
    char buf[2048];
    assert_string_equal(joined(&a, buf, sizeof(buf)),
                        "-map 0:v? -map 0:a? -c:v copy -c:a aac -b:a 128k");
    snprintf(p.audio_codec, sizeof(p.audio_codec), "copy");
    assert_int_equal(tx_render(&p, 0, &a), 0);
    assert_string_equal(joined(&a, buf, sizeof(buf)), "-map 0:v? -map 0:a? -c:v copy -c:a copy");
}

static void test_render_vbr_logo_deinterlace(void **state)
{
    (void)state;
    struct tx_profile p;
    named(&p, "hd");
    snprintf(p.video_codec, sizeof(p.video_codec), "libx265");
    p.deinterlace = true;
    p.height = 720;
    p.bitrate_kbps = 3000;
    p.maxrate_kbps = 4000;
    p.gop_seconds = 2;
    snprintf(p.logo, sizeof(p.logo), "/srv/logos/tv-1.png");
    p.logo_position = TX_POS_BR;
    struct tx_argv a;
    assert_int_equal(tx_render(&p, 0, &a), 0);
    char buf[2048];
    assert_string_equal(
        joined(&a, buf, sizeof(buf)),
        "-loop 1 -i /srv/logos/tv-1.png -filter_complex "
        "[0:v]yadif,scale=-2:720[base];[1:v]format=rgba[logo];[base][logo]overlay=W-w-10:H-h-10:"
        "shortest=1,format=yuv420p[v] -map [v] -map 0:a? -c:v libx265 -preset veryfast "
        "-force_key_frames expr:gte(t,n_forced*2) -b:v 3000k -maxrate 4000k -bufsize 8000k "
        "-c:a aac -b:a 128k");
}

static void test_render_hardware_and_fallback(void **state)
{
    (void)state;
    struct tx_profile p;
    named(&p, "gpu");
    p.hw = TX_HW_VAAPI;
    p.width = 1280;
    p.height = 720;
    p.fps = 50;
    struct tx_argv a;
    char buf[2048];
    /* available: the backend's device set-up, upload and encoder */
    assert_int_equal(tx_render(&p, 1u << TX_HW_VAAPI, &a), 0);
    assert_int_equal(a.hw, TX_HW_VAAPI);
    assert_int_equal(a.npre, 2);
    assert_string_equal(a.pre[0], "-vaapi_device");
    assert_string_equal(a.pre[1], "/dev/dri/renderD128");
    assert_string_equal(joined(&a, buf, sizeof(buf)),
                        "-map 0:v? -vf scale=1280:720,fps=50,format=nv12,hwupload -map 0:a? "
                        "-c:v h264_vaapi -g 100 -force_key_frames expr:gte(t,n_forced*2) "
                        "-b:v 2000k -c:a aac -b:a 128k");
    /* missing: software, same shape */
    assert_int_equal(tx_render(&p, 1u << TX_HW_NVENC, &a), 0);
    assert_int_equal(a.hw, TX_HW_NONE);
    assert_int_equal(a.npre, 0);
    assert_string_equal(a.encoder, "libx264");
    assert_string_equal(joined(&a, buf, sizeof(buf)),
                        "-map 0:v? -vf scale=1280:720,fps=50,format=yuv420p -map 0:a? "
                        "-c:v libx264 -preset veryfast -g 100 -force_key_frames "
                        "expr:gte(t,n_forced*2) -sc_threshold 0 -b:v 2000k -c:a aac -b:a 128k");
    p.hw = TX_HW_NVENC;
    p.rc = TX_RC_CBR;
    assert_int_equal(tx_render(&p, 1u << TX_HW_NVENC, &a), 0);
    assert_string_equal(a.encoder, "h264_nvenc");
    assert_non_null(strstr(joined(&a, buf, sizeof(buf)), "-forced-idr 1 -rc cbr -b:v 2000k"));
    p.hw = TX_HW_QSV;
    assert_int_equal(tx_render(&p, 1u << TX_HW_QSV, &a), 0);
    assert_string_equal(a.encoder, "h264_qsv");
    assert_int_equal(a.npre, 4);
    assert_string_equal(a.pre[1], "qsv=hw");
}

static void test_extra_args_table(void **state)
{
    (void)state;
    static const char *const good[] = {
        "",
        "-preset ultrafast",
        "  -tune zerolatency\t-profile:v high -level 4.1 ",
        "-crf 23 -bf 0 -refs 3 -rc-lookahead 10 -threads 2 -pix_fmt yuv420p",
        "-x264-params keyint=50:min-keyint=50:scenecut=0",
        "-x265-params bframes=0:rc-lookahead=5",
    };
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"-i /etc/passwd", "option '-i' is not allowed"},
        {"-f null", "option '-f' is not allowed"},
        {"-filter_complex nullsink", "option '-filter_complex' is not allowed"},
        {"-vf scale=1:1", "option '-vf' is not allowed"},
        {"out.ts", "option 'out.ts' is not allowed"},
        {"-preset", "option '-preset' needs a value"},
        {"-preset fast -preset slow", "option '-preset' given twice"},
        {"-preset ../x", "bad value '../x' for -preset"},
        {"-tune 'zerolatency'", "bad value ''zerolatency'' for -tune"},
        {"-threads 65", "bad value '65' for -threads"},
        {"-bf -1", "bad value '-1' for -bf"},
        {"-x264-params stats=/tmp/x", "bad value 'stats=/tmp/x' for -x264-params"},
        {"-x264-params stats=a.log", "bad value 'stats=a.log' for -x264-params"},
        {"-x265-params csv=a:bframes=2", "bad value 'csv=a:bframes=2' for -x265-params"},
        {"-x264-params =1", "bad value '=1' for -x264-params"},
        {"-x264-params a=1:", "bad value 'a=1:' for -x264-params"},
        {"-unknown 1", "option '-unknown' is not allowed"},
        {"-preset fast;rm", "bad value 'fast;rm' for -preset"},
    };
    struct tx_error e;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (tx_extra_check(good[i], strlen(good[i]), &e) != 0)
            fail_msg("refused '%s': %s", good[i], e.msg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        assert_int_equal(tx_extra_check(bad[i].in, strlen(bad[i].in), &e), -EINVAL);
        assert_string_equal(e.field, "extra_args");
        assert_string_equal(e.msg, bad[i].msg);
    }
    char big[TX_EXTRA_MAX + 8];
    memset(big, ' ', sizeof(big));
    assert_int_equal(tx_extra_check(big, sizeof(big), &e), -EINVAL);
    const char *tok[TX_EXTRA_TOK];
    char buf[64];
    assert_int_equal(tx_extra_split(" -bf 2\t-refs  1 ", buf, sizeof(buf), tok, TX_EXTRA_TOK), 4);
    assert_string_equal(tok[3], "1");
    assert_int_equal(tx_extra_split("-i x", buf, sizeof(buf), tok, TX_EXTRA_TOK), -EINVAL);
}

static void test_validate_fields(void **state)
{
    (void)state;
    struct tx_profile p;
    struct tx_error e;
    named(&p, "ok");
    assert_int_equal(tx_profile_validate(&p, &e), 0);
#define EXPECT_FIELD(mutate, fld)                                                                  \
    do {                                                                                           \
        named(&p, "ok");                                                                           \
        mutate;                                                                                    \
        memset(&e, 0, sizeof(e));                                                                  \
        assert_int_equal(tx_profile_validate(&p, &e), -EINVAL);                                    \
        assert_string_equal(e.field, fld);                                                         \
    } while (0)
    EXPECT_FIELD(p.name[0] = '\0', "name");
    EXPECT_FIELD(snprintf(p.name, sizeof(p.name), "a b"), "name");
    EXPECT_FIELD(snprintf(p.video_codec, sizeof(p.video_codec), "h264"), "video_codec");
    EXPECT_FIELD(p.hw = (enum tx_hw)9, "hw_backend");
    EXPECT_FIELD((snprintf(p.video_codec, sizeof(p.video_codec), "copy"), p.hw = TX_HW_QSV),
                 "hw_backend");
    EXPECT_FIELD(p.bitrate_kbps = 10, "bitrate_kbps");
    EXPECT_FIELD(p.maxrate_kbps = 100, "maxrate_kbps");
    EXPECT_FIELD((p.rc = TX_RC_CBR, p.maxrate_kbps = 3000), "maxrate_kbps");
    EXPECT_FIELD(p.bufsize_kbps = 5, "bufsize_kbps");
    EXPECT_FIELD(p.gop_seconds = 0, "gop_seconds");
    EXPECT_FIELD(p.width = 321, "width");
    EXPECT_FIELD(p.height = 8, "height");
    EXPECT_FIELD(p.fps = 121, "fps");
    EXPECT_FIELD((snprintf(p.video_codec, sizeof(p.video_codec), "copy"), p.fps = 25), "fps");
    EXPECT_FIELD((snprintf(p.video_codec, sizeof(p.video_codec), "copy"), p.width = 320), "width");
    EXPECT_FIELD(snprintf(p.audio_codec, sizeof(p.audio_codec), "opus"), "audio_codec");
    EXPECT_FIELD(p.audio_bitrate_kbps = 1000, "audio_bitrate_kbps");
    EXPECT_FIELD(p.audio_channels = 9, "audio_channels");
    EXPECT_FIELD(snprintf(p.logo, sizeof(p.logo), "logo.png"), "logo");
    EXPECT_FIELD(snprintf(p.logo, sizeof(p.logo), "/a/../etc/x.png"), "logo");
    EXPECT_FIELD(snprintf(p.logo, sizeof(p.logo), "/a b.png"), "logo");
    EXPECT_FIELD(snprintf(p.extra_args, sizeof(p.extra_args), "-i x"), "extra_args");
    struct tx_argv a;
    assert_int_equal(tx_render(&p, 0, &a), -EINVAL);
}

static int feed(struct ffprogress *p, const char *line)
{
    return ffprogress_line(p, line, strlen(line));
}

static void test_progress(void **state)
{
    (void)state;
    struct ffprogress p;
    ffprogress_init(&p);
    assert_int_equal(feed(&p, "frame=125"), 1);
    assert_int_equal(feed(&p, "fps=25.03"), 1);
    assert_int_equal(feed(&p, "stream_0_0_q=28.0"), 1);
    assert_int_equal(feed(&p, "bitrate= 301.5kbits/s"), 1);
    assert_int_equal(feed(&p, "total_size=188000"), 1);
    assert_int_equal(feed(&p, "out_time_us=5000000"), 1);
    assert_int_equal(feed(&p, "out_time=00:00:05.000000"), 1);
    assert_int_equal(feed(&p, "dup_frames=3"), 1);
    assert_int_equal(feed(&p, "drop_frames=7"), 1);
    assert_int_equal(feed(&p, "speed=1.01x\r"), 1);
    /* nothing visible before the block ends */
    assert_true(p.last.speed < 0);
    assert_int_equal(feed(&p, "progress=continue"), 2);
    assert_int_equal(p.blocks, 1);
    assert_true(p.last.speed > 1.009 && p.last.speed < 1.011);
    assert_true(p.last.bitrate_bps > 301499 && p.last.bitrate_bps < 301501);
    assert_int_equal(p.last.frames, 125);
    assert_int_equal(p.last.dup_frames, 3);
    assert_int_equal(p.last.drop_frames, 7);
    assert_int_equal(p.last.out_time_us, 5000000);
    /* N/A is unknown, not an error; garbage is counted */
    assert_int_equal(feed(&p, "bitrate=N/A"), 1);
    assert_int_equal(feed(&p, "speed=N/A"), 1);
    assert_int_equal(feed(&p, "frame=12x"), 1);
    assert_int_equal(p.bad_values, 1);
    assert_int_equal(feed(&p, "progress=end"), 2);
    assert_true(p.last.speed < 0 && p.last.bitrate_bps < 0 && p.last.frames < 0);
    /* ffmpeg's own messages are left to the caller */
    assert_int_equal(feed(&p, "[https @ 0x55] HTTP error 404 Not Found"), 0);
    assert_int_equal(feed(&p, "Error: x=1"), 0);
    assert_int_equal(feed(&p, "=5"), 0);
    assert_int_equal(feed(&p, "unknown_key=5"), 0);
    assert_int_equal(feed(&p, ""), 0);
}

static void two_rungs(struct tx_ladder *l)
{
    memset(l, 0, sizeof(*l));
    named(&l->base, "abr");
    l->base.fps = 25;
    l->base.gop_seconds = 2;
    l->base.audio_bitrate_kbps = 96;
    snprintf(l->base.extra_args, sizeof(l->base.extra_args), "-preset ultrafast");
    l->n = 2;
    l->rung[0] = (struct tx_rung){.width = 640, .height = 360, .bitrate_kbps = 800};
    l->rung[1] =
        (struct tx_rung){.width = 320, .height = 180, .bitrate_kbps = 300, .maxrate_kbps = 400};
}

static void test_ladder_render(void **state)
{
    (void)state;
    struct tx_ladder l;
    two_rungs(&l);
    struct tx_argv a;
    assert_int_equal(tx_ladder_render(&l, 0, &a), 0);
    char buf[4096];
    assert_string_equal(
        joined(&a, buf, sizeof(buf)),
        "-filter_complex [0:v]fps=25,split=2[s0][s1];[s0]scale=640:360,format=yuv420p[v0];"
        "[s1]scale=320:180,format=yuv420p[v1] "
        "-map [v0] -map 0:a? -c:v libx264 -g 50 -force_key_frames expr:gte(t,n_forced*2) "
        "-sc_threshold 0 -b:v 800k -c:a aac -b:a 96k -preset ultrafast -f mpegts pipe:1 "
        "-map [v1] -map 0:a? -c:v libx264 -g 50 -force_key_frames expr:gte(t,n_forced*2) "
        "-sc_threshold 0 -b:v 300k -maxrate 400k -bufsize 800k -c:a aac -b:a 96k "
        "-preset ultrafast -f mpegts pipe:3");
}

static void test_ladder_master_and_rules(void **state)
{
    (void)state;
    struct tx_ladder l;
    two_rungs(&l);
    char out[1024];
    int n = tx_ladder_master(&l, "/hls/tok/", out, sizeof(out));
    assert_true(n > 0);
    assert_string_equal(out,
                        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                        "#EXT-X-STREAM-INF:BANDWIDTH=985600,AVERAGE-BANDWIDTH=940800,"
                        "RESOLUTION=640x360,FRAME-RATE=25.000,CODECS=\"avc1.640028,mp4a.40.2\"\n"
                        "/hls/tok/0.m3u8\n"
                        "#EXT-X-STREAM-INF:BANDWIDTH=545600,AVERAGE-BANDWIDTH=415800,"
                        "RESOLUTION=320x180,FRAME-RATE=25.000,CODECS=\"avc1.640028,mp4a.40.2\"\n"
                        "/hls/tok/1.m3u8\n");
    assert_int_equal(tx_ladder_master(&l, "/x/", out, 40), -ENOSPC);
    struct tx_error e;
#define LADDER_BAD(mutate, fld)                                                                    \
    do {                                                                                           \
        two_rungs(&l);                                                                             \
        mutate;                                                                                    \
        memset(&e, 0, sizeof(e));                                                                  \
        assert_int_equal(tx_ladder_validate(&l, &e), -EINVAL);                                     \
        assert_string_equal(e.field, fld);                                                         \
    } while (0)
    LADDER_BAD(l.n = 0, "renditions");
    LADDER_BAD(l.n = 5, "renditions");
    LADDER_BAD(l.base.fps = 0, "fps");
    LADDER_BAD(snprintf(l.base.logo, sizeof(l.base.logo), "/a.png"), "logo");
    LADDER_BAD((l.rung[1].bitrate_kbps = 900, l.rung[1].maxrate_kbps = 0),
               "renditions[1].bitrate_kbps");
    LADDER_BAD(l.rung[1].height = 720, "renditions[1].bitrate_kbps");
    LADDER_BAD(l.rung[1].width = 0, "renditions[1].width");
    LADDER_BAD(l.rung[0].width = 641, "renditions[0].width");
    LADDER_BAD(l.rung[1].maxrate_kbps = 100, "renditions[1].maxrate_kbps");
    struct tx_argv a;
    assert_int_equal(tx_ladder_render(&l, 0, &a), -EINVAL);
}

/* A ladder as a profile: the text form (CLI --ladder, database column) and
 * the profile rules. */
static void test_renditions_text(void **state)
{
    (void)state;
    struct tx_profile p;
    tx_profile_init(&p);
    named(&p, "abr");
    p.fps = 10;
    struct tx_error e;
    assert_int_equal(tx_renditions_parse("320x180:300:400,240x136:200,160x90:100", &p, &e), 0);
    assert_int_equal(p.nrenditions, 3);
    assert_int_equal(p.renditions[0].maxrate_kbps, 400);
    assert_int_equal(p.renditions[2].height, 90);
    char out[128];
    assert_int_equal(tx_renditions_format(&p, out, sizeof(out)), 38);
    assert_string_equal(out, "320x180:300:400,240x136:200,160x90:100");
    assert_int_equal(tx_renditions_format(&p, out, 10), -ENOSPC);
    tx_ladder_sync_top(&p);
    assert_int_equal(p.width, 320);
    assert_int_equal(p.bitrate_kbps, 300);
    assert_int_equal(p.maxrate_kbps, 400);
    assert_int_equal(tx_profile_validate(&p, &e), 0);
    /* the ladder rules through the profile's */
    p.fps = 0;
    assert_int_equal(tx_profile_validate(&p, &e), -EINVAL);
    assert_string_equal(e.field, "fps");
    p.fps = 10;
    p.renditions[1].bitrate_kbps = 500;
    assert_int_equal(tx_profile_validate(&p, &e), -EINVAL);
    assert_string_equal(e.field, "renditions[1].bitrate_kbps");
    p.nrenditions = 5;
    assert_int_equal(tx_profile_validate(&p, &e), -EINVAL);
    assert_string_equal(e.field, "renditions");
    /* "" is no ladder; bad text is refused whole */
    assert_int_equal(tx_renditions_parse("", &p, &e), 0);
    assert_int_equal(p.nrenditions, 0);
    assert_int_equal(tx_renditions_format(&p, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    const char *bad[] = {
        "320x180",     "320x180:",    "x180:300",        "320x180:300,",
        "320:180:300", "a",           "320x180:300;1x1", "1x1:1,1x1:1,1x1:1,1x1:1,1x1:1",
        ",",           "99999999x1:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tx_renditions_parse("320x180:300", &p, NULL);
        memset(&e, 0, sizeof(e));
        assert_int_equal(tx_renditions_parse(bad[i], &p, &e), -EINVAL);
        assert_string_equal(e.field, "renditions");
        assert_int_equal(p.nrenditions, 1); /* unchanged */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_small_cbr),
        cmocka_unit_test(test_render_copy),
        cmocka_unit_test(test_render_vbr_logo_deinterlace),
        cmocka_unit_test(test_render_hardware_and_fallback),
        cmocka_unit_test(test_extra_args_table),
        cmocka_unit_test(test_validate_fields),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_ladder_render),
        cmocka_unit_test(test_ladder_master_and_rules),
        cmocka_unit_test(test_renditions_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the VOD parsers: http/range (Range, If-Range, validators),
 * vod/names (movie and episode file names) and vod/nfo (Kodi sidecars). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "http/range.h"
#include "vod/names.h"
#include "vod/nfo.h"
#include "vod/probe.h"
#include "vod/relay.h"
#include "vod/scan.h"
#include "db_fixture.h"

static void expect_range(const char *hdr, uint64_t size, enum http_range_result want,
                         uint64_t start, uint64_t len)
{
    uint64_t s = 12345, l = 12345;
    enum http_range_result got = http_range_parse(hdr, size, &s, &l);
    assert_int_equal(got, want);
    if (want == HTTP_RANGE_PARTIAL) {
        assert_int_equal(s, start);
        assert_int_equal(l, len);
    }
}

static void test_range(void **state)
{
    (void)state;
    expect_range(NULL, 100, HTTP_RANGE_NONE, 0, 0);
    expect_range("bytes=0-9", 100, HTTP_RANGE_PARTIAL, 0, 10);
    expect_range("bytes=90-", 100, HTTP_RANGE_PARTIAL, 90, 10);
    expect_range("bytes=-10", 100, HTTP_RANGE_PARTIAL, 90, 10);
    expect_range("bytes=-1000", 100, HTTP_RANGE_PARTIAL, 0, 100);
    expect_range("bytes=50-5000", 100, HTTP_RANGE_PARTIAL, 50, 50);
    expect_range("Bytes = 1 - 2", 100, HTTP_RANGE_PARTIAL, 1, 2);
    expect_range("bytes=99-99", 100, HTTP_RANGE_PARTIAL, 99, 1);
    expect_range("bytes=100-", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=-0", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=99999999999999999999999-", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=0-99999999999999999999999", 100, HTTP_RANGE_PARTIAL, 0, 100);
    expect_range("bytes=5-1", 100, HTTP_RANGE_NONE, 0, 0);
    expect_range("bytes=0-1,5-6", 100, HTTP_RANGE_NONE, 0, 0);
    expect_range("items=0-1", 100, HTTP_RANGE_NONE, 0, 0);
    expect_range("bytes=-", 100, HTTP_RANGE_NONE, 0, 0);
    expect_range("bytes=1-2x", 100, HTTP_RANGE_NONE, 0, 0);
    expect_range("bytes=a-2", 100, HTTP_RANGE_NONE, 0, 0);
}

static void test_validators(void **state)
{
    (void)state;
    char etag[64], date[64];
    http_range_etag(0x2f86d, 0x6b017826, etag, sizeof(etag));
    assert_string_equal(etag, "\"6b017826-2f86d\"");
    http_range_date(784111777, date, sizeof(date));
    assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_true(http_range_if_range_ok(NULL, etag, 1));
    assert_true(http_range_if_range_ok(etag, etag, 1));
    assert_false(http_range_if_range_ok("\"other\"", etag, 1));
    assert_false(http_range_if_range_ok("W/\"6b017826-2f86d\"", etag, 1));
    assert_true(http_range_if_range_ok("Sun, 06 Nov 1994 08:49:37 GMT", etag, 784111777));
    assert_false(http_range_if_range_ok("Sun, 06 Nov 1994 08:49:38 GMT", etag, 784111777));
}

static void test_movie_names(void **state)
{
    (void)state;
    struct vod_movie_name m;
    assert_int_equal(vod_parse_movie_name("Title (2019).mkv", &m), 0);
    assert_string_equal(m.title, "Title");
    assert_int_equal(m.year, 2019);
    assert_int_equal(vod_parse_movie_name("The.Big.Movie.2010.1080p.BluRay.x264.mkv", &m), 0);
    assert_string_equal(m.title, "The Big Movie");
    assert_int_equal(m.year, 2010);
    assert_int_equal(vod_parse_movie_name("2001 A Space Odyssey (1968).mp4", &m), 0);
    assert_string_equal(m.title, "2001 A Space Odyssey");
    assert_int_equal(m.year, 1968);
    assert_int_equal(vod_parse_movie_name("Heat [1995].avi", &m), 0);
    assert_string_equal(m.title, "Heat");
    assert_int_equal(vod_parse_movie_name("No_Year_Here.mp4", &m), 0);
    assert_string_equal(m.title, "No Year Here");
    assert_int_equal(m.year, 0);
    assert_int_equal(vod_parse_movie_name("1917.mkv", &m), 0);
    assert_string_equal(m.title, "1917");
    assert_int_equal(vod_parse_movie_name(".mkv", &m), -EINVAL);
    assert_true(vod_is_video_name("a.MKV"));
    assert_false(vod_is_video_name("a.nfo"));
    assert_false(vod_is_video_name("mkv"));
}

static void expect_ep(const char *name, const char *dir, int season, int episode, const char *title)
{
    struct vod_episode_name e;
    assert_int_equal(vod_parse_episode_name(name, dir, &e), 0);
    assert_int_equal(e.season, season);
    assert_int_equal(e.episode, episode);
    assert_string_equal(e.title, title);
}

static void test_episode_names(void **state)
{
    (void)state;
    expect_ep("Show S01E02 Title.mkv", "Season 1", 1, 2, "Title");
    expect_ep("Show.S01E02.The.Title.mkv", NULL, 1, 2, "The Title");
    expect_ep("show 1x02 - Name.mp4", NULL, 1, 2, "Name");
    expect_ep("S1E2.mp4", NULL, 1, 2, "");
    expect_ep("Show - s03e10e11 - Double.mkv", NULL, 3, 10, "Double");
    expect_ep("Episode 4 - Finale.mkv", "Season 02", 2, 4, "Finale");
    expect_ep("E05 Title.mkv", "Specials", 0, 5, "Title");
    expect_ep("07.mkv", NULL, 1, 7, "");
    struct vod_episode_name e;
    assert_int_equal(vod_parse_episode_name("Making of.mkv", "Season 1", &e), -EINVAL);
    assert_int_equal(vod_season_dir("Season 01"), 1);
    assert_int_equal(vod_season_dir("S2"), 2);
    assert_int_equal(vod_season_dir("Specials"), 0);
    assert_int_equal(vod_season_dir("Extras"), -1);
}

static void test_nfo(void **state)
{
    (void)state;
    static const char movie[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<movie><title>Alpha &amp; Omega</title>"
        "<originaltitle>Alpha</originaltitle><year>2018</year><plot> Plot. </plot>"
        "<genre>Drama</genre><genre>Test</genre><director>D</director>"
        "<actor><name>Ann</name><role>X</role></actor><actor><name>Bob</name></actor>"
        "<ratings><rating name=\"imdb\" default=\"true\"><value>7.5</value></rating></ratings>"
        "<uniqueid type=\"tmdb\">603</uniqueid><premiered>2018-05-01</premiered>"
        "<runtime>95</runtime><set><title>Not the title</title></set></movie>";
    struct vod_nfo n;
    assert_int_equal(vod_nfo_parse(movie, strlen(movie), &n), 0);
    assert_int_equal(n.kind, VOD_NFO_MOVIE);
    assert_string_equal(n.title, "Alpha & Omega");
    assert_string_equal(n.original_title, "Alpha");
    assert_int_equal(n.year, 2018);
    assert_string_equal(n.plot, "Plot.");
    assert_string_equal(n.genre, "Drama, Test");
    assert_string_equal(n.cast, "Ann, Bob");
    assert_true(n.rating > 7.4 && n.rating < 7.6);
    assert_int_equal(n.tmdb_id, 603);
    assert_string_equal(n.premiered, "2018-05-01");
    assert_int_equal(n.runtime_min, 95);
    static const char ep[] = "<episodedetails><title>Pilot</title><season>2</season>"
                             "<episode>5</episode><aired>2020-01-01</aired></episodedetails>";
    assert_int_equal(vod_nfo_parse(ep, strlen(ep), &n), 0);
    assert_int_equal(n.kind, VOD_NFO_EPISODE);
    assert_int_equal(n.season, 2);
    assert_int_equal(n.episode, 5);
    assert_int_equal(vod_nfo_parse("https://www.themoviedb.org/movie/603", 36, &n), -EINVAL);
    assert_int_equal(vod_nfo_parse("<movie><title>x", 15, &n), -EINVAL);
    assert_int_equal(vod_nfo_parse("<other/>", 8, &n), -EINVAL);
}

static void test_probe_parse(void **state)
{
    (void)state;
    static const char j[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"mjpeg\",\"codec_type\":\"video\","
        "\"disposition\":{\"attached_pic\":1}},{\"index\":1,\"codec_name\":\"h264\","
        "\"codec_type\":\"video\",\"width\":1280,\"height\":720,\"secret\":\"x\"},"
        "{\"index\":2,\"codec_name\":\"aac\",\"codec_type\":\"audio\",\"channels\":2,"
        "\"tags\":{\"language\":\"eng\",\"title\":\"t\"}},{\"index\":3,\"codec_type\":\"audio\","
        "\"codec_name\":\"ac3\",\"tags\":{\"language\":\"fra\"}}],"
        "\"format\":{\"format_name\":\"matroska,webm\",\"duration\":\"61.5\",\"bit_rate\":"
        "\"2500000\"}}";
    struct vod_probe p;
    assert_int_equal(vod_probe_parse(j, strlen(j), &p), 0);
    assert_string_equal(p.video_json,
                        "{\"index\":1,\"codec_name\":\"h264\",\"codec_type\":\"video\","
                        "\"width\":1280,\"height\":720}");
    assert_non_null(strstr(p.audio_json, "\"channels\":2"));
    assert_non_null(strstr(p.audio_json, "{\"language\":\"eng\"}"));
    assert_string_equal(p.languages, "eng,fra");
    assert_int_equal(p.bitrate_kbps, 2500);
    assert_true(p.duration > 61.4 && p.duration < 61.6);
    vod_probe_clear(&p);
    assert_int_equal(vod_probe_parse("{\"streams\":[],\"format\":{}}", 26, &p), -EINVAL);
    assert_int_equal(vod_probe_parse("[]", 2, &p), -EINVAL);
}

static int feed(struct vod_relay_head *h, const char *line)
{
    return vod_relay_head_line(h, line, strlen(line));
}

static void test_relay_head(void **state)
{
    (void)state;
    struct vod_relay_head h = {0};
    assert_int_equal(feed(&h, "Content-Type: video/mp4\r\n"), -EBADMSG); /* no status line yet */
    assert_int_equal(feed(&h, "HTTP/1.1 302 Found\r\n"), 0);
    assert_int_equal(feed(&h, "Location: http://elsewhere/x.mp4\r\n"), 0);
    assert_int_equal(feed(&h, "Content-Length: 0\r\n"), 0);
    assert_int_equal(feed(&h, "\r\n"), 1);
    assert_int_equal(h.status, 302);
    assert_true(h.location[0] != '\0');
    /* The next status line starts a new head. */
    assert_int_equal(feed(&h, "HTTP/1.1 206 Partial Content\r\n"), 0);
    assert_int_equal(h.status, 206);
    assert_int_equal(h.length, -1);
    assert_int_equal(h.location[0], '\0');
    assert_int_equal(feed(&h, "content-length:  1000 \r\n"), 0);
    assert_int_equal(feed(&h, "Content-Range: bytes 0-999/5000\r\n"), 0);
    assert_int_equal(feed(&h, "ETAG: \"abc\"\r\n"), 0);
    assert_int_equal(feed(&h, "Accept-Ranges: bytes\r\n"), 0);
    assert_int_equal(feed(&h, "Last-Modified: Wed, 01 Jan 2025 00:00:00 GMT\r\n"), 0);
    assert_int_equal(feed(&h, "X-Ignored: yes\r\n"), 0);
    assert_int_equal(feed(&h, "no colon here\r\n"), 0);
    assert_int_equal(feed(&h, "\r\n"), 1);
    assert_int_equal(h.length, 1000);
    assert_string_equal(h.range, "bytes 0-999/5000");
    assert_string_equal(h.etag, "\"abc\"");
    assert_string_equal(h.ranges, "bytes");
    assert_string_equal(h.modified, "Wed, 01 Jan 2025 00:00:00 GMT");
    assert_string_equal(h.type, "");
    /* HTTP/2 status lines; bad ones. */
    assert_int_equal(feed(&h, "HTTP/2 200\r\n"), 0);
    assert_int_equal(h.status, 200);
    assert_int_equal(feed(&h, "HTTP/1.1 2x0 OK\r\n"), -EBADMSG);
    assert_int_equal(feed(&h, "HTTP/1.1 2000 OK\r\n"), -EBADMSG);
    /* Conflicting or junk lengths are unknown; over-long values are dropped, not cut. */
    assert_int_equal(feed(&h, "HTTP/1.1 200 OK\r\n"), 0);
    assert_int_equal(feed(&h, "Content-Length: 10\r\n"), 0);
    assert_int_equal(feed(&h, "Content-Length: 11\r\n"), 0);
    assert_int_equal(h.length, -1);
    assert_int_equal(feed(&h, "HTTP/1.1 200 OK\r\n"), 0);
    assert_int_equal(feed(&h, "Content-Length: -5\r\n"), 0);
    assert_int_equal(h.length, -1);
    char longline[400] = "Content-Type: ";
    memset(longline + 14, 'x', 300);
    assert_int_equal(feed(&h, longline), 0);
    assert_string_equal(h.type, "");
    assert_int_equal(feed(&h, "Content-Type: video/\x01mp4\r\n"), 0);
    assert_string_equal(h.type, "");
    /* Status mapping. */
    assert_int_equal(vod_relay_status_map(200), 200);
    assert_int_equal(vod_relay_status_map(206), 206);
    assert_int_equal(vod_relay_status_map(416), 416);
    assert_int_equal(vod_relay_status_map(410), 404);
    assert_int_equal(vod_relay_status_map(403), 502);
    assert_int_equal(vod_relay_status_map(504), 504);
    assert_int_equal(vod_relay_status_map(500), 502);
}

struct scan_log {
    int percent[32];
    const char *stage[32];
    int n;
};

static void on_scan_progress(void *ctx, int percent, const char *stage)
{
    struct scan_log *l = ctx;
    if (l->n < 32) {
        l->percent[l->n] = percent;
        l->stage[l->n++] = stage;
    }
}

/* A scan as a job: progress from 0 "walking" to 100 "done"; a missing root
 * fails without "done". */
static void test_scan_progress(void **state)
{
    struct fixture *f;
    assert_int_equal(db_fixture_open(state, "vodscan"), 0);
    f = *state;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/lib", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    struct scan_log log = {0};
    struct vod_scan_opts o = {
        .root = dir, .jobs = 1, .on_progress = on_scan_progress, .progress_ctx = &log};
    struct vod_scan_stats st;
    assert_int_equal(vod_scan(f->db, &o, &st), 0);
    assert_int_equal(st.files, 0);
    assert_true(log.n >= 3);
    assert_string_equal(log.stage[0], "walking");
    assert_int_equal(log.percent[0], 0);
    assert_string_equal(log.stage[log.n - 1], "done");
    assert_int_equal(log.percent[log.n - 1], 100);
    for (int i = 1; i < log.n; i++)
        assert_true(log.percent[i] >= log.percent[i - 1]);
    struct scan_log bad = {0};
    snprintf(dir, sizeof(dir), "%s/missing", f->dir);
    o.progress_ctx = &bad;
    assert_int_equal(vod_scan(f->db, &o, &st), -ENOENT);
    assert_true(bad.n >= 1);
    assert_string_not_equal(bad.stage[bad.n - 1], "done");
    assert_int_equal(db_fixture_close(state), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range),       cmocka_unit_test(test_validators),
        cmocka_unit_test(test_movie_names), cmocka_unit_test(test_episode_names),
        cmocka_unit_test(test_nfo),         cmocka_unit_test(test_probe_parse),
        cmocka_unit_test(test_relay_head),  cmocka_unit_test(test_scan_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

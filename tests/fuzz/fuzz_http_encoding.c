/*
 * libFuzzer target for src/http/encoding.c: any Accept-Encoding value (the
 * input up to its first NUL). Invariants: the answer is stable; a leading
 * explicit refusal ("gzip;q=0,") always wins; a yes needs "gzip" or "*" in the
 * value; the same value split over two header fields at a comma gives the
 * same answer when it holds no quote. The raw input also goes through the gzip
 * coding and must inflate back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "http/encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const uint8_t *data, size_t size)
{
    struct refbuf *gz = NULL;
    if (http_gzip(data, size, 1 + (int)(size % 9), &gz) != 0)
        abort();
    unsigned char *out = malloc(size + 1);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (!out || inflateInit2(&zs, 15 + 16) != Z_OK)
        abort();
    zs.next_in = (Bytef *)gz->data;
    zs.avail_in = (uInt)gz->len;
    zs.next_out = out;
    zs.avail_out = (uInt)(size + 1);
    if (inflate(&zs, Z_FINISH) != Z_STREAM_END || zs.total_out != size || zs.avail_in != 0 ||
        (size && memcmp(out, data, size) != 0))
        abort();
    inflateEnd(&zs);
    free(out);
    refbuf_unref(gz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *s = malloc(size + 1);
    char *refused = malloc(size + 16);
    if (!s || !refused)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';

    bool yes = http_accepts_gzip(s);
    if (yes != http_accepts_gzip(s))
        abort();
    memcpy(refused, "gzip;q=0,", 9);
    memcpy(refused + 9, s, strlen(s) + 1);
    if (http_accepts_gzip(refused))
        abort();
    if (yes) {
        bool mentions = strchr(s, '*') != NULL;
        for (const char *p = s; !mentions && *p; p++)
            mentions = strncasecmp(p, "gzip", 4) == 0;
        if (!mentions)
            abort();
    }

    /* Split at the first comma into two header fields: same list. */
    char *comma = strchr(s, ',');
    if (comma && !strchr(s, '"')) {
        *comma = '\0';
        struct http_header h[2] = {{"Accept-Encoding", s}, {"ACCEPT-ENCODING", comma + 1}};
        struct http_request req = {.headers = h, .header_count = 2};
        if (http_request_accepts_gzip(&req) != yes)
            abort();
    }

    check_round_trip(data, size);
    free(refused);
    free(s);
    return 0;
}

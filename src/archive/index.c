/*
 * The archive's index records (archive.h): fixed-size, little-endian, with a
 * magic and a CRC-32, so a torn or corrupt tail is recognised by length and
 * checksum alone. No state, any thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "archive/archive.h"

#define IDX_MAGIC 0x31524158u /* "XAR1" */
#define TS_PKT    188u

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void archive_idx_encode(const struct archive_idx_rec *r, uint8_t out[ARCHIVE_RECORD_SIZE])
{
    put32(out, IDX_MAGIC);
    put32(out + 4, r->flags);
    put64(out + 8, (uint64_t)r->utc_ms);
    put64(out + 16, (uint64_t)r->pts);
    put64(out + 24, r->offset);
    put64(out + 32, r->length);
    put32(out + 40, r->duration_ms);
    put32(out + 44, (uint32_t)crc32(0L, out, 44));
}

int archive_idx_decode(const uint8_t in[ARCHIVE_RECORD_SIZE], struct archive_idx_rec *r)
{
    if (get32(in) != IDX_MAGIC || get32(in + 44) != (uint32_t)crc32(0L, in, 44))
        return -EBADMSG;
    r->flags = get32(in + 4);
    r->utc_ms = (int64_t)get64(in + 8);
    r->pts = (int64_t)get64(in + 16);
    r->offset = get64(in + 24);
    r->length = get64(in + 32);
    r->duration_ms = get32(in + 40);
    /* A checksum only says the bytes are as written; the fields must still
     * make sense before a reader seeks by them. */
    if (r->utc_ms <= 0 || r->length == 0 || r->length % TS_PKT || r->offset % TS_PKT ||
        r->offset > UINT64_MAX - r->length)
        return -EBADMSG;
    return 0;
}

int archive_idx_parse(const uint8_t *data, size_t len, uint64_t ts_size,
                      struct archive_idx_rec **recs, size_t *n, size_t *valid_bytes)
{
    size_t max = len / ARCHIVE_RECORD_SIZE, k = 0;
    struct archive_idx_rec *out = NULL;
    *recs = NULL;
    *n = 0;
    *valid_bytes = 0;
    if (max) {
        out = malloc(max * sizeof(*out));
        if (!out)
            return -ENOMEM;
    }
    uint64_t prev_end = 0;
    for (size_t i = 0; i < max; i++) {
        struct archive_idx_rec r;
        if (archive_idx_decode(data + i * ARCHIVE_RECORD_SIZE, &r))
            break;
        /* Segments follow each other in the file and exist in it. */
        if (r.offset < prev_end || r.offset + r.length > ts_size)
            break;
        prev_end = r.offset + r.length;
        out[k++] = r;
    }
    if (!k) {
        free(out);
        out = NULL;
    }
    *recs = out;
    *n = k;
    *valid_bytes = k * ARCHIVE_RECORD_SIZE;
    return 0;
}

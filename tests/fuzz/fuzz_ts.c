/*
 * fuzz_ts: libFuzzer target for the MPEG-TS reader (media/ts.c): arbitrary
 * bytes, fed in two pieces to exercise the carry-over path, plus the PTS
 * shifter on every aligned packet.
 */
#include <stdint.h>
#include <string.h>

#include "media/ts.h"

static void on_packet(void *ud, const struct ts_packet *pk)
{
    uint8_t copy[TS_PACKET_SIZE];
    memcpy(copy, pk->p, TS_PACKET_SIZE);
    ts_packet_shift_time(copy, 90000);
    (void)ts_packet_pts(copy);
    (*(size_t *)ud)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ts_reader r;
    ts_reader_init(&r);
    size_t n = 0, cut = size ? data[0] % (size + 1) : 0;
    ts_reader_feed(&r, data, cut, on_packet, &n);
    ts_reader_feed(&r, data + cut, size - cut, on_packet, &n);
    char codecs[64];
    ts_reader_codecs(&r, codecs, sizeof(codecs));
    return 0;
}

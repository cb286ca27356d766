/* libFuzzer target for media/m3u: any bytes, fed whole and in odd-sized
 * pieces, must neither crash nor disagree between the two feedings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/m3u.h"

struct counts {
    size_t entries, rejects, bytes;
};

static int on_entry(void *ctx, const struct m3u_entry *e)
{
    struct counts *c = ctx;
    c->entries++;
    /* Touch every string: they must be NUL-terminated and readable. */
    c->bytes += strlen(e->title) + strlen(e->name) + strlen(e->tvg_id) + strlen(e->tvg_name) +
                strlen(e->tvg_logo) + strlen(e->group) + strlen(e->url);
    if (!*e->name || !*e->url || strlen(e->url) > M3U_MAX_URL)
        abort();
    return 0;
}

static void on_reject(void *ctx, size_t line, const char *reason)
{
    struct counts *c = ctx;
    c->rejects++;
    c->bytes += strlen(reason) + (line == 0 ? 1 : 0);
}

static void run(const uint8_t *data, size_t size, size_t chunk, unsigned flags, struct counts *c)
{
    struct m3u_callbacks cb = {.entry = on_entry, .reject = on_reject, .ctx = c};
    struct m3u_parser *p;
    if (m3u_parser_new(&cb, flags, &p))
        return;
    for (size_t off = 0; off < size; off += chunk)
        m3u_parser_feed(p, data + off, size - off < chunk ? size - off : chunk);
    m3u_parser_finish(p);
    if (m3u_parser_entry_count(p) != c->entries || m3u_parser_reject_count(p) != c->rejects)
        abort();
    m3u_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct counts whole = {0}, pieces = {0};
    unsigned flags = size && (data[0] & 1) ? M3U_ALLOW_LOCAL : 0;
    run(data, size, size ? size : 1, flags, &whole);
    run(data, size, 7, flags, &pieces);
    if (whole.entries != pieces.entries || whole.rejects != pieces.rejects ||
        whole.bytes != pieces.bytes)
        abort();
    return 0;
}

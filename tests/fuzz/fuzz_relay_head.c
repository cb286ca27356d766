/* libFuzzer target for vod/relay's upstream response head parser: the input
 * is split into lines as libcurl would deliver them; whatever is accepted must
 * leave NUL-terminated fields, a status of three digits and a sane length. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vod/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct vod_relay_head *h)
{
    if (h->status != 0 && (h->status < 100 || h->status > 999))
        abort();
    if (h->length < -1)
        abort();
    if (strlen(h->type) >= sizeof(h->type) || strlen(h->range) >= sizeof(h->range) ||
        strlen(h->etag) >= sizeof(h->etag) || strlen(h->modified) >= sizeof(h->modified))
        abort();
    int s = vod_relay_status_map(h->status);
    if (s != 200 && s != 206 && s != 416 && s != 404 && s != 502 && s != 504)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vod_relay_head h;
    memset(&h, 0, sizeof(h));
    const char *p = (const char *)data;
    const char *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char *line = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
        if (!line)
            return 0;
        memcpy(line, p, len);
        (void)vod_relay_head_line(&h, line, len);
        free(line);
        check(&h);
        p += len;
    }
    return 0;
}

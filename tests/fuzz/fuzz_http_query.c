/*
 * libFuzzer target for src/http/query.c: percent-decoding in both modes,
 * url-encoded pairs, multipart bodies (the first line of the input is the
 * Content-Type), the overlay merge and log redaction.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    char *out = malloc(size + 1);
    long n = http_percent_decode(out, p, size, HTTP_DECODE_STRICT);
    if (n > (long)size || (n >= 0 && out[n] != '\0'))
        abort();
    n = http_percent_decode(out, p, size, HTTP_DECODE_PLUS);
    if (n > (long)size)
        abort();
    free(out);

    struct http_params q = {0}, body = {0};
    int rc = http_params_parse_urlencoded(&q, p, size);
    if (rc && rc != -EINVAL && rc != -E2BIG)
        abort();
    if (q.count > HTTP_MAX_PARAMS)
        abort();
    for (size_t i = 0; i < q.count; i++)
        if (!q.items[i].key[0] || http_param_get(&q, q.items[i].key) == NULL)
            abort();

    /* First line: Content-Type; the rest: a multipart body. */
    const char *nl = memchr(p, '\n', size);
    if (nl) {
        size_t ctlen = (size_t)(nl - p);
        char *ct = malloc(ctlen + 1);
        memcpy(ct, p, ctlen);
        ct[ctlen] = '\0';
        const char *b;
        size_t blen;
        if (strlen(ct) == ctlen && http_multipart_boundary(ct, &b, &blen) == 0) {
            rc = http_params_parse_multipart(&body, nl + 1, size - ctlen - 1, b, blen);
            if (rc && rc != -EINVAL && rc != -E2BIG)
                abort();
        }
        free(ct);
    }
    size_t total = q.count + body.count;
    if (http_params_overlay(&q, &body) == 0 && q.count != total)
        abort();

    char *s = malloc(size + 1);
    memcpy(s, p, size);
    s[size] = '\0';
    struct buf r = BUF_INIT(0);
    http_query_redact(&r, s);
    buf_free(&r);
    free(s);
    http_params_free(&q);
    http_params_free(&body);
    return 0;
}

/*
 * libFuzzer target for src/http/parser.c: scans the input as a stream of
 * pipelined request heads, checks that byte-at-a-time scanning agrees with
 * whole-buffer scanning, and parses every complete head, checking the
 * invariants of the result.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"

static void check_head(const char *data, size_t len)
{
    char *head = malloc(len + 1);
    char *scratch = malloc(HTTP_HEAD_SCRATCH(len));
    struct http_header hdrs[HTTP_MAX_HEADERS];
    struct http_request req;
    struct http_head_info info;
    memcpy(head, data, len);
    head[len] = '\0';
    memset(&req, 0, sizeof(req));
    if (http_head_parse(head, len, &req, hdrs, scratch, &info) == 0) {
        if (!req.method_name[0] || req.path[0] != '/' || !req.query || !req.target)
            abort();
        if (req.segment_count > HTTP_MAX_SEGMENTS || req.header_count > HTTP_MAX_HEADERS)
            abort();
        for (size_t i = 0; i < req.segment_count; i++)
            if (!req.segments[i][0])
                abort();
        for (size_t i = 0; i < req.header_count; i++)
            (void)strlen(req.headers[i].value);
        if (info.content_length < -1)
            abort();
        (void)http_request_header(&req, "host");
    } else if (info.status < 400 || info.status > 505 || !info.error) {
        abort();
    }
    free(head);
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t off = 0;
    for (int n = 0; n < 64 && off < size; n++) {
        struct http_head_scan whole, bytewise;
        size_t hl = 0, hl2 = 0;
        http_head_scan_init(&whole);
        http_head_scan_init(&bytewise);
        int rc = http_head_scan(&whole, p + off, size - off, &hl);
        int rc2 = -EAGAIN;
        for (size_t i = 0; i <= size - off && rc2 == -EAGAIN; i++)
            rc2 = http_head_scan(&bytewise, p + off, i, &hl2);
        if (rc != rc2 || (rc == 0 && hl != hl2) || whole.status != bytewise.status)
            abort();
        if (rc != 0)
            break;
        if (hl > size - off || whole.start > hl)
            abort();
        check_head(p + off + whole.start, hl - whole.start);
        off += hl;
    }
    return 0;
}

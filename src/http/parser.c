/*
 * parser: strict incremental HTTP/1.1 request-head parser (see parser.h).
 *
 * Invariants: http_head_scan() only ever looks at bytes [s->pos, len) and keeps
 * all it needs in struct http_head_scan, so feeding growing prefixes of the
 * same input gives the same result as feeding it whole. http_head_parse() trusts
 * the scanner for line structure (every line ends in CRLF, no NUL) and checks
 * everything else. Threading: none.
 */
#include "http/parser.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "http/query.h"

static int scan_fail(struct http_head_scan *s, int status, const char *error)
{
    s->status = status;
    s->error = error;
    return -EBADMSG;
}

void http_head_scan_init(struct http_head_scan *s)
{
    memset(s, 0, sizeof(*s));
}

int http_head_scan(struct http_head_scan *s, const char *data, size_t len, size_t *head_len)
{
    if (s->status)
        return -EBADMSG;
    for (size_t i = s->pos; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (s->cr) {
            s->cr = false;
            if (ch != '\n')
                return scan_fail(s, 400, "bare CR in request head");
            if (s->line_len == 0) {
                if (s->lines == 0) {
                    /* RFC 9112 2.2: ignore empty lines before the request line. */
                    s->start = i + 1;
                    if (s->start > HTTP_MAX_REQUEST_LINE)
                        return scan_fail(s, 400, "too many empty lines before request");
                    continue;
                }
                s->hdr_bytes += 2;
                s->pos = i + 1;
                *head_len = i + 1;
                return 0;
            }
            if (s->lines > 0) {
                s->hdr_bytes += s->line_len + 2;
                if (s->hdr_bytes > HTTP_MAX_HEADER_BYTES)
                    return scan_fail(s, 431, "request header section too large");
                if (s->lines > HTTP_MAX_HEADERS)
                    return scan_fail(s, 431, "too many request header fields");
            }
            s->lines++;
            s->line_len = 0;
            continue;
        }
        if (ch == '\r') {
            s->cr = true;
            continue;
        }
        if (ch == '\n')
            return scan_fail(s, 400, "bare LF in request head");
        if (ch == '\0')
            return scan_fail(s, 400, "NUL byte in request head");
        s->line_len++;
        if (s->lines == 0) {
            if (s->line_len > HTTP_MAX_REQUEST_LINE)
                return scan_fail(s, 414, "request line too long");
        } else if (s->hdr_bytes + s->line_len > HTTP_MAX_HEADER_BYTES) {
            return scan_fail(s, 431, "request header section too large");
        }
    }
    s->pos = len;
    return -EAGAIN;
}

static const struct {
    const char *name;
    size_t len;
    enum http_method m;
} methods[] = {
    {"GET", 3, HTTP_GET},         {"HEAD", 4, HTTP_HEAD},     {"POST", 4, HTTP_POST},
    {"PUT", 3, HTTP_PUT},         {"DELETE", 6, HTTP_DELETE}, {"PATCH", 5, HTTP_PATCH},
    {"OPTIONS", 7, HTTP_OPTIONS},
};

enum http_method http_method_from(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (methods[i].len == len && memcmp(methods[i].name, name, len) == 0)
            return methods[i].m;
    return HTTP_OTHER;
}

const char *http_status_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int fail(struct http_head_info *info, int status, const char *error)
{
    info->status = status;
    info->error = error;
    return -EBADMSG;
}

/* Iterates over the comma-separated elements of a list header value. */
static const char *list_next(const char *p, const char **elem, size_t *elen)
{
    while (*p == ',' || is_ows(*p))
        p++;
    if (!*p)
        return NULL;
    const char *b = p;
    while (*p && *p != ',')
        p++;
    const char *e = p;
    while (e > b && is_ows(e[-1]))
        e--;
    *elem = b;
    *elen = (size_t)(e - b);
    return p;
}

static bool token_is(const char *s, size_t len, const char *tok)
{
    return strlen(tok) == len && strncasecmp(s, tok, len) == 0;
}

/* Content-Length: 1*DIGIT, possibly repeated as a list of equal values. */
static int parse_content_length(const char *v, struct http_head_info *info)
{
    const char *p = v, *e;
    size_t elen;
    bool any = false;
    while ((p = list_next(p, &e, &elen)) != NULL) {
        long long n = 0;
        if (elen == 0)
            return fail(info, 400, "empty Content-Length");
        for (size_t i = 0; i < elen; i++) {
            if (e[i] < '0' || e[i] > '9')
                return fail(info, 400, "invalid Content-Length");
            if (n > (LLONG_MAX - 9) / 10)
                n = LLONG_MAX; /* saturate: far above any limit, answered with 413 */
            else
                n = n * 10 + (e[i] - '0');
        }
        if (info->content_length >= 0 && info->content_length != n)
            return fail(info, 400, "conflicting Content-Length values");
        info->content_length = n;
        any = true;
    }
    if (!any)
        return fail(info, 400, "empty Content-Length");
    return 0;
}

static int parse_request_line(char *line, char *eol, struct http_request *req, char *scratch,
                              char **scratch_end, struct http_head_info *info)
{
    char *p = line;
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    if (p == line || p == eol || *p != ' ')
        return fail(info, 400, "invalid request method");
    *p = '\0';
    req->method_name = line;
    req->method = http_method_from(line, (size_t)(p - line));

    char *target = ++p;
    while (p < eol && *p != ' ') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x21 || c > 0x7e || c == '#')
            return fail(info, 400, "invalid character in request target");
        p++;
    }
    if (p == target || p == eol)
        return fail(info, 400, "invalid request target");
    *p = '\0';
    char *tend = p;
    char *ver = p + 1;
    if (eol - ver != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[6] != '.' || ver[5] < '0' ||
        ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
        return fail(info, 400, "invalid HTTP version");
    if (ver[5] != '1')
        return fail(info, 505, "only HTTP/1.x is supported");
    req->version_minor = ver[7] - '0';
    req->target = target;

    /* origin-form, or absolute-form (RFC 9112 3.2.2: servers must accept it). */
    char *pstart = target;
    const char *root = NULL;
    if (*target != '/') {
        size_t skip = 0;
        if (strncasecmp(target, "http://", 7) == 0)
            skip = 7;
        else if (strncasecmp(target, "https://", 8) == 0)
            skip = 8;
        else
            return fail(info, 400, "request target must be a path");
        pstart = target + skip;
        while (*pstart && *pstart != '/' && *pstart != '?')
            pstart++;
        if (pstart == target + skip)
            return fail(info, 400, "empty authority in request target");
        if (*pstart != '/')
            root = "/";
    }
    char *q = memchr(pstart, '?', (size_t)(tend - pstart));
    char *pend = q ? q : tend;
    req->query = q ? q + 1 : "";

    /* Raw path copy, then each non-empty segment percent-decoded. */
    char *out = scratch;
    if (root) {
        out[0] = '/';
        out[1] = '\0';
        req->path = out;
        out += 2;
    } else {
        size_t plen = (size_t)(pend - pstart);
        memcpy(out, pstart, plen);
        out[plen] = '\0';
        req->path = out;
        out += plen + 1;
    }
    req->segment_count = 0;
    const char *s = root ? pend : pstart;
    while (s < pend) {
        while (s < pend && *s == '/')
            s++;
        const char *e = s;
        while (e < pend && *e != '/')
            e++;
        if (e == s)
            break;
        if (req->segment_count == HTTP_MAX_SEGMENTS)
            return fail(info, 414, "too many path segments");
        long n = http_percent_decode(out, s, (size_t)(e - s), HTTP_DECODE_STRICT);
        if (n < 0)
            return fail(info, 400, "invalid percent-encoding in path");
        req->segments[req->segment_count++] = out;
        out += n + 1;
        s = e;
    }
    *scratch_end = out;
    return 0;
}

int http_head_parse(char *head, size_t len, struct http_request *req, struct http_header *hdrs,
                    char *scratch, struct http_head_info *info)
{
    info->content_length = -1;
    info->expect_continue = false;
    info->status = 0;
    info->error = NULL;
    req->headers = hdrs;
    req->header_count = 0;
    req->segment_count = 0;

    if (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0)
        return fail(info, 400, "incomplete request head");
    char *end = head + len - 2; /* the final empty line */
    char *eol = memchr(head, '\r', (size_t)(end - head));
    if (!eol)
        return fail(info, 400, "missing request line");
    char *scratch_end;
    int rc = parse_request_line(head, eol, req, scratch, &scratch_end, info);
    if (rc)
        return rc;

    int hosts = 0;
    bool has_te = false, te_chunked_last = false, conn_close = false, conn_keep = false;
    char *line = eol + 2;
    while (line < end) {
        eol = memchr(line, '\r', (size_t)(end - line));
        if (!eol)
            return fail(info, 400, "malformed header line");
        if (is_ows(*line))
            return fail(info, 400, "obsolete line folding is not allowed");
        char *p = line;
        while (p < eol && is_tchar((unsigned char)*p))
            p++;
        if (p == eol)
            return fail(info, 400, "header line without colon");
        if (*p != ':') {
            if (is_ows(*p))
                return fail(info, 400, "whitespace before colon in header");
            return fail(info, 400, "invalid character in header name");
        }
        if (p == line)
            return fail(info, 400, "empty header name");
        *p++ = '\0';
        while (p < eol && is_ows(*p))
            p++;
        char *vend = eol;
        while (vend > p && is_ows(vend[-1]))
            vend--;
        for (char *c = p; c < vend; c++) {
            unsigned char ch = (unsigned char)*c;
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return fail(info, 400, "invalid character in header value");
        }
        *vend = '\0';
        if (req->header_count == HTTP_MAX_HEADERS)
            return fail(info, 431, "too many request header fields");
        hdrs[req->header_count].name = line;
        hdrs[req->header_count].value = p;
        req->header_count++;

        const char *name = line, *value = p;
        if (strcasecmp(name, "Host") == 0) {
            hosts++;
        } else if (strcasecmp(name, "Content-Length") == 0) {
            rc = parse_content_length(value, info);
            if (rc)
                return rc;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            const char *e, *it = value;
            size_t elen;
            while ((it = list_next(it, &e, &elen)) != NULL) {
                has_te = true;
                te_chunked_last = token_is(e, elen, "chunked");
            }
            if (!has_te)
                return fail(info, 400, "empty Transfer-Encoding");
        } else if (strcasecmp(name, "Connection") == 0) {
            const char *e, *it = value;
            size_t elen;
            while ((it = list_next(it, &e, &elen)) != NULL) {
                if (token_is(e, elen, "close"))
                    conn_close = true;
                else if (token_is(e, elen, "keep-alive"))
                    conn_keep = true;
            }
        } else if (strcasecmp(name, "Expect") == 0) {
            if (strcasecmp(value, "100-continue") != 0)
                return fail(info, 417, "only Expect: 100-continue is supported");
            info->expect_continue = req->version_minor >= 1;
        }
        line = eol + 2;
    }
    if (hosts > 1)
        return fail(info, 400, "more than one Host header");
    if (hosts == 0 && req->version_minor >= 1)
        return fail(info, 400, "missing Host header");
    if (has_te) {
        if (info->content_length >= 0)
            return fail(info, 400, "Content-Length together with Transfer-Encoding");
        if (te_chunked_last)
            return fail(info, 411, "chunked request bodies are not supported; send Content-Length");
        return fail(info, 400, "unsupported Transfer-Encoding");
    }
    if (req->version_minor >= 1)
        req->keep_alive = !conn_close;
    else
        req->keep_alive = conn_keep && !conn_close;
    (void)scratch_end;
    return 0;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

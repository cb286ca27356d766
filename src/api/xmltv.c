/*
 * xmltv: xmltv.php, /epg/U/P and /epg/U/P/gz — the line's guide as XMLTV.
 * Until the EPG store lands the document lists the line's mapped channels
 * (id = epg_channel_id, the join key with tvg-id) and no programmes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "api/api_priv.h"

static void put_xml_text(struct buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                rep = ""; /* not allowed in XML 1.0 */
        }
        if (rep) {
            buf_append(b, run, (size_t)(s - run));
            buf_puts(b, rep);
            run = s + 1;
        }
    }
    buf_append(b, run, (size_t)(s - run));
}

static void render(struct api_req *r, struct buf *b)
{
    const struct catalog *c = r->cat;
    struct cat_view *v = catalog_view(r->cat, r->line);
    if (!v) {
        b->err = -ENOMEM;
        return;
    }
    buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
                "<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n"
                "<tv generator-info-name=\"xtreamd\" generator-info-url=\"");
    put_xml_text(b, r->base);
    buf_puts(b, "\">\n");
    for (size_t i = 0; i < c->stream_count; i++) {
        const struct cat_stream *s = &c->streams[i];
        if (!s->epg_channel_id || !cat_view_has_stream(v, c, i))
            continue;
        buf_puts(b, "  <channel id=\"");
        put_xml_text(b, s->epg_channel_id);
        buf_puts(b, "\">\n    <display-name>");
        put_xml_text(b, s->name);
        buf_puts(b, "</display-name>\n");
        if (*s->logo) {
            buf_puts(b, "    <icon src=\"");
            put_xml_text(b, s->logo);
            buf_puts(b, "\" />\n");
        }
        buf_puts(b, "  </channel>\n");
    }
    buf_puts(b, "</tv>\n");
}

static int gzip_buf(const struct buf *in, struct buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    uLong bound = deflateBound(&zs, (uLong)in->len);
    int rc = buf_reserve(out, bound);
    if (rc == 0) {
        zs.next_in = (Bytef *)in->data;
        zs.avail_in = (uInt)in->len;
        zs.next_out = (Bytef *)out->data;
        zs.avail_out = (uInt)bound;
        rc = deflate(&zs, Z_FINISH) == Z_STREAM_END ? 0 : -EIO;
        out->len = zs.total_out;
    }
    deflateEnd(&zs);
    return rc;
}

void api_xmltv(struct api_req *r, bool gzip)
{
    api_cors(r, false);
    api_authenticate(r);
    if (r->status == AUTH_INVALID) {
        api_text_error(r, 401, "invalid username or password\n");
        return;
    }
    if (r->status != AUTH_OK) {
        api_text_error(r, 403, "line is not active\n");
        return;
    }
    struct buf xml = BUF_INIT(0), gz = BUF_INIT(0);
    render(r, &xml);
    if (!xml.err && gzip && gzip_buf(&xml, &gz) != 0)
        xml.err = -EIO;
    if (xml.err) {
        api_text_error(r, 500, "guide could not be rendered\n");
    } else if (gzip) {
        http_response_status(r->res, 200);
        http_response_header(r->res, "Content-Type", "application/gzip");
        http_response_header(r->res, "Content-Disposition", "attachment; filename=\"epg.xml.gz\"");
        http_response_body(r->res, gz.data, gz.len);
    } else {
        http_response_status(r->res, 200);
        http_response_header(r->res, "Content-Type", "application/xml; charset=utf-8");
        http_response_body(r->res, xml.data, xml.len);
    }
    buf_free(&xml);
    buf_free(&gz);
}

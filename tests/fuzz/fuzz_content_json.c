/* libFuzzer target for domain/content_json: the JSON bodies of every
 * catalogue resource of the admin API (streams, categories, bouquets,
 * movies, series, episodes, EPG sources), the bouquet item order and the
 * category order. The first byte picks the decoder, the rest is the body.
 * Decoding, validating (create and update) and writing back what decoded
 * must never crash, leak or read out of bounds; every error must be a known
 * status with a stable code and complete field errors. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "domain/content.h"

static const struct dom_resource *const res[] = {
    &dom_res_stream, &dom_res_category, &dom_res_bouquet,    &dom_res_movie,
    &dom_res_series, &dom_res_episode,  &dom_res_epg_source,
};
#define NRES (sizeof(res) / sizeof(res[0]))

static void check_error(const struct dom_error *e)
{
    if (e->status != 400 && e->status != 422 && e->status != 500)
        abort();
    if (!e->code || e->nfields > DOM_MAX_FIELD_ERRORS)
        abort();
    for (size_t i = 0; i < e->nfields; i++)
        if (!e->fields[i].field[0] || !e->fields[i].code[0] || !e->fields[i].message[0])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0] % (NRES + 2);
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct dom_error e;
    dom_error_reset(&e);
    if (sel == NRES + 1) {
        int64_t *ids;
        size_t n;
        if (dom_ids_from_json(body, len, &ids, &n, &e))
            check_error(&e);
        else
            free(ids);
        return 0;
    }
    struct dom_content_in in;
    const struct dom_resource *r = sel < NRES ? res[sel] : &dom_res_bouquet;
    int rc = sel < NRES ? dom_content_from_json(r, body, len, &in, &e)
                        : dom_items_from_json(body, len, &in, &e);
    if (rc) {
        check_error(&e);
    } else {
        for (int create = 0; create < 2; create++) {
            dom_error_reset(&e);
            if (dom_content_validate(r, &in, create, &e))
                check_error(&e);
        }
        /* What decoded also serialises (as a stored object would). */
        struct dom_obj o = {.rec = in.rec,
                            .sources = (char **)in.sources,
                            .nsources = in.nsources,
                            .items = in.items,
                            .nitems = in.nitems};
        for (size_t i = 0; i < r->tbl->ncols; i++)
            if ((r->tbl->cols[i].type == DB_COL_TEXT || r->tbl->cols[i].type == DB_COL_NTEXT) &&
                !o.rec.v[i].s)
                o.rec.v[i].s = "";
        for (size_t i = 0; i < o.nitems; i++)
            if (!o.items[i].kind)
                abort();
        struct buf b = BUF_INIT(1 << 20);
        struct jsonw w;
        jsonw_init(&w, &b);
        dom_obj_write_json(r, &o, &w);
        buf_free(&b);
    }
    dom_content_in_free(&in);
    return 0;
}

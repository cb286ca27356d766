/*
 * preview: the web panel's player (api.h, "Previews"). An admin is not a
 * line, so the panel cannot use the client stream URLs; the admin API grants
 * a short-lived token for one item, and /preview/TOKEN/ID.EXT serves that
 * item to whoever holds it, as the pseudo-line AUTH_PREVIEW_LINE_ID through
 * the same delivery engines as a subscriber's request (live fan-out and HLS,
 * VOD files and relay), so what the operator sees is what players get.
 *
 * The token is 128 random bits in hex, compared in constant time, kept out of
 * the access log. Grants live in a fixed table (API_PREVIEW_MAX); the oldest
 * is replaced when it is full (counted). Loop thread only.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api_priv.h"
#include "core/log.h"
#include "core/promtext.h"
#include "stream/live.h"

int api_preview_grant(struct api *api, char kind, int64_t id, const char *who, int64_t now,
                      char *token, size_t n)
{
    if (n < API_PREVIEW_TOKEN_LEN + 1 || (kind != 'l' && kind != 'm' && kind != 'e') || id <= 0)
        return -EINVAL;
    /* A free or expired slot, else the oldest grant. */
    struct api_preview *slot = NULL;
    for (size_t i = 0; i < API_PREVIEW_MAX; i++) {
        struct api_preview *p = &api->previews[i];
        if (!p->token[0] || p->expires <= now) {
            slot = p;
            break;
        }
        if (!slot || p->granted < slot->granted)
            slot = p;
    }
    if (slot->token[0] && slot->expires > now)
        api->preview_replaced++;
    unsigned char raw[API_PREVIEW_TOKEN_LEN / 2];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(slot->token, sizeof(slot->token), raw, sizeof(raw));
    slot->kind = kind;
    slot->id = id;
    snprintf(slot->who, sizeof(slot->who), "preview:%s", who && *who ? who : "admin");
    slot->granted = now;
    slot->expires = now + API_PREVIEW_TTL;
    api->preview_granted++;
    snprintf(token, n, "%s", slot->token);
    return 0;
}

static const struct api_preview *grant_find(struct api *api, const char *token, int64_t now)
{
    if (strlen(token) != API_PREVIEW_TOKEN_LEN)
        return NULL;
    const struct api_preview *hit = NULL;
    for (size_t i = 0; i < API_PREVIEW_MAX; i++) {
        const struct api_preview *p = &api->previews[i];
        /* Every slot is compared, so the time taken tells nothing of the table. */
        if (p->token[0] && sodium_memcmp(p->token, token, API_PREVIEW_TOKEN_LEN) == 0)
            hit = p;
    }
    return hit && hit->expires > now ? hit : NULL;
}

void api_preview_serve(struct api_req *r, const char *token, const char *id_ext)
{
    const struct api_preview *g = grant_find(r->api, token, r->now);
    const char *dot = strrchr(id_ext, '.');
    const char *ext = dot ? dot + 1 : "";
    int64_t id = api_parse_id(id_ext, dot ? (size_t)(dot - id_ext) : strlen(id_ext));
    if (!g || id != g->id) {
        r->api->preview_refused++;
        api_text_error(r, 403, "invalid or expired preview token\n");
        return;
    }
    /* The pseudo-line: every output, no connection limit, never expires (the
     * grant's expiry was checked above; a started stream runs to its end). */
    struct cat_line line = {
        .id = AUTH_PREVIEW_LINE_ID,
        .username = g->who,
        .password = "",
        .enabled = true,
        .outputs = CAT_OUT_TS | CAT_OUT_M3U8,
        .message = "",
        .view_key = "",
    };
    r->line = &line;
    r->status = AUTH_OK;
    if (g->kind != 'l') {
        bool movie = g->kind == 'm';
        const struct cat_series *s;
        if (movie ? !catalog_movie(r->cat, id) : !catalog_episode(r->cat, id, &s)) {
            api_text_error(r, 404, "not in the published catalogue yet; retry in a second\n");
            return;
        }
        api_vod_deliver(r, movie ? "movie" : "series", id);
        return;
    }
    const struct cat_stream *st = catalog_stream(r->cat, id);
    if (!st) {
        api_text_error(r, 404, "not in the published catalogue yet; retry in a second\n");
        return;
    }
    bool hls = strcmp(ext, "m3u8") == 0;
    if (!hls && strcmp(ext, "ts") != 0) {
        api_text_error(r, 404, "a live preview is ID.m3u8 or ID.ts\n");
        return;
    }
    if (!r->api->live) {
        http_response_header(r->res, "Retry-After", "30");
        api_text_error(r, 503, "streaming is not available on this server\n");
        return;
    }
    if (hls)
        live_serve_m3u8(r->api->live, st, &line, r->req, r->res);
    else
        live_serve_ts(r->api->live, st, &line, r->req, r->res);
}

void api_preview_metrics(struct api *api, struct buf *out)
{
    promtext_family(out, "xtreamd_preview_grants_total", "counter",
                    "Panel previews granted to admins (api.h, Previews)");
    buf_printf(out, "xtreamd_preview_grants_total %" PRIu64 "\n", api->preview_granted);
    promtext_family(out, "xtreamd_preview_grants_replaced_total", "counter",
                    "Preview grants dropped before their expiry because the table was full");
    buf_printf(out, "xtreamd_preview_grants_replaced_total %" PRIu64 "\n", api->preview_replaced);
    promtext_family(out, "xtreamd_preview_refused_total", "counter",
                    "Preview requests refused: unknown or expired token, or another item");
    buf_printf(out, "xtreamd_preview_refused_total %" PRIu64 "\n", api->preview_refused);
}

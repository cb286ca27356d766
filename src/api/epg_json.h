/*
 * api/epg_json: the player API's EPG actions — get_short_epg,
 * get_simple_data_table and get_epg — with the fields and wire types of
 * shared/docs/xtream-api.md §3.9–3.11 (XUI superset). Programmes come from
 * the snapshot's EPG read model (catalog/guide.h: in memory, never SQLite on
 * the loop thread); each answer binary-searches one channel's programmes by
 * start, bounded by EPG_JSON_MAX_ROWS.
 * Threading: loop thread only.
 */
#ifndef XTREAMD_API_EPG_JSON_H
#define XTREAMD_API_EPG_JSON_H

#include "api/api_priv.h"

#define EPG_JSON_MAX_ROWS 5000
#define EPG_JSON_MAX_IDS  100 /* stream ids in one multi request */

enum api_epg_kind { API_EPG_SHORT, API_EPG_TABLE, API_EPG_FULL };

void api_epg_write(struct api_req *r, struct jsonw *w, struct cat_view *v, enum api_epg_kind kind);

/* Standard base64 with padding of s[0..n) appended to out. */
void api_base64(struct buf *out, const char *s, size_t n);

#endif

/*
 * domain/epg_sources: the EPG-source service — which XMLTV sources exist.
 *
 * Owns the rules of a source: a name of 1-100 bytes, a location that is an
 * http(s) URL (<= 4096 bytes) or a local file stored as its canonical
 * absolute path (it must exist when added), a priority in +-1000000 (higher
 * wins) and a refresh period of 0 (manual) to 8760 hours. Importing a source
 * and mapping channels are the EPG server's (epg/epg.h), which the caller
 * runs after a change. Reaches the database through db/epg.h.
 * Errors: domain/error.h with fields name, url, priority, refresh_hours.
 * Threading: one thread per struct db.
 */
#ifndef XTREAMD_DOMAIN_EPG_SOURCES_H
#define XTREAMD_DOMAIN_EPG_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "db/epg.h"
#include "domain/error.h"

#define DOM_EPG_NAME_MAX     100
#define DOM_EPG_URL_MAX      4096
#define DOM_EPG_PRIORITY_MAX 1000000
#define DOM_EPG_REFRESH_MAX  (24 * 365)

struct dom_epg_source_in {
    const char *name, *url;
    long long priority;      /* default 0 */
    long long refresh_hours; /* default 24 */
};

int dom_epg_source_add(struct db *db, const struct dom_epg_source_in *in, int64_t *id,
                       struct dom_error *e);
int dom_epg_source_list(struct db *db, struct db_epg_source **out, size_t *n, struct dom_error *e);
/* By name or id; 404 when absent. Free with db_epg_source_list_free(*out, 1). */
int dom_epg_source_get(struct db *db, const char *name_or_id, struct db_epg_source **out,
                       struct dom_error *e);
int dom_epg_source_delete(struct db *db, const char *name_or_id, struct dom_error *e);

#endif

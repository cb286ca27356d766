/*
 * domain/epg_sources: see epg_sources.h.
 */
#include "domain/epg_sources.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "domain/text.h"

int dom_epg_source_add(struct db *db, const struct dom_epg_source_in *in, int64_t *id,
                       struct dom_error *e)
{
    char abs[PATH_MAX];
    const char *url = in->url;
    if (!in->name)
        dom_err_field(e, "name", "required", "is required");
    else if (*in->name && strlen(in->name) > DOM_EPG_NAME_MAX)
        dom_err_field(e, "name", "too_long", "must be 1 to %d characters", DOM_EPG_NAME_MAX);
    else
        dom_check_text("name", in->name, DOM_EPG_NAME_MAX, false, e);
    if (in->priority < -DOM_EPG_PRIORITY_MAX || in->priority > DOM_EPG_PRIORITY_MAX)
        dom_err_field(e, "priority", "range", "must be -%d to %d, got %lld", DOM_EPG_PRIORITY_MAX,
                      DOM_EPG_PRIORITY_MAX, in->priority);
    if (in->refresh_hours < 0 || in->refresh_hours > DOM_EPG_REFRESH_MAX)
        dom_err_field(e, "refresh_hours", "range", "must be 0 to %d, got %lld", DOM_EPG_REFRESH_MAX,
                      in->refresh_hours);
    bool remote = url && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
    if (!url)
        dom_err_field(e, "url", "required", "is required");
    else if (remote && strlen(url) > DOM_EPG_URL_MAX)
        dom_err_field(e, "url", "too_long", "URL longer than %d characters", DOM_EPG_URL_MAX);
    else if (!remote && strstr(url, "://"))
        dom_err_field(e, "url", "format", "'%.64s': only files and http(s) URLs are supported",
                      url);
    if (e->status)
        return -EINVAL;
    if (!remote) {
        if (!realpath(url, abs)) {
            int err = errno;
            dom_err_set(e, 422, DOM_E_REFERENCE, "cannot read the file");
            return dom_err_field(e, "url", "not_found", "'%s': %s", url, strerror(err));
        }
        url = abs;
    }
    int rc = db_epg_source_add(db, in->name, url, (int)in->priority, (int)in->refresh_hours, id);
    if (rc == -EEXIST) {
        dom_err_set(e, 409, DOM_E_EXISTS, "a source named '%s' already exists", in->name);
        return dom_err_field(e, "name", "conflict", "a source named '%s' already exists", in->name);
    }
    return rc ? dom_err_internal(e, rc, "adding the EPG source") : 0;
}

int dom_epg_source_list(struct db *db, struct db_epg_source **out, size_t *n, struct dom_error *e)
{
    int rc = db_epg_source_list(db, out, n);
    return rc ? dom_err_internal(e, rc, "listing EPG sources") : 0;
}

int dom_epg_source_get(struct db *db, const char *name_or_id, struct db_epg_source **out,
                       struct dom_error *e)
{
    int rc = db_epg_source_get(db, name_or_id, out);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no EPG source '%s'", name_or_id);
    return rc ? dom_err_internal(e, rc, "reading the EPG source") : 0;
}

int dom_epg_source_delete(struct db *db, const char *name_or_id, struct dom_error *e)
{
    int rc = db_epg_source_del(db, name_or_id);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no EPG source '%s'", name_or_id);
    return rc ? dom_err_internal(e, rc, "deleting the EPG source") : 0;
}

/*
 * domain/devices: the rules of MAC-bound devices (see devices.h).
 */
#include "domain/devices.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"
#include "domain/time.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool dom_mac_normalise(const char *s, size_t len, char out[18])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;
    char sep = 0;
    for (int pair = 0; pair < 6; pair++) {
        if (pair > 0 && len != 12) {
            /* One separator kind throughout: "00:1a-79..." is a typo, not a MAC. */
            if (i >= len || (s[i] != ':' && s[i] != '-') || (sep && s[i] != sep))
                return false;
            sep = s[i++];
        }
        if (i + 2 > len)
            return false;
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[pair * 3] = hex[hi];
        out[pair * 3 + 1] = hex[lo];
        out[pair * 3 + 2] = pair < 5 ? ':' : '\0';
        i += 2;
    }
    return i == len;
}

int dom_device_add(struct db *db, const struct dom_device_in *in, int64_t *id, struct dom_error *e)
{
    char mac[18];
    if (!in->mac || !*in->mac)
        dom_err_field(e, "mac", "required", "a MAC address is required");
    else if (!dom_mac_normalise(in->mac, strlen(in->mac), mac))
        dom_err_field(e, "mac", "format",
                      "not a MAC address (six hex pairs, e.g. 00:1A:79:12:34:56)");
    if (in->model && strlen(in->model) > 63)
        dom_err_field(e, "model", "too_long", "at most 63 characters");
    int64_t line_id = in->line_id;
    if (line_id <= 0 && (!in->username || !*in->username))
        dom_err_field(e, "line_id", "required", "the line (line_id or username) is required");
    if (e->status)
        return -EINVAL;
    int rc;
    if (line_id <= 0) {
        rc = db_device_line_id(db, in->username, &line_id);
        if (rc == -ENOENT)
            return dom_err_field(e, "username", "unknown", "no line '%.200s'", in->username);
        if (rc < 0)
            return dom_err_internal(e, rc, "finding the line");
    }
    rc = db_device_insert(db, line_id, mac, in->model, id);
    if (rc == -EEXIST)
        return dom_err_set(e, 409, DOM_E_EXISTS, "MAC %s is already bound to a line", mac);
    if (rc == -EINVAL)
        return dom_err_field(e, "line_id", "unknown", "no line %lld", (long long)line_id);
    if (rc < 0)
        return dom_err_internal(e, rc, "adding a device");
    return 0;
}

int dom_device_get(struct db *db, int64_t id, struct db_device *out, struct dom_error *e)
{
    int rc = db_device_get(db, id, out);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no device %lld", (long long)id);
    return rc < 0 ? dom_err_internal(e, rc, "reading a device") : 0;
}

int dom_device_list(struct db *db, const char *line, struct db_device **out, size_t *n,
                    struct dom_error *e)
{
    int64_t line_id = 0;
    *out = NULL;
    *n = 0;
    if (line && *line) {
        int rc = db_device_line_id(db, line, &line_id);
        if (rc == -ENOENT)
            return dom_err_field(e, "username", "unknown", "no line '%.200s'", line);
        if (rc < 0)
            return dom_err_internal(e, rc, "finding the line");
    }
    int rc = db_device_list(db, line_id, out, n);
    return rc < 0 ? dom_err_internal(e, rc, "listing devices") : 0;
}

int dom_device_delete(struct db *db, int64_t id, struct dom_error *e)
{
    int rc = db_device_delete(db, id);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no device %lld", (long long)id);
    return rc < 0 ? dom_err_internal(e, rc, "deleting a device") : 0;
}

int dom_device_delete_mac(struct db *db, const char *mac_in, struct dom_error *e)
{
    char mac[18];
    if (!mac_in || !dom_mac_normalise(mac_in, strlen(mac_in), mac))
        return dom_err_field(e, "mac", "format",
                             "not a MAC address (six hex pairs, e.g. 00:1A:79:12:34:56)");
    struct db_device d;
    int rc = db_device_get_mac(db, mac, &d);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no device with MAC %s", mac);
    if (rc < 0)
        return dom_err_internal(e, rc, "finding a device");
    return dom_device_delete(db, d.id, e);
}

void dom_device_write_json(struct jsonw *w, const struct db_device *d)
{
    char t[DOM_TIME_LEN];
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, d->id);
    jsonw_key(w, "line_id");
    jsonw_int(w, d->line_id);
    jsonw_key(w, "username");
    jsonw_str(w, d->username);
    jsonw_key(w, "mac");
    jsonw_str(w, d->mac);
    jsonw_key(w, "model");
    jsonw_str(w, d->model);
    jsonw_key(w, "last_seen");
    if (d->last_seen > 0) {
        dom_format_time(d->last_seen, t);
        jsonw_str(w, t);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "created_at");
    dom_format_time(d->created_at, t);
    jsonw_str(w, t);
    jsonw_obj_end(w);
}

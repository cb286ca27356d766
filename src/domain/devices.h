/*
 * domain/devices: MAC-bound set-top boxes (issue 13 item 7). A device binds a
 * MAC address to a line; the MAG portal (portal/portal.c) finds the line of a
 * box by its MAC. The CLI (`xtreamd device`) and the admin API
 * (`/api/v1/devices`) call these services. Any thread.
 */
#ifndef XTREAMD_DOMAIN_DEVICES_H
#define XTREAMD_DOMAIN_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/devices.h"
#include "domain/error.h"

struct jsonw;

/* Normalises a MAC address: six pairs of hex digits separated by ':' or '-'
 * (or twelve digits without separators), any case, to upper case with colons
 * ("00:1A:79:AB:CD:EF"). false when s is not one. */
bool dom_mac_normalise(const char *s, size_t len, char out[18]);

struct dom_device_in {
    int64_t line_id;      /* > 0, or 0 and username */
    const char *username; /* the line's, when line_id is 0 */
    const char *mac;
    const char *model; /* NULL or "" */
};

/* Binds in->mac to the line. Field errors: "mac" (format, conflict),
 * "line_id"/"username" (required, unknown), "model" (too_long). */
int dom_device_add(struct db *db, const struct dom_device_in *in, int64_t *id, struct dom_error *e);
int dom_device_get(struct db *db, int64_t id, struct db_device *out, struct dom_error *e);
/* line: a username or NULL for every line. */
int dom_device_list(struct db *db, const char *line, struct db_device **out, size_t *n,
                    struct dom_error *e);
/* By id. */
int dom_device_delete(struct db *db, int64_t id, struct dom_error *e);
/* By MAC (any accepted form); "mac" field error when malformed, 404 when unbound. */
int dom_device_delete_mac(struct db *db, const char *mac, struct dom_error *e);

/* {"id","line_id","username","mac","model","last_seen","created_at"} */
void dom_device_write_json(struct jsonw *w, const struct db_device *d);

#endif

/*
 * config/conffile: reads an xtreamd configuration file (libconfig syntax,
 * docs/configuration.md) into a flat list of entries, each with the line it
 * was written on. It knows nothing of the keys: the caller checks them
 * against its table (cli/serve_config.c) and names FILE:LINE in its errors.
 *
 * Shapes accepted (anything deeper is an error naming the line):
 *   key = scalar;                      one entry, member NULL
 *   key = [ s1, s2 ]; / ( s1, s2 );    one entry per element, in_list
 *   key: { m1 = s; m2 = s; };          one entry per member, member set
 * An empty list or group gives one entry with value NULL, so that an unknown
 * key is still seen. Scalars are text: strings as written, integers in
 * decimal, floats with up to 17 significant digits, booleans "true"/"false".
 *
 * Owns every string it returns (freed by conffile_free). No global state;
 * any thread, one file per call.
 */
#ifndef XTREAMD_CONFIG_CONFFILE_H
#define XTREAMD_CONFIG_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>

enum conf_type { CONF_STRING, CONF_INT, CONF_FLOAT, CONF_BOOL, CONF_EMPTY };

struct conf_entry {
    const char *file;   /* the file it was read from (an @include names its own) */
    int line;           /* 1-based */
    const char *key;    /* top-level name ("listen", "live") */
    const char *member; /* for a group: the member name ("watchdog"); else NULL */
    const char *value;  /* NULL for CONF_EMPTY */
    enum conf_type type;
    bool in_list; /* an element of a list or array */
};

struct conffile {
    struct conf_entry *v;
    size_t n;
    /* private */
    char **owned;
    size_t nowned, capowned, cap;
};

#define CONFFILE_MAX_ENTRIES 4096 /* more is an error (a bound, not a limit anyone meets) */

/* Reads PATH. 0, or -errno with "PATH:LINE: reason" (or "PATH: reason" when
 * the file cannot be opened: -ENOENT for a missing file) in err. */
int conffile_read(const char *path, struct conffile *out, char *err, size_t errlen);
/* The same over text in memory (len bytes, need not be NUL-terminated);
 * NAME is used in errors and entries. */
int conffile_parse(const char *name, const char *text, size_t len, struct conffile *out, char *err,
                   size_t errlen);
void conffile_free(struct conffile *f);
/* "string", "integer", "float", "boolean", "empty". */
const char *conffile_type_name(enum conf_type t);

#endif

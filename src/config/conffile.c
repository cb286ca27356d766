/*
 * config/conffile: libconfig (Debian's libconfig-dev) does the parsing and
 * keeps each setting's line; this file walks the tree it builds and flattens
 * it into entries (see the header). Nothing here interprets a key.
 */
#include "config/conffile.h"

#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libconfig 1.5 (Debian bookworm) loses its scanner's string buffer when a
 * file ends inside a string or on some syntax errors (a few bytes, once per
 * bad file, inside the library). LeakSanitizer builds (make asan, the fuzz
 * target) would report it on every such file: it is suppressed by module
 * name here, for those builds only (a release build never calls this). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

static int own(struct conffile *f, const char *s, const char **out)
{
    if (!s) {
        *out = NULL;
        return 0;
    }
    if (f->nowned == f->capowned) {
        size_t cap = f->capowned ? f->capowned * 2 : 32;
        char **n = realloc(f->owned, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        f->owned = n;
        f->capowned = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return -ENOMEM;
    f->owned[f->nowned++] = copy;
    *out = copy;
    return 0;
}

struct walk {
    struct conffile *f;
    const char *name; /* the top file's name, for settings libconfig read from it */
    char *err;
    size_t errlen;
    /* The last file name interned, so that each entry does not copy it. */
    const char *last_src, *last_file;
};

static const char *where_file(const struct walk *w, const config_setting_t *s)
{
    const char *src = config_setting_source_file(s);
    return src ? src : w->name;
}

/* "FILE:LINE: WHAT: WHY" */
static int fail(struct walk *w, const config_setting_t *s, const char *what, const char *why)
{
    snprintf(w->err, w->errlen, "%s:%u: %s: %s", where_file(w, s), config_setting_source_line(s),
             what, why);
    return -EINVAL;
}

static int intern_file(struct walk *w, const config_setting_t *s, const char **out)
{
    const char *src = where_file(w, s);
    if (w->last_src && strcmp(w->last_src, src) == 0) {
        *out = w->last_file;
        return 0;
    }
    int rc = own(w->f, src, out);
    if (rc == 0) {
        w->last_src = *out;
        w->last_file = *out;
    }
    return rc;
}

static int add(struct walk *w, const config_setting_t *s, const char *key, const char *member,
               const char *value, enum conf_type type, bool in_list)
{
    struct conffile *f = w->f;
    if (f->n == CONFFILE_MAX_ENTRIES)
        return fail(w, s, key, "more than 4096 values in one file");
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 32;
        struct conf_entry *n = realloc(f->v, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        f->v = n;
        f->cap = cap;
    }
    struct conf_entry e = {.line = config_setting_source_line(s), .type = type, .in_list = in_list};
    int rc = intern_file(w, s, &e.file);
    if (rc == 0)
        rc = own(f, key, &e.key);
    if (rc == 0)
        rc = own(f, member, &e.member);
    if (rc == 0)
        rc = own(f, value, &e.value);
    if (rc)
        return rc;
    f->v[f->n++] = e;
    return 0;
}

/* A scalar setting as text; -EINVAL when s is a group, list or array. */
static int scalar(const config_setting_t *s, char *buf, size_t len, enum conf_type *type)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING: {
        const char *v = config_setting_get_string(s);
        snprintf(buf, len, "%s", v ? v : "");
        if (v && strlen(v) >= len)
            return -E2BIG;
        *type = CONF_STRING;
        return 0;
    }
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(buf, len, "%lld", (long long)config_setting_get_int64(s));
        *type = CONF_INT;
        return 0;
    case CONFIG_TYPE_FLOAT:
        snprintf(buf, len, "%.17g", config_setting_get_float(s));
        *type = CONF_FLOAT;
        return 0;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false");
        *type = CONF_BOOL;
        return 0;
    default:
        return -EINVAL;
    }
}

#define MAX_VALUE 4096 /* a longer string value is an error */

static int scalar_entry(struct walk *w, const config_setting_t *s, const char *key,
                        const char *member, bool in_list, const char *what)
{
    char buf[MAX_VALUE];
    enum conf_type type;
    int rc = scalar(s, buf, sizeof(buf), &type);
    if (rc == -E2BIG)
        return fail(w, s, what, "value longer than 4095 bytes");
    if (rc)
        return fail(w, s, what,
                    in_list ? "a list may hold only single values"
                            : "a group may hold only single values and lists");
    return add(w, s, key, member, buf, type, in_list);
}

static int walk_list(struct walk *w, const config_setting_t *s, const char *key, const char *member,
                     const char *what)
{
    int n = config_setting_length(s);
    if (n == 0)
        return add(w, s, key, member, NULL, CONF_EMPTY, true);
    for (int i = 0; i < n; i++) {
        int rc = scalar_entry(w, config_setting_get_elem(s, (unsigned)i), key, member, true, what);
        if (rc)
            return rc;
    }
    return 0;
}

static int walk_top(struct walk *w, const config_setting_t *s)
{
    const char *key = config_setting_name(s);
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST)
        return walk_list(w, s, key, NULL, key);
    if (t != CONFIG_TYPE_GROUP)
        return scalar_entry(w, s, key, NULL, false, key);
    int n = config_setting_length(s);
    if (n == 0)
        return add(w, s, key, NULL, NULL, CONF_EMPTY, false);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        const char *mname = config_setting_name(m);
        char what[256];
        snprintf(what, sizeof(what), "%s.%s", key, mname ? mname : "?");
        int mt = config_setting_type(m);
        int rc = mt == CONFIG_TYPE_ARRAY || mt == CONFIG_TYPE_LIST
                     ? walk_list(w, m, key, mname, what)
                     : scalar_entry(w, m, key, mname, false, what);
        if (rc)
            return rc;
    }
    return 0;
}

static int walk_root(struct walk *w, config_t *cfg)
{
    const config_setting_t *root = config_root_setting(cfg);
    int n = config_setting_length(root);
    for (int i = 0; i < n; i++) {
        int rc = walk_top(w, config_setting_get_elem(root, (unsigned)i));
        if (rc)
            return rc;
    }
    return 0;
}

static void parse_error(const config_t *cfg, const char *name, char *err, size_t errlen)
{
    const char *file = config_error_file(cfg);
    const char *text = config_error_text(cfg);
    snprintf(err, errlen, "%s:%d: %s", file ? file : name, config_error_line(cfg),
             text ? text : "syntax error");
}

static int finish(config_t *cfg, const char *name, struct conffile *out, char *err, size_t errlen)
{
    struct walk w = {.f = out, .name = name, .err = err, .errlen = errlen};
    int rc = walk_root(&w, cfg);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "%s: out of memory", name);
    if (rc)
        conffile_free(out);
    return rc;
}

int conffile_read(const char *path, struct conffile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    /* @include "x.conf" is read relative to this file's folder. */
    char *copy = strdup(path);
    if (!copy) {
        fclose(fp);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    config_t cfg;
    config_init(&cfg);
    config_set_include_dir(&cfg, dirname(copy));
    int rc = 0;
    if (config_read(&cfg, fp) != CONFIG_TRUE) {
        parse_error(&cfg, path, err, errlen);
        rc = -EINVAL;
    } else {
        rc = finish(&cfg, path, out, err, errlen);
    }
    config_destroy(&cfg);
    free(copy);
    fclose(fp);
    return rc;
}

int conffile_parse(const char *name, const char *text, size_t len, struct conffile *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s: holds a NUL byte", name);
        return -EINVAL;
    }
    char *buf = malloc(len + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -ENOMEM;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    config_t cfg;
    config_init(&cfg);
    int rc;
    if (config_read_string(&cfg, buf) != CONFIG_TRUE) {
        parse_error(&cfg, name, err, errlen);
        rc = -EINVAL;
    } else {
        rc = finish(&cfg, name, out, err, errlen);
    }
    config_destroy(&cfg);
    free(buf);
    return rc;
}

void conffile_free(struct conffile *f)
{
    for (size_t i = 0; i < f->nowned; i++)
        free(f->owned[i]);
    free(f->owned);
    free(f->v);
    memset(f, 0, sizeof(*f));
}

const char *conffile_type_name(enum conf_type t)
{
    switch (t) {
    case CONF_STRING:
        return "string";
    case CONF_INT:
        return "integer";
    case CONF_FLOAT:
        return "float";
    case CONF_BOOL:
        return "boolean";
    case CONF_EMPTY:
        return "empty";
    }
    return "?";
}

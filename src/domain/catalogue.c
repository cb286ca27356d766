/*
 * domain/catalogue: see catalogue.h.
 */
#include "domain/catalogue.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "domain/text.h"

int dom_kind_parse(const char *field, const char *s, const char **kind, struct dom_error *e)
{
    static const char *const kinds[] = {"live", "movie", "series"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(s, kinds[i]) == 0) {
            *kind = kinds[i];
            return 0;
        }
    }
    return dom_err_field(e, field, "format",
                         "invalid kind '%.32s' (expected live, movie or series)", s);
}

static int check_bouquet(const struct dom_bouquet_in *in, const char **kind, struct dom_error *e)
{
    *kind = NULL;
    if (!in->name)
        dom_err_field(e, "name", "required", "is required");
    else
        dom_check_text("name", in->name, DOM_BOUQUET_NAME_MAX, false, e);
    if (in->kind)
        dom_kind_parse("kind", in->kind, kind, e);
    if (in->all && in->category_count)
        dom_err_field(e, "categories", "conflict",
                      "a bouquet with everything (all) has no "
                      "categories");
    if (in->all && in->kind)
        dom_err_field(e, "kind", "conflict", "applies to categories, not to all");
    if (in->category_count > DOM_BOUQUET_CATEGORIES_MAX)
        dom_err_field(e, "categories", "too_long", "at most %d categories",
                      DOM_BOUQUET_CATEGORIES_MAX);
    for (size_t i = 0; i < in->category_count && i < DOM_BOUQUET_CATEGORIES_MAX; i++) {
        if (!*in->categories[i]) {
            char f[48];
            snprintf(f, sizeof(f), "categories[%zu]", i);
            dom_err_field(e, f, "required", "empty category name");
        }
    }
    return e->status ? -EINVAL : 0;
}

int dom_bouquet_create(struct db *db, const struct dom_bouquet_in *in, int64_t *id, size_t *items,
                       struct dom_error *e)
{
    const char *kind;
    *items = 0;
    if (check_bouquet(in, &kind, e))
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    rc = db_bouquet_insert(db, in->name, id);
    if (rc == -EEXIST) {
        dom_err_set(e, 409, DOM_E_EXISTS, "bouquet '%s' already exists", in->name);
        dom_err_field(e, "name", "conflict", "bouquet '%s' already exists", in->name);
        goto fail;
    }
    if (rc)
        goto dberr;
    if (in->all) {
        if ((rc = db_bouquet_add_item(db, *id, "all", 0)))
            goto dberr;
        *items = 1;
    }
    for (size_t i = 0; i < in->category_count; i++) {
        struct db_category *c;
        size_t n;
        if ((rc = db_category_list(db, kind, in->categories[i], &c, &n)))
            goto dberr;
        if (n == 0) {
            char f[48];
            snprintf(f, sizeof(f), "categories[%zu]", i);
            dom_err_set(e, 422, DOM_E_REFERENCE, "unknown category '%s'", in->categories[i]);
            dom_err_field(e, f, "unknown", "unknown %s%scategory '%s' (see xtreamd category list)",
                          kind ? kind : "", kind ? " " : "", in->categories[i]);
            rc = -EINVAL;
            db_category_list_free(c, n);
            goto fail;
        }
        for (size_t k = 0; k < n && rc == 0; k++)
            rc = db_bouquet_add_item(db, *id, "category", c[k].id);
        db_category_list_free(c, n);
        if (rc)
            goto dberr;
        *items += n;
    }
    if ((rc = db_commit(db)))
        goto dberr;
    return 0;
dberr:
    rc = dom_err_internal(e, rc, "creating the bouquet");
fail:
    db_rollback(db);
    return rc;
}

int dom_bouquet_list(struct db *db, struct db_bouquet **out, size_t *n, struct dom_error *e)
{
    int rc = db_bouquet_list(db, out, n);
    return rc ? dom_err_internal(e, rc, "listing bouquets") : 0;
}

int dom_bouquet_delete(struct db *db, const char *name, struct dom_error *e)
{
    int rc = db_bouquet_delete(db, name);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no bouquet '%s'", name);
    return rc ? dom_err_internal(e, rc, "deleting the bouquet") : 0;
}

int dom_category_list(struct db *db, const char *kind, struct db_category **out, size_t *n,
                      struct dom_error *e)
{
    const char *k = NULL;
    if (kind && dom_kind_parse("kind", kind, &k, e))
        return -EINVAL;
    int rc = db_category_list(db, k, NULL, out, n);
    return rc ? dom_err_internal(e, rc, "listing categories") : 0;
}

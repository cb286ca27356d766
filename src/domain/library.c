/*
 * domain/library: see library.h.
 */
#include "domain/library.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db/library.h"
#include "domain/content.h"
#include "domain/vod_paths.h"

int dom_library_root_add(struct db *db, const char *dir, const char *data_dir, struct dom_error *e)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(dir, real) || stat(real, &st) != 0) {
        int err = errno;
        dom_err_set(e, 422, DOM_E_REFERENCE, "cannot use the folder");
        return dom_err_field(e, "path", "not_found", "'%s': %s", dir, strerror(err));
    }
    char *data_real = realpath(data_dir, NULL);
    bool inside =
        data_real && (strcmp(real, data_real) == 0 || dom_vod_path_under(real, data_real) ||
                      dom_vod_path_under(data_real, real));
    free(data_real);
    if (!S_ISDIR(st.st_mode) || inside) {
        dom_err_set(e, 422, DOM_E_REFERENCE, "cannot use the folder");
        return dom_err_field(e, "path", inside ? "forbidden" : "format", "'%s': %s", dir,
                             inside ? "holds or lies in the data directory, which is never served"
                                    : "not a folder");
    }
    int rc = db_library_root_add(db, real);
    return rc ? dom_err_internal(e, rc, "adding the library root") : 0;
}

int dom_library_root_remove(struct db *db, const char *dir, struct dom_error *e)
{
    int rc = db_library_root_remove(db, dir);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "'%s' is not a library root", dir);
    return rc ? dom_err_internal(e, rc, "removing the library root") : 0;
}

int dom_library_roots(struct db *db, char ***roots, size_t *n, struct dom_error *e)
{
    int rc = db_library_roots(db, roots, n);
    return rc ? dom_err_internal(e, rc, "listing library roots") : 0;
}

int dom_library_category(struct db *db, bool series, const char *name, int64_t *id,
                         struct dom_error *e)
{
    if (!*name)
        return dom_err_field(e, "category", "required", "must not be empty");
    /* The category rules are the catalogue service's (domain/content). */
    return dom_category_ensure(db, series ? "series" : "movie", name, "category", id, e);
}

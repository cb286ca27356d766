#include "domain/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dom_error_reset(struct dom_error *e)
{
    memset(e, 0, sizeof(*e));
}

int dom_err_field(struct dom_error *e, const char *field, const char *code, const char *fmt, ...)
{
    if (!e->status) {
        e->status = 422;
        e->code = DOM_E_VALIDATION;
        snprintf(e->detail, sizeof(e->detail), "invalid input");
    }
    if (e->nfields >= DOM_MAX_FIELD_ERRORS) {
        e->dropped++;
        return -EINVAL;
    }
    struct dom_field_error *f = &e->fields[e->nfields++];
    snprintf(f->field, sizeof(f->field), "%s", field);
    snprintf(f->code, sizeof(f->code), "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int dom_status_errno(int status)
{
    switch (status) {
    case 404:
        return -ENOENT;
    case 409:
        return -EEXIST;
    case 401:
        return -EACCES;
    default:
        return status >= 400 && status < 500 ? -EINVAL : -EIO;
    }
}

int dom_err_set(struct dom_error *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    return dom_status_errno(status);
}

int dom_err_internal(struct dom_error *e, int rc, const char *what)
{
    if (rc >= 0)
        rc = -EIO;
    e->status = 500;
    e->code = DOM_E_INTERNAL;
    snprintf(e->detail, sizeof(e->detail), "database error %s (%s)", what, strerror(-rc));
    return rc;
}

const char *dom_status_title(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    case 409:
        return "Conflict";
    case 422:
        return "Unprocessable Content";
    case 500:
        return "Internal Server Error";
    default:
        return "Error";
    }
}

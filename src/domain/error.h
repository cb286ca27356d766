/*
 * domain/error: the error every domain service reports.
 *
 * A failed service call returns a negative errno AND fills a struct
 * dom_error: an HTTP-ish status (404, 409, 422, 500), a stable code string
 * (DOM_E_*) and, for bad input, one {field, code, message} per rejected field.
 * The admin API maps it one to one onto RFC 9457 application/problem+json
 * (status, title = dom_status_title(status), detail, code, errors[]); the CLI
 * prints "cmd: --option: message" per field (cli/cli.c cli_dom_fail).
 *
 * Field names are the snake_case names of the future JSON bodies
 * ("max_connections", "bouquets[2]"); codes of fields are short stable words
 * ("required", "too_long", "range", "format", "charset", "unknown",
 * "conflict"). Bounded: at most DOM_MAX_FIELD_ERRORS fields are kept, the
 * rest are counted in `dropped` (never silently lost).
 * Owns nothing on the heap. Threading: one error per call, any thread.
 */
#ifndef XTREAMD_DOMAIN_ERROR_H
#define XTREAMD_DOMAIN_ERROR_H

#include <stddef.h>

#define DOM_MAX_FIELD_ERRORS 8

/* Stable codes (the `code` member of problem+json). */
#define DOM_E_MALFORMED     "MALFORMED_BODY"      /* 400: not a JSON object */
#define DOM_E_VALIDATION    "VALIDATION_FAILED"   /* 422: see fields */
#define DOM_E_NOT_FOUND     "NOT_FOUND"           /* 404: the addressed entity */
#define DOM_E_EXISTS        "ALREADY_EXISTS"      /* 409: a unique name is taken */
#define DOM_E_REFERENCE     "UNKNOWN_REFERENCE"   /* 422: a named bouquet/category... is absent */
#define DOM_E_REJECTED      "INPUT_REJECTED"      /* 422: an import's lines were refused */
#define DOM_E_INTERNAL      "INTERNAL"            /* 500: database or memory failure */
#define DOM_E_CREDENTIALS   "INVALID_CREDENTIALS" /* 401: unknown, wrong or disabled login */
#define DOM_E_LAST_ADMIN    "LAST_ADMIN"    /* 409: would leave no enabled admin-role account */
#define DOM_E_NEVER_EXPIRES "NEVER_EXPIRES" /* 409: extending a line without an expiry */

struct dom_field_error {
    char field[48];
    char code[24];
    char message[256];
};

struct dom_error {
    int status;       /* 0 while no error */
    const char *code; /* a DOM_E_* string; NULL while no error */
    char detail[256]; /* one human sentence */
    struct dom_field_error fields[DOM_MAX_FIELD_ERRORS];
    size_t nfields;
    size_t dropped; /* field errors beyond DOM_MAX_FIELD_ERRORS */
};

void dom_error_reset(struct dom_error *e);

/* Adds a field error; the first one also makes e a 422 DOM_E_VALIDATION
 * (unless e already has a status). Returns -EINVAL. */
__attribute__((format(printf, 4, 5))) int dom_err_field(struct dom_error *e, const char *field,
                                                        const char *code, const char *fmt, ...);

/* Sets status, code and detail (replacing any earlier status). Returns the
 * errno of the status: -ENOENT (404), -EEXIST (409), -EACCES (401), -EINVAL
 * (other 4xx), -EIO. */
__attribute__((format(printf, 4, 5))) int dom_err_set(struct dom_error *e, int status,
                                                      const char *code, const char *fmt, ...);

/* A database/memory failure rc (< 0) while doing `what`: 500 DOM_E_INTERNAL.
 * Returns rc (or -EIO when rc >= 0). */
int dom_err_internal(struct dom_error *e, int rc, const char *what);

/* The errno a status maps to (see dom_err_set). */
int dom_status_errno(int status);
/* The RFC 9110 reason phrase for the problem+json title. */
const char *dom_status_title(int status);

#endif

/*
 * domain/text: the check of free text (names, messages) every service uses.
 * Pure; any thread.
 */
#ifndef XTREAMD_DOMAIN_TEXT_H
#define XTREAMD_DOMAIN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/error.h"

/* s is <= max bytes of UTF-8 without control characters (and not empty
 * unless allow_empty): 0, or -EINVAL with a field error on `field` in e. */
int dom_check_text(const char *field, const char *s, size_t max, bool allow_empty,
                   struct dom_error *e);

/* The same for multi-line text (notes): newline, carriage return and tab are
 * allowed, other control characters are not. */
int dom_check_multiline(const char *field, const char *s, size_t max, struct dom_error *e);

#endif

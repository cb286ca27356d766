/*
 * domain/text: checks of free text shared by the services (names, messages).
 */
#include "domain/text.h"

#include <jansson.h>
#include <string.h>

static int check_text(const char *field, const char *s, size_t max, bool allow_empty,
                      bool multiline, struct dom_error *e)
{
    size_t n = strlen(s);
    if (n == 0 && !allow_empty)
        return dom_err_field(e, field, "required", "must not be empty");
    if (n > max)
        return dom_err_field(e, field, "too_long", "longer than %zu bytes", max);
    for (size_t i = 0; i < n; i++) {
        if (multiline && (s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
            continue;
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return dom_err_field(e, field, "charset", "control character at byte %zu", i + 1);
    }
    json_t *j = json_string(s); /* NULL when s is not valid UTF-8 */
    if (!j)
        return dom_err_field(e, field, "charset", "not valid UTF-8");
    json_decref(j);
    return 0;
}

int dom_check_text(const char *field, const char *s, size_t max, bool allow_empty,
                   struct dom_error *e)
{
    return check_text(field, s, max, allow_empty, false, e);
}

int dom_check_multiline(const char *field, const char *s, size_t max, struct dom_error *e)
{
    return check_text(field, s, max, true, true, e);
}

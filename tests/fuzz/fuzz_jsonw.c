/* libFuzzer target: whatever bytes a catalogue string holds, the JSON writer's
 * output must parse as JSON and decode back to the input where it was valid UTF-8. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "k");
    jsonw_strn(&w, (const char *)data, size);
    jsonw_obj_end(&w);
    if (b.err) {
        buf_free(&b);
        return 0;
    }
    json_error_t err;
    json_t *v = json_loadb(b.data, b.len, JSON_ALLOW_NUL, &err);
    if (!v)
        abort();
    json_t *s = json_object_get(v, "k");
    if (!json_is_string(s))
        abort();
    /* valid UTF-8 input must round-trip exactly */
    if (json_string_length(s) == size && memcmp(json_string_value(s), data, size) != 0)
        abort();
    json_decref(v);
    buf_free(&b);
    return 0;
}

/* libFuzzer target for config/conffile and the file layer of serve's
 * settings (cli/serve_config.c): any bytes as a configuration file. Must
 * never crash, leak or read out of bounds; a refused file has an error that
 * names the file (and, past the file's own errors, a line); an accepted
 * file's entries are applied to fresh settings, each either applied or
 * refused with FILE:LINE. @include is skipped: it reads other files. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/serve_config.h"
#include "config/conffile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 || memmem(data, size, "@include", 8))
        return 0;
    struct conffile f;
    char err[8192] = "";
    if (conffile_parse("f.conf", (const char *)data, size, &f, err, sizeof(err))) {
        if (strncmp(err, "f.conf", 6) != 0)
            abort();
        return 0;
    }
    for (size_t i = 0; i < f.n; i++) {
        const struct conf_entry *e = &f.v[i];
        if (!e->key || !e->file || e->line < 0 || (e->type == CONF_EMPTY) != (e->value == NULL))
            abort();
    }
    struct serve_settings s;
    serve_settings_init(&s);
    if (serve_config_apply_file(&s, &f, err, sizeof(err)) && strncmp(err, "f.conf:", 7) != 0)
        abort();
    serve_settings_free(&s);
    conffile_free(&f);
    return 0;
}

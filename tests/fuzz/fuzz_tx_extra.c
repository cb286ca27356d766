/* libFuzzer target for media/profile's extra_args allow-list: any bytes must
 * neither crash nor be accepted unless splitting and rendering agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tx_error e;
    int rc = tx_extra_check((const char *)data, size, &e);
    if (rc != 0 || size >= TX_EXTRA_MAX || memchr(data, 0, size))
        return 0;
    struct tx_profile p;
    tx_profile_init(&p);
    memcpy(p.name, "f", 2);
    memcpy(p.extra_args, data, size);
    p.extra_args[size] = '\0';
    const char *tok[TX_EXTRA_TOK];
    char buf[TX_EXTRA_MAX + TX_EXTRA_TOK];
    int n = tx_extra_split(p.extra_args, buf, sizeof(buf), tok, TX_EXTRA_TOK);
    if (n < 0 || n % 2)
        abort(); /* accepted but not splittable into option/value pairs */
    for (int i = 0; i < n; i++)
        if (strchr(tok[i], '/') || (i % 2 == 0 && tok[i][0] != '-'))
            abort();
    struct tx_argv a;
    if (tx_render(&p, 0, &a) != 0)
        abort();
    return 0;
}

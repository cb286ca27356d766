/* libFuzzer target for media/progress: any bytes, split into lines, must not
 * crash, and a whole block never publishes a negative count or speed other
 * than the "unknown" marker. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/progress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ffprogress p;
    ffprogress_init(&p);
    const char *s = (const char *)data;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || s[i] == '\n') {
            int rc = ffprogress_line(&p, s + start, i - start);
            if (rc < 0 || rc > 2)
                abort();
            if ((p.last.speed < 0 && p.last.speed != -1) ||
                (p.last.frames < 0 && p.last.frames != -1) ||
                (p.last.drop_frames < 0 && p.last.drop_frames != -1))
                abort();
            start = i + 1;
        }
    }
    return 0;
}

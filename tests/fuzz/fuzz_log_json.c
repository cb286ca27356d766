/* libFuzzer target for the JSON-lines log format (core/log.h): whatever the
 * message bytes, a line is exactly one line, parses as a JSON object with
 * the four string members time, level, tag and message, and the message is
 * the text format's escaping of the input (so both formats agree). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

static int rd = -1, tr = -1;

static void setup(void)
{
    char path[] = "/tmp/fuzz_log_json-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || log_open_file(path) != 0)
        abort();
    rd = fd;
    tr = dup(fd);
    unlink(path);
    log_set_format(LOG_FORMAT_JSON);
    log_set_level(LOG_DEBUG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (rd < 0)
        setup();
    if (size > 1500 || memchr(data, '\0', size))
        return 0; /* a message is a C string, cut at 2 KiB */
    if (ftruncate(tr, 0) != 0)
        abort();
    log_info("fuzz", "%.*s", (int)size, (const char *)data);
    static char line[65536];
    ssize_t n = pread(rd, line, sizeof(line) - 1, 0);
    if (n <= 0 || line[n - 1] != '\n' || memchr(line, '\n', (size_t)n - 1))
        abort();
    line[n] = '\0';
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    if (!json_is_object(j) || json_object_size(j) != 4)
        abort();
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (!json_string_value(json_object_get(j, "time")) ||
        strcmp(json_string_value(json_object_get(j, "level")), "info") != 0 ||
        strcmp(json_string_value(json_object_get(j, "tag")), "fuzz") != 0 || !msg)
        abort();
    struct buf want = BUF_INIT(0);
    log_escape(&want, data, size, false);
    if (strcmp(msg, want.data ? want.data : "") != 0)
        abort();
    buf_free(&want);
    json_decref(j);
    return 0;
}

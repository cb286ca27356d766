/* domain/vod_paths: see vod_paths.h. */
#include "domain/vod_paths.h"

#include <string.h>

bool dom_vod_path_under(const char *real, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 1 && dir[0] == '/')
        return real[0] == '/' && real[1] != '\0';
    return strncmp(real, dir, n) == 0 && real[n] == '/' && real[n + 1] != '\0';
}

const char *dom_vod_path_refusal(const char *real, char *const *roots, size_t nroots,
                                 const char *data_real)
{
    if (!real || real[0] != '/')
        return "not an absolute path";
    if (data_real && (strcmp(real, data_real) == 0 || dom_vod_path_under(real, data_real))) {
        size_t n = strlen(data_real);
        bool media = strncmp(real + n, "/media/", 7) == 0 && real[n + 7] != '\0';
        if (!media)
            return "inside the data directory (the database is never served)";
    }
    for (size_t i = 0; i < nroots; i++)
        if (roots[i] && dom_vod_path_under(real, roots[i]))
            return NULL;
    return "outside the library roots (add one with 'xtreamd vod root add DIR')";
}

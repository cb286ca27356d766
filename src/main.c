/* The `xtreamd` program: everything happens in the command line (src/cli). */
#include <sys/stat.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
    /* Everything xtreamd creates (the database and its WAL/SHM files, which
     * SQLite creates from the process umask, serve.json, demo media) is
     * owner-only: the database holds subscriber passwords in clear. */
    umask(077);
    return cli_main(argc, argv);
}

/* cmd_stubs.c — commands whose issue has not landed yet. Each prints what it will do and which
 * part brings it, and exits 2. An issue that implements a command deletes its stub here and adds
 * coordinator/cmd_NAME.c. */
#include "sf_cli.h"

int sf_cmd_submit(int argc, char **argv)
{
    (void)argc; (void)argv;
    return sf_cli_not_built("submit", "Slurm submission arrives with the farm core");
}

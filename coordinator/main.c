/* main.c — the shotfarm binary. The only place that exits; everything else is sf_cli_main
 * (cli.c), which returns the process's exit code. */
#include "sf_cli.h"

int main(int argc, char **argv)
{
    return sf_cli_main(argc, argv);
}

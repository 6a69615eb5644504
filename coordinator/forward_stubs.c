/* forward_stubs.c — forward components whose part has not landed yet. The work that implements
 * one deletes its stub here and adds coordinator/forward_<component>.c. */
#include "sf_cli.h"
#include "sf_forward.h"

int sf_forward_text(int argc, char **argv)
{
    (void)argc; (void)argv;
    return sf_cli_not_built("forward text", "arrives with the umT5 encoder");
}

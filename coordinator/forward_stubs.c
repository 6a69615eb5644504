/* forward_stubs.c — forward components whose part has not landed yet. The work that implements
 * one deletes its stub here and adds coordinator/forward_<component>.c. */
#include "sf_cli.h"
#include "sf_forward.h"

int sf_forward_vae_decode(int argc, char **argv)
{
    (void)argc; (void)argv;
    return sf_cli_not_built("forward vae-decode", "arrives with the Wan-VAE");
}

int sf_forward_vae_encode(int argc, char **argv)
{
    (void)argc; (void)argv;
    return sf_cli_not_built("forward vae-encode", "arrives with the Wan-VAE");
}

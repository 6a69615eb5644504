/* cmd_forward.c — `shotfarm forward COMPONENT ...`: dispatches to one model component
 * (sf_forward.h). Part of the minimal build: it needs only node/, kernels/ and safetensors. */
#include "sf_cli.h"
#include "sf_forward.h"
#include "sf_status.h"

#include <string.h>

static const struct {
    const char *name, *summary;
    int (*run)(int, char **);
} components[] = {
    {"dit", "one DiT forward pass: x, t, context -> out", sf_forward_dit},
    {"denoise", "the sampling loop: noise, context, negative_context -> latent", sf_forward_denoise},
    {"text", "umT5 encoder: input_ids, attention_mask -> last_hidden_state", sf_forward_text},
    {"vae-decode", "Wan-VAE decode: z -> x (video in [-1, 1])", sf_forward_vae_decode},
    {"vae-encode", "Wan-VAE encode: x -> z (latent mean)", sf_forward_vae_encode},
    {"vace", "Wan2.1-VACE conditioning: refs, video, mask -> vace", sf_forward_vace},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: shotfarm forward COMPONENT --model DIR -i IN.safetensors -o OUT.safetensors "
               "[options]\n       shotfarm forward COMPONENT --help\n\ncomponents:\n");
    for (size_t i = 0; i < sizeof components / sizeof components[0]; i++)
        fprintf(f, "  %-11s %s\n", components[i].name, components[i].summary);
    fprintf(f, "\nTensor names and layouts of IN and OUT: docs/forward.md\n");
}

int sf_cmd_forward(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SF_E_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return SF_OK;
    }
    for (size_t i = 0; i < sizeof components / sizeof components[0]; i++)
        if (strcmp(argv[1], components[i].name) == 0) return components[i].run(argc - 1, argv + 1);
    return sf_cli_usage_error("forward", "unknown component '%s' (dit, denoise, text, vae-decode, "
                              "vae-encode, vace)", argv[1]);
}

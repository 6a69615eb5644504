/* sf_forward.h — `shotfarm forward COMPONENT`: run one model component on a safetensors input
 * and write a safetensors output (docs/forward.md). Each component lives in its own
 * coordinator/forward_<component>.c. The golden tests go through these same functions. */
#ifndef SF_FORWARD_H
#define SF_FORWARD_H

/* argv[0] is the component name ("dit"); same conventions as sf_cmd_* (sf_cli.h). */
int sf_forward_dit(int argc, char **argv);
int sf_forward_denoise(int argc, char **argv);
int sf_forward_text(int argc, char **argv);
int sf_forward_vae_decode(int argc, char **argv);
int sf_forward_vae_encode(int argc, char **argv);

#endif

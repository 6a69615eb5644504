/* test_vae_names.c — the VAE's tensor list against diffusers: every name and shape of
 * AutoencoderKLWan() (base width 96, tests/fixtures/vae/names_full.txt from
 * scripts/golden/vae.py) and nothing else; the official names of the structural cases the
 * conversion script special-cases; and config.json errors. (The whole official map is proven by
 * loading tests/fixtures/vae/official, written from WanVAE_'s own state_dict, in vae_golden.) */
#define _POSIX_C_SOURCE 200809L
#include "sf_status.h"
#include "sf_test.h"
#include "sf_vae.h"
#include "vae_cases.h"
#include "safetensors/capture.h"

#include <stdlib.h>
#include <string.h>

static const struct sf_vae_tensor *find(const struct sf_vae_tensor *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return &t[i];
    return NULL;
}

static void check_official(const struct sf_vae_tensor *t, int n, const char *name,
                           const char *official)
{
    const struct sf_vae_tensor *e = find(t, n, name);
    CHECK(e != NULL);
    if (e) CHECK_STR(e->official, official);
}

static void config_error(const char *json, const char *needle)
{
    char path[] = "/tmp/sf_vae_cfgXXXXXX", msg[1024];
    int fd = mkstemp(path);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "w");
    fputs(json, f);
    fclose(f);
    struct sf_vae_config c;
    FILE *tmp;
    int saved = capture_begin(&tmp);
    int st = sf_vae_config_read(path, &c);
    capture_end(tmp, saved, msg, sizeof msg);
    CHECK(st != SF_OK);
    const char *needles[] = {path, needle, NULL};
    CHECK(one_line_with(needle, msg, needles));
    unlink(path);
}

int main(void)
{
    struct sf_vae_config cfg;
    sf_vae_config_default(&cfg, 96);
    int n = sf_vae_tensor_list(&cfg, NULL, 0);
    struct sf_vae_tensor *t = calloc((size_t)n, sizeof *t);
    CHECK_EQ_INT(sf_vae_tensor_list(&cfg, t, n), n);

    char path[1200], line[512];
    snprintf(path, sizeof path, "%s/names_full.txt", vae_fixtures());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    int lines = 0;
    while (f && fgets(line, sizeof line, f)) {
        char name[256], shape[128], mine[128] = "";
        if (sscanf(line, "%255s %127s", name, shape) != 2) continue;
        lines++;
        const struct sf_vae_tensor *e = find(t, n, name);
        if (!e) {
            fprintf(stderr, "missing from sf_vae_tensor_list: %s\n", name);
            CHECK(e != NULL);
            continue;
        }
        for (int d = 0; d < e->ndim; d++)
            snprintf(mine + strlen(mine), sizeof mine - strlen(mine), "%s%lld", d ? "," : "",
                     (long long)e->shape[d]);
        if (strcmp(mine, shape)) fprintf(stderr, "%s: ours %s, diffusers %s\n", name, mine, shape);
        CHECK_STR(mine, shape);
    }
    if (f) fclose(f);
    CHECK_EQ_INT(lines, n); /* and nothing extra */
    CHECK_EQ_INT(n, 194);

    check_official(t, n, "decoder.up_blocks.1.resnets.0.conv_shortcut.weight",
                   "decoder.upsamples.4.shortcut.weight");
    check_official(t, n, "decoder.up_blocks.0.upsamplers.0.time_conv.weight",
                   "decoder.upsamples.3.time_conv.weight");
    check_official(t, n, "decoder.up_blocks.2.upsamplers.0.resample.1.bias",
                   "decoder.upsamples.11.resample.1.bias");
    check_official(t, n, "decoder.up_blocks.3.resnets.2.norm2.gamma",
                   "decoder.upsamples.14.residual.3.gamma");
    check_official(t, n, "encoder.down_blocks.5.time_conv.weight",
                   "encoder.downsamples.5.time_conv.weight");
    check_official(t, n, "encoder.mid_block.attentions.0.to_qkv.weight",
                   "encoder.middle.1.to_qkv.weight");
    check_official(t, n, "decoder.mid_block.resnets.1.conv2.bias",
                   "decoder.middle.2.residual.6.bias");
    check_official(t, n, "encoder.norm_out.gamma", "encoder.head.0.gamma");
    check_official(t, n, "decoder.conv_out.weight", "decoder.head.2.weight");
    check_official(t, n, "quant_conv.weight", "conv1.weight");
    check_official(t, n, "post_quant_conv.bias", "conv2.bias");
    check_official(t, n, "decoder.conv_in.weight", "decoder.conv1.weight");
    free(t);

    /* parameter count of the released VAE (WAN-FACTS § 8: 126.9M) */
    sf_vae_config_default(&cfg, 96);
    n = sf_vae_tensor_list(&cfg, NULL, 0);
    t = calloc((size_t)n, sizeof *t);
    sf_vae_tensor_list(&cfg, t, n);
    double params = 0;
    for (int i = 0; i < n; i++) {
        double e = 1;
        for (int d = 0; d < t[i].ndim; d++) e *= (double)t[i].shape[d];
        params += e;
    }
    fprintf(stderr, "VAE parameters: %.1fM\n", params / 1e6);
    CHECK(params > 126.5e6 && params < 127.3e6);
    free(t);

    config_error("{\"_class_name\": \"AutoencoderKL\"}", "AutoencoderKLWan");
    config_error("{\"is_residual\": true}", "is_residual");
    config_error("{\"dim_mult\": [1, 2, 4, 4], \"temperal_downsample\": [true]}",
                 "temperal_downsample");
    config_error("{\"base_dim\": 96,", "line");
    config_error("{\"z_dim\": 16, \"latents_std\": [1, 2]}", "latents_std");
    return sf_test_result("vae_names");
}

/* test_vace_golden.c — Wan2.1-VACE against the reference fixtures of scripts/golden/vace.py
 * (tests/fixtures/vace/), each case through the `shotfarm` binary, max|a-b| <= 1e-4 max|ref|:
 *   forward  v3-f32 (vace_layers [0, 1, 3] of 4: uneven, latent 3x6x10, 7 context rows padded to
 *            512, per-layer scale [1, 0.5, 1.5]), v2-bf16 (bf16 weights), v2-bf16-official (the
 *            official names, reference Wan2.1's VaceWanModel): `forward dit` with a `vace` tensor
 *   cond     WanVACEPipeline's own conditioning for references only (two: 24x40 and 48x16 on a
 *            32x32 canvas), a masked video only, both, and an 81-frame mask (nearest-exact time
 *            resampling): `forward vace`; the latent channels are also held to 1e-4 of their own
 *            maximum and the 64 mask channels must be equal bit for bit; and the references
 *            again as PNG files (`--ref`, decoded by FFmpeg)
 *   denoise  4 UniPC steps (diffusers schedule, shift 16, guidance 5) with the two references
 *            through WanVACEPipeline: `forward denoise`, both `latent` (reference frames dropped)
 *            and `latent_full` */
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_test_st.h"

#include <stdlib.h>
#include <sys/wait.h>

static char fx[1024], outdir[1024], vae[1024];
static const char *shotfarm;

static int sh(const char *cmd)
{
    int rc = system(cmd);
    CHECK(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    if (rc) fprintf(stderr, "failed: %s\n", cmd);
    return rc;
}

/* out's tensor `got_name` against ref's `ref_name`: shapes equal, 1e-4 max|ref|. With
 * split_mask (a conditioning): channels [0, 32) also against their own max, [32, 96) equal. */
static void compare(const char *what, const char *out, const char *got_name, const char *ref,
                    const char *ref_name, int split_mask)
{
    size_t ng = 0, nr = 0;
    int64_t sg[4] = {0}, sr[4] = {0};
    float *got = sf_test_load_f32(out, got_name, sg, &ng), *want = sf_test_load_f32(ref, ref_name,
                                                                                    sr, &nr);
    CHECK(got && want);
    if (got && want) {
        for (int d = 0; d < 4; d++)
            CHECK_EQ_INT(sg[d], sr[d]);
        CHECK_EQ_INT(ng, nr);
        if (ng == nr && sf_test_close_f32(what, got, want, ng, 1e-4))
            fprintf(stderr, "%s: ok, max|a-b| = %.3g max|ref|\n", what,
                    sf_test_rel_err(got, want, ng));
        if (split_mask && ng == nr && sr[0] == 96) sf_test_check_vace_cond(what, got, want, ng);
    }
    free(got);
    free(want);
}

static void forward_case(const char *name)
{
    char cmd[5000], out[1200], ref[1200], what[128];
    snprintf(out, sizeof out, "%s/%s.out.safetensors", outdir, name);
    snprintf(ref, sizeof ref, "%s/%s.ref.safetensors", fx, name);
    snprintf(cmd, sizeof cmd, "'%s' forward dit --model '%s/%s' -i '%s/%s.in.safetensors' -o '%s'",
             shotfarm, fx, name, fx, name, out);
    if (sh(cmd)) return;
    snprintf(what, sizeof what, "vace forward %s", name);
    compare(what, out, "out", ref, "out", 0);
}

static void cond_case(const char *name, const char *sizes)
{
    char cmd[5000], out[1200], ref[1200], what[128];
    snprintf(out, sizeof out, "%s/cond-%s.out.safetensors", outdir, name);
    snprintf(ref, sizeof ref, "%s/cond.ref.safetensors", fx);
    snprintf(cmd, sizeof cmd,
             "'%s' forward vace --vae '%s' -i '%s/cond-%s.in.safetensors' -o '%s' %s", shotfarm,
             vae, fx, name, out, sizes);
    if (sh(cmd)) return;
    snprintf(what, sizeof what, "vace conditioning %s", name);
    compare(what, out, "vace", ref, name, 1);
}

/* The references as image files: an IN without tensors, `--ref` twice; the reference is `refs`. */
#ifndef SF_TEST_NO_IMAGES
static void cond_file_case(const char *args)
{
    char cmd[8192], out[1200], ref[1200];
    snprintf(out, sizeof out, "%s/cond-files.out.safetensors", outdir);
    snprintf(ref, sizeof ref, "%s/cond.ref.safetensors", fx);
    snprintf(cmd, sizeof cmd, "'%s' forward vace --vae '%s' -i '%s/cond-files.in.safetensors' "
             "-o '%s' %s", shotfarm, vae, fx, out, args);
    if (sh(cmd)) return;
    compare("vace conditioning refs from PNG files", out, "vace", ref, "refs", 1);
}
#endif

static void denoise_case(void)
{
    char cmd[5000], out[1200], ref[1200];
    snprintf(out, sizeof out, "%s/denoise.out.safetensors", outdir);
    snprintf(ref, sizeof ref, "%s/denoise.ref.safetensors", fx);
    snprintf(cmd, sizeof cmd,
             "'%s' forward denoise --model '%s/v2-bf16' --vae '%s' -i '%s/denoise.in.safetensors' "
             "-o '%s' --schedule diffusers --shift 16 --steps 4 --guidance 5",
             shotfarm, fx, vae, fx, out);
    if (sh(cmd)) return;
    compare("vace denoise latent", out, "latent", ref, "latent", 0);
    compare("vace denoise latent_full", out, "latent_full", ref, "latent_full", 0);
}

int main(void)
{
    const char *src, *bin;
    if (sf_test_env(&src, &bin, &shotfarm)) return 1;
    snprintf(fx, sizeof fx, "%s/tests/fixtures/vace", src);
    snprintf(vae, sizeof vae, "%s/tests/fixtures/vae/small/vae", src);
    snprintf(outdir, sizeof outdir, "%s/tests/vace", bin);
    forward_case("v3-f32");
    forward_case("v2-bf16");
    forward_case("v2-bf16-official");
    cond_case("refs", "--frames 5 --height 32 --width 32");
    cond_case("video", "");
    cond_case("both", "");
    cond_case("mask81", "");
#ifndef SF_TEST_NO_IMAGES
    char files[2600];
    snprintf(files, sizeof files, "--ref '%s/ref0.png' --ref '%s/ref1.png' --frames 5 --height 32 "
             "--width 32", fx, fx);
    cond_file_case(files);
#endif
    denoise_case();
    return sf_test_result("vace_golden");
}

/* test_continue_golden.c — the conditioning a `continues:` shot receives against the reference
 * pipeline (fixtures of scripts/golden/continuation.py in tests/fixtures/continuation/): the
 * continued shot's decoded frames (`prev`, 9 frames of 32x32) are written into a shot file the
 * way a decode unit writes them, then sf_vace_frames_build (what render's denoise units call)
 * makes the video and mask of a 13-frame shot continuing it (5 frames; and again with last.png
 * as key art for its last frame) and sf_vace_build_encoded the conditioning, on the small random
 * VAE of tests/fixtures/vae/small. Compared with WanVACEPipeline's own preparation of the same
 * frames and mask: the 32 latent channels within 1e-4 of their max|ref|, the 64 mask channels
 * equal bit for bit. Also: a shot file too short to continue from, or of another size, is
 * refused. */
#define _POSIX_C_SOURCE 200809L
#include "sf_shot_file.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_test_st.h"
#include "sf_vace.h"
#include "sf_vace_frames.h"
#include "sf_vae.h"

#include <unistd.h>

#define FP 9
#define F 13
#define K 5
#define H 32
#define W 32

/* Writes frames [0, n) of prev (n, H, W, 3) into a shot file at path. */
static int write_shot(const char *path, const uint8_t *prev, int n)
{
    struct sf_shot_file *f = NULL;
    int st = sf_shot_file_open(path, W, H, 16, 1, &f);
    for (int i = 0; i < n && st == SF_OK; i++)
        st = sf_shot_file_write(f, prev + (size_t)i * H * W * 3);
    return st == SF_OK ? sf_shot_file_commit(f) : st;
}

static void check_case(struct sf_vae *vae, const char *shot, const char *last, const char *ref,
                       const char *name)
{
    float *video = NULL, *mask = NULL;
    const size_t n = sf_vace_cond_floats(F, H, W, 0);
    float *cond = malloc(n * sizeof *cond);
    CHECK_EQ_INT(sf_vace_frames_build(shot, K, NULL, last, F, H, W, &video, &mask), SF_OK);
    CHECK(video && mask && cond);
    if (video && mask && cond &&
        sf_vace_build_encoded(vae, F, H, W, video, mask, NULL, 0, cond) == SF_OK) {
        size_t nr = 0;
        int64_t sr[4];
        float *want = sf_test_load_f32(ref, name, sr, &nr);
        CHECK_EQ_INT(nr, n);
        if (want && nr == n) {
            char what[128];
            snprintf(what, sizeof what, "continuation %s", name);
            sf_test_check_vace_cond(what, cond, want, n);
        }
        free(want);
    } else {
        CHECK(0);
    }
    free(video);
    free(mask);
    free(cond);
}

int main(void)
{
    const char *src, *bin, *shotfarm;
    if (sf_test_env(&src, &bin, &shotfarm)) return 1;
    char fx[1024], vae_dir[1024], ref[1200], last[1200], prevf[1200], dir[] = "/tmp/sf-cont.XXXXXX";
    snprintf(fx, sizeof fx, "%s/tests/fixtures/continuation", src);
    snprintf(vae_dir, sizeof vae_dir, "%s/tests/fixtures/vae/small/vae", src);
    snprintf(ref, sizeof ref, "%s/cond.ref.safetensors", fx);
    snprintf(last, sizeof last, "%s/last.png", fx);
    snprintf(prevf, sizeof prevf, "%s/prev.safetensors", fx);
    if (!mkdtemp(dir)) return 1;

    /* the continued shot's frames, as its decode unit would have written them */
    struct sf_st *st = NULL;
    uint8_t *prev = malloc((size_t)FP * H * W * 3);
    CHECK_EQ_INT(sf_st_open(prevf, &st), SF_OK);
    const struct sf_st_tensor *t = st ? sf_st_find(st, "prev") : NULL;
    CHECK(t && t->n_elems == (size_t)FP * H * W * 3);
    if (t && prev)
        CHECK_EQ_INT(sf_st_read_all(t, SF_DTYPE_U8, prev, (size_t)FP * H * W * 3), SF_OK);
    sf_st_close(st);
    char shot[1100], short_shot[1100];
    snprintf(shot, sizeof shot, "%s/prev.mkv", dir);
    snprintf(short_shot, sizeof short_shot, "%s/short.mkv", dir);
    CHECK_EQ_INT(write_shot(shot, prev, FP), SF_OK);

    struct sf_vae *vae = NULL;
    CHECK_EQ_INT(sf_vae_load(vae_dir, &vae), SF_OK);
    if (vae) {
        check_case(vae, shot, NULL, ref, "continue");
        check_case(vae, shot, last, ref, "continue_last");
    }

    /* refused: fewer frames than to continue from, another frame size */
    float *video = NULL, *mask = NULL;
    CHECK_EQ_INT(write_shot(short_shot, prev, K - 1), SF_OK);
    CHECK_EQ_INT(sf_vace_frames_build(short_shot, K, NULL, NULL, F, H, W, &video, &mask),
                 SF_E_FORMAT);
    free(video), free(mask);
    video = mask = NULL;
    CHECK_EQ_INT(sf_vace_frames_build(shot, K, NULL, NULL, F, H, W + 16, &video, &mask),
                 SF_E_FORMAT);
    free(video), free(mask);
    /* nothing known: no video and no mask (the plain conditioning) */
    CHECK_EQ_INT(sf_vace_frames_build(NULL, K, NULL, NULL, F, H, W, &video, &mask), SF_OK);
    CHECK(video == NULL && mask == NULL);

    sf_vae_destroy(vae);
    free(prev);
    unlink(shot), unlink(short_shot);
    rmdir(dir);
    return sf_test_result("continue_golden");
}

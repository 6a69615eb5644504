/* test_denoise.c — `shotfarm forward denoise` (the binary) on the tiny DiT of
 * scripts/golden/sampler_dit.py (tests/fixtures/sampler/tiny-dit):
 *   golden   10-step CFG trajectories against diffusers' WanPipeline (UniPC and FlowMatchEuler,
 *            shift 3) and the official Wan FlowUniPCMultistepScheduler (shift 5): every
 *            intermediate latent <= 1e-4 * max|ref|, timesteps exactly equal
 *   resume   stop after step k with --save-state, continue with --resume in a new process: the
 *            latent is bit-identical to the uninterrupted run, for several k and both samplers
 *   g = 1    the one-pass path (context only) equals g = 0 (negative only) with the two swapped
 *   errors   missing negative_context, disagreeing options on resume, a damaged state, usage
 *            mistakes: the right exit code (1 runtime, 2 usage) and no output file
 *   windows  --window/--overlap against scripts/golden/windows.py (tests/fixtures/windows): 2, 3
 *            and 4 overlapping windows with uneven tails, and 3 windows of a Wan2.1-VACE DiT with
 *            two references in front of every window, every latent <= 1e-4 * max|ref|; a
 *            window as long as the latent is bit-identical to no window; stop and resume of a
 *            windowed run is bit-identical; bad settings exit 2
 */
#define _POSIX_C_SOURCE 200809L
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_test_st.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOL 1e-4
#define STEPS 10

static char fix[1024];
static const char *shotfarm;

/* Runs shotfarm with the printf-formatted arguments (a shell command tail); returns the exit
 * code, or -1 when it did not exit normally. */
static int run(const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' forward denoise %s >/dev/null", shotfarm, args);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A malloc'ed fp32 copy of tensor `name` of file `path`, and its element count. */
static float *load(const char *path, const char *name, size_t *n)
{
    struct sf_st *st = NULL;
    float *v = NULL;
    if (sf_st_open(path, &st) != SF_OK) return NULL;
    const struct sf_st_tensor *t = sf_st_find(st, name);
    if (t && (v = malloc(t->n_elems * sizeof *v)) &&
        sf_st_read_all(t, SF_DTYPE_F32, v, t->n_elems * sizeof *v) != SF_OK) {
        free(v);
        v = NULL;
    }
    if (v) *n = (size_t)t->n_elems;
    sf_st_close(st);
    return v;
}

/* OUT's `trajectory` and `timesteps` against the reference file's KEY.x and KEY.timesteps: every
 * latent within TOL (the worst printed), timesteps exactly equal. Returns OUT's trajectory
 * (malloc'd, the caller frees it; NULL when it did not load) and its row size in *n. */
static float *compare_trajectory(const char *what, const char *out, const char *refpath,
                                 const char *key, size_t *n)
{
    char name[96];
    size_t ng = 0, nr = 0, ntg = 0, ntr = 0;
    snprintf(name, sizeof name, "%s.x", key);
    float *got = load(out, "trajectory", &ng), *ref = load(refpath, name, &nr);
    snprintf(name, sizeof name, "%s.timesteps", key);
    float *tg = load(out, "timesteps", &ntg), *tr = load(refpath, name, &ntr);
    CHECK(got && ref && ng == nr && nr % (STEPS + 1) == 0);
    CHECK(tg && tr && ntg == STEPS && ntr == STEPS && memcmp(tg, tr, STEPS * sizeof *tg) == 0);
    *n = 0;
    if (got && ref && ng == nr) {
        *n = nr / (STEPS + 1);
        double worst = 0;
        for (int i = 0; i <= STEPS; i++) {
            char w[160];
            snprintf(w, sizeof w, "%s step %d/%d", what, i, STEPS);
            const float *g = got + (size_t)i * *n, *r = ref + (size_t)i * *n;
            sf_test_close_f32(w, g, r, *n, TOL);
            double e = sf_test_rel_err(g, r, *n);
            if (e > worst) worst = e;
        }
        fprintf(stderr, "%s: worst max|a-b|/max|ref| over %d steps = %.3g (tolerance %g)\n", what,
                STEPS, worst, TOL);
    }
    free(ref);
    free(tg);
    free(tr);
    return got;
}

static void golden_case(const char *sampler, const char *schedule, double shift)
{
    char key[64], out[256], refpath[1100];
    snprintf(key, sizeof key, "%s.%s", sampler, schedule);
    snprintf(out, sizeof out, "golden_%s_%s.safetensors", sampler, schedule);
    snprintf(refpath, sizeof refpath, "%s/dit.ref.safetensors", fix);
    CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s/dit.in.safetensors' -o %s --sampler %s "
                     "--schedule %s --steps %d --shift %g --guidance 5 --trajectory",
                     fix, fix, out, sampler, schedule, STEPS, shift),
                 0);
    size_t n = 0;
    float *got = compare_trajectory(key, out, refpath, key, &n);
    if (got && n) {
        size_t nl = 0;
        float *latent = load(out, "latent", &nl);
        CHECK(latent && nl == n &&
              memcmp(latent, got + (size_t)STEPS * n, n * sizeof *latent) == 0);
        free(latent);
    }
    free(got);
    unlink(out);
}

static void resume_case(const char *sampler, const char *schedule)
{
    const char *common = "--steps 6 --shift 3 --guidance 4";
    char full[128], state[128], part[128];
    snprintf(full, sizeof full, "resume_full_%s.safetensors", sampler);
    CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s/dit.in.safetensors' -o %s --sampler %s "
                     "--schedule %s %s",
                     fix, fix, full, sampler, schedule, common),
                 0);
    size_t n = 0;
    float *want = load(full, "latent", &n);
    CHECK(want != NULL);
    const int ks[] = {0, 1, 2, 4, 5};
    for (size_t j = 0; want && j < sizeof ks / sizeof ks[0]; j++) {
        snprintf(state, sizeof state, "resume_%s_k%d.sfs", sampler, ks[j]);
        snprintf(part, sizeof part, "resume_part_%s_k%d.safetensors", sampler, ks[j]);
        unlink(part);
        CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s/dit.in.safetensors' -o %s --sampler %s "
                         "--schedule %s %s --save-state %s --stop-after %d",
                         fix, fix, part, sampler, schedule, common, state, ks[j]),
                     0);
        CHECK(access(part, F_OK) != 0); /* stopped: no output yet */
        CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s/dit.in.safetensors' -o %s --resume %s", fix,
                         fix, part, state),
                     0);
        size_t m = 0;
        float *got = load(part, "latent", &m);
        if (!got || m != n || memcmp(got, want, n * sizeof *got) != 0) {
            fprintf(stderr, "%s: resumed after step %d is not bit-identical\n", sampler, ks[j]);
            sf_test_failures++;
        }
        free(got);
        unlink(part);
        if (j + 1 < sizeof ks / sizeof ks[0]) unlink(state);
    }
    /* the last state (k = 5) stays for the error cases below */
    free(want);
    unlink(full);
}

/* --guidance 1 runs only the conditional pass (on `context`); --guidance 0 runs both and keeps
 * the unconditional one (on `negative_context`): uncond + 0·(cond − uncond) is uncond exactly.
 * With the two contexts swapped between the runs, both see the same text at every step, so the
 * latents agree up to the rounding of a batch of two against a single pass. */
static void guidance_one_case(void)
{
    char in[1100];
    snprintf(in, sizeof in, "%s/dit.in.safetensors", fix);
    size_t nn = 0, nc = 0, nu = 0;
    float *noise = load(in, "noise", &nn), *ctx = load(in, "context", &nc),
          *neg = load(in, "negative_context", &nu);
    CHECK(noise && ctx && neg && nn == 16 * 3 * 4 * 6 && nc == 7 * 32 && nu == 5 * 32);
    if (noise && ctx && neg && nn == 16 * 3 * 4 * 6 && nc == 7 * 32 && nu == 5 * 32) {
        struct sf_st_desc d[3] = {
            {.name = "noise",
             .dtype = SF_DTYPE_F32,
             .n_dims = 4,
             .shape = {16, 3, 4, 6},
             .data = noise},
            {.name = "context", .dtype = SF_DTYPE_F32, .n_dims = 2, .shape = {5, 32}, .data = neg},
            {.name = "negative_context",
             .dtype = SF_DTYPE_F32,
             .n_dims = 2,
             .shape = {7, 32},
             .data = ctx}};
        CHECK_EQ_INT(sf_st_write("swapped.safetensors", d, 3, NULL, 0, NULL, NULL), SF_OK);
        CHECK_EQ_INT(run("--model '%s/tiny-dit' -i swapped.safetensors --steps 4 --guidance 1 "
                         "-o g1.safetensors",
                         fix),
                     0);
        CHECK_EQ_INT(
            run("--model '%s/tiny-dit' -i '%s' --steps 4 --guidance 0 -o g0.safetensors", fix, in),
            0);
        size_t n1 = 0, n0 = 0;
        float *a = load("g1.safetensors", "latent", &n1),
              *b = load("g0.safetensors", "latent", &n0);
        CHECK(a && b && n1 == nn && n0 == nn);
        if (a && b && n1 == nn && n0 == nn) sf_test_close_f32("g=1 vs g=0 swapped", a, b, nn, 1e-5);
        free(a);
        free(b);
        unlink("swapped.safetensors");
        unlink("g1.safetensors");
        unlink("g0.safetensors");
    }
    free(noise);
    free(ctx);
    free(neg);
}

static void test_errors(void)
{
    const char *base = "--model '%s/tiny-dit' -i '%s/dit.in.safetensors' -o err_out.safetensors";
    char b[4096];
    snprintf(b, sizeof b, base, fix, fix);
    unlink("err_out.safetensors");
    /* usage mistakes: 2 */
    CHECK_EQ_INT(run("%s --sampler heun", b), 2);
    CHECK_EQ_INT(run("%s --schedule karras", b), 2);
    CHECK_EQ_INT(run("%s --steps 0", b), 2);
    CHECK_EQ_INT(run("%s --shift 0", b), 2);
    CHECK_EQ_INT(run("%s --guidance -1", b), 2);
    CHECK_EQ_INT(run("%s --stop-after 3", b), 2);
    CHECK_EQ_INT(run("-i x -o y"), 2);
    CHECK_EQ_INT(run("%s --resume resume_unipc_k5.sfs --steps 7", b), 2);
    CHECK_EQ_INT(run("%s --resume resume_unipc_k5.sfs --guidance 5", b), 2);
    CHECK_EQ_INT(run("%s --resume resume_unipc_k5.sfs --trajectory", b), 2);
    CHECK_EQ_INT(run("--help"), 0);
    /* runtime failures: 1 */
    CHECK_EQ_INT(run("%s --resume no_such_state.sfs", b), 1);
    FILE *f = fopen("resume_unipc_k5.sfs", "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, -3, SEEK_END);
        fputc(0x5a, f);
        fclose(f);
        CHECK_EQ_INT(run("%s --resume resume_unipc_k5.sfs", b), 1);
    }
    unlink("resume_unipc_k5.sfs");
    unlink("resume_euler_k5.sfs");
    /* an input without negative_context */
    char in[1100];
    snprintf(in, sizeof in, "%s/dit.in.safetensors", fix);
    size_t nn = 0, nc = 0;
    float *noise = load(in, "noise", &nn), *ctx = load(in, "context", &nc);
    CHECK(noise && ctx && nn == 16 * 3 * 4 * 6 && nc == 7 * 32);
    if (noise && ctx) {
        struct sf_st_desc d[2] = {
            {.name = "noise",
             .dtype = SF_DTYPE_F32,
             .n_dims = 4,
             .shape = {16, 3, 4, 6},
             .data = noise},
            {.name = "context", .dtype = SF_DTYPE_F32, .n_dims = 2, .shape = {7, 32}, .data = ctx}};
        CHECK_EQ_INT(sf_st_write("no_negative.safetensors", d, 2, NULL, 0, NULL, NULL), SF_OK);
        CHECK_EQ_INT(
            run("--model '%s/tiny-dit' -i no_negative.safetensors -o err_out.safetensors", fix), 1);
        /* a context of the wrong width for the model */
        d[1].shape[0] = 8;
        d[1].shape[1] = 28;
        struct sf_st_desc d3[3] = {d[0], d[1], d[1]};
        d3[2].name = "negative_context";
        CHECK_EQ_INT(sf_st_write("bad_context.safetensors", d3, 3, NULL, 0, NULL, NULL), SF_OK);
        CHECK_EQ_INT(
            run("--model '%s/tiny-dit' -i bad_context.safetensors -o err_out.safetensors", fix), 1);
        unlink("no_negative.safetensors");
        unlink("bad_context.safetensors");
    }
    CHECK(access("err_out.safetensors", F_OK) != 0);
    free(noise);
    free(ctx);
}

/* One windowed case of scripts/golden/windows.py: the whole trajectory against the reference. */
static void windows_case(const char *name, int window, int overlap, const char *sampler,
                         const char *schedule, double shift)
{
    char wfix[1100], out[128], refpath[1200], model[1200], extra[1300] = "";
    snprintf(wfix, sizeof wfix, "%s/../windows", fix);
    snprintf(refpath, sizeof refpath, "%s/windows.ref.safetensors", wfix);
    snprintf(out, sizeof out, "windows_%s.safetensors", name);
    snprintf(model, sizeof model, "%s/tiny-dit", fix);
    if (strncmp(name, "vace", 4) == 0) { /* the tiny VACE DiT and the small VAE */
        snprintf(model, sizeof model, "%s/../vace/v2-bf16", fix);
        snprintf(extra, sizeof extra, "--vae '%s/../vae/small/vae'", fix);
    }
    CHECK_EQ_INT(run("--model '%s' %s -i '%s/%s.in.safetensors' -o %s --sampler %s "
                     "--schedule %s --steps %d --shift %g --guidance 5 --window %d --overlap %d "
                     "--trajectory",
                     model, extra, wfix, name, out, sampler, schedule, STEPS, shift, window,
                     overlap),
                 0);
    char what[160];
    snprintf(what, sizeof what, "windows %s (window %d overlap %d, %s/%s)", name, window, overlap,
             sampler, schedule);
    size_t n = 0;
    free(compare_trajectory(what, out, refpath, name, &n));
    unlink(out);
}

/* A window as long as the latent (or longer) is the plain loop, bit for bit; a windowed run
 * stopped and resumed (the state is the whole latent's) equals the uninterrupted one bit for
 * bit; bad window settings are usage errors with no output. */
static void windows_misc(void)
{
    char in[1200];
    snprintf(in, sizeof in, "%s/../windows/w3.in.safetensors", fix);
    const char *common = "--steps 5 --shift 3 --guidance 4";
    CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s' -o wm_plain.safetensors %s", fix, in, common),
                 0);
    CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s' -o wm_one.safetensors %s --window 10 "
                     "--overlap 2",
                     fix, in, common),
                 0);
    CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s' -o wm_full.safetensors %s --window 5 "
                     "--overlap 2",
                     fix, in, common),
                 0);
    CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s' -o wm_part.safetensors %s --window 5 "
                     "--overlap 2 --save-state wm.sfs --stop-after 2",
                     fix, in, common),
                 0);
    CHECK_EQ_INT(run("--model '%s/tiny-dit' -i '%s' -o wm_part.safetensors --resume wm.sfs "
                     "--window 5 --overlap 2",
                     fix, in),
                 0);
    size_t na = 0, nb = 0, nc = 0, nd = 0;
    float *a = load("wm_plain.safetensors", "latent", &na),
          *b = load("wm_one.safetensors", "latent", &nb),
          *c = load("wm_full.safetensors", "latent", &nc),
          *d = load("wm_part.safetensors", "latent", &nd);
    CHECK(a && b && c && d && na == nb && na == nc && na == nd);
    if (a && b && c && d && na == nb && na == nc && na == nd) {
        CHECK(memcmp(a, b, na * sizeof *a) == 0); /* one window: the plain loop */
        CHECK(memcmp(c, d, na * sizeof *a) == 0); /* resumed: the same bits */
        CHECK(memcmp(a, c, na * sizeof *a) != 0); /* 3 windows: a different computation */
    }
    free(a);
    free(b);
    free(c);
    free(d);
    const char *base = "--model '%s/tiny-dit' -i '%s' -o wm_err.safetensors";
    char bb[4096];
    snprintf(bb, sizeof bb, base, fix, in);
    CHECK_EQ_INT(run("%s --window 1", bb), 2);
    CHECK_EQ_INT(run("%s --window 4 --overlap 3", bb), 2);
    CHECK_EQ_INT(run("%s --window 4", bb), 2); /* the default overlap 5 is more than 4 / 2 */
    CHECK_EQ_INT(run("%s --overlap 2", bb), 2);
    CHECK(access("wm_err.safetensors", F_OK) != 0);
    unlink("wm_plain.safetensors");
    unlink("wm_one.safetensors");
    unlink("wm_full.safetensors");
    unlink("wm_part.safetensors");
    unlink("wm.sfs");
}

int main(int argc, char **argv)
{
    const char *src = getenv("SF_SOURCE_DIR");
    shotfarm = getenv("SF_SHOTFARM");
    if (!src || !shotfarm) {
        fprintf(stderr, "SF_SOURCE_DIR and SF_SHOTFARM must be set (ctest sets them)\n");
        return 1;
    }
    snprintf(fix, sizeof fix, "%s/tests/fixtures/sampler", src);
    for (int i = 1; i < argc || i == 1; i++) {
        const char *m = argc > 1 ? argv[i] : "all";
        int all = strcmp(m, "all") == 0;
        if (all || strcmp(m, "golden") == 0) {
            golden_case("unipc", "diffusers", 3.0);
            golden_case("euler", "diffusers", 3.0);
            golden_case("unipc", "wan", 5.0);
        }
        if (all || strcmp(m, "windows") == 0) {
            windows_case("w2", 4, 1, "unipc", "diffusers", 3.0);
            windows_case("w3", 5, 2, "unipc", "wan", 5.0);
            windows_case("w4", 4, 1, "unipc", "wan", 5.0);
            windows_case("vace_w3", 4, 1, "unipc", "diffusers", 16.0);
            windows_misc();
        }
        if (all || strcmp(m, "resume") == 0) {
            resume_case("unipc", "wan");
            resume_case("euler", "diffusers");
            guidance_one_case();
            test_errors();
        }
    }
    return sf_test_result("test_denoise");
}

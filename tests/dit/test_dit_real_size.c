/* test_dit_real_size.c (label slow) — the exact Wan2.1 1.3B config with random bf16 weights
 * (`shotfarm mkmodel`, ~2.8 GB on disk), loaded by mmap and run once on a tiny latent. Reports the
 * load and forward times and the peak RSS, which must stay below weight bytes + 1 GiB: the weights
 * are used in place in their file dtype, never copied to fp32.
 * SF_DIT_SLOW_MODEL=DIR reuses an existing model (kept); otherwise one is written under the build
 * directory and removed afterwards. */
#define _POSIX_C_SOURCE 200809L
#include "sf_dit.h"
#include "sf_log.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static double peak_rss_bytes(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}

int main(void)
{
    const char *bin = getenv("SF_BINARY_DIR"), *exe = getenv("SF_SHOTFARM");
    const char *given = getenv("SF_DIT_SLOW_MODEL");
    char dir[1024], cmd[3000];
    if (!bin || !exe) return 1;
    if (given) {
        snprintf(dir, sizeof dir, "%s", given);
    } else {
        snprintf(dir, sizeof dir, "%s/tests/dit/wan2.1-t2v-1.3b-bf16", bin);
        struct stat sb;
        if (stat(dir, &sb) != 0) {
            snprintf(cmd, sizeof cmd,
                     "'%s' mkmodel --config wan2.1-t2v-1.3b --dtype bf16 "
                     "--layout official --component dit --seed 3 -o '%s'",
                     exe, dir);
            double t0 = sf_time_now();
            if (system(cmd) != 0) {
                fprintf(stderr, "mkmodel failed: %s\n", cmd);
                return 1;
            }
            fprintf(stderr, "mkmodel: %.1f s\n", sf_time_now() - t0);
        }
    }

    double rss0 = peak_rss_bytes();
    struct sf_dit *m = NULL;
    struct sf_dit_opts o = {.max_latent = {2, 8, 8}, .max_batch = 1};
    double t0 = sf_time_now();
    CHECK_EQ_INT(sf_dit_load(dir, &o, &m), SF_OK);
    double t_load = sf_time_now() - t0;
    if (!m) return sf_test_result("dit_real_size");
    const struct sf_dit_config *c = sf_dit_get_config(m);
    CHECK_EQ_INT(c->dim, 1536);
    CHECK_EQ_INT(c->n_layers, 30);
    CHECK_EQ_INT(c->n_heads, 12);
    CHECK_EQ_INT(c->ffn_dim, 8960);
    CHECK_EQ_INT(c->text_dim, 4096);

    static float x[16 * 2 * 8 * 8], out[16 * 2 * 8 * 8];
    float *ctx = malloc((size_t)20 * 4096 * sizeof *ctx);
    sf_test_fill(x, sizeof x / sizeof x[0], 1);
    sf_test_fill(ctx, (size_t)20 * 4096, 2);
    const int64_t thw[3] = {2, 8, 8};
    t0 = sf_time_now();
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, 999.0, ctx, 20, out), SF_OK);
    double t_fwd = sf_time_now() - t0;
    int finite = 1;
    double amax = 0;
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        finite &= isfinite(out[i]);
        if (fabs(out[i]) > amax) amax = fabs(out[i]);
    }
    CHECK(finite);
    CHECK(amax > 0);

    double wb = (double)sf_dit_weight_bytes(m), rss = peak_rss_bytes();
    double limit = wb + 1024.0 * 1024 * 1024;
    printf("dit 1.3B bf16: weights %.3f GB, buffers %.1f MB, load %.2f s, forward (32 tokens, "
           "512 context rows) %.2f s, peak RSS %.3f GB (before load %.3f GB), limit %.3f GB\n",
           wb / 1e9, sf_dit_buffer_bytes(m) / 1e6, t_load, t_fwd, rss / 1e9, rss0 / 1e9,
           limit / 1e9);
    CHECK(rss < limit);
    sf_dit_destroy(m);
    free(ctx);
    if (!given && !getenv("SF_DIT_SLOW_KEEP")) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
    return sf_test_result("dit_real_size");
}

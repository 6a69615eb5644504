/* vae_decode.c — benchmark of the Wan-VAE decode (sf_vae_decode): time, time per latent frame
 * and peak RSS for a random latent of T frames at H x W pixels, with the extrapolation to a
 * clip of 81 frames (21 latent frames) from the per-chunk cost. bench/vae_decode_diffusers.py is
 * the same-run baseline; scripts/bench_vae.sh runs both. Results: BENCHMARKS.md.
 *   build/bench/vae_decode --model DIR [--frames T] [--height H] [--width W] [--threads N]
 *                          [--vae-tile T[:S]] */
#define _POSIX_C_SOURCE 200809L
#include "sf_cost.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_status.h"
#include "sf_vae.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* CPU seconds of all threads: on a shared, oversubscribed machine this is the steadier measure */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct timing {
    double t0, last, c0, clast, chunk[512], cchunk[512];
    int n;
};

static int on_frames(void *ctx, const float *x, int64_t frame0, int64_t n, int64_t H, int64_t W)
{
    struct timing *t = ctx;
    (void)x, (void)frame0, (void)n, (void)H, (void)W;
    double t1 = sf_time_now(), c1 = cpu();
    if (t->n < 512) t->chunk[t->n] = t1 - t->last, t->cchunk[t->n++] = c1 - t->clast;
    t->last = t1;
    t->clast = c1;
    return SF_OK;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *tile = NULL;
    long T = 2, H = 256, W = 256, threads = 0;
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"frames", required_argument, 0, 'f'},
        {"height", required_argument, 0, 'H'}, {"width", required_argument, 0, 'W'},
        {"threads", required_argument, 0, 't'}, {"vae-tile", required_argument, 0, 'v'},
        {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'f': T = strtol(optarg, NULL, 10); break;
        case 'H': H = strtol(optarg, NULL, 10); break;
        case 'W': W = strtol(optarg, NULL, 10); break;
        case 't': threads = strtol(optarg, NULL, 10); break;
        case 'v': tile = optarg; break;
        default: fprintf(stderr, "usage: vae_decode --model DIR [--frames T] [--height H] "
                         "[--width W] [--threads N] [--vae-tile T[:S]]\n"); return 2;
        }
    }
    if (!model || T < 1 || H % 8 || W % 8 || H < 8 || W < 8) {
        fprintf(stderr, "vae_decode: need --model DIR, frames >= 1, sizes multiples of 8\n");
        return 2;
    }
    int nthreads = sf_threads_init((int)threads);
    struct sf_vae_tiling tiling = {0, 0};
    char why[128];
    if (tile && sf_vae_tiling_parse(tile, &tiling, why, sizeof why)) {
        fprintf(stderr, "vae_decode: --vae-tile %s: %s\n", tile, why);
        return 2;
    }
    struct sf_vae *vae;
    if (sf_vae_load(model, &vae) != SF_OK) return 1;
    int64_t h = H / 8, w = W / 8, zn = 16 * T * h * w;
    float *z = malloc((size_t)zn * sizeof *z);
    uint64_t s = 12345;
    for (int64_t i = 0; i < zn; i++) { /* uniform-sum, roughly N(0, 1.5^2) */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        z[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1) * 2.6f;
    }
    struct timing tm = {0};
    tm.t0 = tm.last = sf_time_now();
    tm.c0 = tm.clast = cpu();
    int st = sf_vae_decode(vae, z, T, h, w, &tiling, on_frames, &tm);
    double total = sf_time_now() - tm.t0, ctotal = cpu() - tm.c0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (st == SF_OK) {
        double later = 0, clater = 0;
        for (int i = 1; i < tm.n; i++) later += tm.chunk[i], clater += tm.cchunk[i];
        double per = tm.n > 1 ? later / (tm.n - 1) : tm.chunk[0];
        double cper = tm.n > 1 ? clater / (tm.n - 1) : tm.cchunk[0];
        printf("shotfarm vae decode: %ld latent frames -> %ld frames of %ldx%ld, %d threads%s: "
               "wall %.2f s (first chunk %.2f s, then %.2f s per latent frame; 81 frames "
               "extrapolated %.0f s), CPU %.2f s (first %.2f, then %.2f; 81 frames %.0f s), "
               "peak RSS %.0f MB\n", T, 1 + 4 * (T - 1), W, H, nthreads,
               tiling.tile_px ? " (tiled)" : "", total, tm.chunk[0], per, tm.chunk[0] + 20 * per,
               ctotal, tm.cchunk[0], cper, tm.cchunk[0] + 20 * cper, ru.ru_maxrss / 1024.0);
        double fl = sf_cost_vae_decode(sf_vae_config_of(vae)->decoder_base_dim, T, h, w);
        printf("  %.0f GFLOP (sf_cost_vae_decode%s): %.1f GFLOP/s wall, %.1f GFLOP/s per "
               "CPU-second\n", fl / 1e9, tiling.tile_px ? ", untiled count" : "",
               fl / total / 1e9, fl / ctotal / 1e9);
    }
    free(z);
    sf_vae_destroy(vae);
    return st == SF_OK ? 0 : 1;
}

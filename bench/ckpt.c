/* ckpt.c — what a denoise checkpoint costs (coordinator/sf_ckpt.h): write (HDF5 image in
 * memory, SHA-256, temp + fsync + rename + directory fsync, twice: data and sidecar) and
 * verified load, for a unit's UniPC state at a given latent size (default: 81 frames at
 * 480x832, latent 16x21x60x104: four latents of fp32 state, 33.5 MB: x, 2 history rows,
 * last sample). The baseline in the same run is a plain write + fsync of the same bytes
 * (sf_file_write_atomic), so the ratio shows the container's and checksum's overhead.
 *   bench/ckpt [--dir DIR] [--frames T] [--height H] [--width W] [--reps N]
 */
#define _POSIX_C_SOURCE 200809L
#include "sf_ckpt.h"
#include "sf_file.h"
#include "sf_log.h"
#include "sf_sampler.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double arg_or(int argc, char **argv, const char *name, double dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return atof(argv[i + 1]);
    return dflt;
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    const int T = (int)arg_or(argc, argv, "--frames", 81), H = (int)arg_or(argc, argv, "--height", 480),
              W = (int)arg_or(argc, argv, "--width", 832), reps = (int)arg_or(argc, argv, "--reps", 3);
    const int64_t lt = (T - 1) / 4 + 1, lh = H / 8, lw = W / 8, n = 16 * lt * lh * lw;
    float *noise = malloc((size_t)n * sizeof *noise);
    if (!noise) return 1;
    for (int64_t i = 0; i < n; i++)
        noise[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    struct sf_sampler *s = NULL, *t = NULL;
    if (sf_sampler_create(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 50, 5.0, 5.0, n, noise, &s) ||
        sf_sampler_create(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 50, 5.0, 5.0, n, NULL, &t))
        return 1;
    for (int k = 0; k < 3; k++)
        sf_sampler_step(s, noise); /* a state with history */
    char work[4096];
    snprintf(work, sizeof work, "%s/sf-bench-ckpt-XXXXXX", dir);
    if (!mkdtemp(work)) return 1;
    const char key[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    struct sf_ckpt_meta m = {"bench unit", key, key, 1, 0, {16, lt, lh, lw}};
    char path[4200], plain[4200];
    snprintf(plain, sizeof plain, "%s/plain.bin", work);
    const double mb = 4.0 * (double)n * sizeof(float) / 1e6;
    double tw = 1e30, tl = 1e30, tp = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = sf_time_now();
        if (sf_file_write_atomic(plain, s->x, (size_t)n * sizeof(float)))
            return 1;
        if (sf_file_write_atomic(plain, s->history, 2 * (size_t)n * sizeof(float))) return 1;
        if (sf_file_write_atomic(plain, s->last_sample, (size_t)n * sizeof(float))) return 1;
        double t1 = sf_time_now();
        if (sf_ckpt_write(work, "bench", s, &m, path, sizeof path)) return 1;
        double t2 = sf_time_now();
        if (sf_ckpt_load_latest(work, "bench", &m, t, path, sizeof path)) return 1;
        double t3 = sf_time_now();
        if (t1 - t0 < tp) tp = t1 - t0;
        if (t2 - t1 < tw) tw = t2 - t1;
        if (t3 - t2 < tl) tl = t3 - t2;
        sf_ckpt_remove_all(work, "bench");
    }
    if (memcmp(t->x, s->x, (size_t)n * sizeof(float)) != 0) {
        fprintf(stderr, "bench_ckpt: the loaded state differs\n");
        return 1;
    }
    printf("latent 16x%lldx%lldx%lld (%d frames %dx%d), state %.1f MB, best of %d, dir %s\n",
           (long long)lt, (long long)lh, (long long)lw, T, W, H, mb, reps, dir);
    printf("plain write+fsync of the same bytes: %8.3f s  %7.1f MB/s (baseline)\n", tp, mb / tp);
    printf("checkpoint write (h5pack+sha256):    %8.3f s  %7.1f MB/s (%.2fx the baseline)\n", tw,
           mb / tw, tw / tp);
    printf("checkpoint verified load:            %8.3f s  %7.1f MB/s\n", tl, mb / tl);
    unlink(plain);
    rmdir(work);
    sf_sampler_destroy(s);
    sf_sampler_destroy(t);
    free(noise);
    return 0;
}

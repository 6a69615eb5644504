/* assemble.c — what assembly costs per delivered frame (io/sf_deliver.h, the assemble units):
 * scale a model-size RGB picture (832x480, 16:9) to cover the delivery size, convert to BT.709
 * YUV and encode, per codec, with a given thread count. The same-run baseline is the picture
 * path alone (scale + convert into FFV1's input, not encoded): its ratio shows the encoder's
 * share. Frames are a moving gradient with noise, so the encoders see detail and motion.
 *   bench/assemble [--resolution 1080] [--frames 96] [--threads 1] [--dir /tmp]
 * Prints frames/s and frames/s per thread for h264 (veryfast: draft; medium: final), prores HQ
 * and ffv1. */
#define _POSIX_C_SOURCE 200809L
#include "sf_deliver.h"
#include "sf_log.h"
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

static void picture(uint8_t *rgb, int w, int h, int f)
{
    uint32_t x = 2463534242u + (uint32_t)f;
    for (int y = 0; y < h; y++)
        for (int i = 0; i < w; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            uint8_t *p = rgb + 3 * ((size_t)y * w + i);
            p[0] = (uint8_t)((i + 2 * f) * 255 / (w + 200) + (x & 15));
            p[1] = (uint8_t)(y * 255 / h + ((x >> 4) & 15));
            p[2] = (uint8_t)(((i + y + 3 * f) & 255) / 2 + ((x >> 8) & 31));
        }
}

/* Encodes `frames` pictures with codec (preset for H.264) into dir; returns seconds or -1. */
static double run(enum sf_codec codec, const char *preset, int res, int frames, int threads,
                  const char *dir, uint8_t *const *pics, int n_pics)
{
    struct sf_deliver_opts o = {.codec = codec, .height = res, .width = (int)(res * 16.0 / 9 / 2 + .5) * 2,
                                .fps = {24000, 1001}, .frames = frames, .crf = 23,
                                .preset = preset, .threads = threads, .timecode = "01:00:00:00"};
    char path[512];
    snprintf(path, sizeof path, "%s/bench-assemble.%d.%s", dir, (int)getpid(), sf_deliver_ext(codec));
    const char *paths[] = {path};
    struct sf_deliver *d = NULL;
    double t0 = sf_time_now();
    if (sf_deliver_open(&o, paths, 1, &d) != SF_OK) return -1;
    for (int f = 0; f < frames; f++)
        if (sf_deliver_write(d, pics[f % n_pics], 832, 480) != SF_OK) return -1;
    if (sf_deliver_commit(d) != SF_OK) return -1;
    double t = sf_time_now() - t0;
    unlink(path);
    return t;
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    const int res = (int)arg_or(argc, argv, "--resolution", 1080),
              frames = (int)arg_or(argc, argv, "--frames", 96),
              threads = (int)arg_or(argc, argv, "--threads", 1);
    enum { N_PICS = 24 };
    uint8_t *pics[N_PICS];
    for (int i = 0; i < N_PICS; i++) {
        pics[i] = malloc(832 * 480 * 3);
        if (!pics[i]) return 1;
        picture(pics[i], 832, 480, i);
    }
    static const struct {
        const char *name;
        enum sf_codec codec;
        const char *preset;
    } cases[] = {{"h264 veryfast (draft)", SF_CODEC_H264, "veryfast"},
                 {"h264 medium (final)", SF_CODEC_H264, "medium"},
                 {"prores 422 HQ", SF_CODEC_PRORES, NULL},
                 {"ffv1 level 3", SF_CODEC_FFV1, NULL}};
    printf("assembly at %dp from 832x480, %d frames, %d encoder thread%s\n", res, frames, threads,
           threads == 1 ? "" : "s");
    printf("%-24s %10s %14s %12s\n", "codec", "frames/s", "per thread", "Mpixel/s");
    const double px = (double)res * ((int)(res * 16.0 / 9 / 2 + .5) * 2);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double t = run(cases[c].codec, cases[c].preset, res, frames, threads, dir, pics, N_PICS);
        if (t < 0) {
            fprintf(stderr, "%s failed\n", cases[c].name);
            return 1;
        }
        printf("%-24s %10.1f %14.1f %12.1f\n", cases[c].name, frames / t, frames / t / threads,
               frames * px / t / 1e6);
    }
    for (int i = 0; i < N_PICS; i++)
        free(pics[i]);
    return 0;
}

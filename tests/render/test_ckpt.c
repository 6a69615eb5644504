/* test_ckpt.c — denoise checkpoints (coordinator/sf_ckpt.h): a saved state continues with the
 * bits of an uninterrupted sampler; the newest two are kept; a corrupt, truncated, unsealed
 * (no sidecar) or foreign checkpoint is skipped for the one before it; none gives NOTFOUND and
 * leaves the sampler untouched; walk lists what inspect shows. */
#define _POSIX_C_SOURCE 200809L
#include "sf_ckpt.h"
#include "sf_h5pack.h"
#include "sf_log.h"
#include "sf_sampler.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N (16 * 2 * 3 * 4)

static const char key[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char other[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/* a fake model output: a fixed function of the sample */
static void velocity(const struct sf_sampler *s, float *v)
{
    for (int i = 0; i < N; i++)
        v[i] = 0.5f * s->x[i] - 0.01f * (float)(i % 7) + 0.001f * (float)s->step;
}

static struct sf_sampler *fresh(void)
{
    float noise[N];
    sf_test_fill(noise, N, 42);
    struct sf_sampler *s = NULL;
    CHECK(sf_sampler_create(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 6, 3.0, 5.0, N, noise, &s) ==
          SF_OK);
    return s;
}

static int exists(const char *dir, int step)
{
    char p[512];
    sf_ckpt_path(dir, "u.take1.16x9", step, p, sizeof p);
    return access(p, F_OK) == 0;
}

static int count(void *arg, const struct sf_h5_array *a)
{
    (void)a;
    ++*(int *)arg;
    return SF_OK;
}

int main(void)
{
    sf_log_set_level(SF_LOG_OFF);
    char dir[] = "/tmp/sf-ckpt-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *stem = "u.take1.16x9";
    struct sf_ckpt_meta m = {.unit = "u take 1 16:9 denoise",
                             .key = key,
                             .model = other,
                             .seed = 7,
                             .aspect = 0,
                             .shape = {16, 2, 3, 4}};
    float v[N], ref[N];
    char path[512];

    /* the uninterrupted run */
    struct sf_sampler *a = fresh();
    while (!sf_sampler_done(a)) {
        velocity(a, v);
        sf_sampler_step(a, v);
    }
    memcpy(ref, a->x, sizeof ref);
    sf_sampler_destroy(a);

    /* checkpoints after every step: only the last two remain */
    struct sf_sampler *b = fresh();
    for (int k = 0; k < 4; k++) {
        velocity(b, v);
        sf_sampler_step(b, v);
        CHECK(sf_ckpt_write(dir, stem, b, &m, path, sizeof path) == SF_OK);
    }
    CHECK(!exists(dir, 1) && !exists(dir, 2) && exists(dir, 3) && exists(dir, 4));
    int steps[8];
    CHECK_EQ_INT(sf_ckpt_list(dir, stem, steps, 8), 2);
    CHECK_EQ_INT(steps[0], 4);
    sf_sampler_destroy(b);

    /* resume from the newest: the same bits as the uninterrupted run */
    struct sf_sampler *c = fresh();
    CHECK(sf_ckpt_load_latest(dir, stem, &m, c, path, sizeof path) == SF_OK);
    CHECK_EQ_INT(c->step, 4);
    CHECK(strstr(path, ".step0004.h5") != NULL);
    while (!sf_sampler_done(c)) {
        velocity(c, v);
        sf_sampler_step(c, v);
    }
    CHECK(memcmp(c->x, ref, sizeof ref) == 0);
    sf_sampler_destroy(c);

    /* the inspect view: every sampler field plus the latent */
    struct sf_h5pack *p = NULL;
    sf_ckpt_path(dir, stem, 4, path, sizeof path);
    CHECK(sf_h5pack_open(path, &p) == SF_OK);
    int n_arrays = 0;
    CHECK(sf_h5pack_walk(p, count, NULL, &n_arrays) == SF_OK);
    CHECK_EQ_INT(n_arrays, 14);
    sf_h5pack_close(p);

    /* a flipped byte in the newest: the previous one is used */
    char newest[512], side[600];
    sf_ckpt_path(dir, stem, 4, newest, sizeof newest);
    FILE *f = fopen(newest, "r+b");
    CHECK(f && fseek(f, 200, SEEK_SET) == 0 && fputc('!', f) != EOF && fclose(f) == 0);
    struct sf_sampler *d = fresh();
    CHECK(sf_ckpt_load_latest(dir, stem, &m, d, path, sizeof path) == SF_OK);
    CHECK_EQ_INT(d->step, 3);
    while (!sf_sampler_done(d)) {
        velocity(d, v);
        sf_sampler_step(d, v);
    }
    CHECK(memcmp(d->x, ref, sizeof ref) == 0);
    sf_sampler_destroy(d);

    /* a truncated one and an unsealed one (killed between data and sidecar) are skipped too */
    CHECK(truncate(newest, 100) == 0);
    snprintf(side, sizeof side, "%s.sha256", newest);
    struct sf_sampler *e = fresh();
    CHECK(sf_ckpt_load_latest(dir, stem, &m, e, path, sizeof path) == SF_OK);
    CHECK_EQ_INT(e->step, 3);
    sf_sampler_destroy(e);
    CHECK(unlink(side) == 0);
    e = fresh();
    CHECK(sf_ckpt_load_latest(dir, stem, &m, e, path, sizeof path) == SF_OK);
    CHECK_EQ_INT(e->step, 3);
    sf_sampler_destroy(e);

    /* writing step 4 again replaces the damaged one and keeps 3 */
    e = fresh();
    CHECK(sf_ckpt_load_latest(dir, stem, &m, e, path, sizeof path) == SF_OK);
    velocity(e, v);
    sf_sampler_step(e, v);
    CHECK(sf_ckpt_write(dir, stem, e, &m, path, sizeof path) == SF_OK);
    CHECK(exists(dir, 3) && exists(dir, 4));
    sf_sampler_destroy(e);

    /* another unit's key, another shape, other sampler settings: not used; the sampler is
     * left as it was */
    struct sf_ckpt_meta foreign = m;
    foreign.key = other;
    struct sf_sampler *g = fresh();
    float before[N];
    memcpy(before, g->x, sizeof before);
    CHECK(sf_ckpt_load_latest(dir, stem, &foreign, g, path, sizeof path) == SF_E_NOTFOUND);
    CHECK_EQ_INT(g->step, 0);
    CHECK(memcmp(g->x, before, sizeof before) == 0);
    struct sf_ckpt_meta shape = m;
    shape.shape[3] = 5;
    CHECK(sf_ckpt_load_latest(dir, stem, &shape, g, path, sizeof path) == SF_E_NOTFOUND);
    sf_sampler_destroy(g);
    struct sf_sampler *h = NULL;
    CHECK(sf_sampler_create(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 6, 5.0, 5.0, N, NULL, &h) == SF_OK);
    CHECK(sf_ckpt_load_latest(dir, stem, &m, h, path, sizeof path) == SF_E_NOTFOUND);
    sf_sampler_destroy(h);

    /* removal after the latent is published */
    CHECK(sf_ckpt_remove_all(dir, stem) == SF_OK);
    CHECK_EQ_INT(sf_ckpt_list(dir, stem, steps, 8), 0);
    struct sf_sampler *z = fresh();
    CHECK(sf_ckpt_load_latest(dir, stem, &m, z, path, sizeof path) == SF_E_NOTFOUND);
    sf_sampler_destroy(z);
    rmdir(dir);
    return sf_test_result("render_ckpt");
}

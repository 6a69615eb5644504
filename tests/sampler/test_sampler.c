/* test_sampler.c — the sampler against the reference schedulers (label golden) and its state
 * files (label unit), driven by the synthetic model of scripts/golden/sampler_synthetic.py:
 *     v = tanh(x) · (t / 1000) + 0.1 · w
 *
 *   test_sampler MODE...   runs the modes given (default all):
 *   tables         every timestep/sigma table in the fixture, exactly (bitwise)
 *   golden         every trajectory (4 sampler/schedule pairs x steps 1,2,3,10,50 x shifts
 *                  1,3,5): each intermediate sample <= 1e-4 * max|ref|
 *   cfg            the guidance combination
 *   resume         stop after step k, save, resume in a fresh process (this program
 *                  re-executed), compare bit-for-bit with the uninterrupted run
 *   corrupt        truncated, bit-flipped, missing and mismatched state files are rejected
 *                  with the right status
 *   child IN OUT   (used by resume) load IN, finish the loop, save OUT
 */
#define _POSIX_C_SOURCE 200809L
#include "sf_sampler.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_safetensors.h"

#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define TOL 1e-4

static struct sf_st *fx;
static float *fx_noise, *fx_w;
static size_t fx_n;

/* A malloc'd fp32 copy of fixture tensor `name` (NULL when missing) and its element count. */
static float *fx_get(const char *name, size_t *count)
{
    const struct sf_st_tensor *t = sf_st_find(fx, name);
    if (!t) return NULL;
    float *p = malloc(t->n_elems * sizeof *p + 1);
    if (p && sf_st_read_all(t, SF_DTYPE_F32, p, t->n_elems * sizeof *p) != SF_OK) {
        free(p);
        return NULL;
    }
    *count = (size_t)t->n_elems;
    return p;
}

static int open_fixture(void)
{
    const char *src = getenv("SF_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/sampler/synthetic.safetensors", src ? src : ".");
    if (sf_st_open(path, &fx) != SF_OK) return -1;
    size_t nw = 0;
    fx_noise = fx_get("noise", &fx_n);
    fx_w = fx_get("w", &nw);
    if (!fx_noise || !fx_w || nw != fx_n) {
        fprintf(stderr, "%s: noise/w missing\n", path);
        return -1;
    }
    return 0;
}

static void close_fixture(void)
{
    free(fx_noise);
    free(fx_w);
    sf_st_close(fx);
}

static void fx_each(void (*fn)(const char *))
{
    for (size_t i = 0; i < sf_st_count(fx); i++)
        fn(sf_st_at(fx, i)->name);
}

/* The synthetic model, in fp32 as the script computes it. */
static void model(const float *x, float t, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = tanhf(x[i]) * (t / 1000.0f) + 0.1f * fx_w[i];
}

/* Runs s until step `stop` (or done). */
static void run_until(struct sf_sampler *s, int stop, float *v)
{
    while (!sf_sampler_done(s) && s->step < stop) {
        model(sf_sampler_sample(s), sf_sampler_timestep(s), v, (size_t)s->n);
        sf_sampler_step(s, v);
    }
}

/* "unipc.wan.n10.s5.timesteps" -> parts; returns 0 when the key is a table of that form. */
static int parse_key(const char *key, enum sf_sampler_kind *k, enum sf_schedule_kind *sch,
                     int *steps, double *shift, char *suffix, size_t suffix_len)
{
    char a[16], b[16], rest[64];
    if (sscanf(key, "%15[^.].%15[^.].n%d.s%63s", a, b, steps, rest) != 4) return -1;
    if (sf_sampler_kind_parse(a, k) || sf_schedule_kind_parse(b, sch)) return -1;
    char *dot = strrchr(rest, '.');
    if (!dot) return -1;
    snprintf(suffix, suffix_len, "%s", dot + 1);
    *dot = 0;
    *shift = strtod(rest, NULL);
    return 0;
}

/* ---- tables ----------------------------------------------------------------------------- */

static int n_tables;

static void check_table(const char *key)
{
    enum sf_sampler_kind k;
    enum sf_schedule_kind sch;
    int steps;
    double shift;
    char suffix[32];
    if (parse_key(key, &k, &sch, &steps, &shift, suffix, sizeof suffix) ||
        strcmp(suffix, "timesteps") != 0)
        return;
    char skey[128];
    snprintf(skey, sizeof skey, "%.*s.sigmas", (int)(strlen(key) - strlen(".timesteps")), key);
    size_t nt = 0, ns = 0;
    float *rt = fx_get(key, &nt), *rs = fx_get(skey, &ns);
    CHECK(rt && rs && nt == (size_t)steps && ns == (size_t)steps + 1);
    if (!rt || !rs || nt != (size_t)steps || ns != (size_t)steps + 1) {
        free(rt);
        free(rs);
        return;
    }
    float sig[SF_SAMPLER_MAX_STEPS + 1], ts[SF_SAMPLER_MAX_STEPS];
    CHECK_EQ_INT(sf_sampler_schedule(k, sch, steps, shift, sig, ts), SF_OK);
    for (int i = 0; i < steps; i++) {
        if (memcmp(&ts[i], &rt[i], 4) != 0) {
            fprintf(stderr, "%s[%d]: got %.9g want %.9g\n", key, i, ts[i], rt[i]);
            sf_test_failures++;
            break;
        }
    }
    for (int i = 0; i <= steps; i++) {
        if (memcmp(&sig[i], &rs[i], 4) != 0) {
            fprintf(stderr, "%s[%d]: got %.9g want %.9g\n", skey, i, sig[i], rs[i]);
            sf_test_failures++;
            break;
        }
    }
    free(rt);
    free(rs);
    n_tables++;
}

static void test_tables(void)
{
    fx_each(check_table);
    fprintf(stderr, "tables: %d checked\n", n_tables);
    CHECK(n_tables >= 4 * (5 * 3 + 8 * 7));
    /* bad settings are refused */
    float sig[4], ts[3];
    CHECK_EQ_INT(sf_sampler_schedule(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 0, 5.0, sig, ts),
                 SF_E_INVAL);
    CHECK_EQ_INT(sf_sampler_schedule(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 3, 0.0, sig, ts),
                 SF_E_INVAL);
    CHECK_EQ_INT(sf_sampler_schedule(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 3, NAN, sig, ts),
                 SF_E_INVAL);
    /* the extremes of the accepted settings: σ in [0, 1) for UniPC, tables non-increasing */
    static float esig[SF_SAMPLER_MAX_STEPS + 1], ets[SF_SAMPLER_MAX_STEPS];
    const double eshift[] = {1e-3, 1.0, SF_SAMPLER_MAX_SHIFT};
    const int esteps[] = {1, 2, SF_SAMPLER_MAX_STEPS};
    for (int kk = 0; kk < 2; kk++)
        for (int sc = 0; sc < 2; sc++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    int st = sf_sampler_schedule(kk, sc, esteps[j], eshift[i], esig, ets);
                    CHECK_EQ_INT(st, SF_OK);
                    if (st != SF_OK) continue;
                    CHECK(kk == SF_SAMPLER_EULER || esig[0] < 1.0f);
                    for (int q = 0; q < esteps[j]; q++) {
                        CHECK(esig[q + 1] <= esig[q] && esig[q] >= 0.0f && ets[q] >= 0.0f);
                        CHECK(q == 0 || ets[q] <= ets[q - 1]);
                    }
                }
    /* Wan's table: integer timesteps from 999 down, a trailing σ = 0 */
    CHECK_EQ_INT(sf_sampler_schedule(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 3, 1.0, sig, ts), SF_OK);
    CHECK(ts[0] == 999.0f && ts[1] == 666.0f && ts[2] == 333.0f && sig[3] == 0.0f);
}

/* ---- golden trajectories ---------------------------------------------------------------- */

static int n_traj;
static double worst_rel;

static void check_trajectory(const char *key)
{
    enum sf_sampler_kind k;
    enum sf_schedule_kind sch;
    int steps;
    double shift;
    char suffix[32];
    if (parse_key(key, &k, &sch, &steps, &shift, suffix, sizeof suffix) || strcmp(suffix, "x"))
        return;
    size_t nx = 0;
    float *ref = fx_get(key, &nx);
    CHECK(ref && nx == (size_t)(steps + 1) * fx_n);
    if (!ref || nx != (size_t)(steps + 1) * fx_n) {
        free(ref);
        return;
    }
    struct sf_sampler *s = NULL;
    CHECK_EQ_INT(sf_sampler_create(k, sch, steps, shift, 5.0, (int64_t)fx_n, fx_noise, &s), SF_OK);
    if (!s) {
        free(ref);
        return;
    }
    float *v = malloc(fx_n * sizeof *v);
    for (int i = 1; i <= steps; i++) {
        run_until(s, i, v);
        const float *r = ref + (size_t)i * fx_n;
        char what[160];
        snprintf(what, sizeof what, "%s step %d/%d", key, i, steps);
        sf_test_close_f32(what, s->x, r, fx_n, TOL);
        double mr = 0, md = 0;
        for (size_t j = 0; j < fx_n; j++) {
            if (fabs(r[j]) > mr) mr = fabs(r[j]);
            if (fabs(s->x[j] - r[j]) > md) md = fabs(s->x[j] - r[j]);
        }
        if (mr > 0 && md / mr > worst_rel) worst_rel = md / mr;
    }
    CHECK(sf_sampler_done(s));
    free(v);
    free(ref);
    sf_sampler_destroy(s);
    n_traj++;
}

static void test_golden(void)
{
    fx_each(check_trajectory);
    fprintf(stderr, "golden: %d trajectories, worst max|a-b|/max|ref| = %.3g (tolerance %g)\n",
            n_traj, worst_rel, TOL);
    CHECK_EQ_INT(n_traj, 4 * 5 * 3);
}

/* ---- guidance --------------------------------------------------------------------------- */

static void test_cfg(void)
{
    float c[64], u[64], o[64];
    sf_test_fill(c, 64, 1);
    sf_test_fill(u, 64, 2);
    sf_sampler_cfg(o, c, u, 5.0f, 64);
    for (int i = 0; i < 64; i++)
        CHECK(o[i] == u[i] + 5.0f * (c[i] - u[i]));
    sf_sampler_cfg(c, c, u, 1.0f, 64); /* g = 1 is the conditional output; in place */
    for (int i = 0; i < 64; i++)
        CHECK(fabsf(c[i] - (u[i] + (c[i] - u[i]))) == 0.0f);
}

/* ---- resume ----------------------------------------------------------------------------- */

static const char *self_exe;

static int run_child(const char *in, const char *out)
{
    char *argv[] = {(char *)self_exe, "child", (char *)in, (char *)out, NULL};
    pid_t pid;
    if (posix_spawn(&pid, self_exe, NULL, NULL, argv, environ) != 0) return -1;
    int ws;
    if (waitpid(pid, &ws, 0) != pid) return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static int child(const char *in, const char *out)
{
    struct sf_sampler *s = NULL;
    int st = sf_sampler_load(in, &s);
    if (st != SF_OK) return 3;
    float *v = malloc((size_t)s->n * sizeof *v);
    run_until(s, s->n_steps, v);
    st = sf_sampler_save(s, out);
    free(v);
    sf_sampler_destroy(s);
    return st == SF_OK ? 0 : 4;
}

static int same_state(const struct sf_sampler *a, const struct sf_sampler *b)
{
    struct sf_sampler_field fa[SF_SAMPLER_MAX_FIELDS], fb[SF_SAMPLER_MAX_FIELDS];
    int na = sf_sampler_fields((struct sf_sampler *)a, fa);
    int nb = sf_sampler_fields((struct sf_sampler *)b, fb);
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) {
        size_t bytes = sf_dtype_size(fa[i].dtype);
        for (int d = 0; d < fa[i].ndim; d++)
            bytes *= (size_t)fa[i].shape[d];
        if (fa[i].dtype != fb[i].dtype || memcmp(fa[i].data, fb[i].data, bytes) != 0) {
            fprintf(stderr, "field %s differs\n", fa[i].name);
            return 0;
        }
    }
    return 1;
}

static void test_resume_one(enum sf_sampler_kind k, enum sf_schedule_kind sch, int steps,
                            double shift, const int *ks, int nks)
{
    float *v = malloc(fx_n * sizeof *v);
    struct sf_sampler *full = NULL;
    CHECK_EQ_INT(sf_sampler_create(k, sch, steps, shift, 5.0, (int64_t)fx_n, fx_noise, &full),
                 SF_OK);
    run_until(full, steps, v);
    for (int j = 0; j < nks; j++) {
        struct sf_sampler *part = NULL, *resumed = NULL;
        CHECK_EQ_INT(sf_sampler_create(k, sch, steps, shift, 5.0, (int64_t)fx_n, fx_noise, &part),
                     SF_OK);
        run_until(part, ks[j], v);
        char in[64], out[64];
        snprintf(in, sizeof in, "resume_%d_%d_k%d.sfs", k, sch, ks[j]);
        snprintf(out, sizeof out, "resume_%d_%d_k%d.done.sfs", k, sch, ks[j]);
        CHECK_EQ_INT(sf_sampler_save(part, in), SF_OK);
        CHECK_EQ_INT(run_child(in, out), 0);
        CHECK_EQ_INT(sf_sampler_load(out, &resumed), SF_OK);
        if (resumed && !same_state(full, resumed)) {
            fprintf(stderr, "%s/%s %d steps: resumed after step %d is not bit-identical\n",
                    sf_sampler_kind_name(k), sf_schedule_kind_name(sch), steps, ks[j]);
            sf_test_failures++;
        }
        unlink(in);
        unlink(out);
        sf_sampler_destroy(part);
        sf_sampler_destroy(resumed);
    }
    sf_sampler_destroy(full);
    free(v);
}

static void test_resume(void)
{
    const int ks10[] = {0, 1, 2, 3, 5, 8, 9, 10};
    test_resume_one(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 10, 5.0, ks10, 8);
    test_resume_one(SF_SAMPLER_UNIPC, SF_SCHEDULE_DIFFUSERS, 10, 3.0, ks10, 8);
    test_resume_one(SF_SAMPLER_EULER, SF_SCHEDULE_DIFFUSERS, 10, 3.0, ks10, 8);
    const int ks3[] = {1, 2};
    test_resume_one(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 3, 1.0, ks3, 2);
}

/* ---- damaged files ---------------------------------------------------------------------- */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    if (fread(b, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return b;
}

static void write_file(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
}

static void test_corrupt(void)
{
    const char *good = "corrupt_good.sfs", *bad = "corrupt_bad.sfs";
    float *v = malloc(fx_n * sizeof *v);
    struct sf_sampler *s = NULL, *r = NULL;
    CHECK_EQ_INT(sf_sampler_create(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 4, 5.0, 5.0, 8, fx_noise, &s),
                 SF_OK);
    run_until(s, 2, v);
    CHECK_EQ_INT(sf_sampler_save(s, good), SF_OK);
    CHECK_EQ_INT(sf_sampler_load(good, &r), SF_OK);
    CHECK(r && same_state(s, r));
    sf_sampler_destroy(r);
    r = NULL;
    size_t len = 0;
    unsigned char *b = read_file(good, &len);
    CHECK(b && len > 64);

    /* missing */
    CHECK_EQ_INT(sf_sampler_load("no_such_state.sfs", &r), SF_E_NOTFOUND);
    /* every truncation, cutting one file shorter and shorter */
    int bad_trunc = 0;
    write_file(bad, b, len);
    for (size_t cut = len; cut-- > 0;) {
        CHECK(truncate(bad, (off_t)cut) == 0);
        int st = sf_sampler_load(bad, &r);
        if (st != SF_E_FORMAT || r) bad_trunc++;
        sf_sampler_destroy(r);
        r = NULL;
    }
    CHECK_EQ_INT(bad_trunc, 0);
    /* trailing garbage */
    unsigned char *longer = malloc(len + 4);
    memcpy(longer, b, len);
    memset(longer + len, 0, 4);
    write_file(bad, longer, len + 4);
    CHECK_EQ_INT(sf_sampler_load(bad, &r), SF_E_FORMAT);
    free(longer);
    /* every single-byte change is rejected: header bytes by their checks, data by checksum */
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)b[i] << (8 * i);
    int accepted = 0, data_not_checksum = 0;
    write_file(bad, b, len);
    int fd = open(bad, O_WRONLY);
    CHECK(fd >= 0);
    for (size_t i = 0; fd >= 0 && i < len; i++) {
        unsigned char flipped = b[i] ^ 0xff;
        CHECK(pwrite(fd, &flipped, 1, (off_t)i) == 1);
        int st = sf_sampler_load(bad, &r);
        if (st == SF_OK) {
            fprintf(stderr, "corrupt: byte %zu flipped was accepted\n", i);
            accepted++;
        }
        if (i >= 8 + hlen && st != SF_E_CHECKSUM) data_not_checksum++;
        sf_sampler_destroy(r);
        r = NULL;
        CHECK(pwrite(fd, &b[i], 1, (off_t)i) == 1);
    }
    if (fd >= 0) close(fd);
    CHECK_EQ_INT(accepted, 0);
    CHECK_EQ_INT(data_not_checksum, 0);
    /* a consistent file whose schedule is not the one this build computes */
    s->sigmas[1] = nextafterf(s->sigmas[1], 2.0f);
    CHECK_EQ_INT(sf_sampler_save(s, bad), SF_OK);
    CHECK_EQ_INT(sf_sampler_load(bad, &r), SF_E_FORMAT);
    s->sigmas[1] = nextafterf(s->sigmas[1], 0.0f);
    /* step beyond n_steps */
    s->step = 7;
    CHECK_EQ_INT(sf_sampler_save(s, bad), SF_OK);
    CHECK_EQ_INT(sf_sampler_load(bad, &r), SF_E_FORMAT);
    CHECK(r == NULL);
    unlink(good);
    unlink(bad);
    free(b);
    free(v);
    sf_sampler_destroy(s);
}

int main(int argc, char **argv)
{
    self_exe = "/proc/self/exe";
    if (open_fixture() != 0) return 1;
    if (argc == 4 && strcmp(argv[1], "child") == 0) {
        int rc = child(argv[2], argv[3]);
        close_fixture();
        return rc;
    }
    for (int i = 1; i < argc || i == 1; i++) {
        const char *m = argc > 1 ? argv[i] : "all";
        int all = strcmp(m, "all") == 0, known = all;
        if (all || strcmp(m, "tables") == 0) known = 1, test_tables();
        if (all || strcmp(m, "golden") == 0) known = 1, test_golden();
        if (all || strcmp(m, "cfg") == 0) known = 1, test_cfg();
        if (all || strcmp(m, "resume") == 0) known = 1, test_resume();
        if (all || strcmp(m, "corrupt") == 0) known = 1, test_corrupt();
        if (!known) {
            fprintf(stderr, "unknown mode %s\n", m);
            return 2;
        }
    }
    close_fixture();
    return sf_test_result("test_sampler");
}

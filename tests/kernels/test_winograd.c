/* test_winograd.c — the Winograd F(2x2, 3x3) path of prepared convs (kernels/winograd.c)
 * against the direct (im2col) path and a double-precision reference, on odd sizes: H and W not
 * multiples of 2 (including 1 and 3), every padding pattern the VAE uses and asymmetric ones,
 * temporal kernels 1 and 3 with padding that cuts the first frames (taps skipped), temporal
 * stride 2, channel counts that make several tile blocks. Tolerance: max|a-b| <= 1e-5 ·
 * max|ref| against the double reference and between the two paths (fp32 sums of up to 27·Cin
 * terms; the transforms add and halve, measured about 1e-7 relative); the worst element of
 * every case is printed. Also: which algorithm AUTO picks, the plan's size, and that the direct
 * plan equals sf_conv3d bit for bit. (ops_cases.h runs a plan case for thread invariance.) */
#include "ops_cases.h"

#include <stdio.h>

#define TOL 1e-5

static double worst_rel(const float *a, const float *b, size_t n, size_t *at)
{
    double m = 0, w = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs((double)b[i]) > m ? fabs((double)b[i]) : m;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > w) w = d, *at = i;
    }
    return m > 0 ? w / m : w;
}

static void one_case(const struct conv_spec *s, int id)
{
    int64_t ot[3];
    sf_conv3d_out_shape(s->thw, s->k, s->stride, s->pad, ot);
    size_t nin = (size_t)(s->cin * s->thw[0] * s->thw[1] * s->thw[2]);
    size_t nout = (size_t)(s->cout * ot[0] * ot[1] * ot[2]);
    float *x = rnd(nin, 300 + id, 1), *wf, *bf;
    struct sf_tensor *w =
        weight(s->dt, 5, (int64_t[]){s->cout, s->cin, s->k[0], s->k[1], s->k[2]}, 400 + id, &wf);
    struct sf_tensor *b = weight(SF_DTYPE_BF16, 1, (int64_t[]){s->cout}, 500 + id, &bf);
    float *yw = malloc(nout * sizeof *yw), *yd = malloc(nout * sizeof *yd);
    float *yr = malloc(nout * sizeof *yr), *y0 = malloc(nout * sizeof *y0);
    struct sf_conv3d_plan *pw = sf_conv3d_plan_create(w, b, s->stride, SF_CONV_WINOGRAD);
    struct sf_conv3d_plan *pd = sf_conv3d_plan_create(w, b, s->stride, SF_CONV_DIRECT);
    struct sf_conv3d_plan *pa = sf_conv3d_plan_create(w, b, s->stride, SF_CONV_AUTO);
    CHECK(pw && pd && pa && yw && yd && yr && y0);
    CHECK(sf_conv3d_plan_algo(pw) == SF_CONV_WINOGRAD);
    CHECK(sf_conv3d_plan_algo(pa) == SF_CONV_WINOGRAD);
    CHECK(sf_conv3d_plan_algo(pd) == SF_CONV_DIRECT);
    size_t u_bytes = (size_t)(16 * s->cout * s->k[0] * s->cin + s->cout) * sizeof(float);
    CHECK(sf_conv3d_plan_bytes(pw) >= u_bytes && sf_conv3d_plan_bytes(pw) < u_bytes + 256);
    sf_conv3d_plan_run(pw, x, s->cin, s->thw, s->pad, yw);
    sf_conv3d_plan_run(pd, x, s->cin, s->thw, s->pad, yd);
    sf_conv3d(x, s->cin, s->thw, w, b, s->stride, s->pad, y0);
    conv_ref(s, x, wf, bf, yr);
    char what[160];
    snprintf(what, sizeof what,
             "case %d: cin %lld cout %lld thw %lldx%lldx%lld k %lld pad %d,%d,%d,%d,%d,%d st %d",
             id, (long long)s->cin, (long long)s->cout, (long long)s->thw[0], (long long)s->thw[1],
             (long long)s->thw[2], (long long)s->k[0], s->pad[0], s->pad[1], s->pad[2], s->pad[3],
             s->pad[4], s->pad[5], s->stride[0]);
    size_t at_r, at_d;
    double er = worst_rel(yw, yr, nout, &at_r), ed = worst_rel(yw, yd, nout, &at_d);
    printf("%s: Winograd vs double %.2e (worst [%zu] %.9g vs %.9g), vs direct %.2e\n", what, er,
           at_r, (double)yw[at_r], (double)yr[at_r], ed);
    sf_test_close_f32(what, yw, yr, nout, TOL);
    sf_test_close_f32(what, yw, yd, nout, TOL);
    sf_test_close_f32(what, yd, yr, nout, TOL);
    CHECK(memcmp(yd, y0, nout * sizeof *yd) == 0); /* the direct plan is sf_conv3d */
    sf_conv3d_plan_destroy(pw), sf_conv3d_plan_destroy(pd), sf_conv3d_plan_destroy(pa);
    sf_tensor_destroy(w), sf_tensor_destroy(b);
    free(x), free(wf), free(bf), free(yw), free(yd), free(yr), free(y0);
}

static void test_auto_choice(void)
{
    float *wf;
    struct sf_tensor *w1 = weight(SF_DTYPE_F32, 5, (int64_t[]){4, 3, 1, 1, 1}, 1, &wf);
    free(wf);
    struct sf_tensor *w3 = weight(SF_DTYPE_F32, 5, (int64_t[]){4, 3, 3, 3, 3}, 2, &wf);
    free(wf);
    struct sf_conv3d_plan *a = sf_conv3d_plan_create(w1, NULL, (int[]){1, 1, 1}, SF_CONV_AUTO);
    struct sf_conv3d_plan *b = sf_conv3d_plan_create(w3, NULL, (int[]){1, 2, 2}, SF_CONV_AUTO);
    struct sf_conv3d_plan *c = sf_conv3d_plan_create(w3, NULL, (int[]){2, 1, 1}, SF_CONV_AUTO);
    CHECK(a && b && c);
    CHECK(sf_conv3d_plan_algo(a) == SF_CONV_DIRECT);   /* 1x1x1 */
    CHECK(sf_conv3d_plan_algo(b) == SF_CONV_DIRECT);   /* spatial stride 2 */
    CHECK(sf_conv3d_plan_algo(c) == SF_CONV_WINOGRAD); /* temporal stride is fine */
    CHECK(sf_conv3d_plan_bytes(NULL) == 0);
    sf_conv3d_plan_destroy(a), sf_conv3d_plan_destroy(b), sf_conv3d_plan_destroy(c);
    sf_conv3d_plan_destroy(NULL);
    sf_tensor_destroy(w1), sf_tensor_destroy(w3);
}

int main(void)
{
    sf_threads_init(2);
    static const struct conv_spec cases[] = {
        /* the VAE's causal 3x3x3: first pass (2 of 3 taps in padding), later passes */
        {7, 5, {1, 9, 11}, {3, 3, 3}, {1, 1, 1}, {2, 0, 1, 1, 1, 1}, SF_DTYPE_F32},
        {7, 5, {4, 9, 11}, {3, 3, 3}, {1, 1, 1}, {2, 0, 1, 1, 1, 1}, SF_DTYPE_BF16},
        {6, 4, {3, 8, 8}, {3, 3, 3}, {1, 1, 1}, {1, 0, 1, 1, 1, 1}, SF_DTYPE_F32},
        /* 2D 3x3 (resample convs), odd and tiny sizes */
        {5, 3, {2, 1, 1}, {1, 3, 3}, {1, 1, 1}, {0, 0, 1, 1, 1, 1}, SF_DTYPE_F32},
        {5, 3, {1, 3, 5}, {1, 3, 3}, {1, 1, 1}, {0, 0, 1, 1, 1, 1}, SF_DTYPE_F16},
        {3, 6, {1, 33, 17}, {1, 3, 3}, {1, 1, 1}, {0, 0, 1, 1, 1, 1}, SF_DTYPE_BF16},
        /* no padding, asymmetric padding, padding larger than the kernel reach */
        {4, 5, {2, 7, 9}, {1, 3, 3}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, SF_DTYPE_F32},
        {4, 5, {2, 7, 9}, {1, 3, 3}, {1, 1, 1}, {0, 0, 0, 1, 0, 1}, SF_DTYPE_F32},
        {4, 5, {2, 6, 5}, {1, 3, 3}, {1, 1, 1}, {0, 0, 2, 0, 1, 2}, SF_DTYPE_F32},
        {3, 2, {1, 5, 4}, {1, 3, 3}, {1, 1, 1}, {0, 0, 3, 3, 3, 3}, SF_DTYPE_F32},
        /* temporal stride 2 and back padding; zero-output frames meet only padding */
        {3, 4, {5, 7, 7}, {3, 3, 3}, {2, 1, 1}, {2, 2, 1, 1, 1, 1}, SF_DTYPE_F32},
        {3, 4, {1, 5, 5}, {3, 3, 3}, {1, 1, 1}, {4, 0, 1, 1, 1, 1}, SF_DTYPE_F32},
        /* many channels: several tile blocks of fewer than 256 tiles (P = 8 MiB / (64 kt cin)) */
        {200, 9, {2, 45, 39}, {3, 3, 3}, {1, 1, 1}, {2, 0, 1, 1, 1, 1}, SF_DTYPE_BF16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        one_case(&cases[i], (int)i);
    test_auto_choice();
    return sf_test_result("kernels_winograd");
}

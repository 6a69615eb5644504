/* test_tensor.c — struct sf_tensor (views, owned tensors, describe, invalid shapes) and bulk
 * dtype conversion: on every SIMD path this CPU has, sf_convert_* must equal the scalar rules of
 * io/sf_dtype.h bit for bit, including ties, subnormals, infinities, NaN and odd tails. */
#include <stdlib.h>

#include "sf_ops.h"
#include "sf_test.h"

static void test_tensor_basics(void)
{
    struct sf_tensor *t = sf_tensor_create(SF_DTYPE_BF16, 2, (int64_t[]){3, 5});
    CHECK(t && t->owned && t->ndim == 2 && t->shape[2] == 1);
    CHECK((uintptr_t)t->data % 64 == 0);
    CHECK_EQ_INT(sf_tensor_numel(t), 15);
    CHECK_EQ_INT(sf_tensor_bytes(t), 30);
    int zero = 1;
    for (int i = 0; i < 15; i++)
        zero &= ((uint16_t *)t->data)[i] == 0;
    CHECK(zero);
    char buf[64];
    CHECK_STR(sf_tensor_describe(t, buf, sizeof buf), "bf16[3,5]");
    char small[6];
    sf_tensor_describe(t, small, sizeof small);
    CHECK(strlen(small) == 5);
    sf_tensor_destroy(t);
    sf_tensor_destroy(NULL);
    CHECK(sf_tensor_create(SF_DTYPE_F32, 7, (int64_t[]){1, 1, 1, 1, 1, 1, 1}) == NULL);
    CHECK(sf_tensor_create(SF_DTYPE_F32, 1, (int64_t[]){-1}) == NULL);
    float data[6];
    struct sf_tensor v;
    sf_tensor_view(&v, SF_DTYPE_F32, 3, (int64_t[]){1, 2, 3}, data);
    CHECK(!v.owned && v.data == data && sf_tensor_numel(&v) == 6);
    CHECK_STR(sf_tensor_describe(&v, buf, sizeof buf), "fp32[1,2,3]");
}

static void test_conversions(const char *path)
{
    enum { N = 4099 };
    float *src = malloc(N * sizeof *src), *back = malloc(N * sizeof *back);
    uint16_t *h = malloc(N * sizeof *h);
    uint64_t seed = 7;
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)sf_test_rand_u64(&seed);
        if (i % 3 == 0) u = (u & 0x807fffffu) | (uint32_t)(100 + i % 60) << 23; /* normal range */
        if (i % 7 == 0) u = (u & 0xffff0000u) | 0x8000u;                        /* bf16 ties */
        if (i % 11 == 0) u = (u & 0xffffe000u) | 0x1000u;                       /* fp16 ties */
        memcpy(&src[i], &u, 4);
    }
    static const float special[] = {0.0f,   -0.0f,    INFINITY,       -INFINITY,
                                    NAN,    65504.0f, 65520.0f,       6.0e-8f,
                                    1e-45f, 3.0e-5f,  -2.9802322e-08f};
    memcpy(src, special, sizeof special);
    int ok = 1;
    /* bf16 */
    sf_convert_from_f32(SF_DTYPE_BF16, src, h, N);
    for (int i = 0; i < N; i++)
        ok &= h[i] == sf_f32_to_bf16(src[i]);
    sf_convert_to_f32(SF_DTYPE_BF16, h, back, N);
    for (int i = 0; i < N; i++) {
        float want = sf_bf16_to_f32(h[i]);
        ok &= memcmp(&back[i], &want, 4) == 0;
    }
    if (!ok) fprintf(stderr, "bf16 conversion [%s] differs from the scalar rule\n", path);
    CHECK(ok);
    /* fp16 (NaN payloads aside: both give a quiet NaN) */
    ok = 1;
    sf_convert_from_f32(SF_DTYPE_F16, src, h, N);
    for (int i = 0; i < N; i++) {
        uint16_t want = sf_f32_to_f16(src[i]);
        if (src[i] != src[i])
            ok &= (h[i] & 0x7c00u) == 0x7c00u && (h[i] & 0x3ffu);
        else if (h[i] != want) {
            fprintf(stderr, "fp16 [%s] at %d: %a -> %04x, want %04x\n", path, i, (double)src[i],
                    h[i], want);
            ok = 0;
        }
    }
    for (int i = 0; i < N; i++)
        h[i] = (uint16_t)i * 16; /* every exponent, subnormals */
    sf_convert_to_f32(SF_DTYPE_F16, h, back, N);
    for (int i = 0; i < N; i++) { /* hardware quiets signalling NaNs: compare NaN-ness there */
        float want = sf_f16_to_f32(h[i]);
        int same = want != want ? back[i] != back[i] : memcmp(&back[i], &want, 4) == 0;
        if (!same)
            fprintf(stderr, "fp16 -> fp32 [%s] of %04x: %a, want %a\n", path, h[i], (double)back[i],
                    (double)want);
        ok &= same;
    }
    CHECK(ok);
    sf_convert_to_f32(SF_DTYPE_F32, src, back, N);
    CHECK(memcmp(src, back, N * sizeof *src) == 0);
    free(src), free(back), free(h);
}

int main(void)
{
    test_tensor_basics();
    static const char *paths[] = {"portable", "avx2", "avx512"};
    for (int p = 0; p < 3; p++) {
        if (sf_cpu_force_simd(paths[p]) != 0) {
            fprintf(stderr, "simd path %s: not on this CPU, skipped\n", paths[p]);
            continue;
        }
        test_conversions(paths[p]);
    }
    return sf_test_result("kernels_tensor");
}

/* bf16 and fp16 conversions: exhaustive round trips and round-to-nearest-even narrowing checked
 * against an independent double-precision computation. */
#include "sf_dtype.h"
#include "sf_test.h"

#include <math.h>

/* Reference narrowing: nearest representable value by brute force over neighbours. */
static double f16_value(uint16_t h) { return (double)sf_f16_to_f32(h); }

int main(void)
{
    /* Every bf16 and fp16 pattern survives widen + narrow (NaNs stay NaN). */
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i;
        float f = sf_bf16_to_f32(h);
        if (f == f) CHECK_EQ_INT(sf_f32_to_bf16(f), h);
        else CHECK(sf_bf16_to_f32(sf_f32_to_bf16(f)) != sf_bf16_to_f32(sf_f32_to_bf16(f)));
        float g = sf_f16_to_f32(h);
        if (g == g) CHECK_EQ_INT(sf_f32_to_f16(g), h);
    }
    /* Known values. */
    CHECK(sf_f16_to_f32(0x3c00) == 1.0f);
    CHECK(sf_f16_to_f32(0xc000) == -2.0f);
    CHECK(sf_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(sf_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    CHECK(sf_bf16_to_f32(0x3f80) == 1.0f);
    CHECK_EQ_INT(sf_f32_to_f16(1e6f), 0x7c00);   /* overflow to inf */
    CHECK_EQ_INT(sf_f32_to_f16(-1e-9f), 0x8000); /* underflow to -0 */
    /* Ties to even: 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125 -> 1.0. */
    CHECK_EQ_INT(sf_f32_to_bf16(1.0f + ldexpf(1.0f, -8)), 0x3f80);
    CHECK_EQ_INT(sf_f32_to_bf16(1.0f + 3 * ldexpf(1.0f, -8)), 0x3f82);
    /* Random narrowing to fp16 is the nearest value (ties to even). */
    uint64_t s = 7;
    for (int i = 0; i < 200000; i++) {
        float x = sf_test_rand_f32(&s) * ldexpf(1.0f, (int)(sf_test_rand_u64(&s) % 40) - 26);
        uint16_t h = sf_f32_to_f16(x);
        double e = fabs(f16_value(h) - x);
        uint16_t up = (uint16_t)(h + 1), dn = (uint16_t)(h - 1);
        if ((h & 0x7c00) != 0x7c00) {
            double eu = fabs(f16_value(up) - x), ed = (h & 0x7fff) ? fabs(f16_value(dn) - x) : e;
            if (!(e <= eu && e <= ed)) {
                fprintf(stderr, "fp16 narrowing of %.9g gave 0x%04x (err %g)\n", x, h, e);
                sf_test_failures++;
                break;
            }
            if ((e == eu || e == ed) && (h & 1)) {
                fprintf(stderr, "fp16 tie of %.9g not rounded to even: 0x%04x\n", x, h);
                sf_test_failures++;
                break;
            }
        }
    }
    enum sf_dtype t;
    CHECK(sf_dtype_parse("BF16", &t) == 0 && t == SF_DTYPE_BF16);
    CHECK(sf_dtype_parse("float32", &t) == 0 && t == SF_DTYPE_F32);
    CHECK(sf_dtype_parse("fp16", &t) == 0 && t == SF_DTYPE_F16);
    CHECK(sf_dtype_parse("q4_0", &t) == -1);
    CHECK_STR(sf_dtype_st_name(SF_DTYPE_I64), "I64");
    CHECK_EQ_INT(sf_dtype_size(SF_DTYPE_BF16), 2);
    return sf_test_result("base_dtype");
}

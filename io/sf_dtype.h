/* sf_dtype.h — element types shared by every layer, and scalar conversions.
 * io/ owns this because io/ depends on nothing of ours and its descriptors carry dtypes.
 * bf16 is the top half of an fp32 (round to nearest even on narrowing); fp16 is IEEE binary16. */
#ifndef SF_DTYPE_H
#define SF_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum sf_dtype { SF_DTYPE_F32 = 0, SF_DTYPE_BF16 = 1, SF_DTYPE_F16 = 2, SF_DTYPE_I64 = 3,
                SF_DTYPE_I32 = 4, SF_DTYPE_U8 = 5, SF_DTYPE_F64 = 6, SF_DTYPE_COUNT };

/* Bytes per element. */
static inline size_t sf_dtype_size(enum sf_dtype t)
{
    static const size_t sz[SF_DTYPE_COUNT] = {4, 2, 2, 8, 4, 1, 8};
    return (unsigned)t < SF_DTYPE_COUNT ? sz[t] : 0;
}

/* 1 for the float types model weights come in (fp32, bf16, fp16). */
static inline int sf_dtype_is_weight_float(enum sf_dtype t)
{
    return t == SF_DTYPE_F32 || t == SF_DTYPE_BF16 || t == SF_DTYPE_F16;
}

/* Lower-case name as the CLI spells it ("f32" -> "fp32"): fp32, bf16, fp16, i64, i32, u8, fp64. */
const char *sf_dtype_name(enum sf_dtype t);
/* Safetensors spelling: F32, BF16, F16, I64, I32, U8, F64. */
const char *sf_dtype_st_name(enum sf_dtype t);
/* Parses either spelling (case-insensitive; also "float32", "float16", "bfloat16").
 * Returns 0 and sets *out, or -1 when unknown. */
int sf_dtype_parse(const char *s, enum sf_dtype *out);

static inline float sf_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t sf_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float sf_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t sf_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);        /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);       /* overflow -> inf */
    if (a < 0x38800000u) {                                          /* subnormal or zero */
        if (a < 0x33000000u) return (uint16_t)sign;
        uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((a >> 13) - ((127 - 15) << 10));
    uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++;
    return (uint16_t)(sign | r);
}

#endif

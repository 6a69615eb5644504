/* dtype.c — names of element types (sf_dtype.h). */
#include "sf_dtype.h"

#include <strings.h>

static const char *cli_names[SF_DTYPE_COUNT] = {"fp32", "bf16", "fp16", "i64", "i32", "u8", "fp64"};
static const char *st_names[SF_DTYPE_COUNT] = {"F32", "BF16", "F16", "I64", "I32", "U8", "F64"};

const char *sf_dtype_name(enum sf_dtype t)
{
    return (unsigned)t < SF_DTYPE_COUNT ? cli_names[t] : "?";
}

const char *sf_dtype_st_name(enum sf_dtype t)
{
    return (unsigned)t < SF_DTYPE_COUNT ? st_names[t] : "?";
}

int sf_dtype_parse(const char *s, enum sf_dtype *out)
{
    static const struct { const char *name; enum sf_dtype t; } aliases[] = {
        {"float32", SF_DTYPE_F32}, {"f32", SF_DTYPE_F32}, {"float16", SF_DTYPE_F16},
        {"half", SF_DTYPE_F16}, {"f16", SF_DTYPE_F16}, {"bfloat16", SF_DTYPE_BF16},
        {"int64", SF_DTYPE_I64}, {"int32", SF_DTYPE_I32}, {"uint8", SF_DTYPE_U8},
        {"float64", SF_DTYPE_F64}, {"f64", SF_DTYPE_F64},
    };
    if (!s) return -1;
    for (int i = 0; i < SF_DTYPE_COUNT; i++) {
        if (strcasecmp(s, cli_names[i]) == 0 || strcasecmp(s, st_names[i]) == 0) {
            *out = (enum sf_dtype)i;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcasecmp(s, aliases[i].name) == 0) {
            *out = aliases[i].t;
            return 0;
        }
    }
    return -1;
}

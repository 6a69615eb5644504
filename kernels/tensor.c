/* tensor.c — struct sf_tensor (borrowed views and owned, 64-byte aligned storage) and bulk
 * dtype conversion. Called by every model and by the safetensors reader's users. Conversions go
 * through the run-time SIMD table; the scalar rules (round to nearest even, NaN kept quiet) are
 * those of io/sf_dtype.h, and every SIMD path reproduces them bit for bit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "sf_status.h"
#include "sf_tensor.h"

static void set_shape(struct sf_tensor *t, enum sf_dtype dtype, int ndim, const int64_t *shape)
{
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < SF_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
}

void sf_tensor_view(struct sf_tensor *t, enum sf_dtype dtype, int ndim, const int64_t *shape,
                    const void *data)
{
    SF_ASSERT(ndim >= 0 && ndim <= SF_MAX_DIMS);
    set_shape(t, dtype, ndim, shape);
    t->data = (void *)data; /* borrowed: the header documents that views never write */
    t->owned = 0;
}

struct sf_tensor *sf_tensor_create(enum sf_dtype dtype, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > SF_MAX_DIMS || sf_dtype_size(dtype) == 0) return NULL;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) return NULL;
    struct sf_tensor *t = malloc(sizeof *t);
    if (!t) return NULL;
    set_shape(t, dtype, ndim, shape);
    size_t bytes = sf_tensor_bytes(t);
    size_t alloc = (bytes + 63) & ~(size_t)63;
    t->data = aligned_alloc(64, alloc ? alloc : 64);
    if (!t->data) {
        free(t);
        return NULL;
    }
    memset(t->data, 0, alloc);
    t->owned = 1;
    return t;
}

void sf_tensor_destroy(struct sf_tensor *t)
{
    if (!t) return;
    if (t->owned) free(t->data);
    free(t);
}

int64_t sf_tensor_numel(const struct sf_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

size_t sf_tensor_bytes(const struct sf_tensor *t)
{
    return (size_t)sf_tensor_numel(t) * sf_dtype_size(t->dtype);
}

const char *sf_tensor_describe(const struct sf_tensor *t, char *buf, size_t n)
{
    size_t off = 0;
    int w = snprintf(buf, n, "%s[", sf_dtype_name(t->dtype));
    off = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < t->ndim && off < n; i++) {
        w = snprintf(buf + off, n - off, "%s%" PRId64, i ? "," : "", t->shape[i]);
        off += w > 0 ? (size_t)w : 0;
    }
    if (off < n) snprintf(buf + off, n - off, "]");
    return buf;
}

void sf_convert_to_f32(enum sf_dtype src_dtype, const void *src, float *dst, size_t n)
{
    switch (src_dtype) {
    case SF_DTYPE_F32:
        memmove(dst, src, n * sizeof(float));
        break;
    case SF_DTYPE_BF16:
        sf_cpu_simd()->bf16_to_f32(src, dst, n);
        break;
    case SF_DTYPE_F16:
        sf_cpu_simd()->f16_to_f32(src, dst, n);
        break;
    default:
        SF_ASSERT(!"sf_convert_to_f32: not a float dtype");
    }
}

void sf_convert_from_f32(enum sf_dtype dst_dtype, const float *src, void *dst, size_t n)
{
    switch (dst_dtype) {
    case SF_DTYPE_F32:
        memmove(dst, src, n * sizeof(float));
        break;
    case SF_DTYPE_BF16:
        sf_cpu_simd()->f32_to_bf16(src, dst, n);
        break;
    case SF_DTYPE_F16:
        sf_cpu_simd()->f32_to_f16(src, dst, n);
        break;
    default:
        SF_ASSERT(!"sf_convert_from_f32: not a float dtype");
    }
}

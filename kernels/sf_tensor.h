/* sf_tensor.h — the tensor type of shotfarm: a dtype, a shape (outermost first) and contiguous
 * row-major storage that is either borrowed (a view into an mmapped safetensors file, a caller's
 * buffer) or owned (allocated here, 64-byte aligned).
 *
 *   struct sf_tensor w;
 *   sf_tensor_view(&w, SF_DTYPE_BF16, 2, (int64_t[]){out, in}, mmapped_ptr);   // borrowed
 *   struct sf_tensor *y = sf_tensor_create(SF_DTYPE_F32, 2, (int64_t[]){n, out}); // owned
 *   ...
 *   sf_tensor_destroy(y);
 */
#ifndef SF_TENSOR_H
#define SF_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "sf_dtype.h"

#define SF_MAX_DIMS 6

struct sf_tensor {
    enum sf_dtype dtype;
    int ndim;
    int64_t shape[SF_MAX_DIMS]; /* outermost first; unused dims are 1 */
    void *data;                 /* contiguous, row-major */
    int owned;                  /* 1: data is freed by sf_tensor_destroy */
};

/* Fills *t as a borrowed view of data (no copy). */
void sf_tensor_view(struct sf_tensor *t, enum sf_dtype dtype, int ndim, const int64_t *shape,
                    const void *data);
/* Allocates an owned, zero-filled tensor (64-byte aligned). NULL when out of memory or the
 * shape is invalid. */
struct sf_tensor *sf_tensor_create(enum sf_dtype dtype, int ndim, const int64_t *shape);
/* Frees an owned tensor's data and the struct itself; NULL does nothing. */
void sf_tensor_destroy(struct sf_tensor *t);

int64_t sf_tensor_numel(const struct sf_tensor *t);
size_t sf_tensor_bytes(const struct sf_tensor *t);
/* "bf16[1536,4096]" into buf. */
const char *sf_tensor_describe(const struct sf_tensor *t, char *buf, size_t n);

/* Converts n elements of any float dtype (fp32/bf16/fp16) to fp32. */
void sf_convert_to_f32(enum sf_dtype src_dtype, const void *src, float *dst, size_t n);
/* Converts n fp32 values to dtype (fp32/bf16/fp16), rounding to nearest even. */
void sf_convert_from_f32(enum sf_dtype dst_dtype, const float *src, void *dst, size_t n);

#endif

/* elementwise.c — the CPU backend's elementwise glue between a model's big ops (sf_ops.h
 * § elementwise glue): gated residual adds of the fp32 stream, modulation tables plus time
 * projections, the patch embedding's transpose and the two halves of an RMSNorm split over
 * ranks. Called by the DiT through its backend table, so the GPU backend runs the same steps on
 * device memory. Each element is computed by exactly one expression (no reassociation, no
 * contraction: C11 mode keeps -ffp-contract off), so results do not depend on the thread count
 * and are the bytes the DiT's former inline loops produced. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "sf_status.h"

#define ADD_ROWS 32 /* rows per task of the gated add */

struct add_job {
    float *x;
    const float *y, *gate;
    int64_t gate_stride, group_rows, rows, cols;
};

static void add_item(void *ctx, int64_t item)
{
    const struct add_job *j = ctx;
    int64_t r1 = (item + 1) * ADD_ROWS < j->rows ? (item + 1) * ADD_ROWS : j->rows;
    for (int64_t r = item * ADD_ROWS; r < r1; r++) {
        float *xr = j->x + r * j->cols;
        const float *yr = j->y + r * j->cols;
        const float *gate = j->gate ? j->gate + r / j->group_rows * j->gate_stride : NULL;
        if (gate)
            for (int64_t c = 0; c < j->cols; c++)
                xr[c] += yr[c] * gate[c];
        else
            for (int64_t c = 0; c < j->cols; c++)
                xr[c] += yr[c];
    }
}

void sf_cpu_add_gated(float *x, const float *y, const float *gate, int64_t gate_stride,
                      int64_t group_rows, int64_t rows, int64_t cols)
{
    if (rows <= 0 || cols <= 0) return;
    struct add_job j = {.x = x,
                        .y = y,
                        .gate = gate,
                        .gate_stride = gate_stride,
                        .group_rows = group_rows > 0 ? group_rows : 1,
                        .rows = rows,
                        .cols = cols};
    sf_parallel_for((rows + ADD_ROWS - 1) / ADD_ROWS, add_item, &j);
}

void sf_cpu_axpy(float *y, float a, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i] * a;
}

void sf_cpu_add_bcast(float *y, int64_t y_stride, const float *a, int64_t a_stride,
                      const float *b, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            y[r * y_stride + c] = a[r * a_stride + c] + b[c];
}

void sf_cpu_transpose(const float *x, int64_t rows, int64_t cols, float *y)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            y[c * rows + r] = x[r * cols + c];
}

void sf_cpu_sumsq_rows(const float *x, int64_t rows, int64_t cols, double *ss)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double s = 0;
        for (int64_t c = 0; c < cols; c++)
            s += (double)xr[c] * xr[c];
        ss[r] = s;
    }
}

void sf_cpu_rms_scale(float *x, const double *ss, const float *w, int64_t rows, int64_t cols,
                      int64_t n_total, float eps)
{
    for (int64_t r = 0; r < rows; r++) {
        float *xr = x + r * cols;
        float inv = (float)(1.0 / sqrt(ss[r] / (double)n_total + (double)eps));
        for (int64_t c = 0; c < cols; c++)
            xr[c] = xr[c] * inv * w[c];
    }
}

/* The memory slots of the CPU backend: host memory, plain copies. */
int sf_cpu_alloc(void **p, size_t bytes)
{
    *p = aligned_alloc(256, (bytes + 255) & ~(size_t)255);
    return *p ? SF_OK : SF_E_NOMEM;
}
void sf_cpu_free(void *p)
{
    free(p);
}
void sf_cpu_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes) memmove(dst, src, bytes);
}
void sf_cpu_zero(void *dst, size_t bytes)
{
    if (bytes) memset(dst, 0, bytes);
}

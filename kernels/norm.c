/* norm.c — the row-wise and elementwise ops of the CPU backend: LayerNorm, RMSNorm, adaLN
 * modulate, GELU(tanh), SiLU, and Wan's sinusoidal timestep embedding. Called by the DiT, the VAE
 * and umT5 layers. Each row (or chunk of elements) is computed whole by one task with the SIMD
 * table's loops, so how rows are shared among threads cannot change a result. */
#include <math.h>

#include "cpu.h"
#include "sf_status.h"

#define ROW_ITEM_FLOATS 16384 /* rows per task: about this many floats */
#define ELEM_ITEM 16384       /* elements per task for the elementwise ops */

enum row_op { ROW_LAYERNORM, ROW_RMSNORM, ROW_MODULATE };

struct row_job {
    enum row_op op;
    const float *x, *a, *b; /* a/b: weight/bias, or shift/scale */
    float *y;
    int64_t rows, cols, per_item;
    float eps;
};

static void row_item(void *ctx, int64_t item)
{
    const struct row_job *j = ctx;
    const struct cpu_simd *s = sf_cpu_simd();
    int64_t r0 = item * j->per_item, r1 = r0 + j->per_item < j->rows ? r0 + j->per_item : j->rows;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * j->cols;
        float *y = j->y + r * j->cols;
        switch (j->op) {
        case ROW_LAYERNORM:
            s->layernorm_row(x, j->a, j->b, y, j->cols, j->eps);
            break;
        case ROW_RMSNORM:
            s->rmsnorm_row(x, j->a, y, j->cols, j->eps);
            break;
        case ROW_MODULATE:
            s->modulate_row(x, j->a, j->b, y, j->cols);
            break;
        }
    }
}

static void run_rows(struct row_job *j)
{
    if (j->rows <= 0 || j->cols <= 0) return;
    j->per_item = ROW_ITEM_FLOATS / j->cols;
    if (j->per_item < 1) j->per_item = 1;
    sf_parallel_for((j->rows + j->per_item - 1) / j->per_item, row_item, j);
}

void sf_cpu_layernorm(const float *x, const float *w, const float *b, float *y, int64_t rows,
                      int64_t cols, float eps)
{
    struct row_job j = {.op = ROW_LAYERNORM,
                        .x = x,
                        .a = w,
                        .b = b,
                        .y = y,
                        .rows = rows,
                        .cols = cols,
                        .eps = eps};
    run_rows(&j);
}

void sf_cpu_rmsnorm(const float *x, const float *w, float *y, int64_t rows, int64_t cols, float eps)
{
    struct row_job j = {
        .op = ROW_RMSNORM, .x = x, .a = w, .y = y, .rows = rows, .cols = cols, .eps = eps};
    run_rows(&j);
}

void sf_cpu_modulate(const float *x, const float *shift, const float *scale, float *y, int64_t rows,
                     int64_t cols)
{
    struct row_job j = {
        .op = ROW_MODULATE, .x = x, .a = shift, .b = scale, .y = y, .rows = rows, .cols = cols};
    run_rows(&j);
}

struct elem_job {
    float *x;
    int64_t n;
    int gelu;
};

static void elem_item(void *ctx, int64_t item)
{
    const struct elem_job *j = ctx;
    int64_t i0 = item * ELEM_ITEM, len = j->n - i0 < ELEM_ITEM ? j->n - i0 : ELEM_ITEM;
    if (j->gelu)
        sf_cpu_simd()->gelu_tanh(j->x + i0, len);
    else
        sf_cpu_simd()->silu(j->x + i0, len);
}

void sf_cpu_gelu_tanh(float *x, int64_t n)
{
    struct elem_job j = {.x = x, .n = n, .gelu = 1};
    sf_parallel_for((n + ELEM_ITEM - 1) / ELEM_ITEM, elem_item, &j);
}

void sf_cpu_silu(float *x, int64_t n)
{
    struct elem_job j = {.x = x, .n = n, .gelu = 0};
    sf_parallel_for((n + ELEM_ITEM - 1) / ELEM_ITEM, elem_item, &j);
}

void sf_timestep_embedding(double t, int dim, float *out)
{
    SF_ASSERT(dim > 0 && dim % 2 == 0);
    int half = dim / 2;
    for (int i = 0; i < half; i++) {
        double f = pow(10000.0, -(double)i / half);
        out[i] = (float)cos(t * f);
        out[half + i] = (float)sin(t * f);
    }
}

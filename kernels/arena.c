/* arena.c — a bump allocator sized once (when a model is loaded) so the denoising loop allocates
 * nothing: callers take a mark, allocate their step's buffers and reset to the mark. Overflow is
 * a sizing bug and aborts with the numbers needed to fix the sizing. */
#include <stdlib.h>
#include <string.h>

#include "sf_backend.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_status.h"

int sf_arena_init(struct sf_arena *a, size_t bytes)
{
    memset(a, 0, sizeof *a);
    size_t want = (bytes + 63) & ~(size_t)63;
    a->base = aligned_alloc(64, want ? want : 64);
    if (!a->base) return SF_E_NOMEM;
    a->size = want;
    return SF_OK;
}

int sf_arena_init_on(struct sf_arena *a, size_t bytes, const struct sf_backend *be)
{
    if (!be || be->host_memory) return sf_arena_init(a, bytes);
    memset(a, 0, sizeof *a);
    size_t want = (bytes + 255) & ~(size_t)255;
    void *p = NULL;
    int st = be->alloc(&p, want ? want : 256);
    if (st != SF_OK) return st;
    a->base = p;
    a->size = want;
    a->be = be;
    return SF_OK;
}

void sf_arena_fini(struct sf_arena *a)
{
    if (a->be)
        a->be->free(a->base);
    else
        free(a->base);
    memset(a, 0, sizeof *a);
}

void *sf_arena_alloc(struct sf_arena *a, size_t bytes)
{
    size_t need = (bytes + 63) & ~(size_t)63;
    if (need < bytes || need > a->size - a->used) {
        SF_ERROR("kernels", "arena of %zu bytes overflowed: %zu used, %zu more requested", a->size,
                 a->used, bytes);
        SF_ASSERT(!"arena sized too small");
    }
    void *p = a->base + a->used;
    a->used += need;
    if (a->used > a->high_water) a->high_water = a->used;
    return p;
}

size_t sf_arena_mark(const struct sf_arena *a)
{
    return a->used;
}

void sf_arena_reset(struct sf_arena *a, size_t mark)
{
    SF_ASSERT(mark <= a->used);
    a->used = mark;
}

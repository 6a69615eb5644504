/* render_gang.c — what the members of a gang unit say to each other while they run one unit
 * (sf_render_gang in sf_render.h; today the windows of a long shot, docs/windows.md § Gang).
 * Only the members' group leaders talk, point to point on the world communicator with their
 * own tag, always to or from the gang's leader (member 0) and always in member order, so the
 * sums are the same whatever the timing; each then passes the result on inside its
 * tensor-parallel group. Every rank of every member must make the same calls in the same order.
 * The subtle thing: the blend adds member m's part only over the frames its windows wrote, onto
 * the leader's, in window order: a frame gets exactly the additions the one-group loop makes,
 * so the blended prediction has the same bits for any gang size. */
#include "render_internal.h"
#include "sf_comm.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <limits.h>
#include <stdlib.h>

static int mpi_ok(int rc, const char *what)
{
    if (rc == MPI_SUCCESS) return SF_OK;
    SF_ERROR("render", "gang %s failed (MPI error %d)", what, rc);
    return SF_E_IO;
}

/* Whether this rank speaks for its member group on the world communicator. */
static int speaks(const struct sf_render_worker *w)
{
    return w->gang.size > 1 && (!w->comm || w->comm->rank == 0);
}

int sf_render_gang_bcast(struct sf_render_worker *w, void *buf, size_t bytes)
{
    int st = SF_OK;
    if (speaks(w)) {
        MPI_Comm wc = *(MPI_Comm *)w->gang.world_comm;
        SF_ASSERT(bytes <= INT_MAX);
        if (w->gang.index == 0) {
            for (int m = 1; m < w->gang.size && st == SF_OK; m++)
                st = mpi_ok(MPI_Send(buf, (int)bytes, MPI_BYTE, w->gang.leaders[m],
                                     SF_RENDER_TAG_GANG, wc), "send");
        } else {
            st = mpi_ok(MPI_Recv(buf, (int)bytes, MPI_BYTE, w->gang.leaders[0], SF_RENDER_TAG_GANG,
                                 wc, MPI_STATUS_IGNORE), "receive");
        }
    }
    if (st == SF_OK && w->comm) st = sf_comm_broadcast(w->comm, buf, bytes, 0);
    return st;
}

int sf_render_gang_sum(struct sf_render_worker *w, double *x)
{
    int st = w->comm ? sf_comm_allreduce_sum_f64(w->comm, x, 1) : SF_OK;
    if (st || w->gang.size < 2) return st;
    if (speaks(w)) {
        MPI_Comm wc = *(MPI_Comm *)w->gang.world_comm;
        if (w->gang.index == 0) {
            for (int m = 1; m < w->gang.size && st == SF_OK; m++) {
                double y = 0;
                st = mpi_ok(MPI_Recv(&y, 1, MPI_DOUBLE, w->gang.leaders[m], SF_RENDER_TAG_GANG, wc,
                                     MPI_STATUS_IGNORE), "receive");
                *x += y;
            }
        } else {
            st = mpi_ok(MPI_Send(x, 1, MPI_DOUBLE, w->gang.leaders[0], SF_RENDER_TAG_GANG, wc),
                        "send");
        }
    }
    if (st) return st;
    return sf_render_gang_bcast(w, x, sizeof *x);
}

void sf_render_gang_windows(const struct sf_render_gang *g, int n, int *first, int *count)
{
    SF_ASSERT(g->size >= 1 && g->size <= n && g->index >= 0 && g->index < g->size);
    const int a = (int)((long)g->index * n / g->size), b = (int)((long)(g->index + 1) * n / g->size);
    *first = a;
    *count = b - a;
}

int sf_render_gang_blend(void *arg, float *v, int64_t lo, int64_t hi)
{
    struct sf_render_gang_blend *b = arg;
    struct sf_render_worker *w = b->w;
    const size_t n = (size_t)(b->channels * b->frames * b->plane);
    int st = SF_OK;
    if (speaks(w)) {
        MPI_Comm wc = *(MPI_Comm *)w->gang.world_comm;
        SF_ASSERT(n <= INT_MAX);
        if (w->gang.index == 0) {
            for (int m = 1; m < w->gang.size && st == SF_OK; m++) {
                int64_t range[2];
                st = mpi_ok(MPI_Recv(range, 2, MPI_INT64_T, w->gang.leaders[m], SF_RENDER_TAG_GANG,
                                     wc, MPI_STATUS_IGNORE), "receive");
                if (st == SF_OK)
                    st = mpi_ok(MPI_Recv(b->part, (int)n, MPI_FLOAT, w->gang.leaders[m],
                                         SF_RENDER_TAG_GANG, wc, MPI_STATUS_IGNORE), "receive");
                if (st) break;
                if (range[0] < 0 || range[1] > b->frames || range[0] >= range[1]) {
                    SF_ERROR("render", "gang member %d sent frames %lld .. %lld of %lld", m,
                             (long long)range[0], (long long)range[1], (long long)b->frames);
                    st = SF_E_INVAL;
                    break;
                }
                /* member m's windows follow member m-1's: added in window order */
                for (int64_t c = 0; c < b->channels; c++) {
                    const int64_t o = (c * b->frames + range[0]) * b->plane;
                    const int64_t len = (range[1] - range[0]) * b->plane;
                    for (int64_t i = 0; i < len; i++) v[o + i] += b->part[o + i];
                }
            }
        } else {
            const int64_t range[2] = {lo, hi};
            st = mpi_ok(MPI_Send(range, 2, MPI_INT64_T, w->gang.leaders[0], SF_RENDER_TAG_GANG, wc),
                        "send");
            if (st == SF_OK)
                st = mpi_ok(MPI_Send(v, (int)n, MPI_FLOAT, w->gang.leaders[0], SF_RENDER_TAG_GANG, wc),
                            "send");
        }
    }
    if (st) return st;
    return sf_render_gang_bcast(w, v, n * sizeof *v);
}

int sf_render_gang_pair(void *arg, float *u, int64_t n)
{
    struct sf_render_worker *w = ((struct sf_render_gang_blend *)arg)->w;
    int st = SF_OK;
    SF_ASSERT(w->gang.size == 2 && n <= INT_MAX);
    if (speaks(w)) {
        MPI_Comm wc = *(MPI_Comm *)w->gang.world_comm;
        if (w->gang.index == 0)
            st = mpi_ok(MPI_Recv(u, (int)n, MPI_FLOAT, w->gang.leaders[1], SF_RENDER_TAG_GANG, wc,
                                 MPI_STATUS_IGNORE), "receive");
        else
            st = mpi_ok(MPI_Send(u, (int)n, MPI_FLOAT, w->gang.leaders[0], SF_RENDER_TAG_GANG, wc),
                        "send");
    }
    if (st == SF_OK && w->gang.index == 0 && w->comm)
        st = sf_comm_broadcast(w->comm, u, (size_t)n * sizeof *u, 0);
    return st;
}

int sf_render_gang_share(void *arg, float *v, int64_t lo, int64_t hi)
{
    const struct sf_render_gang_blend *b = arg;
    SF_ASSERT(lo == 0 && hi == b->frames); /* the whole prediction, on member 0 */
    return sf_render_gang_bcast(b->w, v, (size_t)(b->channels * b->frames * b->plane) * sizeof *v);
}

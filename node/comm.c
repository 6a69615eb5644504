/* comm.c — the backend-independent half of sf_comm.h: timed wrappers over the table, the
 * one-rank communicator, and tensor-parallel degree checks. Part of the minimal build. */
#define _POSIX_C_SOURCE 200809L
#include "sf_comm.h"
#include "sf_log.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMED(c, bytes, call)                                                                      \
    do {                                                                                           \
        double t0_ = sf_time_now();                                                                        \
        int st_ = (call);                                                                          \
        (c)->comm_seconds += sf_time_now() - t0_;                                                          \
        (c)->comm_bytes += (uint64_t)(bytes);                                                      \
        return st_;                                                                                \
    } while (0)

int sf_comm_allreduce_sum_f32(struct sf_comm *c, float *buf, size_t n)
{
    if (c->size == 1) return SF_OK;
    TIMED(c, n * sizeof *buf, c->ops->allreduce_sum_f32(c, buf, n));
}

int sf_comm_allreduce_sum_f64(struct sf_comm *c, double *buf, size_t n)
{
    if (c->size == 1) return SF_OK;
    TIMED(c, n * sizeof *buf, c->ops->allreduce_sum_f64(c, buf, n));
}

int sf_comm_broadcast(struct sf_comm *c, void *buf, size_t bytes, int root)
{
    if (c->size == 1) return SF_OK;
    TIMED(c, bytes, c->ops->broadcast(c, buf, bytes, root));
}

int sf_comm_allgather(struct sf_comm *c, const void *send, void *recv, size_t bytes)
{
    if (c->size == 1) {
        if (recv != send) memmove(recv, send, bytes);
        return SF_OK;
    }
    TIMED(c, bytes * (size_t)c->size, c->ops->allgather(c, send, recv, bytes));
}

int sf_comm_send(struct sf_comm *c, const void *buf, size_t bytes, int peer, int tag)
{
    SF_ASSERT(c->size > 1 && peer != c->rank);
    TIMED(c, bytes, c->ops->send(c, buf, bytes, peer, tag));
}

int sf_comm_recv(struct sf_comm *c, void *buf, size_t bytes, int peer, int tag)
{
    SF_ASSERT(c->size > 1 && peer != c->rank);
    TIMED(c, bytes, c->ops->recv(c, buf, bytes, peer, tag));
}

int sf_comm_barrier(struct sf_comm *c)
{
    if (c->size == 1) return SF_OK;
    TIMED(c, 0, c->ops->barrier(c));
}

void sf_comm_destroy(struct sf_comm *c)
{
    if (!c || c == sf_comm_self()) return;
    if (c->ops && c->ops->destroy) c->ops->destroy(c);
    free(c);
}

static const struct sf_comm_ops self_ops = {.name = "self"};
static struct sf_comm self_comm = {.ops = &self_ops, .rank = 0, .size = 1};

struct sf_comm *sf_comm_self(void) { return &self_comm; }

int sf_tp_valid_degrees(int n_heads, int ffn_dim, int *out, int max)
{
    int n = 0;
    for (int tp = 1; tp <= n_heads && n < max; tp++)
        if (n_heads % tp == 0 && ffn_dim % tp == 0) out[n++] = tp;
    return n;
}

int sf_tp_check_model(int tp, int n_heads, int ffn_dim, const char *model, char *why, size_t n)
{
    if (tp >= 1 && n_heads % tp == 0 && ffn_dim % tp == 0) return SF_OK;
    int deg[64];
    int k = sf_tp_valid_degrees(n_heads, ffn_dim, deg, 64);
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; i < k && used < sizeof list - 8; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%d", i ? " " : "", deg[i]);
    if (tp >= 1 && n_heads % tp)
        snprintf(why, n, "--tp %d does not divide the %d attention heads of %s; valid degrees: %s",
                 tp, n_heads, model, list);
    else if (tp >= 1)
        snprintf(why, n, "--tp %d does not divide the %d FFN columns of %s; valid degrees: %s", tp,
                 ffn_dim, model, list);
    else
        snprintf(why, n, "--tp %d must be at least 1; valid degrees for %s: %s", tp, model, list);
    return SF_E_INVAL;
}

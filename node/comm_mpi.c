/* comm_mpi.c — the MPI implementation of the communication table and the world layout
 * (sf_comm.h). Full build only. Called by the tensor-parallel DiT and the render coordinator.
 * The subtle part is the all-reduce: a ring reduce-scatter + all-gather written here on
 * MPI_Sendrecv, because MPI_Allreduce may sum in different orders on different ranks (and
 * across runs), which would let tensor-parallel shards drift apart bit by bit. */
#define _POSIX_C_SOURCE 200809L
#include "sf_comm.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mpi_impl {
    MPI_Comm comm;
    void *scratch; /* receive buffer of the ring, grown on demand (never shrinks) */
    size_t scratch_bytes;
};

static MPI_Comm comm_of(struct sf_comm *c) { return ((struct mpi_impl *)c->impl)->comm; }

static void *scratch(struct sf_comm *c, size_t bytes)
{
    struct mpi_impl *m = c->impl;
    if (bytes > m->scratch_bytes) {
        void *p = realloc(m->scratch, bytes);
        if (!p) return NULL;
        m->scratch = p;
        m->scratch_bytes = bytes;
    }
    return m->scratch;
}

/* Chunk c of n elements over p ranks: balanced, the first n % p chunks one longer. */
static void chunk(size_t n, int p, int c, size_t *off, size_t *len)
{
    size_t base = n / (size_t)p, extra = n % (size_t)p;
    *off = (size_t)c * base + ((size_t)c < extra ? (size_t)c : extra);
    *len = base + ((size_t)c < extra ? 1 : 0);
}

static int ring_allreduce(struct sf_comm *c, void *buf, size_t n, size_t elem, MPI_Datatype type)
{
    int p = c->size, r = c->rank, st = SF_OK;
    int right = (r + 1) % p, left = (r + p - 1) % p;
    size_t off, len, roff, rlen;
    chunk(n, p, 0, &off, &len);
    SF_ASSERT(len <= (size_t)INT_MAX);
    char *tmp = scratch(c, (len ? len : 1) * elem);
    char *b = buf;
    if (!tmp) return SF_E_NOMEM;
    MPI_Comm comm = comm_of(c);
    /* Reduce-scatter: after step s, chunk (r - s - 1) holds x_{r-s-1} + ... + x_r. */
    for (int s = 0; s < p - 1; s++) {
        int send_c = ((r - s) % p + p) % p, recv_c = ((r - s - 1) % p + p) % p;
        chunk(n, p, send_c, &off, &len);
        chunk(n, p, recv_c, &roff, &rlen);
        SF_TRY(st, sf_mpi_check(MPI_Sendrecv(b + off * elem, (int)len, type, right, 901, tmp,
                                             (int)rlen, type, left, 901, comm, MPI_STATUS_IGNORE),
                                "all-reduce (reduce-scatter step)"));
        if (type == MPI_FLOAT) {
            float *dst = (float *)(b + roff * elem);
            const float *src = (const float *)tmp;
            for (size_t i = 0; i < rlen; i++) dst[i] = src[i] + dst[i];
        } else {
            double *dst = (double *)(b + roff * elem);
            const double *src = (const double *)tmp;
            for (size_t i = 0; i < rlen; i++) dst[i] = src[i] + dst[i];
        }
    }
    /* All-gather: rank r owns the finished chunk r + 1 and passes finished chunks on. */
    for (int s = 0; s < p - 1; s++) {
        int send_c = ((r + 1 - s) % p + p) % p, recv_c = ((r - s) % p + p) % p;
        chunk(n, p, send_c, &off, &len);
        chunk(n, p, recv_c, &roff, &rlen);
        SF_TRY(st, sf_mpi_check(MPI_Sendrecv(b + off * elem, (int)len, type, right, 902,
                                             b + roff * elem, (int)rlen, type, left, 902, comm,
                                             MPI_STATUS_IGNORE),
                                "all-reduce (all-gather step)"));
    }
out:
    return st;
}

static int mpi_allreduce_f32(struct sf_comm *c, float *buf, size_t n)
{
    return ring_allreduce(c, buf, n, sizeof *buf, MPI_FLOAT);
}

static int mpi_allreduce_f64(struct sf_comm *c, double *buf, size_t n)
{
    return ring_allreduce(c, buf, n, sizeof *buf, MPI_DOUBLE);
}

/* MPI counts are int: move large buffers in pieces of at most 1 GiB. */
#define MPI_PIECE ((size_t)1 << 30)

static int mpi_broadcast(struct sf_comm *c, void *buf, size_t bytes, int root)
{
    for (size_t o = 0; o < bytes || o == 0; o += MPI_PIECE) {
        size_t k = bytes - o < MPI_PIECE ? bytes - o : MPI_PIECE;
        int st = sf_mpi_check(MPI_Bcast((char *)buf + o, (int)k, MPI_BYTE, root, comm_of(c)),
                              "broadcast");
        if (st || k == bytes - o) return st;
    }
    return SF_OK;
}

static int mpi_allgather(struct sf_comm *c, const void *send, void *recv, size_t bytes)
{
    SF_ASSERT(bytes <= (size_t)INT_MAX);
    const void *src = send == (char *)recv + (size_t)c->rank * bytes ? MPI_IN_PLACE : send;
    return sf_mpi_check(MPI_Allgather(src, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE,
                                      comm_of(c)),
                        "all-gather");
}

static int mpi_send(struct sf_comm *c, const void *buf, size_t bytes, int peer, int tag)
{
    for (size_t o = 0; o < bytes || o == 0; o += MPI_PIECE) {
        size_t k = bytes - o < MPI_PIECE ? bytes - o : MPI_PIECE;
        int st = sf_mpi_check(MPI_Send((const char *)buf + o, (int)k, MPI_BYTE, peer, tag,
                                       comm_of(c)), "send");
        if (st || k == bytes - o) return st;
    }
    return SF_OK;
}

static int mpi_recv(struct sf_comm *c, void *buf, size_t bytes, int peer, int tag)
{
    for (size_t o = 0; o < bytes || o == 0; o += MPI_PIECE) {
        size_t k = bytes - o < MPI_PIECE ? bytes - o : MPI_PIECE;
        int st = sf_mpi_check(MPI_Recv((char *)buf + o, (int)k, MPI_BYTE, peer, tag, comm_of(c),
                                       MPI_STATUS_IGNORE), "receive");
        if (st || k == bytes - o) return st;
    }
    return SF_OK;
}

static int mpi_barrier(struct sf_comm *c) { return sf_mpi_check(MPI_Barrier(comm_of(c)), "barrier"); }

static void mpi_destroy(struct sf_comm *c)
{
    struct mpi_impl *m = c->impl;
    if (!m) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&m->comm);
    free(m->scratch);
    free(m);
}

static const struct sf_comm_ops mpi_ops = {
    .name = "mpi",
    .allreduce_sum_f32 = mpi_allreduce_f32,
    .allreduce_sum_f64 = mpi_allreduce_f64,
    .broadcast = mpi_broadcast,
    .allgather = mpi_allgather,
    .send = mpi_send,
    .recv = mpi_recv,
    .barrier = mpi_barrier,
    .destroy = mpi_destroy,
};

int sf_comm_mpi_create(MPI_Comm comm, struct sf_comm **out)
{
    int st = SF_OK;
    struct sf_comm *c = calloc(1, sizeof *c);
    struct mpi_impl *m = calloc(1, sizeof *m);
    if (!c || !m) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, sf_mpi_check(MPI_Comm_dup(comm, &m->comm), "duplicate a communicator"));
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &c->rank);
    MPI_Comm_size(m->comm, &c->size);
    c->ops = &mpi_ops;
    c->impl = m;
    *out = c;
    return SF_OK;
out:
    free(m);
    free(c);
    return st;
}

int sf_world_create(MPI_Comm comm, int tp, struct sf_world **out, char *why, size_t n)
{
    int st = SF_OK;
    struct sf_world *w = calloc(1, sizeof *w);
    MPI_Comm *world = calloc(1, sizeof *world), *node = calloc(1, sizeof *node);
    MPI_Comm leaders = MPI_COMM_NULL, group = MPI_COMM_NULL;
    if (!w || !world || !node) {
        st = SF_E_NOMEM;
        goto out;
    }
    *world = *node = MPI_COMM_NULL;
    SF_TRY(st, sf_mpi_check(MPI_Comm_dup(comm, world), "duplicate the world communicator"));
    MPI_Comm_set_errhandler(*world, MPI_ERRORS_RETURN);
    MPI_Comm_rank(*world, &w->world_rank);
    MPI_Comm_size(*world, &w->world_size);
    w->tp = tp;

    const char *rpn = getenv("SF_RANKS_PER_NODE");
    int k = rpn ? atoi(rpn) : 0;
    if (k > 0)
        SF_TRY(st, sf_mpi_check(MPI_Comm_split(*world, w->world_rank / k, w->world_rank, node),
                                "split the world by SF_RANKS_PER_NODE"));
    else
        SF_TRY(st, sf_mpi_check(MPI_Comm_split_type(*world, MPI_COMM_TYPE_SHARED, w->world_rank,
                                                    MPI_INFO_NULL, node),
                                "split the world by node"));
    MPI_Comm_rank(*node, &w->local_rank);
    MPI_Comm_size(*node, &w->local_size);

    /* Node index and group offsets, computed among node leaders and broadcast in each node. */
    SF_TRY(st, sf_mpi_check(MPI_Comm_split(*world, w->local_rank == 0 ? 0 : MPI_UNDEFINED,
                                           w->world_rank, &leaders),
                            "form the node leaders' communicator"));
    int info[3] = {0, 0, 0}; /* node index, n_nodes, group offset */
    int groups_here = tp > 0 ? w->local_size / tp : 0;
    if (leaders != MPI_COMM_NULL) {
        MPI_Comm_rank(leaders, &info[0]);
        MPI_Comm_size(leaders, &info[1]);
        SF_TRY(st, sf_mpi_check(MPI_Exscan(&groups_here, &info[2], 1, MPI_INT, MPI_SUM, leaders),
                                "count worker groups per node"));
        if (info[0] == 0) info[2] = 0; /* Exscan leaves rank 0's result undefined */
    }
    SF_TRY(st, sf_mpi_check(MPI_Bcast(info, 3, MPI_INT, 0, *node), "share the node index"));
    w->node = info[0];
    w->n_nodes = info[1];

    /* Every rank must agree on whether the layout is valid, so that all fail together and
     * name the same node: the first bad node, and its rank count. */
    int bad_here = tp < 1 || w->local_size % tp;
    int my_bad_node = bad_here ? w->node : INT_MAX, bad_node = INT_MAX, bad = 0;
    SF_TRY(st, sf_mpi_check(MPI_Allreduce(&my_bad_node, &bad_node, 1, MPI_INT, MPI_MIN, *world),
                            "check the layout"));
    int my_size = w->node == bad_node ? w->local_size : 0;
    SF_TRY(st, sf_mpi_check(MPI_Allreduce(&my_size, &bad, 1, MPI_INT, MPI_MAX, *world),
                            "check the layout"));
    if (bad_node != INT_MAX) {
        if (tp < 1)
            snprintf(why, n, "--tp %d must be at least 1", tp);
        else
            snprintf(why, n,
                     "node %d has %d ranks, not a multiple of --tp %d (a worker group never spans "
                     "nodes): launch a multiple of %d ranks per node, e.g. srun --ntasks-per-node=%d",
                     bad_node, bad, tp, tp, tp * (bad / tp > 0 ? bad / tp : 1));
        st = SF_E_INVAL;
        goto out;
    }
    w->group = info[2] + w->local_rank / tp;
    w->group_rank = w->local_rank % tp;
    int contrib = w->local_rank == 0 ? groups_here : 0; /* one count per node */
    SF_TRY(st, sf_mpi_check(MPI_Allreduce(&contrib, &w->n_groups, 1, MPI_INT, MPI_SUM, *world),
                            "count worker groups"));
    SF_TRY(st, sf_mpi_check(MPI_Comm_split(*world, w->group, w->group_rank, &group),
                            "form the worker group communicator"));
    SF_TRY(st, sf_comm_mpi_create(group, &w->group_comm));
    MPI_Comm_free(&group);
    if (leaders != MPI_COMM_NULL) MPI_Comm_free(&leaders);
    w->world_comm = world;
    w->node_comm = node;
    *out = w;
    return SF_OK;
out:
    if (group != MPI_COMM_NULL) MPI_Comm_free(&group);
    if (leaders != MPI_COMM_NULL) MPI_Comm_free(&leaders);
    if (node && *node != MPI_COMM_NULL) MPI_Comm_free(node);
    if (world && *world != MPI_COMM_NULL) MPI_Comm_free(world);
    free(node);
    free(world);
    free(w);
    return st;
}

void sf_world_destroy(struct sf_world *w)
{
    if (!w) return;
    sf_comm_destroy(w->group_comm);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
        if (w->node_comm) MPI_Comm_free((MPI_Comm *)w->node_comm);
        if (w->world_comm) MPI_Comm_free((MPI_Comm *)w->world_comm);
    }
    free(w->node_comm);
    free(w->world_comm);
    free(w);
}

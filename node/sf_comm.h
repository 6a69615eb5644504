/* sf_comm.h — the communication table of a worker group (tensor parallel) and the world layout.
 *
 * A group of --tp ranks holds one copy of the model, each rank a shard; the collectives they
 * need go through struct sf_comm, a table of function pointers with an MPI implementation
 * (CPU) — the NCCL implementation (GPU) plugs into the same table.
 *
 * World layout (sf_world_create): ranks are grouped by node first (MPI_Comm_split_type with
 * MPI_COMM_TYPE_SHARED), then each node's ranks are split into consecutive groups of tp ranks, so
 * a group never spans nodes. Rank 0 of the world also hosts the coordinator (placed by render).
 *
 * Determinism: sf_comm's all-reduce sums every element in an order fixed by the group size alone
 * (a ring reduce-scatter whose chunk c is accumulated from rank c+1 around to rank c, then an
 * all-gather), so every rank gets the same bits and a re-run gets the same bits. MPI_Allreduce
 * promises neither.
 */
#ifndef SF_COMM_H
#define SF_COMM_H

#include <stddef.h>
#include <stdint.h>

struct sf_comm;

struct sf_comm_ops {
    const char *name; /* "mpi", "nccl" */
    /* In place: buf[i] = sum over ranks of buf[i]. */
    int (*allreduce_sum_f32)(struct sf_comm *c, float *buf, size_t n);
    int (*allreduce_sum_f64)(struct sf_comm *c, double *buf, size_t n);
    /* buf (bytes) from rank root to all. */
    int (*broadcast)(struct sf_comm *c, void *buf, size_t bytes, int root);
    /* recv[r * bytes ..] = send of rank r, for every r. */
    int (*allgather)(struct sf_comm *c, const void *send, void *recv, size_t bytes);
    int (*send)(struct sf_comm *c, const void *buf, size_t bytes, int peer, int tag);
    int (*recv)(struct sf_comm *c, void *buf, size_t bytes, int peer, int tag);
    int (*barrier)(struct sf_comm *c);
    void (*destroy)(struct sf_comm *c); /* optional */
};

struct sf_comm {
    const struct sf_comm_ops *ops;
    int rank, size;
    void *impl;           /* backend state (e.g. the MPI_Comm) */
    double comm_seconds;  /* wall time spent inside collectives, for benchmarks */
    uint64_t comm_bytes;  /* payload bytes passed to collectives */
};

/* Convenience wrappers (time and count every call). All return SF_OK or a negative status. */
int sf_comm_allreduce_sum_f32(struct sf_comm *c, float *buf, size_t n);
int sf_comm_allreduce_sum_f64(struct sf_comm *c, double *buf, size_t n);
int sf_comm_broadcast(struct sf_comm *c, void *buf, size_t bytes, int root);
int sf_comm_allgather(struct sf_comm *c, const void *send, void *recv, size_t bytes);
int sf_comm_send(struct sf_comm *c, const void *buf, size_t bytes, int peer, int tag);
int sf_comm_recv(struct sf_comm *c, void *buf, size_t bytes, int peer, int tag);
int sf_comm_barrier(struct sf_comm *c);
void sf_comm_destroy(struct sf_comm *c);

/* A communicator of one rank (tp = 1 without MPI): every collective is a no-op. Never NULL. */
struct sf_comm *sf_comm_self(void);

struct sf_world {
    int world_rank, world_size;
    int node, n_nodes;          /* node index (0..n_nodes-1), in order of the nodes' first ranks */
    int local_rank, local_size; /* within the node */
    int tp;                     /* ranks per worker group */
    int group, n_groups;        /* worker group index over the whole world */
    int group_rank;             /* rank within the group (= local_rank % tp) */
    struct sf_comm *group_comm; /* the group's communicator (MPI backend) */
    void *world_comm;           /* MPI_Comm * of the world (MPI_COMM_WORLD dup), opaque here */
    void *node_comm;            /* MPI_Comm * of the node */
};

/* Valid tensor-parallel degrees for a model with n_heads heads and ffn_dim FFN columns: every tp
 * that divides both. Writes them ascending into out[max]; returns how many. */
int sf_tp_valid_degrees(int n_heads, int ffn_dim, int *out, int max);
/* SF_OK when tp splits the model evenly; otherwise SF_E_INVAL with "--tp 3 does not divide the
 * 12 attention heads of <model>; valid degrees: 1 2 4 6 12" in why[n]. */
int sf_tp_check_model(int tp, int n_heads, int ffn_dim, const char *model, char *why, size_t n);

#ifdef SF_HAVE_MPI
#include <mpi.h>
/* Builds the layout on comm (normally MPI_COMM_WORLD; it is duplicated). Collective. Fails with
 * SF_E_INVAL and a message in why[n] when a node's rank count is not a multiple of tp (every
 * rank reports the same message). The test-only environment variable SF_RANKS_PER_NODE=k
 * treats every k consecutive ranks as one node, to exercise multi-node layouts on one host. */
int sf_world_create(MPI_Comm comm, int tp, struct sf_world **out, char *why, size_t n);
/* An MPI-backed sf_comm over a duplicate of comm. */
int sf_comm_mpi_create(MPI_Comm comm, struct sf_comm **out);
#endif
void sf_world_destroy(struct sf_world *w);

#endif

/* World layout on 4 ranks: groups never span nodes, indices are consistent, and a layout whose
 * node size is not a multiple of --tp fails on every rank with the same message.
 * With SF_RANKS_PER_NODE=2 (argument "two-nodes") the 4 ranks form 2 nodes of 2. */
#include "sf_comm.h"
#include "sf_log.h"
#include "sf_status.h"
#include "sf_test.h"

#include <mpi.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int two_nodes = argc > 1 && strcmp(argv[1], "two-nodes") == 0;
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    sf_log_init();
    sf_log_set_rank(rank);
    char why[256] = "";
    for (int tp = 1; tp <= 4; tp *= 2) {
        struct sf_world *w = NULL;
        int st = sf_world_create(MPI_COMM_WORLD, tp, &w, why, sizeof why);
        if (two_nodes && tp == 4) {
            CHECK_EQ_INT(st, SF_E_INVAL);
            CHECK_STR(why, "node 0 has 2 ranks, not a multiple of --tp 4 (a worker group never spans "
                           "nodes): launch a multiple of 4 ranks per node, e.g. srun --ntasks-per-node=4");
            continue;
        }
        CHECK_EQ_INT(st, SF_OK);
        if (!w) continue;
        int nodes = two_nodes ? 2 : 1;
        CHECK_EQ_INT(w->n_nodes, nodes);
        CHECK_EQ_INT(w->node, two_nodes ? rank / 2 : 0);
        CHECK_EQ_INT(w->local_size, size / nodes);
        CHECK_EQ_INT(w->local_rank, rank % (size / nodes));
        CHECK_EQ_INT(w->n_groups, size / tp);
        CHECK_EQ_INT(w->group, rank / tp);
        CHECK_EQ_INT(w->group_rank, rank % tp);
        CHECK_EQ_INT(w->group_comm->size, tp);
        CHECK_EQ_INT(w->group_comm->rank, w->group_rank);
        /* The group sums only its own members: 0+1 for group 0 at tp 2, etc. */
        float v = (float)rank;
        CHECK_EQ_INT(sf_comm_allreduce_sum_f32(w->group_comm, &v, 1), SF_OK);
        float want = 0;
        for (int r = w->group * tp; r < (w->group + 1) * tp; r++) want += (float)r;
        CHECK(v == want);
        sf_world_destroy(w);
    }
    if (!two_nodes) {
        struct sf_world *w = NULL;
        CHECK_EQ_INT(sf_world_create(MPI_COMM_WORLD, 3, &w, why, sizeof why), SF_E_INVAL);
        CHECK(w == NULL);
        CHECK(strstr(why, "node 0 has 4 ranks, not a multiple of --tp 3") != NULL);
    }
    int local = sf_test_failures, total = 0;
    MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    if (rank == 0) fprintf(stderr, "tp_world%s: %s\n", two_nodes ? " (2 nodes)" : "", total ? "FAILED" : "ok");
    return total ? 1 : 0;
}

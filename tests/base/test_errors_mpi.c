/* On 2 ranks: a failing MPI call (invalid root) is returned, not fatal, once the communicator's
 * handler is MPI_ERRORS_RETURN, and sf_mpi_check turns it into SF_E_MPI with MPI's message.
 * Each rank's verdict is all-reduced into the exit code (nccl-tests style). */
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"
#include "sf_test.h"

#include <mpi.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    sf_log_init();
    sf_log_set_rank(rank);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    CHECK_EQ_INT(size, 2);
    int x = rank;
    CHECK_EQ_INT(sf_mpi_check(MPI_Bcast(&x, 1, MPI_INT, 0, MPI_COMM_WORLD), "broadcast"), SF_OK);
    CHECK_EQ_INT(x, 0);
    int st = sf_mpi_check(MPI_Bcast(&x, 1, MPI_INT, size + 5, MPI_COMM_WORLD),
                          "broadcast from a root that does not exist");
    CHECK_EQ_INT(st, SF_E_MPI);
    int local = sf_test_failures, total = 0;
    MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    if (rank == 0) return total ? 1 : sf_test_result("base_errors_mpi");
    return total ? 1 : 0;
}

/* The MPI communication table on 2, 3 and 4 ranks, nccl-tests style: every rank derives its
 * input from (seed, rank, index), so each can compute the expected result itself; failures are
 * all-reduced into the exit code. Checks that the all-reduce is within float rounding of the
 * exact sum, bit-identical on every rank, identical when repeated, and exact on integers. */
#include "sf_comm.h"
#include "sf_log.h"
#include "sf_status.h"
#include "sf_test.h"

#include <mpi.h>
#include <stdlib.h>

static float input(int rank, size_t i)
{
    uint64_t s = 1000003ull * (uint64_t)rank + i * 7919ull + 17;
    return sf_test_rand_f32(&s) * (float)(1 + (i % 5));
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    sf_log_init();
    sf_log_set_rank(rank);
    struct sf_comm *c = NULL;
    CHECK_EQ_INT(sf_comm_mpi_create(MPI_COMM_WORLD, &c), SF_OK);
    if (!c) MPI_Abort(MPI_COMM_WORLD, 1);
    CHECK_EQ_INT(c->rank, rank);
    CHECK_EQ_INT(c->size, size);

    const size_t sizes[] = {0, 1, (size_t)size - 1, (size_t)size + 1, 4097, 1000003};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        float *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
        for (size_t i = 0; i < n; i++) x[i] = y[i] = input(rank, i);
        CHECK_EQ_INT(sf_comm_allreduce_sum_f32(c, x, n), SF_OK);
        CHECK_EQ_INT(sf_comm_allreduce_sum_f32(c, y, n), SF_OK);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double exact = 0, mag = 0;
            for (int r = 0; r < size; r++) {
                exact += input(r, i);
                mag += fabs(input(r, i));
            }
            double err = fabs(x[i] - exact) / (mag * 1e-6 + 1e-30);
            if (err > worst) worst = err;
        }
        if (worst > 1.0) {
            fprintf(stderr, "r%d n=%zu: all-reduce off by %.3g x 1e-6 of the magnitude\n", rank, n, worst);
            sf_test_failures++;
        }
        CHECK(n == 0 || memcmp(x, y, n * sizeof *x) == 0); /* repeatable */
        uint64_t h = hash_bytes(x, n * sizeof *x), *hs = malloc((size_t)size * sizeof *hs);
        CHECK_EQ_INT(sf_comm_allgather(c, &h, hs, sizeof h), SF_OK);
        for (int r = 0; r < size; r++)
            if (hs[r] != h) {
                fprintf(stderr, "r%d n=%zu: rank %d got different bits\n", rank, n, r);
                sf_test_failures++;
            }
        free(hs);
        free(x);
        free(y);
    }
    /* Integers are summed exactly, in f32 and f64. */
    float ints[5];
    double d[5];
    for (int i = 0; i < 5; i++) ints[i] = (float)(rank * 10 + i), d[i] = rank + 0.5 * i;
    CHECK_EQ_INT(sf_comm_allreduce_sum_f32(c, ints, 5), SF_OK);
    CHECK_EQ_INT(sf_comm_allreduce_sum_f64(c, d, 5), SF_OK);
    for (int i = 0; i < 5; i++) {
        CHECK(ints[i] == (float)(10 * size * (size - 1) / 2 + size * i));
        CHECK(d[i] == size * (size - 1) / 2.0 + size * 0.5 * i);
    }
    /* Broadcast from the last rank. */
    char msg[32] = "";
    if (rank == size - 1) snprintf(msg, sizeof msg, "from %d", rank);
    CHECK_EQ_INT(sf_comm_broadcast(c, msg, sizeof msg, size - 1), SF_OK);
    char want[32];
    snprintf(want, sizeof want, "from %d", size - 1);
    CHECK_STR(msg, want);
    /* All-gather in place. */
    int *all = calloc((size_t)size, sizeof *all);
    all[rank] = 100 + rank;
    CHECK_EQ_INT(sf_comm_allgather(c, &all[rank], all, sizeof *all), SF_OK);
    for (int r = 0; r < size; r++) CHECK_EQ_INT(all[r], 100 + r);
    free(all);
    /* Ring of point-to-point messages. */
    int token = rank, got = -1;
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    if (rank % 2 == 0) {
        CHECK_EQ_INT(sf_comm_send(c, &token, sizeof token, right, 7), SF_OK);
        CHECK_EQ_INT(sf_comm_recv(c, &got, sizeof got, left, 7), SF_OK);
    } else {
        CHECK_EQ_INT(sf_comm_recv(c, &got, sizeof got, left, 7), SF_OK);
        CHECK_EQ_INT(sf_comm_send(c, &token, sizeof token, right, 7), SF_OK);
    }
    CHECK_EQ_INT(got, left);
    CHECK_EQ_INT(sf_comm_barrier(c), SF_OK);
    CHECK(c->comm_bytes > 0 && c->comm_seconds >= 0);
    sf_comm_destroy(c);

    int local = sf_test_failures, total = 0;
    MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    if (rank == 0) fprintf(stderr, "tp_comm (%d ranks): %s\n", size, total ? "FAILED" : "ok");
    return total ? 1 : 0;
}

/* The list scheduler (largest first, or highest rank once ranked) against schedules worked out
 * by hand. */
#include "sf_sched.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdlib.h>

#define U(sec) {.seconds = (sec)}

int main(void)
{
    struct sf_sched_result r;
    /* 1. Independent units 5,4,3,3,2,2,1 on 2 groups, largest first:
     *    g0: 5 (0-5), 3 (5-8), 2 (8-10)      g1: 4 (0-4), 3 (4-7), 2 (7-9), 1 (9-10)
     *    makespan 10 = total 20 / 2; utilisation 1. */
    struct sf_sched_unit a[] = {U(2), U(5), U(3), U(1), U(4), U(3), U(2)};
    CHECK_EQ_INT(sf_sched_simulate(a, 7, 2, 1, &r), SF_OK);
    CHECK(r.makespan == 10 && r.busy == 20 && r.utilisation == 1.0);
    CHECK(r.start[1] == 0 && r.group[1] == 0 && r.start[4] == 0 && r.group[4] == 1);
    CHECK(r.start[2] == 4 && r.group[2] == 1); /* the first 3 goes to the group free first */
    CHECK(r.start[5] == 5 && r.group[5] == 0);
    CHECK(r.critical_path == 5 && r.path_len == 1 && r.path[0] == 1);
    sf_sched_result_fini(&r);

    /* 2. A shot pipeline: text (1) -> denoise A (10), denoise B (6) -> decode A (2), decode B (2)
     *    -> assemble (1) needs both decodes. 2 groups:
     *    t=0 text; t=1 A on g0, B on g1; t=7 decode B on g1; t=9 g1 idle; t=11 decode A on g0
     *    (g0 free at 11, g1 too: lowest group wins); t=13 assemble; makespan 14.
     *    Critical path text -> A -> decode A -> assemble = 14. */
    struct sf_sched_unit b[] = {
        U(1),
        {.seconds = 10, .n_deps = 1, .deps = {0}},
        {.seconds = 6, .n_deps = 1, .deps = {0}},
        {.seconds = 2, .n_deps = 1, .deps = {1}},
        {.seconds = 2, .n_deps = 1, .deps = {2}},
        {.seconds = 1, .n_deps = 2, .deps = {3, 4}},
    };
    CHECK_EQ_INT(sf_sched_simulate(b, 6, 2, 1, &r), SF_OK);
    CHECK(r.makespan == 14);
    CHECK(r.start[1] == 1 && r.group[1] == 0 && r.start[2] == 1 && r.group[2] == 1);
    CHECK(r.start[4] == 7 && r.start[3] == 11 && r.start[5] == 13);
    CHECK(r.critical_path == 14 && r.path_len == 4);
    CHECK(r.path_len == 4 && r.path[0] == 0 && r.path[1] == 1 && r.path[2] == 3 && r.path[3] == 5);
    CHECK(fabs(r.utilisation - 22.0 / 28.0) < 1e-12);
    sf_sched_result_fini(&r);
    /* The same on 1 group is the sum; on 8 groups the critical path. */
    CHECK_EQ_INT(sf_sched_simulate(b, 6, 1, 1, &r), SF_OK);
    CHECK(r.makespan == 22);
    sf_sched_result_fini(&r);
    CHECK_EQ_INT(sf_sched_simulate(b, 6, 8, 1, &r), SF_OK);
    CHECK(r.makespan == 14);
    sf_sched_result_fini(&r);

    /* 3. Errors: a cycle and a dangling dependency. */
    struct sf_sched_unit c[] = {{.seconds = 1, .n_deps = 1, .deps = {1}},
                                {.seconds = 1, .n_deps = 1, .deps = {0}}};
    CHECK_EQ_INT(sf_sched_simulate(c, 2, 2, 1, &r), SF_E_INVAL);
    struct sf_sched_unit d[] = {{.seconds = 1, .n_deps = 1, .deps = {5}}};
    CHECK_EQ_INT(sf_sched_simulate(d, 1, 2, 1, &r), SF_E_INVAL);

    /* 5. Gangs and CPU lanes (2 groups, 1 lane): A gang of 2 (10 s), B (5 s), C a CPU unit (3 s),
     *    D (4 s) after C. t=0: A, the largest, takes both groups; B does not fit; C fits the lane.
     *    t=3 C ends, D is ready but no group is free; t=10 A ends: B on g0, D on g1; makespan 15.
     *    Busy group-seconds 2 x 10 + 5 + 4 = 29; C's lane time is not group time. */
    struct sf_sched_unit e[] = {
        {.seconds = 10, .gang = 2},
        U(5),
        {.seconds = 3, .cpu = 1},
        {.seconds = 4, .n_deps = 1, .deps = {2}},
    };
    CHECK_EQ_INT(sf_sched_simulate(e, 4, 2, 1, &r), SF_OK);
    CHECK(r.makespan == 15 && r.busy == 29);
    CHECK(r.start[0] == 0 && r.group[0] == 0);
    CHECK(r.start[2] == 0 && r.group[2] == 2); /* the lane: slot n_groups + 0 */
    CHECK(r.start[1] == 10 && r.group[1] == 0 && r.start[3] == 10 && r.group[3] == 1);
    sf_sched_result_fini(&r);
    unsigned char ready[4] = {1, 1, 1, 0};
    CHECK_EQ_INT(sf_sched_pick_fit(e, 4, ready, 2, 1), 0);
    CHECK_EQ_INT(sf_sched_pick_fit(e, 4, ready, 1, 1), 1); /* the gang does not fit one group */
    CHECK_EQ_INT(sf_sched_pick_fit(e, 4, ready, 0, 1), 2);
    CHECK_EQ_INT(sf_sched_pick_fit(e, 4, ready, 0, 0), -1);
    /* a gang larger than the cluster, a CPU unit without a lane: refused */
    CHECK_EQ_INT(sf_sched_simulate(e, 1, 1, 1, &r), SF_E_INVAL);
    CHECK_EQ_INT(sf_sched_simulate(e + 2, 1, 2, 0, &r), SF_E_INVAL);

    /* 6. An elastic gang (a windowed shot of 4 windows, 40 s on one group; docs/windows.md):
     *    THE rule, sf_sched_groups, takes 1 .. 4 of the idle groups and never waits for more;
     *    on g groups it lasts 40 * ceil(4 / g) / 4. On 3 groups: X (50 s) starts first on g0,
     *    the gang at once on the 2 left (20 s, g1 and g2); makespan 50, busy 50 + 2 x 20. */
    struct sf_sched_unit ga[] = {{.seconds = 40, .gang = 4, .elastic = 1}, U(50)};
    const struct sf_sched_unit fixed2 = {.seconds = 1, .gang = 2};
    CHECK_EQ_INT(sf_sched_groups(&fixed2, 1), 0);
    CHECK_EQ_INT(sf_sched_groups(&fixed2, 3), 2);
    CHECK_EQ_INT(sf_sched_groups(&ga[0], 0), 0);
    CHECK_EQ_INT(sf_sched_groups(&ga[0], 1), 1);
    CHECK_EQ_INT(sf_sched_groups(&ga[0], 2), 2);
    CHECK_EQ_INT(sf_sched_groups(&ga[0], 9), 4);
    CHECK(sf_sched_seconds(&ga[0], 1) == 40 && sf_sched_seconds(&ga[0], 2) == 20 &&
          sf_sched_seconds(&ga[0], 3) == 20 && sf_sched_seconds(&ga[0], 4) == 10);
    unsigned char gready[2] = {1, 0};
    CHECK_EQ_INT(sf_sched_pick_fit(ga, 2, gready, 1, 0), 0); /* one idle group is enough */
    CHECK_EQ_INT(sf_sched_simulate(ga, 2, 3, 0, &r), SF_OK); /* a gang of 4 on 3 groups: fine */
    CHECK(r.makespan == 50 && r.busy == 90);
    CHECK(r.start[1] == 0 && r.group[1] == 0 && r.start[0] == 0 && r.group[0] == 1);
    sf_sched_result_fini(&r);
    CHECK_EQ_INT(sf_sched_simulate(ga, 1, 1, 0, &r), SF_OK); /* alone on one group: 40 s */
    CHECK(r.makespan == 40 && r.busy == 40);
    sf_sched_result_fini(&r);

    /* 4. Large: 40 shots x 5 takes of denoise (3..12 s) with a decode each on 8 groups finishes
     *    within one largest unit of total/8, and fast. */
    int n = 400;
    struct sf_sched_unit *big = calloc((size_t)n, sizeof *big);
    double total = 0, largest = 0;
    for (int i = 0; i < n; i += 2) {
        big[i].seconds = 3 + (i * 7919 % 10);
        big[i + 1].seconds = 1;
        big[i + 1].n_deps = 1;
        big[i + 1].deps[0] = i;
        total += big[i].seconds + 1;
        if (big[i].seconds > largest) largest = big[i].seconds;
    }
    CHECK_EQ_INT(sf_sched_simulate(big, n, 8, 1, &r), SF_OK);
    CHECK(r.makespan >= total / 8 && r.makespan <= total / 8 + largest + 1);
    sf_sched_result_fini(&r);
    free(big);

    /* 5. Ranked dispatch (sf_sched_rank): A (10 s) alone; B (6 s) with C (8 s, CPU) after it, on
     *    one group and one lane. Unranked, the largest goes first: A 0-10, B 10-16, C 16-24.
     *    Ranked, B (6 + 8 = 14) beats A (10): B 0-6, then A 6-16 beside C 6-14 on the lane,
     *    makespan 16. An elastic gang counts on all its groups (12 / 3); a cycle is refused. */
    struct sf_sched_unit rk[4] = {{.seconds = 10}, {.seconds = 6},
                                  {.seconds = 8, .cpu = 1, .n_deps = 1, .deps = {1}},
                                  {.seconds = 12, .gang = 3, .elastic = 1}};
    CHECK_EQ_INT(sf_sched_simulate(rk, 3, 1, 1, &r), SF_OK);
    CHECK(r.makespan == 24 && r.start[0] == 0 && r.start[1] == 10 && r.start[2] == 16);
    sf_sched_result_fini(&r);
    CHECK_EQ_INT(sf_sched_rank(rk, 4), SF_OK);
    CHECK(rk[0].rank == 10 && rk[1].rank == 14 && rk[2].rank == 8 && rk[3].rank == 4);
    unsigned char rready[4] = {1, 1, 0, 1};
    CHECK_EQ_INT(sf_sched_pick(rk, 4, rready), 1); /* 14 beats 10 and 4 */
    CHECK_EQ_INT(sf_sched_simulate(rk, 3, 1, 1, &r), SF_OK);
    CHECK(r.makespan == 16 && r.start[1] == 0 && r.start[0] == 6 && r.start[2] == 6);
    CHECK(r.group[2] == 1); /* the lane */
    sf_sched_result_fini(&r);
    struct sf_sched_unit cyc[2] = {{.seconds = 1, .n_deps = 1, .deps = {1}},
                                   {.seconds = 1, .n_deps = 1, .deps = {0}}};
    CHECK_EQ_INT(sf_sched_rank(cyc, 2), SF_E_INVAL);
    struct sf_sched_unit bad[1] = {{.seconds = 1, .n_deps = 1, .deps = {5}}};
    CHECK_EQ_INT(sf_sched_rank(bad, 1), SF_E_INVAL);
    return sf_test_result("plan_sched");
}

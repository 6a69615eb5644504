/* sf_sched.h — the scheduling policy of the farm, as a pure function: units with durations and
 * dependencies, run on n identical worker groups, the largest ready unit first to whichever group
 * is free. `shotfarm plan` simulates a campaign with it; the render coordinator dispatches with
 * the same ordering rule (sf_sched_pick), so the plan's makespan is the policy's makespan. */
#ifndef SF_SCHED_H
#define SF_SCHED_H

#include <stddef.h>

#define SF_SCHED_MAX_DEPS 16

struct sf_sched_unit {
    double seconds;                 /* duration on one worker group (or one CPU lane) */
    int gang;                       /* worker groups it holds at once (0 or 1: one) */
    int cpu;                        /* runs on a CPU lane, not a worker group */
    int n_deps;
    int deps[SF_SCHED_MAX_DEPS];    /* indices of units that must finish first (< n) */
};

struct sf_sched_result {
    double makespan;       /* when the last unit finishes */
    double busy;           /* sum of unit durations (group-seconds) */
    double utilisation;    /* busy / (makespan * groups), 0..1 */
    double critical_path;  /* longest dependency chain: no number of groups beats it */
    /* Per unit (arrays of n, owned by the result): */
    double *start;
    int *group;
    /* The critical path, first unit first (indices), owned by the result. */
    int *path;
    int path_len;
};

/* Picks the next unit among the ready ones: the largest duration, ties to the lowest index.
 * ready[i] != 0 marks a ready unit. Returns -1 when none is ready. */
int sf_sched_pick(const struct sf_sched_unit *u, int n, const unsigned char *ready);

/* The largest ready unit that fits what is free: a CPU unit needs one of lanes_free, any other
 * unit max(gang, 1) of groups_free. Ties to the lowest index; -1 when none fits. */
int sf_sched_pick_fit(const struct sf_sched_unit *u, int n, const unsigned char *ready,
                      int groups_free, int lanes_free);

/* Simulates the policy on n_groups groups and n_lanes CPU lanes (result group: the first group
 * of the unit, or n_groups + lane for a CPU unit; utilisation counts the groups only). Fails with SF_E_INVAL for a dependency cycle or an
 * out-of-range dependency, or a unit that cannot fit the groups or lanes (naming the unit index in the log), SF_E_NOMEM. The caller frees the
 * result with sf_sched_result_fini. */
int sf_sched_simulate(const struct sf_sched_unit *u, int n, int n_groups, int n_lanes,
                      struct sf_sched_result *out);
void sf_sched_result_fini(struct sf_sched_result *r);

#endif

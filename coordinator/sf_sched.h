/* sf_sched.h — the scheduling policy of the farm, as a pure function: units with durations and
 * dependencies, run on n identical worker groups, the highest-ranked ready unit (the longest
 * chain from it to the end, sf_sched_rank) first to whichever group is free. `shotfarm plan`
 * simulates a campaign with it; the render coordinator dispatches with the same ordering rule
 * (sf_sched_pick), so the plan's makespan is the policy's makespan. */
#ifndef SF_SCHED_H
#define SF_SCHED_H

#include <stddef.h>

#define SF_SCHED_MAX_DEPS 16

struct sf_sched_unit {
    double seconds;                 /* duration on one worker group (or one CPU lane) */
    int gang;                       /* worker groups it holds at once (0 or 1: one) */
    int elastic;                    /* gang is a most: it starts on any g >= 1 of the idle
                                       groups (sf_sched_groups); seconds is its time on one */
    int cpu;                        /* runs on a CPU lane, not a worker group */
    double rank;                    /* dispatch priority (sf_sched_rank): the longest chain of
                                       seconds from this unit's start to the end of the run;
                                       0 = unranked, its own seconds is the key */
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

/* Ranks every unit for dispatch: u[i].rank = u[i]'s time (an elastic gang on all its n groups,
 * so the ranks do not depend on the cluster and plan and render agree) plus the longest rank
 * among the units that wait for it, so a unit whose sequence still has a long chain behind it
 * (decode, assembly, QC on the CPU lanes) starts before a longer unit with nothing behind it. Plan ranks its units once
 * and render copies them, so both dispatch in the same order. Fails with SF_E_INVAL on a
 * cycle or an out-of-range dependency, SF_E_NOMEM. */
int sf_sched_rank(struct sf_sched_unit *u, int n);

/* Picks the next unit among the ready ones: the highest rank (the largest duration when
 * unranked), ties to the lowest index.
 * ready[i] != 0 marks a ready unit. Returns -1 when none is ready. */
int sf_sched_pick(const struct sf_sched_unit *u, int n, const unsigned char *ready);

/* The highest-ranked ready unit that fits what is free (as sf_sched_pick): a CPU unit needs one
 * of lanes_free, any other unit sf_sched_groups(u, groups_free) > 0. Ties to the lowest index; -1 when none fits. */
int sf_sched_pick_fit(const struct sf_sched_unit *u, int n, const unsigned char *ready,
                      int groups_free, int lanes_free);

/* THE gang rule, shared by plan's simulation and render's coordinator: how many of groups_free
 * idle groups unit u takes when it starts now; 0 when it does not fit. A fixed gang takes
 * max(gang, 1) or nothing; an elastic one (a windowed denoise unit, docs/windows.md) takes
 * min(gang, groups_free) when at least one is idle, so it never waits for more and cannot
 * deadlock a dynamic schedule. Not for CPU units. */
int sf_sched_groups(const struct sf_sched_unit *u, int groups_free);
/* u's duration on g of its groups: seconds, or for an elastic gang of n (its windows)
 * seconds * ceil(n / g) / n (each member takes ceil(n / g) windows per step at most). */
double sf_sched_seconds(const struct sf_sched_unit *u, int g);

/* Simulates the policy on n_groups groups and n_lanes CPU lanes (result group: the first group
 * of the unit, or n_groups + lane for a CPU unit; utilisation counts the groups only). Fails with SF_E_INVAL for a dependency cycle or an
 * out-of-range dependency, or a unit that cannot fit the groups or lanes (naming the unit index in the log), SF_E_NOMEM. The caller frees the
 * result with sf_sched_result_fini. */
int sf_sched_simulate(const struct sf_sched_unit *u, int n, int n_groups, int n_lanes,
                      struct sf_sched_result *out);
void sf_sched_result_fini(struct sf_sched_result *r);

#endif

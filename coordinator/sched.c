/* sched.c — list scheduling of work units over worker groups and CPU lanes (sf_sched.h), used by
 * plan to predict a makespan and by render to choose the next unit. The simulation is event
 * driven: at every moment a group (or lane) is free and a unit is ready, the highest-ranked
 * ready unit that fits starts (sf_sched_rank: the longest chain from it to the end; a gang unit
 * needs `gang` free groups at once, an elastic one any 1 .. gang of them, sf_sched_groups; a CPU
 * unit a free lane); ties go to the lowest index and the lowest group, so the result is
 * deterministic. */
#include "sf_sched.h"
#include "sf_log.h"
#include "sf_status.h"

#include <stdlib.h>
#include <string.h>

/* The dispatch key: the rank when ranked, else the unit's own duration. */
static double key(const struct sf_sched_unit *u) { return u->rank > 0 ? u->rank : u->seconds; }

int sf_sched_pick(const struct sf_sched_unit *u, int n, const unsigned char *ready)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (ready[i] && (best < 0 || key(&u[i]) > key(&u[best]))) best = i;
    return best;
}

static int gang_of(const struct sf_sched_unit *u) { return u->gang > 1 ? u->gang : 1; }

int sf_sched_groups(const struct sf_sched_unit *u, int groups_free)
{
    const int gang = gang_of(u);
    if (u->elastic) return groups_free < 1 ? 0 : groups_free < gang ? groups_free : gang;
    return gang <= groups_free ? gang : 0;
}

double sf_sched_seconds(const struct sf_sched_unit *u, int g)
{
    const int gang = gang_of(u);
    if (!u->elastic || g <= 1 || gang <= 1) return u->seconds;
    if (g > gang) g = gang;
    return u->seconds * (double)((gang + g - 1) / g) / gang;
}

int sf_sched_pick_fit(const struct sf_sched_unit *u, int n, const unsigned char *ready,
                      int groups_free, int lanes_free)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!ready[i] || (u[i].cpu ? lanes_free < 1 : !sf_sched_groups(&u[i], groups_free))) continue;
        if (best < 0 || key(&u[i]) > key(&u[best])) best = i;
    }
    return best;
}

/* A unit's shortest time: a CPU unit's seconds, an elastic gang on all the groups it can take. */
static double shortest(const struct sf_sched_unit *u, int n_groups)
{
    return u->cpu ? u->seconds : sf_sched_seconds(u, sf_sched_groups(u, n_groups));
}

/* Every dependency names another existing unit; counts the edges into *n_edges. */
static int check_deps(const struct sf_sched_unit *u, int n, size_t *n_edges)
{
    *n_edges = 0;
    for (int i = 0; i < n; i++) {
        SF_ASSERT(u[i].n_deps >= 0 && u[i].n_deps <= SF_SCHED_MAX_DEPS && u[i].seconds >= 0);
        for (int k = 0; k < u[i].n_deps; k++)
            if (u[i].deps[k] < 0 || u[i].deps[k] >= n || u[i].deps[k] == i) {
                SF_ERROR("sched", "unit %d depends on unit %d, which does not exist", i, u[i].deps[k]);
                return SF_E_INVAL;
            }
        *n_edges += (size_t)u[i].n_deps;
    }
    return SF_OK;
}

int sf_sched_rank(struct sf_sched_unit *u, int n)
{
    SF_ASSERT(n >= 0);
    size_t n_edges;
    int st = check_deps(u, n, &n_edges);
    if (st) return st;
    /* Kahn's algorithm on the reversed graph: a unit is ranked once every unit waiting for it
     * is. waiting[i] counts the dependents not yet ranked. */
    int *waiting = calloc((size_t)n + 1, sizeof *waiting), *queue = malloc(((size_t)n + 1) * sizeof *queue);
    double *below = calloc((size_t)n + 1, sizeof *below); /* longest rank among i's dependents */
    if (!waiting || !queue || !below) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < u[i].n_deps; k++) waiting[u[i].deps[k]]++;
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (!waiting[i]) queue[tail++] = i;
    while (head < tail) {
        const int v = queue[head++];
        u[v].rank = sf_sched_seconds(&u[v], gang_of(&u[v])) + below[v];
        for (int k = 0; k < u[v].n_deps; k++) {
            const int d = u[v].deps[k];
            if (u[v].rank > below[d]) below[d] = u[v].rank;
            if (--waiting[d] == 0) queue[tail++] = d;
        }
    }
    if (tail < n) {
        SF_ERROR("sched", "dependency cycle among %d units", n - tail);
        st = SF_E_INVAL;
    }
out:
    free(waiting);
    free(queue);
    free(below);
    return st;
}

void sf_sched_result_fini(struct sf_sched_result *r)
{
    if (!r) return;
    free(r->start);
    free(r->group);
    free(r->path);
    memset(r, 0, sizeof *r);
}

/* Longest chain ending at each unit, in a topological order; fails on a cycle. An elastic gang
 * counts at its shortest on n_groups (sf_sched_seconds on every group it can take). */
static int critical_path(const struct sf_sched_unit *u, int n, int n_groups,
                         struct sf_sched_result *r)
{
    int st = SF_OK;
    double *finish = calloc((size_t)n + 1, sizeof *finish);
    int *pred = malloc(((size_t)n + 1) * sizeof *pred), *state = calloc((size_t)n + 1, sizeof *state);
    int *stack = malloc(((size_t)n + 1) * sizeof *stack), *it = calloc((size_t)n + 1, sizeof *it);
    if (!finish || !pred || !state || !stack || !it) {
        st = SF_E_NOMEM;
        goto out;
    }
    /* Iterative DFS: state 0 new, 1 on the stack, 2 done. */
    for (int root = 0; root < n; root++) {
        if (state[root]) continue;
        int sp = 0;
        stack[sp++] = root;
        state[root] = 1;
        while (sp) {
            int v = stack[sp - 1];
            if (it[v] < u[v].n_deps) {
                int d = u[v].deps[it[v]++];
                if (state[d] == 1) {
                    SF_ERROR("sched", "dependency cycle through units %d and %d", v, d);
                    st = SF_E_INVAL;
                    goto out;
                }
                if (state[d] == 0) {
                    state[d] = 1;
                    stack[sp++] = d;
                }
                continue;
            }
            double best = 0;
            pred[v] = -1;
            for (int k = 0; k < u[v].n_deps; k++) {
                int d = u[v].deps[k];
                if (finish[d] > best) {
                    best = finish[d];
                    pred[v] = d;
                }
            }
            finish[v] = best + shortest(&u[v], n_groups);
            state[v] = 2;
            sp--;
        }
    }
    int end = -1;
    for (int i = 0; i < n; i++)
        if (end < 0 || finish[i] > finish[end]) end = i;
    r->critical_path = end >= 0 ? finish[end] : 0;
    r->path = malloc(((size_t)n + 1) * sizeof *r->path);
    if (!r->path) {
        st = SF_E_NOMEM;
        goto out;
    }
    int len = 0;
    for (int v = end; v >= 0; v = pred[v]) r->path[len++] = v;
    for (int i = 0; i < len / 2; i++) {
        int t = r->path[i];
        r->path[i] = r->path[len - 1 - i];
        r->path[len - 1 - i] = t;
    }
    r->path_len = len;
out:
    free(finish);
    free(pred);
    free(state);
    free(stack);
    free(it);
    return st;
}

int sf_sched_simulate(const struct sf_sched_unit *u, int n, int n_groups, int n_lanes,
                      struct sf_sched_result *out)
{
    memset(out, 0, sizeof *out);
    SF_ASSERT(n >= 0 && n_groups >= 1 && n_lanes >= 0);
    size_t n_edges;
    int st = check_deps(u, n, &n_edges);
    if (st) return st;
    for (int i = 0; i < n; i++) {
        if (u[i].cpu ? n_lanes < 1 : !sf_sched_groups(&u[i], n_groups)) {
            SF_ERROR("sched", "unit %d needs %s but the cluster has %d", i,
                     u[i].cpu ? "a CPU lane" : "more worker groups at once", u[i].cpu ? n_lanes : n_groups);
            return SF_E_INVAL;
        }
    }
    SF_TRY(st, critical_path(u, n, n_groups, out));
    size_t nn = (size_t)n + 1;
    const int n_slots = n_groups + n_lanes; /* groups first, then lanes */
    double *slot_free = calloc((size_t)n_slots, sizeof *slot_free);
    int *running = malloc((size_t)n_slots * sizeof *running), n_running = 0;
    int *missing = calloc(nn, sizeof *missing), *first = calloc(nn + 1, sizeof *first);
    int *dependents = malloc((n_edges + 1) * sizeof *dependents);
    unsigned char *ready = calloc(nn, 1);
    double *finish = malloc(nn * sizeof *finish);
    out->start = malloc(nn * sizeof *out->start);
    out->group = malloc(nn * sizeof *out->group);
    if (!slot_free || !running || !missing || !first || !dependents || !ready || !finish ||
        !out->start || !out->group) {
        st = SF_E_NOMEM;
        goto done;
    }
    /* Dependents in CSR form: dependents[first[d] .. first[d+1]) wait for d. */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < u[i].n_deps; k++) first[u[i].deps[k] + 1]++;
    for (int i = 0; i < n; i++) first[i + 1] += first[i];
    {
        int *fill = calloc(nn, sizeof *fill);
        if (!fill) {
            st = SF_E_NOMEM;
            goto done;
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < u[i].n_deps; k++) {
                int d = u[i].deps[k];
                dependents[first[d] + fill[d]++] = i;
            }
        free(fill);
    }
    for (int i = 0; i < n; i++) {
        missing[i] = u[i].n_deps;
        ready[i] = missing[i] == 0;
    }
    int started = 0;
    double now = 0;
    while (started < n) {
        /* Start the highest-ranked ready units that fit the groups and lanes free at `now` (lowest
         * group first). */
        for (;;) {
            int groups_free = 0, lanes_free = 0;
            for (int g = 0; g < n_slots; g++)
                if (slot_free[g] <= now) *(g < n_groups ? &groups_free : &lanes_free) += 1;
            int i = sf_sched_pick_fit(u, n, ready, groups_free, lanes_free);
            if (i < 0) break;
            ready[i] = 0;
            out->start[i] = now;
            const int need0 = u[i].cpu ? 1 : sf_sched_groups(&u[i], groups_free);
            const double dur = u[i].cpu ? u[i].seconds : sf_sched_seconds(&u[i], need0);
            finish[i] = now + dur;
            int need = need0;
            out->group[i] = -1;
            for (int g = u[i].cpu ? n_groups : 0; g < (u[i].cpu ? n_slots : n_groups) && need; g++) {
                if (slot_free[g] > now) continue;
                if (out->group[i] < 0) out->group[i] = g;
                slot_free[g] = finish[i]; /* a unit of 0 s frees its slot at once */
                need--;
            }
            if (!u[i].cpu) out->busy += dur * need0;
            running[n_running++] = i;
            started++;
        }
        if (!n_running) break; /* nothing runs and nothing is ready: cannot happen without a cycle */
        /* Advance to the earliest finish and release the dependents of everything done by then. */
        double next = finish[running[0]];
        for (int k = 1; k < n_running; k++)
            if (finish[running[k]] < next) next = finish[running[k]];
        now = next;
        for (int k = 0; k < n_running;) {
            int i = running[k];
            if (finish[i] > now) {
                k++;
                continue;
            }
            running[k] = running[--n_running];
            if (finish[i] > out->makespan) out->makespan = finish[i];
            for (int e = first[i]; e < first[i + 1]; e++)
                if (--missing[dependents[e]] == 0) ready[dependents[e]] = 1;
        }
    }
    while (n_running) { /* drain (only reached when the last units were started) */
        int i = running[--n_running];
        if (finish[i] > out->makespan) out->makespan = finish[i];
    }
    out->utilisation = out->makespan > 0 ? out->busy / (out->makespan * n_groups) : 0;
done:
    free(slot_free);
    free(running);
    free(missing);
    free(first);
    free(dependents);
    free(ready);
    free(finish);
    if (st) sf_sched_result_fini(out);
    return st;
out:
    sf_sched_result_fini(out);
    return st;
}

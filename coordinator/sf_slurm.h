/* sf_slurm.h — what shotfarm asks of Slurm's client commands (slurm_acct.c): running one and
 * reading what it prints (submit's sbatch and scontrol, status's sacct), and a job's accounting
 * as sacct reports it, per launch (docs/submit.md § Accounting). */
#ifndef SF_SLURM_H
#define SF_SLURM_H

#include <stddef.h>

/* Runs args (args[0] found on PATH) and reads its stdout — and its stderr too when merge_stderr,
 * else stderr passes through — into out (NUL-terminated, at most n - 1 bytes; the rest is
 * drained). SF_OK when it ran: *exit_status is its exit status (128 + N when signal N ended it).
 * When it could not be started: SF_E_NOTFOUND (not on PATH) or SF_E_IO, nothing logged, the
 * cause in why[why_n]. */
int sf_slurm_run(char *const args[], int merge_stderr, char *out, size_t n, int *exit_status,
                 char *why, size_t why_n);

/* One launch of a job: one line of `sacct --duplicates --allocations` (a requeued job has one
 * per launch, the same job id). */
struct sf_slurm_launch {
    char job[32], state[32], start[32], nodes[128];
    double elapsed;     /* seconds (ElapsedRaw) */
    int cpus, gpus;     /* allocated (AllocCPUS; gres/gpu of AllocTRES) */
    double cpu_seconds; /* allocated CPU-seconds (CPUTimeRAW = elapsed x cpus) */
    double gpu_seconds; /* elapsed x gpus */
};

struct sf_slurm_acct {
    int available;    /* sacct answered; else why says what it printed or why it did not run */
    char why[256];
    int n;            /* launches, oldest first */
    struct sf_slurm_launch v[64];
    double elapsed, cpu_seconds, gpu_seconds; /* summed over the launches */
};

/* The Slurm job of RUNDIR/slurm-launches.jsonl (written by submit's batch script, docs/submit.md):
 * its newest job, how many launches that job had, and the reason its batch script stopped
 * requeueing it (NULL: none; owned, freed by sf_slurm_job_fini). */
struct sf_slurm_job {
    char job[32]; /* "" when the run was not submitted */
    int n, restarts;
    char *stopped;
};
/* Reads RUNDIR's job into *j (zeroed first; no file: not submitted, SF_OK). Fails as the events
 * reader does on a damaged file (SF_E_FORMAT, logged with the file), SF_E_NOMEM. */
int sf_slurm_job_read(const char *rundir, struct sf_slurm_job *j);
void sf_slurm_job_fini(struct sf_slurm_job *j);

/* Asks sacct (on PATH, at most 20 s) for job's launches. Never fails because of Slurm: without
 * sacct or accounting, a->available is 0 and a->why one line. SF_E_INVAL (a->why says it) for a
 * job id that is not digits, '_' and '+' (it comes from a file of the run directory). */
int sf_slurm_acct_read(const char *job, struct sf_slurm_acct *a);

#endif

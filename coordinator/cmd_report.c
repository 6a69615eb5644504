/* cmd_report.c — `shotfarm report RUNDIR`: (re)writes RUNDIR/report.html from what the run
 * directory holds (coordinator/sf_report.h), as render does at the end of every launch. Called
 * by main.c. Prints the page's path and the QC summary on stdout. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_report.h"
#include "sf_slurm.h"
#include "sf_status.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define CMD "report"

static void usage(FILE *f)
{
    fprintf(f, "usage: shotfarm report RUNDIR\n\n"
               "Writes RUNDIR/report.html: one static page (no server, no external assets) with\n"
               "the AI disclosure, every sequence's spots playable and their QC verdicts,\n"
               "timelines and contact sheet, per shot the planned and measured cost, failures\n"
               "and retries, and the determinism domain (docs/review.md). render writes it at\n"
               "the end of every launch; this command makes it again at any time. For a run\n"
               "made by `shotfarm submit` it adds the job's launches as sacct accounted them\n"
               "beside the plan's makespan (docs/submit.md § Accounting).\n");
}

int sf_cmd_report(int argc, char **argv)
{
    static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1;) {
        if (c == 'h') return usage(stdout), SF_OK;
        return sf_cli_usage_error(CMD, "unknown option %s", argv[optind - 1]);
    }
    if (optind + 1 != argc) return sf_cli_usage_error(CMD, "give one run directory");
    /* a submitted run: its job's accounting, now that sacct has every finished launch */
    struct sf_slurm_job job;
    struct sf_slurm_acct *acct = NULL;
    int st = sf_slurm_job_read(argv[optind], &job);
    if (st) return st;
    if (job.job[0]) {
        if (!(acct = malloc(sizeof *acct))) {
            sf_slurm_job_fini(&job);
            return SF_E_NOMEM;
        }
        sf_slurm_acct_read(job.job, acct); /* unavailable: acct->why says why */
    }
    struct sf_report_summary sum;
    st = sf_report_write(argv[optind], acct, &sum);
    free(acct);
    sf_slurm_job_fini(&job);
    if (st) return st;
    printf("%s/report.html: %d spot%s, %d failed QC, %d unit%s failed\n", argv[optind], sum.spots,
           sum.spots == 1 ? "" : "s", sum.flagged, sum.failed, sum.failed == 1 ? "" : "s");
    return SF_OK;
}

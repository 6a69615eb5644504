/* sf_report.h — RUNDIR/report.html (docs/review.md § The report): one static page, inline CSS,
 * no script and no external asset, that a producer opens the morning after: the AI disclosure,
 * the spots flagged by QC first, then per sequence its contact sheet and its spots playable
 * (the H.264 files in <video>), their QC verdicts and timelines; per shot what it cost (the
 * plan's estimate against the measured seconds, from manifest.json and events.jsonl), failures
 * and retries, and the run's determinism domain. Written by render at the end of every launch
 * and by `shotfarm report RUNDIR`; it reads only files in RUNDIR, so it can be made again at
 * any time. Links are relative to RUNDIR: the directory can be copied or served as it is. */
#ifndef SF_REPORT_H
#define SF_REPORT_H

struct sf_report_summary {
    int spots;      /* spot files' groups (sequence x aspect x length) delivered */
    int flagged;    /* of them, failed QC */
    int failed;     /* units whose last outcome is a failure */
};

struct sf_slurm_acct;

/* Writes RUNDIR/report.html (durably). acct: the Slurm job's accounting (sf_slurm_acct_read) for
 * a section beside the plan's makespan, or NULL for none (render leaves it out: at the end of a
 * launch sacct has not recorded that launch yet, and a preempted job's grace time must not wait
 * on slurmdbd). Fails with SF_E_NOTFOUND / SF_E_FORMAT (logged with the file) when
 * manifest.json is missing or damaged, SF_E_IO / SF_E_NOMEM. sum may be NULL. */
int sf_report_write(const char *rundir, const struct sf_slurm_acct *acct,
                    struct sf_report_summary *sum);

#endif

/* cmd_submit.c — `shotfarm submit CAMPAIGN -o RUNDIR ...`: validates the campaign, writes
 * RUNDIR/submit.sbatch (a commented batch script a TD can review; docs/submit.md) durably and
 * submits it with `sbatch --parsable`, printing the job id (--dry-run: prints the script).
 * Called by main.c on a login node, never under MPI.
 *
 * The script carries the whole preemption contract: --requeue, --signal=B:USR1@S, a trap that
 * forwards USR1 to the `srun` render step (render checkpoints at its next step boundary and
 * exits 75), and `scontrol requeue` on 75 — except after a SIGTERM alone to the batch shell,
 * which is `scancel` (requeueing would undo it) or the end of a preemption's GraceTime (Slurm
 * requeues). A preempted job (PreemptTime set) whose render exits 75 within the GraceTime is
 * requeued by the script, once: Slurm requeues only a job still running when it ends. Every
 * launch records the run's progress; after --max-idle-launches launches without any, the job
 * stops (docs/submit.md § Requeue cap). With --per-sequence the same script is a job array
 * (task i renders sequence i into RUNDIR/seq/SEQ with `render --sequence`) and a second one,
 * RUNDIR/assemble.sbatch, is submitted with --dependency=afterok on it (`render
 * --from-sequences` in RUNDIR); the array must fit the cluster's MaxArraySize.
 *
 * The subtle thing: the job runs on another node in another directory, so every path is made
 * absolute here; and every value that reaches the script is either checked against a strict
 * character set (the #SBATCH lines, which sbatch splits without shell quoting) or single-quoted
 * for bash.
 */
#define _GNU_SOURCE
#include "sf_build_info.h"
#include "sf_campaign.h"
#include "sf_cli.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_log.h"
#include "sf_render.h"
#include "sf_slurm.h"
#include "sf_status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "submit"
#define SCRIPT_NAME "submit.sbatch"
#define ASSEMBLE_NAME "assemble.sbatch" /* --per-sequence: the afterok assembly job */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shotfarm submit CAMPAIGN -o RUNDIR [--nodes N|MIN-MAX] [--ntasks-per-node R]\n"
            "         [--cpus-per-task C] [--gpus-per-node G] [--time T] [--partition P]\n"
            "         [--account A] [--mem M] [--signal-lead S] [--tp K] [--tier draft|final]\n"
            "         [--model DIR] [--tokenizer FILE] [--cache DIR] [--ckpt-every E]\n"
            "         [--max-retries N] [--cpu-lanes N] [--max-idle-launches N] [--dry-run]\n"
            "         [--per-sequence] [--heartbeat-timeout S] [--sbatch PATH]\n\n"
            "Validates CAMPAIGN, writes RUNDIR/submit.sbatch (a commented batch script to\n"
            "review) and submits it with `sbatch --parsable`; prints the job id. The job runs\n"
            "`srun --mpi=pmix shotfarm render CAMPAIGN -o RUNDIR ...`; it is requeued when\n"
            "render checkpoints and exits 75 (SIGUSR1 S seconds before the time limit, or\n"
            "`scancel --signal=USR1 --batch JOB`) and resumes from its checkpoints. The job\n"
            "gets this command's environment (SF_LOG, OMPI_MCA_*, ...). See docs/submit.md.\n\n"
            "options:\n"
            "  -o, --output DIR       the run directory (created; on a file system every node\n"
            "                         sees); the script and slurm-JOBID.out go there\n"
            "  --nodes N|MIN-MAX      nodes (default 1); with a range a launch runs on as many\n"
            "                         as are up (a launch requeued after a node failure on\n"
            "                         fewer), with MAX x --ntasks-per-node ranks in all (tp 1)\n"
            "  --ntasks-per-node R    MPI ranks per node (default 1, or G with --gpus-per-node:\n"
            "                         one rank per GPU); a multiple of the TP degree\n"
            "  --cpus-per-task C      cores per rank, also render's --threads (default: Slurm's)\n"
            "  --gpus-per-node G      GPUs per node, [TYPE:]N: one rank per GPU, each bound to\n"
            "                         its own (srun --gpu-bind=single:1)\n"
            "  --time T               time limit, [D-]HH:MM:SS (or Slurm's other forms)\n"
            "  --partition P, --account A   where the job runs and who pays\n"
            "  --mem M                memory per node, N[K|M|G|T]\n"
            "  --signal-lead S        SIGUSR1 this many seconds before the time limit (default\n"
            "                         120); render gets S/2 s to reach a step boundary\n"
            "  --max-idle-launches N  stop requeueing after N launches in a row that made no\n"
            "                         progress (no denoising step checkpointed, no unit\n"
            "                         finished; default 3); the reason goes to the job's log\n"
            "                         and to `shotfarm status RUNDIR`\n"
            "  --per-sequence         one job-array task per sequence, each rendering its shots\n"
            "                         into RUNDIR/seq/SEQ (render --sequence), and an assembly\n"
            "                         job (RUNDIR/" ASSEMBLE_NAME ", --dependency=afterok on the\n"
            "                         array) that builds the deliverables in RUNDIR (render\n"
            "                         --from-sequences); prints both job ids. The sequences\n"
            "                         must fit the cluster's MaxArraySize (scontrol show config)\n"
            "  --dry-run              write and print the script; do not submit it\n"
            "  --sbatch PATH          the sbatch to run (default: sbatch on PATH)\n\n"
            "passed to render (docs/render.md): --tp K, --tier T, --model DIR (default: the\n"
            "campaign's model.dir), --tokenizer FILE, --cache DIR, --ckpt-every E (N steps, Ns or\n"
            "Nm), --max-retries N, --cpu-lanes N, --heartbeat-timeout S\n\n"
            "exit codes: 0 submitted (or written, --dry-run), 1 sbatch missing or failed (its\n"
            "message is shown), 2 bad options or an invalid campaign\n");
}

struct opts {
    const char *campaign, *rundir, *time, *partition, *account, *mem, *gpus;
    const char *model, *tokenizer, *cache, *ckpt_every, *sbatch;
    long nodes, ntasks, cpus, signal_lead, tp, max_retries, cpu_lanes, max_idle;
    long gpus_n;  /* the N of --gpus-per-node [TYPE:]N, 0 without it */
    int ntasks_given; /* --ntasks-per-node was on the command line */
    long nodes_max; /* --nodes MIN-MAX: the range's top, else 0 */
    const char *tier; /* NULL: render's default */
    const char *heartbeat; /* --heartbeat-timeout as written, or NULL */
    int dry_run, per_sequence;
};

/* 1 when s is non-empty and every character is in the set (letters and digits always are). */
static int only(const char *s, const char *set)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(set, *s)))
            return 0;
    return 1;
}

/* Slurm's time forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or UNLIMITED / INFINITE (*sec = -1).
 * Returns 1 and the limit in seconds when s is one of them. */
static int time_seconds(const char *s, long *sec)
{
    if (strcmp(s, "UNLIMITED") == 0 || strcmp(s, "INFINITE") == 0) return *sec = -1, 1;
    long v[4] = {0}, days = 0;
    int n = 0;
    const char *p = s;
    const char *dash = strchr(s, '-');
    if (dash) {
        char *end;
        days = strtol(s, &end, 10);
        if (end != dash || end == s) return 0;
        p = dash + 1;
    }
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9' || n == 3) return 0;
        v[n++] = strtol(p, &end, 10);
        if (v[n - 1] > 100000) return 0;
        if (!*end) break;
        if (*end != ':') return 0;
        p = end + 1;
    }
    if (dash) /* D-H, D-H:M, D-H:M:S */
        *sec = ((days * 24 + v[0]) * 60 + v[1]) * 60 + v[2];
    else if (n == 3) /* H:M:S */
        *sec = (v[0] * 60 + v[1]) * 60 + v[2];
    else /* M or M:S */
        *sec = v[0] * 60 + v[1];
    return *sec > 0;
}

/* render's --ckpt-every forms: N steps, Ns seconds, Nm minutes (N > 0). Checked here so that a
 * typo is refused now rather than when the job starts hours later. */
/* Makes path absolute (against the current directory) into out; the file need not exist. */
static int absolute(const char *path, char *out, size_t n)
{
    char cwd[PATH_MAX];
    if (path[0] == '/') {
        if ((size_t)snprintf(out, n, "%s", path) >= n) return SF_E_INVAL;
        return SF_OK;
    }
    if (!getcwd(cwd, sizeof cwd)) return sf_err_errno(errno, "find the current directory", ".");
    if ((size_t)snprintf(out, n, "%s/%s", cwd, path) >= n) return SF_E_INVAL;
    return SF_OK;
}

/* realpath of an existing file (want_dir 0) or directory (1); else one usage line naming opt. */
static int existing(const char *opt, const char *path, int want_dir, char *out)
{
    if (!realpath(path, out))
        return sf_cli_usage_error(CMD, "%s %s: %s", opt, path, strerror(errno));
    if (want_dir ? !sf_file_is_dir(out) : !sf_file_is_regular(out))
        return sf_cli_usage_error(CMD, "%s %s: not a %s", opt, path,
                                  want_dir ? "directory" : "regular file");
    return SF_OK;
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"output", required_argument, 0, 'o'},
                                       {"nodes", required_argument, 0, 'N'},
                                       {"ntasks-per-node", required_argument, 0, 'R'},
                                       {"cpus-per-task", required_argument, 0, 'c'},
                                       {"gpus-per-node", required_argument, 0, 'g'},
                                       {"time", required_argument, 0, 'T'},
                                       {"partition", required_argument, 0, 'P'},
                                       {"account", required_argument, 0, 'A'},
                                       {"mem", required_argument, 0, 'M'},
                                       {"signal-lead", required_argument, 0, 'S'},
                                       {"tp", required_argument, 0, 'p'},
                                       {"tier", required_argument, 0, 't'},
                                       {"model", required_argument, 0, 'm'},
                                       {"tokenizer", required_argument, 0, 'k'},
                                       {"cache", required_argument, 0, 'C'},
                                       {"ckpt-every", required_argument, 0, 'E'},
                                       {"max-retries", required_argument, 0, 'r'},
                                       {"cpu-lanes", required_argument, 0, 'L'},
                                       {"max-idle-launches", required_argument, 0, 'I'},
                                       {"heartbeat-timeout", required_argument, 0, 'H'},
                                       {"dry-run", no_argument, 0, 'n'},
                                       {"per-sequence", no_argument, 0, 'Q'},
                                       {"sbatch", required_argument, 0, 'B'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    *o = (struct opts){
        .nodes = 1, .ntasks = 1, .signal_lead = 120, .max_retries = -1, .cpu_lanes = -1,
        .max_idle = 3, .sbatch = "sbatch"};
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1;) {
        int st = SF_OK, every_steps = 0;
        double every_seconds = 0; /* checked here, passed to render as written */
        switch (c) {
        case 'o':
            o->rundir = optarg;
            break;
        case 'N':
            if (strchr(optarg, '-')) { /* MIN-MAX */
                char lo_s[32];
                const char *dash = strchr(optarg, '-');
                snprintf(lo_s, sizeof lo_s, "%.*s", (int)(dash - optarg), optarg);
                st = sf_cli_parse_int(CMD, "--nodes", lo_s, 1, 100000, &o->nodes);
                if (!st) st = sf_cli_parse_int(CMD, "--nodes", dash + 1, 1, 100000, &o->nodes_max);
                if (!st && o->nodes_max < o->nodes)
                    st = sf_cli_usage_error(CMD, "--nodes %s: the range's minimum exceeds its "
                                                 "maximum; give MIN-MAX with MIN <= MAX", optarg);
            } else {
                st = sf_cli_parse_int(CMD, "--nodes", optarg, 1, 100000, &o->nodes);
                o->nodes_max = 0;
            }
            break;
        case 'R':
            st = sf_cli_parse_int(CMD, "--ntasks-per-node", optarg, 1, 4096, &o->ntasks);
            o->ntasks_given = 1;
            break;
        case 'c':
            st = sf_cli_parse_int(CMD, "--cpus-per-task", optarg, 1, 4096, &o->cpus);
            break;
        case 'g': {
            o->gpus = optarg;
            const char *count = strrchr(optarg, ':');
            count = count ? count + 1 : optarg;
            if (!only(optarg, ":_-.") || !*count || strspn(count, "0123456789") != strlen(count))
                st = sf_cli_usage_error(CMD,
                                        "--gpus-per-node '%s': give N or TYPE:N (e.g. 8 "
                                        "or h100:8)",
                                        optarg);
            else
                st = sf_cli_parse_int(CMD, "--gpus-per-node", count, 1, 4096, &o->gpus_n);
            break;
        }
        case 'T':
            o->time = optarg;
            break;
        case 'P':
            o->partition = optarg;
            if (!only(optarg, "_-.,"))
                st = sf_cli_usage_error(CMD,
                                        "--partition '%s': a partition name (letters, "
                                        "digits, _ - . and commas)",
                                        optarg);
            break;
        case 'A':
            o->account = optarg;
            if (!only(optarg, "_-."))
                st = sf_cli_usage_error(CMD,
                                        "--account '%s': an account name (letters, "
                                        "digits, _ - .)",
                                        optarg);
            break;
        case 'M': {
            o->mem = optarg;
            size_t n = strspn(optarg, "0123456789");
            if (n == 0 || (optarg[n] && (!strchr("KMGT", optarg[n]) || optarg[n + 1])))
                st = sf_cli_usage_error(CMD,
                                        "--mem '%s': give memory per node as N[K|M|G|T] "
                                        "(e.g. 64G)",
                                        optarg);
            break;
        }
        case 'S':
            st = sf_cli_parse_int(CMD, "--signal-lead", optarg, 2, 65535, &o->signal_lead);
            break;
        case 'p':
            st = sf_cli_parse_int(CMD, "--tp", optarg, 1, 64, &o->tp);
            break;
        case 't':
            o->tier = optarg; /* passed on as written */
            st = sf_cli_parse_tier(CMD, optarg, &(int){0});
            break;
        case 'm':
            o->model = optarg;
            break;
        case 'k':
            o->tokenizer = optarg;
            break;
        case 'C':
            o->cache = optarg;
            break;
        case 'E':
            o->ckpt_every = optarg;
            st = sf_cli_parse_every(CMD, "--ckpt-every", optarg, &every_steps, &every_seconds);
            break;
        case 'r':
            st = sf_cli_parse_int(CMD, "--max-retries", optarg, 0, 1000, &o->max_retries);
            break;
        case 'L':
            st = sf_cli_parse_int(CMD, "--cpu-lanes", optarg, 1, 16, &o->cpu_lanes);
            break;
        case 'I':
            st = sf_cli_parse_int(CMD, "--max-idle-launches", optarg, 1, 1000, &o->max_idle);
            break;
        case 'H':
            o->heartbeat = optarg;
            st = sf_cli_parse_double(CMD, "--heartbeat-timeout", optarg, 0.5, 1e7,
                                     &every_seconds);
            break;
        case 'n':
            o->dry_run = 1;
            break;
        case 'Q':
            o->per_sequence = 1;
            break;
        case 'B':
            o->sbatch = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case ':':
            return sf_cli_usage_error(CMD, "option %s needs a value", argv[optind - 1]);
        default:
            return sf_cli_usage_error(CMD, "unknown option %s", argv[optind - 1]);
        }
        if (st) return st;
    }
    if (optind < argc) o->campaign = argv[optind++];
    if (optind < argc) return sf_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->campaign || !o->rundir)
        return sf_cli_usage_error(CMD, "give a campaign file and -o RUNDIR");
    if (o->gpus_n && !o->ntasks_given) o->ntasks = o->gpus_n; /* one rank per GPU */
    if (o->gpus_n && o->ntasks != o->gpus_n)
        return sf_cli_usage_error(CMD,
                                  "--ntasks-per-node %ld with --gpus-per-node %s: render runs "
                                  "one rank per GPU; give --ntasks-per-node %ld or leave it out",
                                  o->ntasks, o->gpus, o->gpus_n);
    if (o->time) {
        long sec;
        if (!time_seconds(o->time, &sec))
            return sf_cli_usage_error(CMD,
                                      "--time '%s': give [D-]HH:MM:SS (e.g. 12:00:00 or "
                                      "1-00:00:00), minutes, or UNLIMITED",
                                      o->time);
        if (sec >= 0 && sec <= 2 * o->signal_lead)
            return sf_cli_usage_error(CMD,
                                      "--time %s (%ld s) leaves no time to render before "
                                      "the SIGUSR1 --signal-lead %ld s ahead of it; give "
                                      "a longer --time or a shorter --signal-lead",
                                      o->time, sec, o->signal_lead);
    }
    return SF_OK;
}

/* Writes s single-quoted for bash: 'it'\''s'. */
static void shq(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

/* One command-line word in the script's header comment: quoted when it is not plain, and
 * with control characters (a newline would end the comment) shown as '?'. */
static void comment_arg(FILE *f, const char *s)
{
    fputc(' ', f);
    if (only(s, "/_-.+,=@~:%")) {
        fputs(s, f);
        return;
    }
    char *t = strdup(s);
    if (!t) return;
    for (char *p = t; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    shq(f, t);
    free(t);
}

/* Everything the script needs, resolved: absolute paths and the TP degree in effect. */
struct job {
    const struct opts *o;
    const char *name; /* the campaign id */
    char exe[PATH_MAX], campaign[PATH_MAX], rundir[PATH_MAX], model[PATH_MAX];
    char tokenizer[PATH_MAX], cache[PATH_MAX];
    long tp; /* 0: not passed (the campaign's model.tp applies) */
    /* --per-sequence: which script (docs/submit.md § Per-sequence job arrays) */
    enum { JOB_WHOLE, JOB_ARRAY, JOB_ASSEMBLE } mode;
    const struct sf_campaign *c;
};

/* The run directory as the script's render and status commands see it: RUNDIR, or in an array
 * task "$rundir" (RUNDIR/seq/SEQ, set at the top of the script); then `sub` ("" or "/FILE"). */
static void rundir_word(FILE *f, const struct job *j, const char *sub)
{
    if (j->mode == JOB_ARRAY) {
        fprintf(f, "\"$rundir\"%s", sub);
        return;
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s%s", j->rundir, sub);
    shq(f, path);
}

/* The #SBATCH directives, each under a comment that says why it is there. */
static void write_directives(FILE *f, const struct job *j)
{
    const struct opts *o = j->o;
    fprintf(f,
            "# The job's name in squeue and sacct: the campaign id.\n"
            "#SBATCH --job-name=%s%s\n",
            j->name, j->mode == JOB_ASSEMBLE ? "-assemble" : "");
    if (j->mode == JOB_ARRAY)
        fprintf(f,
                "# One array task per sequence (%d): task i renders sequence i of the list\n"
                "# below; each task is a job of its own (requeued, preempted, capped alone).\n"
                "#SBATCH --array=0-%d\n",
                sf_campaign_n_sequences(j->c), sf_campaign_n_sequences(j->c) - 1);
    if (j->mode == JOB_ASSEMBLE)
        fprintf(f,
                "# sbatch is run with --dependency=afterok:ARRAY_JOB_ID (known only once the array\n"
                "# is submitted): this job starts when every sequence rendered; a failed one\n"
                "# cancels it.\n"
                "#SBATCH --kill-on-invalid-dep=yes\n"
                "# One node and one worker group: the shots are rendered; what is left is\n"
                "# assembly (CPU lanes).\n"
                "#SBATCH --nodes=1\n"
                "#SBATCH --ntasks-per-node=%ld\n",
                j->tp > 1 ? j->tp : 1);
    else if (o->nodes_max)
        fprintf(f,
                "# A node range: a launch runs on as many of %ld-%ld nodes as are up, so a job\n"
                "# requeued after a node failure resumes on the nodes left. The ranks are\n"
                "# --ntasks (the largest node count x --ntasks-per-node %ld), placed by Slurm:\n"
                "# on fewer nodes, more per node. render's output does not depend on the ranks.\n"
                "#SBATCH --nodes=%ld-%ld\n"
                "#SBATCH --ntasks=%ld\n",
                o->nodes, o->nodes_max, o->ntasks, o->nodes, o->nodes_max,
                o->nodes_max * o->ntasks);
    else
        fprintf(f,
                "# MPI ranks: --nodes x --ntasks-per-node; a tensor-parallel group (--tp) never\n"
                "# spans nodes, so the ranks per node are a multiple of it.\n"
                "#SBATCH --nodes=%ld\n"
                "#SBATCH --ntasks-per-node=%ld\n",
                o->nodes, o->ntasks);
    if (o->cpus)
        fprintf(f,
                "# Cores per rank: render runs this many compute threads per rank.\n"
                "#SBATCH --cpus-per-task=%ld\n",
                o->cpus);
    if (o->gpus) fprintf(f, "#SBATCH --gpus-per-node=%s\n", o->gpus);
    if (o->mem) fprintf(f, "# Memory per node.\n#SBATCH --mem=%s\n", o->mem);
    if (o->time)
        fprintf(f,
                "# The time limit. Longer renders continue in requeued launches.\n"
                "#SBATCH --time=%s\n",
                o->time);
    if (o->partition) fprintf(f, "#SBATCH --partition=%s\n", o->partition);
    if (o->account) fprintf(f, "#SBATCH --account=%s\n", o->account);
    fprintf(f,
            "# Slurm may requeue this job (preemption, node failure, and this script on exit 75).\n"
            "#SBATCH --requeue\n"
            "# SIGUSR1 to this batch shell (B:) %ld s before the time limit; the trap below\n"
            "# forwards it to render, which checkpoints and exits 75.\n"
            "#SBATCH --signal=B:USR1@%ld\n"
            "# Every launch of the job appends to one log in the run directory.\n"
            "#SBATCH --output=%s/slurm-%s.out\n"
            "#SBATCH --open-mode=append\n"
            "#SBATCH --chdir=%s\n"
            "# The job gets the environment of `shotfarm submit` (SF_LOG, OMPI_MCA_*, ...).\n"
            "#SBATCH --export=ALL\n",
            o->signal_lead, o->signal_lead, j->rundir, j->mode == JOB_ARRAY ? "%A_%a" : "%j",
            j->rundir);
}

/* " \\\n    OPT 'PATH'": one option of the render command on its own line. */
static void path_arg(FILE *f, const char *opt, const char *path)
{
    fprintf(f, " \\\n    %s ", opt);
    shq(f, path);
}

/* The srun line and its render command, one option a line. */
static void write_step(FILE *f, const struct job *j)
{
    const struct opts *o = j->o;
    fputs("srun --mpi=pmix", f);
    /* Slurm 22.05+: srun no longer inherits the batch job's --cpus-per-task */
    if (o->cpus) fprintf(f, " --cpus-per-task=%ld", o->cpus);
    /* one GPU per rank: render's CUDA backend takes device SLURM_LOCALID % the visible ones,
     * which is the bound one */
    if (o->gpus) fputs(" --gpu-bind=single:1", f);
    fputs(" \\\n    ", f);
    shq(f, j->exe);
    fputs(" render ", f);
    shq(f, j->campaign);
    fputs(" \\\n    -o ", f);
    rundir_word(f, j, "");
    if (j->mode == JOB_ARRAY) fputs(" \\\n    --sequence \"$seq\"", f);
    if (j->mode == JOB_ASSEMBLE) fputs(" \\\n    --from-sequences", f);
    path_arg(f, "--model", j->model);
    if (o->tokenizer) path_arg(f, "--tokenizer", j->tokenizer);
    if (o->cache) path_arg(f, "--cache", j->cache);
    if (o->tp) fprintf(f, " \\\n    --tp %ld", o->tp);
    if (o->tier) fprintf(f, " \\\n    --tier %s", o->tier);
    if (o->cpus) fprintf(f, " \\\n    --threads %ld", o->cpus);
    if (o->ckpt_every) fprintf(f, " \\\n    --ckpt-every %s", o->ckpt_every);
    if (o->max_retries >= 0) fprintf(f, " \\\n    --max-retries %ld", o->max_retries);
    if (o->cpu_lanes > 0) fprintf(f, " \\\n    --cpu-lanes %ld", o->cpu_lanes);
    if (o->heartbeat) fprintf(f, " \\\n    --heartbeat-timeout %s", o->heartbeat);
    fprintf(f, " \\\n    --signal-grace %ld &\n", o->signal_lead / 2);
}

/* The requeue cap (docs/submit.md § Requeue cap): every launch records the run's durable
 * progress in RUNDIR/slurm-launches.jsonl; a launch that finds the last max_idle launches of
 * this job started at the progress it sees now stops, whoever requeued it. */
static void write_cap(FILE *f, const struct job *j)
{
    fprintf(f,
            "# Requeue cap: the run's durable progress (`shotfarm status --progress`: denoising\n"
            "# steps checkpointed plus finished units) is recorded at every launch; once\n"
            "# --max-idle-launches launches in a row left it unchanged, the job is not run or\n"
            "# requeued again, whoever requeued it (this script, a preemption, a node failure).\n"
            "max_idle=%ld\n"
            "%s\n"
            "launches=",
            j->o->max_idle,
            j->mode == JOB_ARRAY ? "# an array task counts as ARRAYJOB_TASK, the id squeue shows\n"
                                   "job=${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID"
                                 : "job=$SLURM_JOB_ID");
    rundir_word(f, j, "/slurm-launches.jsonl");
    fputs("\nprogress() { ", f);
    shq(f, j->exe);
    fputs(" status --progress ", f);
    rundir_word(f, j, "");
    fputs(" 2>/dev/null || echo 0; }\n", f);
    fputs("# idle P: how many launches of this job in a row, the newest back, started at\n"
          "# progress P\n"
          "idle() {\n"
          "    awk -v job=\"\\\"job\\\": \\\"$job\\\"\" \\\n"
          "        -v p=\"\\\"progress\\\": $1}\" -v launch='\"event\": \"launch\"' '\n"
          "        index($0, launch) && index($0, job) { n = index($0, p) ? n + 1 : 0 }\n"
          "        END { print n + 0 }' \"$launches\" 2>/dev/null || echo 0\n"
          "}\n"
          "record() { # record EVENT FIELDS: a line of slurm-launches.jsonl\n"
          "    printf '{\"t\": \"%s\", \"event\": \"%s\", \"job\": \"%s\", '\\\n"
          "'\"launch\": %d, %s}\\n' \"$(date -u +%FT%TZ)\" \"$1\" \"$job\" \\\n"
          "        $((restarts + 1)) \"$2\" >>\"$launches\"\n"
          "}\n"
          "runs() { # runs N: \"1 launch\" or \"N launches in a row\"\n"
          "    if [ \"$1\" = 1 ]; then echo \"1 launch\"; else echo \"$1 launches in a row\"; fi\n"
          "}\n"
          "stop() { # stop WHY: log it, record it for `shotfarm status`, end the job FAILED\n"
          "    local why=\"$1 (--max-idle-launches $max_idle)\"\n"
          "    log \"$why; shotfarm status says where the run stands\"\n"
          "    record stopped \"\\\"reason\\\": \\\"$why\\\"\"\n"
          "    exit 1\n"
          "}\n"
          "p=$(progress)\n"
          "n=$(idle \"$p\")\n"
          "record launch \"\\\"restarts\\\": $restarts, \\\"progress\\\": $p\"\n"
          "[ \"$n\" -lt \"$max_idle\" ] ||\n"
          "    stop \"$(runs \"$n\") before this one made no progress: not running render\"\n",
          f);
}

/* The whole script into a malloc'd buffer (*out, owned by the caller). */
static int build_script(const struct job *j, int argc, char **argv, char **out, size_t *len)
{
    FILE *f = open_memstream(out, len);
    if (!f) return SF_E_NOMEM;
    if (j->mode == JOB_ARRAY)
        fprintf(f,
                "#!/bin/bash\n"
                "# " SCRIPT_NAME ": array task i renders the shots of sequence i of campaign '%s'\n"
                "# into %s/seq/SEQ under Slurm; " ASSEMBLE_NAME " then builds the deliverables.\n",
                j->name, j->rundir);
    else if (j->mode == JOB_ASSEMBLE)
        fprintf(f,
                "#!/bin/bash\n"
                "# " ASSEMBLE_NAME ": builds the deliverables of campaign '%s' in %s from the\n"
                "# shots that " SCRIPT_NAME "'s array tasks rendered into %s/seq/SEQ.\n",
                j->name, j->rundir, j->rundir);
    else
        fprintf(f,
                "#!/bin/bash\n"
                "# " SCRIPT_NAME ": renders campaign '%s' into %s under Slurm.\n",
                j->name, j->rundir);
    fprintf(f, "# Written by shotfarm %s (commit %s):\n#   shotfarm", SF_VERSION, SF_GIT_COMMIT);
    for (int i = 0; i < argc; i++)
        comment_arg(f, argv[i]);
    fprintf(f,
            "\n"
            "#\n"
            "# Preemption (docs/submit.md): SIGUSR1 (--signal below, or\n"
            "# `scancel --signal=USR1 --batch JOB`) reaches the trap, which forwards it to the\n"
            "# render step; every rank checkpoints at its next denoising step and render exits\n"
            "# 75; the script then requeues the job, and the next launch resumes from the\n"
            "# checkpoints in the run directory, ending with the bits of an uninterrupted run.\n"
            "# A preemption (SIGTERM to the ranks, GraceTime) takes the same path.\n"
            "# Resubmit after editing: sbatch --parsable %s%s%s\n"
            "#\n",
            j->mode == JOB_ASSEMBLE ? "--dependency=afterok:ARRAY_JOB_ID " : "", j->rundir,
            j->mode == JOB_ASSEMBLE ? "/" ASSEMBLE_NAME : "/" SCRIPT_NAME);
    write_directives(f, j);
    fprintf(
        f,
        "\n"
        "set -u\n"
        "log() { echo \"$(date -u +%%FT%%TZ) shotfarm-submit: $*\"; }\n"
        "restarts=${SLURM_RESTART_COUNT:-0}\n"
        "log \"job $SLURM_JOB_ID launch $((restarts + 1)) (SLURM_RESTART_COUNT=$restarts) on \\\n"
        "$SLURM_JOB_NUM_NODES node(s): $SLURM_JOB_NODELIST\"\n"
        "\n");
    if (j->mode == JOB_ARRAY) {
        fputs("# This task's sequence, rendered into a run directory of its own (one render per\n"
              "# directory: its own lock, manifest, checkpoints and slurm-launches.jsonl).\n"
              "seqs=(",
              f);
        for (int i = 0; i < sf_campaign_n_sequences(j->c); i++) {
            if (i) fputc(' ', f);
            shq(f, sf_campaign_sequence(j->c, i)->id);
        }
        fputs(")\nseq=${seqs[$SLURM_ARRAY_TASK_ID]}\nrundir=", f);
        shq(f, j->rundir);
        fputs("/seq/\"$seq\"\n"
              "mkdir -p \"$rundir\" || exit 1\n"
              "log \"array job $SLURM_ARRAY_JOB_ID task $SLURM_ARRAY_TASK_ID: sequence $seq into \\\n"
              "$rundir\"\n\n",
              f);
    }
    fprintf(
        f,
        "# SIGUSR1 (time limit ahead, or scancel --signal=USR1 --batch) and SIGTERM (scancel,\n"
        "# the end of a preemption's GraceTime) are forwarded to the render step as SIGUSR1:\n"
        "# checkpoint and exit 75. (A preemption sends SIGTERM to the ranks themselves.)\n"
        "# bash runs a trap only between commands, hence `srun ... &` and `wait` below.\n"
        "step=0 got_usr1=0 got_term=0\n"
        "forward() {\n"
        "    if [ \"$1\" = TERM ]; then got_term=1; else got_usr1=1; fi\n"
        "    if [ \"$step\" = 0 ]; then log \"got SIG$1\"; return; fi\n"
        "    log \"got SIG$1: render checkpoints at its next step and exits 75\"\n"
        "    kill -USR1 \"$step\" 2>/dev/null || true\n"
        "}\n"
        "trap 'forward USR1' USR1\n"
        "trap 'forward TERM' TERM\n"
        "\n");
    write_cap(f, j);
    fputc('\n', f);
    write_step(f, j);
    fprintf(
        f,
        "step=$!\n"
        "# a signal that came before $! was known\n"
        "[ $((got_usr1 + got_term)) = 0 ] || kill -USR1 \"$step\" 2>/dev/null || true\n"
        "wait \"$step\"\n"
        "rc=$?\n"
        "# a trap interrupts wait (status > 128) while the step runs on: wait again\n"
        "while [ \"$rc\" -gt 128 ] && kill -0 \"$step\" 2>/dev/null; do\n"
        "    wait \"$step\"\n"
        "    rc=$?\n"
        "done\n"
        "step=0\n"
        "\n"
        "case $rc in\n"
        "0)\n"
        "    log \"render finished: every unit done\"\n"
        "    exit 0 ;;\n"
        "75)\n"
        "    # A preempted job has a PreemptTime: Slurm sent SIGTERM to the ranks (not to this\n"
        "    # shell) and requeues the job only if it still runs when GraceTime ends.\n"
        "    preempted=$(scontrol show job \"$SLURM_JOB_ID\" 2>/dev/null |\n"
        "        grep -o 'PreemptTime=[^ ]*')\n"
        "    preempted=${preempted#PreemptTime=}\n"
        "    [ \"$preempted\" != None ] || preempted=\n"
        "    if [ -n \"$preempted\" ] && [ \"$got_term\" = 1 ]; then\n"
        "        # GraceTime is over: Slurm is ending this launch and requeues the job itself.\n"
        "        log \"render checkpointed (exit 75), preempted at $preempted: Slurm \\\n"
        "requeues the job\"\n"
        "        exit 75\n"
        "    fi\n"
        "    if [ -z \"$preempted\" ] && [ \"$got_term\" = 1 ] && [ \"$got_usr1\" = 0 ]; then\n"
        "        # SIGTERM alone is scancel: requeueing would undo it. To continue later:\n"
        "        # submit again, or scontrol requeue. (After a SIGUSR1 a SIGTERM is the time\n"
        "        # limit: requeue.)\n"
        "        log \"render checkpointed (exit 75) after SIGTERM: not requeueing\"\n"
        "        exit 75\n"
        "    fi\n"
        "    n=$(idle \"$(progress)\")\n"
        "    [ \"$n\" -lt \"$max_idle\" ] ||\n"
        "        stop \"$(runs \"$n\") made no progress: not requeueing\"\n"
        "    # Slurm then stops this launch (SIGTERM to this shell) and holds the job\n"
        "    # about 120 s (Reason=BeginTime) before it starts again. A preempted job is\n"
        "    # requeued here at once, within GraceTime: exiting would end it FAILED, and\n"
        "    # waiting for GraceTime to run out would keep its nodes idle.\n"
        "    [ -z \"$preempted\" ] || log \"preempted at $preempted\"\n"
        "    log \"render checkpointed (exit 75): requeueing job $SLURM_JOB_ID\"\n"
        "    scontrol requeue \"$SLURM_JOB_ID\" || { log \"scontrol requeue failed\"; exit 75; }\n"
        "    exit 0 ;;\n"
        "*)\n"
        "    log \"render exited $rc: not requeued (shotfarm status %s says why)\"\n"
        "    exit \"$rc\" ;;\n"
        "esac\n",
        j->rundir);
    return fclose(f) == 0 ? SF_OK : SF_E_NOMEM;
}

/* The #SBATCH --output and --chdir lines take the run directory unquoted. */
static int rundir_ok(const char *dir)
{
    if (only(dir, "/_-.+,=@~")) return SF_OK;
    return sf_cli_usage_error(CMD,
                              "-o %s: the run directory goes into #SBATCH lines, which "
                              "sbatch does not unquote: use letters, digits and / _ - . + , "
                              "= @ ~ only",
                              dir);
}

/* Resolves every path and checks what can be checked before the job waits in the queue. */
static int resolve(const struct opts *o, const struct sf_campaign *c, struct job *j)
{
    const struct sf_model_settings *ms = sf_campaign_model(c);
    int st;
    j->o = o;
    j->name = sf_campaign_name(c);
    j->tp = o->tp ? o->tp : ms->tp;
    if (j->tp > 1 && o->ntasks % j->tp != 0)
        return sf_cli_usage_error(CMD,
                                  "tp %ld (%s) does not divide --ntasks-per-node %ld: a "
                                  "tensor-parallel group never spans nodes; give "
                                  "--ntasks-per-node %ld (or a multiple)",
                                  j->tp, o->tp ? "--tp" : "the campaign's model.tp", o->ntasks,
                                  j->tp);
    if (j->tp > 1 && o->nodes_max)
        return sf_cli_usage_error(CMD,
                                  "--nodes %ld-%ld with tp %ld: a node range asks Slurm for "
                                  "--ntasks ranks placed freely, which could split a "
                                  "tensor-parallel group across nodes; give --nodes N",
                                  o->nodes, o->nodes_max, j->tp);
    ssize_t n = readlink("/proc/self/exe", j->exe, sizeof j->exe - 1);
    if (n < 0) return sf_err_errno(errno, "find the shotfarm executable", "/proc/self/exe");
    j->exe[n] = '\0';
    if (!realpath(o->campaign, j->campaign))
        return sf_cli_usage_error(CMD, "%s: %s", o->campaign, strerror(errno));
    const char *mdir = o->model ? o->model : ms->dir;
    if (!mdir)
        return sf_cli_usage_error(CMD,
                                  "%s: the campaign names no model.dir; pass --model DIR "
                                  "(make one with: shotfarm mkmodel --config %s -o DIR)",
                                  o->campaign, ms->config ? ms->config : "tiny");
    if ((st = existing("--model", mdir, 1, j->model))) return st;
    if (o->tokenizer) {
        if ((st = existing("--tokenizer", o->tokenizer, 0, j->tokenizer))) return st;
    } else {
        snprintf(j->tokenizer, sizeof j->tokenizer, "%.*s/tokenizer/tokenizer.json", PATH_MAX - 32,
                 j->model);
        if (!sf_file_is_regular(j->tokenizer))
            return sf_cli_usage_error(CMD,
                                      "%s has no tokenizer/tokenizer.json; pass "
                                      "--tokenizer FILE",
                                      j->model);
    }
    if (o->cache && absolute(o->cache, j->cache, sizeof j->cache))
        return sf_cli_usage_error(CMD, "--cache %s: path too long", o->cache);
    char dir[PATH_MAX];
    if (absolute(o->rundir, dir, sizeof dir))
        return sf_cli_usage_error(CMD, "-o %s: path too long", o->rundir);
    if ((st = rundir_ok(dir))) return st;
    if ((st = sf_render_mkdirs(dir, 0))) return st;
    if (!realpath(dir, j->rundir)) /* one name for the directory, links resolved */
        return sf_err_errno(errno, "resolve the run directory", o->rundir);
    return rundir_ok(j->rundir);
}

/* Runs args (args[0] found on PATH) and reads its stdout into out (sf_slurm_run); its stderr
 * passes through. SF_OK when it exited 0; else SF_E_IO, logged with `fix` (how to get the tool)
 * or the exit status. */
static int run_capture(char *const args[], char *out, size_t n, const char *fix)
{
    char why[512];
    int status = -1;
    if (sf_slurm_run(args, 0, out, n, &status, why, sizeof why) != SF_OK) {
        SF_ERROR(CMD, "%s; %s", why, fix);
        return SF_E_IO;
    }
    if (status != 0) {
        SF_ERROR(CMD, "%s failed (exit status %d; its message is above); %s", args[0], status,
                 fix);
        return SF_E_IO;
    }
    return SF_OK;
}

/* Runs `SBATCH --parsable [DEP] SCRIPT`; its stdout (the job id) into id. */
static int run_sbatch(const char *sbatch, const char *dep, const char *script, char *id,
                      size_t id_size)
{
    char fix[PATH_MAX + 128];
    snprintf(fix, sizeof fix, "install Slurm's client commands or pass --sbatch PATH (the "
             "script is %s)", script);
    char *args[] = {(char *)sbatch, "--parsable", (char *)(dep ? dep : script),
                    dep ? (char *)script : NULL, NULL};
    int st = run_capture(args, id, id_size, fix);
    id[strcspn(id, "\r\n")] = '\0';
    if (st == SF_OK && !*id) {
        SF_ERROR(CMD, "%s printed no job id; the script is %s", sbatch, script);
        return SF_E_IO;
    }
    return st;
}

/* --per-sequence: the campaign's S sequences become array indices 0..S-1, which the cluster
 * allows below its MaxArraySize (`scontrol show config`). SF_E_USAGE (exit 2) naming both
 * when they do not fit; SF_E_IO when scontrol cannot tell. */
static int check_array_size(const struct sf_campaign *c)
{
    static char text[1 << 16];
    char *args[] = {"scontrol", "show", "config", NULL};
    int st = run_capture(args, text, sizeof text,
                         "--per-sequence checks the array size against the cluster's "
                         "MaxArraySize: run submit where Slurm's scontrol works");
    if (st) return st;
    const char *p = strstr(text, "MaxArraySize");
    long max = -1;
    if (p) p = strchr(p, '=');
    if (p) max = strtol(p + 1, NULL, 10);
    if (max < 0) {
        SF_ERROR(CMD, "scontrol show config printed no MaxArraySize; --per-sequence needs it");
        return SF_E_IO;
    }
    const int n = sf_campaign_n_sequences(c);
    if (n <= max) return SF_OK;
    /* one line, no usage hint: the command is right, the cluster is too small for it */
    SF_ERROR(CMD,
             "--per-sequence: campaign %s has %d sequences, but this cluster's MaxArraySize is "
             "%ld (array indices 0-%ld; scontrol show config): submit without --per-sequence, "
             "or ask the admin to raise MaxArraySize",
             sf_campaign_name(c), n, max, max - 1);
    return SF_E_USAGE;
}

int sf_cmd_submit(int argc, char **argv)
{
    char **words = malloc((size_t)argc * sizeof *words); /* before getopt permutes argv */
    if (!words) return SF_E_NOMEM;
    memcpy(words, argv, (size_t)argc * sizeof *words);
    struct opts o;
    int st = parse(argc, argv, &o);
    if (st) {
        free(words);
        return st > 0 ? SF_OK : st; /* 1: --help */
    }

    struct sf_campaign *c = NULL;
    struct sf_diags *diags = NULL;
    struct job *j = calloc(1, sizeof *j);
    char *text = NULL, *atext = NULL;
    size_t len = 0, alen = 0;
    char script[PATH_MAX + sizeof SCRIPT_NAME], ascript[PATH_MAX + sizeof ASSEMBLE_NAME];
    if (!j) {
        st = SF_E_NOMEM;
        goto out;
    }
    st = sf_campaign_load(o.campaign, 0, &c, &diags);
    if (st == SF_E_VALIDATION || st == SF_E_IO) { /* validate's messages */
        sf_diags_print(diags, stderr);
        int n = sf_diags_total(diags);
        fprintf(stderr, "%s: %d problem%s\n", o.campaign, n, n == 1 ? "" : "s");
        st = SF_E_VALIDATION;
    }
    if (st) goto out;
    if (o.per_sequence && !o.dry_run) SF_TRY(st, check_array_size(c));
    SF_TRY(st, resolve(&o, c, j));
    j->c = c;
    j->mode = o.per_sequence ? JOB_ARRAY : JOB_WHOLE;
    SF_TRY(st, build_script(j, argc, words, &text, &len));
    snprintf(script, sizeof script, "%s/" SCRIPT_NAME, j->rundir);
    SF_TRY(st, sf_file_write_atomic(script, text, len));
    if (o.per_sequence) {
        /* each sequence's run directory now, so that `shotfarm status RUNDIR` lists the
         * array tasks still pending */
        for (int i = 0; i < sf_campaign_n_sequences(c); i++) {
            char sd[PATH_MAX + 300];
            snprintf(sd, sizeof sd, "%s/seq/%s", j->rundir, sf_campaign_sequence(c, i)->id);
            SF_TRY(st, sf_render_mkdirs(sd, 0));
        }
        j->mode = JOB_ASSEMBLE;
        SF_TRY(st, build_script(j, argc, words, &atext, &alen));
        snprintf(ascript, sizeof ascript, "%s/" ASSEMBLE_NAME, j->rundir);
        SF_TRY(st, sf_file_write_atomic(ascript, atext, alen));
    }
    if (o.dry_run) {
        fwrite(text, 1, len, stdout);
        if (atext) fwrite(atext, 1, alen, stdout);
        SF_INFO(CMD, "wrote %s%s%s (--dry-run: not submitted)", script, atext ? " and " : "",
                atext ? ascript : "");
        goto out;
    }
    char id[128], aid[128], dep[160];
    SF_TRY(st, run_sbatch(o.sbatch, NULL, script, id, sizeof id));
    printf("%s\n", id);
    if (!o.per_sequence) {
        SF_INFO(CMD, "job %s: %s; log %s/slurm-%s.out; progress: shotfarm status %s", id,
                script, j->rundir, id, j->rundir);
        goto out;
    }
    snprintf(dep, sizeof dep, "--dependency=afterok:%s", id);
    SF_TRY(st, run_sbatch(o.sbatch, dep, ascript, aid, sizeof aid));
    printf("%s\n", aid);
    SF_INFO(CMD, "array job %s (%d sequences into %s/seq/SEQ, logs slurm-%s_I.out), assembly "
            "job %s after it (%s, log slurm-%s.out); progress: shotfarm status %s", id,
            sf_campaign_n_sequences(c), j->rundir, id, aid, ascript, aid, j->rundir);
out:
    free(words);
    free(text);
    free(atext);
    free(j);
    sf_campaign_destroy(c);
    sf_diags_destroy(diags);
    return st;
}

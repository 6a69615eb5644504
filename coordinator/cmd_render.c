/* cmd_render.c — `shotfarm render CAMPAIGN -o RUNDIR`: the farm core (docs/render.md). Called by
 * main.c, under mpirun/srun or as a singleton.
 *
 * Every rank loads the campaign and expands it into the same job list (render_plan.c). Rank 0
 * hashes the inputs, writes RUNDIR/manifest.json durably and starts the coordinator in a thread;
 * every rank (rank 0 included) runs the worker loop on its main thread: wait for a job index,
 * run it (render_work.c), report started / step / finished / failed. The coordinator gives the
 * largest ready job (sf_sched_pick, the plan's rule) to whichever group is idle, never blocks on
 * one group, waits with MPI_Iprobe plus a sleeping back-off, and is the only writer of
 * RUNDIR/events.jsonl.
 *
 * Tensor parallel (--tp K > 1, sf_world_create): a worker group is K ranks of one node and
 * counts as one worker. The coordinator sends a denoise job to every rank of the group (they
 * all run the sharded DiT, a collective, and end with the same bits) and a text or decode job
 * to the leader (group rank 0) alone: umT5 and the VAE are not sharded, and the other ranks
 * wait for their next job in the same sleeping probe loop rather than in a spinning MPI_Bcast,
 * which would take a core from the leader. Only the leader reports and writes files. The stop
 * message goes to every rank. Each rank receives its jobs in the order they were sent (one
 * source, one tag), so the ranks of a group enter the same denoise jobs in the same order.
 *
 * A failed job fails its dependents with the cause; the others go on; the exit status is 1 when
 * anything failed.
 *
 * Threading rule (MPI_THREAD_MULTIPLE): the coordinator thread makes MPI calls on its own tags
 * and file writes of JSON only; the main thread of every process makes every HDF5 call (HDF5's
 * parallel build is not thread-safe) and every compute call.
 */
#define _GNU_SOURCE
#include "sf_build_info.h"
#include "sf_campaign.h"
#include "sf_cli.h"
#include "sf_comm.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_hash.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_render.h"
#include "sf_sched.h"
#include "sf_status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <hdf5.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CMD "render"
#define TAG_JOB 7101   /* coordinator -> worker: int32 job index or one of: */
#define SF_RENDER_MSG_END (-1)  /* no more work: leave the worker loop */
#define SF_RENDER_MSG_STOP (-2) /* a signal: checkpoint at the next step boundary and stop */
#define TAG_EVENT 7102 /* group leader -> coordinator: struct event_msg */

extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

/* EV_SIGNAL: a rank received SIGTERM/SIGUSR1 (status = the signal) while idle; EV_BYE: a rank's
 * last message, the answer to SF_RENDER_MSG_END; the others say what happened to a job.
 * EV_STEP of a decode job counts frames: progress for the stall timeout, not logged. */
enum ev_type {
    EV_STARTED,
    EV_STEP,
    EV_FINISHED,
    EV_FAILED,
    EV_CKPT,
    EV_INTERRUPTED,
    EV_SIGNAL,
    EV_BYE
};

struct event_msg {
    int32_t job, type, step, n_steps, status, group, rank, pad;
    double t; /* wall clock (Unix seconds) at the worker */
    char host[64];
    char text[SF_RENDER_PATH_MAX + 64]; /* the error, or a checkpoint's path */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: [mpirun -np N] shotfarm render CAMPAIGN -o RUNDIR [--model DIR]\n"
            "         [--tokenizer FILE] [--tp K] [--tier draft|final] [--cache DIR]\n"
            "         [--threads N] [--resume] [--force] [--ckpt-every N|Ns|Nm]\n"
            "         [--signal-grace S] [--max-retries N] [--stall-timeout S]\n\n"
            "Renders every shot of CAMPAIGN into RUNDIR: prompt encodings (cached in --cache),\n"
            "denoising per shot x take x aspect, VAE decode, lossless shot files in\n"
            "RUNDIR/shots/ (FFV1 in Matroska), final latents in RUNDIR/latents/, manifest.json\n"
            "and events.jsonl. Output does not depend on the number of ranks or threads.\n"
            "See docs/render.md.\n\n"
            "options:\n"
            "  -o, --output DIR   the run directory (created)\n"
            "  --model DIR        the pipeline directory (shotfarm mkmodel -o DIR); default: the\n"
            "                     campaign's model.dir\n"
            "  --tokenizer FILE   tokenizer.json (default: MODEL/tokenizer/tokenizer.json)\n"
            "  --tp K             ranks per worker group (tensor parallel; default: the\n"
            "                     campaign's model.tp); K must divide the ranks of each node\n"
            "                     and the DiT's heads and FFN width\n"
            "  --tier T           draft (default) or final: the campaign's tier settings\n"
            "  --cache DIR        caches shared by runs (default ~/.cache/shotfarm)\n"
            "  --threads N        compute threads per rank (default: SF_THREADS, else Slurm's\n"
            "                     cpus per task, else the CPUs of the affinity mask, else\n"
            "                     cores / ranks on the node)\n\n"
            "checkpoints and resume (docs/render.md):\n"
            "  An existing RUNDIR with a manifest is resumed: finished units are kept, unfinished\n"
            "  ones continue from their newest valid checkpoint in RUNDIR/ckpt/.\n"
            "  --resume           insist on resuming: an error when RUNDIR has nothing to resume\n"
            "  --force            resume even though the model, sampler settings or campaign seed\n"
            "                     changed (the units they change are rendered again)\n"
            "  --ckpt-every E     checkpoint each denoise unit every N steps (E = N) or every N\n"
            "                     seconds / minutes (E = Ns / Nm); default 60s\n"
            "  --signal-grace S   on SIGTERM/SIGUSR1 every unit checkpoints at its next step and\n"
            "                     render exits 75; after S seconds (default 60) it exits 75 at\n"
            "                     once, keeping the last periodic checkpoints\n"
            "  --max-retries N    a unit running during two consecutive job deaths counts one\n"
            "                     failure; after more than N (default 2) it is marked failed\n"
            "  --stall-timeout S  fail a unit that reports no progress for S seconds (default\n"
            "                     1800); the rest of the campaign completes, exit 1\n");
}

struct opts {
    const char *campaign, *rundir, *model, *tokenizer, *cache;
    long tp, threads, max_retries;
    int tier, resume, force;
    int ckpt_steps;      /* > 0: every N steps */
    double ckpt_seconds; /* else every this many seconds */
    double signal_grace, stall_timeout;
};

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"output", required_argument, 0, 'o'},
                                       {"model", required_argument, 0, 'm'},
                                       {"tokenizer", required_argument, 0, 'k'},
                                       {"tp", required_argument, 0, 'p'},
                                       {"tier", required_argument, 0, 't'},
                                       {"cache", required_argument, 0, 'c'},
                                       {"threads", required_argument, 0, 'n'},
                                       {"resume", no_argument, 0, 'R'},
                                       {"force", no_argument, 0, 'F'},
                                       {"ckpt-every", required_argument, 0, 'C'},
                                       {"signal-grace", required_argument, 0, 'G'},
                                       {"max-retries", required_argument, 0, 'M'},
                                       {"stall-timeout", required_argument, 0, 'S'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    *o = (struct opts){.tp = 0, /* 0: the campaign's model.tp */
                       .max_retries = 2,
                       .ckpt_seconds = 60,
                       .signal_grace = 60,
                       .stall_timeout = 1800};
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1;) {
        switch (c) {
        case 'o':
            o->rundir = optarg;
            break;
        case 'm':
            o->model = optarg;
            break;
        case 'k':
            o->tokenizer = optarg;
            break;
        case 'c':
            o->cache = optarg;
            break;
        case 'p':
            if (sf_cli_parse_int(CMD, "--tp", optarg, 1, 64, &o->tp)) return SF_E_USAGE;
            break;
        case 'n':
            if (sf_cli_parse_int(CMD, "--threads", optarg, 1, 4096, &o->threads)) return SF_E_USAGE;
            break;
        case 't':
            if (sf_cli_parse_tier(CMD, optarg, &o->tier)) return SF_E_USAGE;
            break;
        case 'R':
            o->resume = 1;
            break;
        case 'F':
            o->force = 1;
            break;
        case 'C':
            if (sf_cli_parse_every(CMD, "--ckpt-every", optarg, &o->ckpt_steps, &o->ckpt_seconds))
                return SF_E_USAGE;
            break;
        case 'G':
            if (sf_cli_parse_double(CMD, "--signal-grace", optarg, 0, 1e7, &o->signal_grace))
                return SF_E_USAGE;
            break;
        case 'S':
            if (sf_cli_parse_double(CMD, "--stall-timeout", optarg, 0.1, 1e7, &o->stall_timeout))
                return SF_E_USAGE;
            break;
        case 'M':
            if (sf_cli_parse_int(CMD, "--max-retries", optarg, 0, 1000, &o->max_retries))
                return SF_E_USAGE;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case ':':
            return sf_cli_usage_error(CMD, "option %s needs a value", argv[optind - 1]);
        default:
            return sf_cli_usage_error(CMD, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) o->campaign = argv[optind++];
    if (optind < argc) return sf_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->campaign || !o->rundir)
        return sf_cli_usage_error(CMD, "give a campaign file and -o RUNDIR");
    return SF_OK;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sleeps *ns and doubles it up to 20 ms: the wait of every probe loop (never a busy spin). */
static void back_off(long *ns)
{
    struct timespec ts = {0, *ns};
    nanosleep(&ts, NULL);
    if (*ns < 20000000L) *ns *= 2;
}

/* ---- input hashes ------------------------------------------------------------------------ */

struct input {
    char path[SF_RENDER_PATH_MAX];
    char sha[SF_SHA256_HEX];
    long long bytes;
};

struct inputs {
    struct input *v;
    int n, cap;
};

static int add_input(struct inputs *in, const char *path)
{
    if (in->n == in->cap) {
        int nc = in->cap ? 2 * in->cap : 64;
        struct input *nv = realloc(in->v, (size_t)nc * sizeof *nv);
        if (!nv) return SF_E_NOMEM;
        in->v = nv;
        in->cap = nc;
    }
    struct input *e = &in->v[in->n];
    snprintf(e->path, sizeof e->path, "%s", path);
    uint8_t d[SF_SHA256_BYTES];
    int st = sf_sha256_file(path, d);
    if (st) return st;
    sf_sha256_hex(d, e->sha);
    struct stat sb;
    e->bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    in->n++;
    return SF_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every regular file under dir (recursively, sorted by name). */
static int add_tree(struct inputs *in, const char *dir)
{
    int st = SF_OK;
    DIR *d = opendir(dir);
    if (!d) return sf_err_errno(errno, "open the model directory", dir);
    char **names = NULL;
    int n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                st = SF_E_NOMEM;
                goto out;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = SF_E_NOMEM;
            goto out;
        }
        n++;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && st == SF_OK; i++) {
        char p[SF_RENDER_PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(p, &sb) != 0) continue;
        st = S_ISDIR(sb.st_mode) ? add_tree(in, p) : S_ISREG(sb.st_mode) ? add_input(in, p) : SF_OK;
    }
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return st;
}

/* A model component's key: the files of its folder (sub, e.g. "text_encoder/") when the
 * pipeline has one, else every model file, plus `extra` (the tokenizer for the text encoder).
 * Paths are hashed relative to the model directory, so a moved model keeps its keys. */
static void component_key(const struct inputs *in, const char *model, const char *sub,
                          const char *extra, char hex[SF_SHA256_HEX])
{
    char dir[SF_RENDER_PATH_MAX], version[64];
    snprintf(dir, sizeof dir, "%s/%s", model, sub);
    int any = 0;
    for (int i = 0; i < in->n; i++)
        any |= strncmp(in->v[i].path, dir, strlen(dir)) == 0;
    struct sf_canon c;
    uint8_t d[SF_SHA256_BYTES];
    snprintf(version, sizeof version, "shotfarm.%.*s.v1", (int)strcspn(sub, "/"), sub);
    sf_canon_begin(&c, version);
    for (int i = 0; i < in->n; i++) {
        const char *p = in->v[i].path;
        int is_model = strncmp(p, model, strlen(model)) == 0;
        if ((any && strncmp(p, dir, strlen(dir)) == 0) || (!any && is_model) ||
            (extra && strcmp(p, extra) == 0))
            sf_canon_str(&c, p + (is_model ? strlen(model) : 0), in->v[i].sha);
    }
    sf_canon_end(&c, d);
    sf_sha256_hex(d, hex);
}

/* ---- manifest --------------------------------------------------------------------------- */

static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + (v[1] == ' ');
                v[strcspn(v, "\n")] = '\0';
                snprintf(buf, n, "%s", v);
            }
            break;
        }
    }
    fclose(f);
}

struct domain {
    char cpu[128], simd[32], blas[64];
};

static void local_domain(struct domain *d)
{
    memset(d, 0, sizeof *d);
    cpu_model(d->cpu, sizeof d->cpu);
    snprintf(d->simd, sizeof d->simd, "%s", sf_cpu_simd_path());
    snprintf(d->blas, sizeof d->blas, "%s", openblas_get_corename());
}

static int write_manifest(const struct opts *o, const struct sf_render_setup *s,
                          const struct sf_world *w, const struct inputs *in,
                          const struct domain *doms, const struct sf_render_identity *id,
                          int attempt, int argc, char **argv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return SF_E_NOMEM;
    struct sf_jw j;
    sf_jw_init(&j, f, 2);
    sf_jw_obj_begin(&j);
    sf_jw_key(&j, "format"), sf_jw_str(&j, "shotfarm.run.v1");
    sf_jw_key(&j, "shotfarm"), sf_jw_str(&j, SF_VERSION " (" SF_GIT_COMMIT ")");
    sf_jw_key(&j, "command"), sf_jw_arr_begin(&j);
    for (int i = 0; i < argc; i++)
        sf_jw_str(&j, argv[i]);
    sf_jw_arr_end(&j);
    sf_jw_key(&j, "created"), sf_jw_num(&j, wall_now());
    sf_jw_key(&j, "attempt"), sf_jw_int(&j, attempt);
    sf_jw_key(&j, "identity"), sf_render_identity_json(&j, id);
    sf_jw_key(&j, "checkpoints"), sf_jw_obj_begin(&j);
    sf_jw_key(&j, "dir"), sf_jw_str(&j, s->ckpt_dir);
    if (s->ckpt_steps > 0)
        sf_jw_key(&j, "every_steps"), sf_jw_int(&j, s->ckpt_steps);
    else
        sf_jw_key(&j, "every_seconds"), sf_jw_num(&j, s->ckpt_seconds);
    sf_jw_obj_end(&j);
    sf_jw_key(&j, "campaign"), sf_jw_str(&j, o->campaign);
    sf_jw_key(&j, "tier"), sf_jw_str(&j, o->tier ? "final" : "draft");
    sf_jw_key(&j, "model"), sf_jw_str(&j, s->model_dir);
    sf_jw_key(&j, "tokenizer"), sf_jw_str(&j, s->tokenizer);
    sf_jw_key(&j, "cache"), sf_jw_str(&j, s->cache);
    sf_jw_key(&j, "text_encoder_key"), sf_jw_str(&j, s->text_key);
    sf_jw_key(&j, "world"), sf_jw_obj_begin(&j);
    sf_jw_key(&j, "ranks"), sf_jw_int(&j, w->world_size);
    sf_jw_key(&j, "nodes"), sf_jw_int(&j, w->n_nodes);
    sf_jw_key(&j, "tp"), sf_jw_int(&j, w->tp);
    sf_jw_key(&j, "groups"), sf_jw_int(&j, w->n_groups);
    sf_jw_obj_end(&j);
    /* Within one domain results are bit-identical; the rank count and thread count are not in
     * it because they do not change a bit (tests/render/). */
    sf_jw_key(&j, "determinism_domain"), sf_jw_obj_begin(&j);
    sf_jw_key(&j, "cpu"), sf_jw_arr_begin(&j);
    for (int r = 0; r < w->world_size; r++) {
        int seen = 0;
        for (int q = 0; q < r; q++)
            seen |= memcmp(&doms[q], &doms[r], sizeof doms[r]) == 0;
        if (seen) continue;
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "model"), sf_jw_str(&j, doms[r].cpu);
        sf_jw_key(&j, "simd_path"), sf_jw_str(&j, doms[r].simd);
        sf_jw_key(&j, "openblas_core"), sf_jw_str(&j, doms[r].blas);
        sf_jw_obj_end(&j);
    }
    sf_jw_arr_end(&j);
    sf_jw_key(&j, "tp"), sf_jw_int(&j, w->tp);
    sf_jw_key(&j, "guidance_passes"), sf_jw_str(&j, sf_render_guidance_mode());
    sf_jw_key(&j, "libraries"), sf_jw_obj_begin(&j);
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int vl = 0;
    MPI_Get_library_version(v, &vl);
    v[strcspn(v, ",\n")] = '\0';
    sf_jw_key(&j, "mpi"), sf_jw_str(&j, v);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    snprintf(v, sizeof v, "%u.%u.%u", maj, min, rel);
    sf_jw_key(&j, "hdf5"), sf_jw_str(&j, v);
    sf_jw_key(&j, "libavcodec"), sf_jw_str(&j, LIBAVCODEC_IDENT);
    sf_jw_key(&j, "libavformat"), sf_jw_str(&j, LIBAVFORMAT_IDENT);
    sf_jw_key(&j, "openblas"), sf_jw_str(&j, openblas_get_config());
    sf_jw_obj_end(&j);
    sf_jw_obj_end(&j);
    sf_jw_key(&j, "inputs"), sf_jw_arr_begin(&j);
    for (int i = 0; i < in->n; i++) {
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "path"), sf_jw_str(&j, in->v[i].path);
        sf_jw_key(&j, "bytes"), sf_jw_int(&j, in->v[i].bytes);
        sf_jw_key(&j, "sha256"), sf_jw_str(&j, in->v[i].sha);
        sf_jw_obj_end(&j);
    }
    sf_jw_arr_end(&j);
    sf_jw_key(&j, "units"), sf_jw_arr_begin(&j);
    for (int i = 0; i < s->n_jobs; i++) {
        const struct sf_render_job *u = &s->jobs[i];
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "name"), sf_jw_str(&j, u->name);
        sf_jw_key(&j, "kind"), sf_jw_str(&j, sf_job_kind_name(u->kind));
        sf_jw_key(&j, "shot"), sf_jw_str(&j, u->shot_label);
        sf_jw_key(&j, "key");
        if (u->key[0])
            sf_jw_str(&j, u->key);
        else
            sf_jw_null(&j);
        sf_jw_key(&j, "steps"), sf_jw_int(&j, u->kind == SF_JOB_DENOISE ? u->steps : 0);
        sf_jw_key(&j, "output");
        if (u->kind == SF_JOB_SKIP)
            sf_jw_null(&j);
        else
            sf_jw_str(&j, u->out);
        sf_jw_key(&j, "deps"), sf_jw_arr_begin(&j);
        for (int d = 0; d < s->sched[i].n_deps; d++)
            sf_jw_int(&j, s->sched[i].deps[d]);
        sf_jw_arr_end(&j);
        sf_jw_obj_end(&j);
    }
    sf_jw_arr_end(&j);
    sf_jw_obj_end(&j);
    sf_jw_finish(&j);
    int st = fclose(f) == 0 ? SF_OK : SF_E_NOMEM;
    char path[SF_RENDER_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/manifest.json", s->rundir);
    if (st == SF_OK) st = sf_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}

/* ---- signals (every rank) ------------------------------------------------------------------ */

/* SIGTERM / SIGUSR1: the first one received, read by the worker at its next step boundary and
 * by the coordinator thread. The handler also appends "UNIT SIGNO" to RUNDIR/signals/A.R
 * (launch A, rank R) with async-signal-safe calls only: the record that this rank's unit was
 * stopped from outside, which resume reads to tell a preempted or torn-down unit from one that
 * crashed its rank (render_resume.c). */
static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_job = -1; /* the job this rank runs, -1 when idle */
static const struct sf_render_job *g_jobs;
static char g_sigpath[SF_RENDER_PATH_MAX + 64];

static void on_signal(int signo)
{
    const int saved = errno;
    if (!g_signal) g_signal = signo;
    const int j = g_job;
    const char *name = j >= 0 && g_jobs ? g_jobs[j].name : "-";
    char line[sizeof g_jobs[0].name + 16];
    size_t n = 0;
    for (; name[n] && n < sizeof g_jobs[0].name; n++)
        line[n] = name[n];
    line[n++] = ' ';
    if (signo >= 10) line[n++] = (char)('0' + signo / 10 % 10);
    line[n++] = (char)('0' + signo % 10);
    line[n++] = '\n';
    int fd = g_sigpath[0] ? open(g_sigpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666) : -1;
    if (fd >= 0) {
        ssize_t wr = write(fd, line, n);
        (void)wr;
        close(fd);
    }
    errno = saved;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

/* ---- the coordinator (rank 0, its own thread) -------------------------------------------- */

enum job_state { J_PENDING, J_RUNNING, J_DONE, J_FAILED, J_SKIPPED };
#define GROUP_LOST (-2) /* busy[] of a group that stalled: never given work again */

struct coord {
    const struct sf_render_setup *s;
    const struct sf_render_resume *resume;
    const struct opts *o;
    MPI_Comm comm;
    int n_groups, tp, attempt;
    int *leader; /* world rank of each group's leader */
    int n_ranks;
    int *rank_group; /* group of each world rank */
    int *busy;       /* job of each group, -1 when idle, GROUP_LOST */
    unsigned char *state, *ready;
    int events_fd;
    int tty;
    int shown; /* progress lines on screen */
    int *step, *ckpt_step;
    char (*ckpt)[SF_RENDER_PATH_MAX + 64]; /* per group: its running unit's newest checkpoint */
    double *started, *alive; /* when dispatched; the last sign of progress (monotonic) */
    char (*cause)[448]; /* each failed job's cause, passed on to its dependents */
    int n_failed, n_done, n_reused, n_lost;
    int stopping;      /* a signal arrived: no new work; running units checkpoint and stop */
    int interrupted;   /* units were stopped by the signal: exit 75 */
    double deadline;   /* of the signal grace (monotonic) */
    int exit_code;     /* of the launch, in run_end */
    int st;            /* first coordinator error (events file, MPI) */
};

/* One line of events.jsonl; fsynced unless it is a step (resume and status read these after a
 * crash). ex writes the event's own extra fields, or is NULL. */
static void event_ex(struct coord *c, const char *what, int job, const struct event_msg *m,
                     const char *error, void (*ex)(struct sf_jw *j, const void *arg),
                     const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return;
    struct sf_jw j;
    sf_jw_init(&j, f, 0);
    sf_jw_obj_begin(&j);
    sf_jw_key(&j, "t"), sf_jw_num(&j, wall_now());
    sf_jw_key(&j, "event"), sf_jw_str(&j, what);
    if (job >= 0) {
        const struct sf_render_job *u = &c->s->jobs[job];
        sf_jw_key(&j, "job"), sf_jw_int(&j, job);
        sf_jw_key(&j, "unit"), sf_jw_str(&j, u->name);
        sf_jw_key(&j, "kind"), sf_jw_str(&j, sf_job_kind_name(u->kind));
        sf_jw_key(&j, "shot"), sf_jw_str(&j, u->shot_label);
    }
    if (m) {
        sf_jw_key(&j, "rank"), sf_jw_int(&j, m->rank);
        sf_jw_key(&j, "group"), sf_jw_int(&j, m->group);
        sf_jw_key(&j, "host"), sf_jw_str(&j, m->host);
        sf_jw_key(&j, "worker_t"), sf_jw_num(&j, m->t);
        if (m->type == EV_STEP || m->type == EV_STARTED || m->type == EV_CKPT ||
            m->type == EV_INTERRUPTED) {
            sf_jw_key(&j, "step"), sf_jw_int(&j, m->step);
            if (m->type != EV_CKPT) sf_jw_key(&j, "steps"), sf_jw_int(&j, m->n_steps);
        }
        if (m->type == EV_FINISHED || m->type == EV_FAILED) {
            sf_jw_key(&j, "seconds"), sf_jw_num(&j, wall_now() - c->started[job]);
            if (c->s->jobs[job].kind != SF_JOB_SKIP)
                sf_jw_key(&j, "output"), sf_jw_str(&j, c->s->jobs[job].out);
        }
        if ((m->type == EV_STARTED || m->type == EV_INTERRUPTED) && m->text[0])
            sf_jw_key(&j, "checkpoint"), sf_jw_str(&j, m->text);
        if (m->type == EV_CKPT) sf_jw_key(&j, "path"), sf_jw_str(&j, m->text);
    }
    if (ex) ex(&j, arg);
    if (error)
        sf_jw_key(&j, strcmp(what, "skipped") == 0 ? "reason" : "error"), sf_jw_str(&j, error);
    sf_jw_obj_end(&j);
    sf_jw_finish(&j);
    if (fclose(f) == 0 && c->events_fd >= 0) {
        ssize_t wr = write(c->events_fd, buf, len);
        if (wr != (ssize_t)len && !c->st) c->st = sf_err_errno(errno, "append to", "events.jsonl");
        if (strcmp(what, "step") != 0) fdatasync(c->events_fd);
    }
    free(buf);
}

static void event(struct coord *c, const char *what, int job, const struct event_msg *m,
                  const char *error)
{
    event_ex(c, what, job, m, error, NULL, NULL);
}

/* On a terminal: removes the progress lines so a log line can take their place. */
static void erase(struct coord *c)
{
    if (!c->tty || !c->shown) return;
    char out[32];
    int n = snprintf(out, sizeof out, "\033[%dA\033[J", c->shown);
    ssize_t wr = write(STDERR_FILENO, out, (size_t)n);
    (void)wr;
    c->shown = 0;
}

/* On a terminal: one line per active shot, redrawn in place. */
static void draw(struct coord *c)
{
    if (!c->tty) return;
    char out[8192];
    int n = 0;
    if (c->shown) n += snprintf(out + n, sizeof out - (size_t)n, "\033[%dA\033[J", c->shown);
    c->shown = 0;
    for (int g = 0; g < c->n_groups && n < (int)sizeof out - 256; g++) {
        int j = c->busy[g];
        if (j < 0) continue;
        const struct sf_render_job *u = &c->s->jobs[j];
        n += snprintf(out + n, sizeof out - (size_t)n, "  group %-3d %-28.28s %-8s", g,
                      u->shot_label[0] ? u->shot_label : "prompt", sf_job_kind_name(u->kind));
        if (u->kind == SF_JOB_DENOISE) {
            int w = 20, k = u->steps ? c->step[j] * w / u->steps : 0;
            n += snprintf(out + n, sizeof out - (size_t)n, " [%.*s%*s] %d/%d", k,
                          "####################", w - k, "", c->step[j], u->steps);
        }
        n += snprintf(out + n, sizeof out - (size_t)n, " %5.1fs\n", wall_now() - c->started[j]);
        c->shown++;
    }
    ssize_t wr = write(STDERR_FILENO, out, (size_t)n);
    (void)wr;
}

/* Fails every pending job that depends on a failed one, with the cause. */
static void fail_dependents(struct coord *c)
{
    const struct sf_render_setup *s = c->s;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < s->n_jobs; i++) {
            if (c->state[i] != J_PENDING) continue;
            for (int d = 0; d < s->sched[i].n_deps; d++) {
                int dep = s->sched[i].deps[d];
                if (c->state[dep] != J_FAILED) continue;
                char why[sizeof c->cause[0] + 200];
                snprintf(why, sizeof why, "not run: `%s` failed: %s", s->jobs[dep].name,
                         c->cause[dep]);
                memcpy(c->cause[i], c->cause[dep], sizeof c->cause[i]);
                c->state[i] = J_FAILED;
                c->n_failed++;
                event(c, "failed", i, NULL, why);
                SF_WARN("render", "%s: %s", s->jobs[i].name, why);
                changed = 1;
                break;
            }
        }
    }
}

static int all_deps_done(const struct coord *c, int i)
{
    for (int d = 0; d < c->s->sched[i].n_deps; d++) {
        int s = c->state[c->s->sched[i].deps[d]];
        if (s != J_DONE && s != J_SKIPPED) return 0;
    }
    return 1;
}

static void fail_job(struct coord *c, int job, const char *why)
{
    c->state[job] = J_FAILED;
    c->n_failed++;
    snprintf(c->cause[job], sizeof c->cause[job], "%.*s", (int)sizeof c->cause[job] - 1, why);
}

/* Sends job index (or a control value) to one rank; an MPI failure stops the coordinator. */
static int send_to(struct coord *c, int rank, int32_t msg)
{
    int rc = MPI_Send(&msg, 1, MPI_INT32_T, rank, TAG_JOB, c->comm);
    if (rc != MPI_SUCCESS && !c->st) c->st = sf_mpi_check(rc, "send to a worker");
    return rc == MPI_SUCCESS;
}

static void ex_signal(struct sf_jw *j, const void *arg)
{
    const struct event_msg *m = arg;
    sf_jw_key(j, "signal"), sf_jw_int(j, m->status);
    sf_jw_key(j, "rank"), sf_jw_int(j, m->rank);
}

/* A signal reached a rank: no new work; every running denoise unit is told to checkpoint at its
 * next step boundary and stop (text and decode units finish). */
static void begin_stop(struct coord *c, const struct event_msg *m)
{
    if (c->stopping) return;
    c->stopping = 1;
    c->deadline = sf_time_now() + c->o->signal_grace;
    erase(c);
    SF_WARN("render",
            "signal %d on rank %d: every running unit checkpoints at its next step, then "
            "render exits 75 (at the latest in %.0f s, --signal-grace)",
            m->status, m->rank, c->o->signal_grace);
    event_ex(c, "signal", -1, NULL, NULL, ex_signal, m);
    for (int g = 0; g < c->n_groups; g++) {
        int j = c->busy[g];
        if (j < 0 || c->s->jobs[j].kind != SF_JOB_DENOISE) continue;
        for (int r = 0; r < c->n_ranks; r++)
            if (c->rank_group[r] == g) send_to(c, r, SF_RENDER_MSG_STOP);
    }
}

struct job_ref {
    const struct coord *c;
    int job, group;
};

static void ex_ckpt(struct sf_jw *j, const void *arg)
{
    const struct coord *c = ((const struct job_ref *)arg)->c;
    const int job = ((const struct job_ref *)arg)->job;
    const int g = ((const struct job_ref *)arg)->group;
    sf_jw_key(j, "step"), sf_jw_int(j, c->ckpt_step[job]);
    sf_jw_key(j, "checkpoint");
    if (c->ckpt[g][0])
        sf_jw_str(j, c->ckpt[g]);
    else
        sf_jw_null(j);
}

/* The grace ran out with units still running: they keep their last periodic checkpoint. */
static void grace_expired(struct coord *c)
{
    for (int g = 0; g < c->n_groups; g++) {
        int job = c->busy[g];
        if (job < 0) continue;
        const struct job_ref ref = {c, job, g};
        event_ex(c, "interrupted", job, NULL,
                 "no step boundary within --signal-grace; its last periodic checkpoint is kept",
                 ex_ckpt, &ref);
        SF_WARN("render", "%s: no step boundary within %.0f s (--signal-grace); resuming "
                "will continue from step %d", c->s->jobs[job].name, c->o->signal_grace,
                c->ckpt_step[job]);
    }
}

/* A running unit without progress for --stall-timeout: failed, its group never used again. */
static void stalled(struct coord *c, int g)
{
    int job = c->busy[g];
    char why[256];
    snprintf(why, sizeof why,
             "stalled: no progress for %.0f s on group %d (--stall-timeout); the group is not "
             "used again in this launch",
             sf_time_now() - c->alive[job], g);
    erase(c);
    c->busy[g] = GROUP_LOST;
    c->n_lost++;
    fail_job(c, job, why);
    event(c, "failed", job, NULL, why);
    SF_ERROR("render", "%s %s", c->s->jobs[job].name, why);
    fail_dependents(c);
}

static void handle(struct coord *c, const struct event_msg *m)
{
    if (m->type == EV_SIGNAL) { /* the only event without a job */
        begin_stop(c, m);
        return;
    }
    SF_ASSERT(m->job >= 0 && m->job < c->s->n_jobs);
    const struct sf_render_job *u = &c->s->jobs[m->job];
    c->alive[m->job] = sf_time_now();
    switch (m->type) {
    case EV_STARTED:
        c->step[m->job] = m->step;
        c->ckpt_step[m->job] = m->step;
        snprintf(c->ckpt[m->group], sizeof c->ckpt[0], "%s", m->text);
        event(c, "started", m->job, m, NULL);
        if (!c->tty && m->step > 0)
            SF_INFO("render", "%s: continuing at step %d/%d on group %d (rank %d, %s) from %s",
                    u->name, m->step, m->n_steps, m->group, m->rank, m->host, m->text);
        else if (!c->tty)
            SF_INFO("render", "%s: started on group %d (rank %d, %s)", u->name, m->group,
                    m->rank, m->host);
        break;
    case EV_STEP:
        if (u->kind != SF_JOB_DENOISE) break; /* decode progress: alive, nothing to log */
        c->step[m->job] = m->step;
        event(c, "step", m->job, m, NULL);
        if (!c->tty) SF_INFO("render", "%s: step %d/%d", u->name, m->step, m->n_steps);
        break;
    case EV_CKPT:
        c->ckpt_step[m->job] = m->step;
        snprintf(c->ckpt[m->group], sizeof c->ckpt[0], "%s", m->text);
        event(c, "checkpoint", m->job, m, NULL);
        break;
    case EV_INTERRUPTED:
        erase(c);
        c->busy[m->group] = -1;
        c->state[m->job] = J_PENDING;
        c->interrupted = 1;
        event(c, "interrupted", m->job, m, NULL);
        SF_INFO("render", "%s: stopped at step %d/%d, checkpoint %s", u->name, m->step,
                m->n_steps, m->text[0] ? m->text : "(none)");
        break;
    case EV_FINISHED:
    case EV_FAILED:
        erase(c);
        c->busy[m->group] = -1;
        if (m->type == EV_FINISHED) {
            c->state[m->job] = J_DONE;
            c->n_done++;
            event(c, "finished", m->job, m, NULL);
            SF_INFO("render", "%s: finished in %.1f s%s%s", u->name,
                    wall_now() - c->started[m->job], u->kind == SF_JOB_DECODE ? " -> " : "",
                    u->kind == SF_JOB_DECODE ? u->out : "");
        } else {
            fail_job(c, m->job, m->text[0] ? m->text : sf_status_str(m->status));
            event(c, "failed", m->job, m, c->cause[m->job]);
            SF_ERROR("render", "%s failed on group %d: %s", u->name, m->group, c->cause[m->job]);
            fail_dependents(c);
        }
        break;
    }
    draw(c);
}

static void ex_run(struct sf_jw *j, const void *arg)
{
    const struct coord *c = arg;
    sf_jw_key(j, "attempt"), sf_jw_int(j, c->attempt);
    sf_jw_key(j, "resumed"), sf_jw_bool(j, c->resume->resumed);
    sf_jw_key(j, "ranks"), sf_jw_int(j, c->n_ranks);
    sf_jw_key(j, "tp"), sf_jw_int(j, c->tp);
    sf_jw_key(j, "groups"), sf_jw_int(j, c->n_groups);
}

static void ex_run_end(struct sf_jw *j, const void *arg)
{
    const struct coord *c = arg;
    sf_jw_key(j, "attempt"), sf_jw_int(j, c->attempt);
    sf_jw_key(j, "status"), sf_jw_int(j, c->exit_code);
    sf_jw_key(j, "done"), sf_jw_int(j, c->n_done);
    sf_jw_key(j, "reused"), sf_jw_int(j, c->n_reused);
    sf_jw_key(j, "failed"), sf_jw_int(j, c->n_failed);
}

struct dispatch_info {
    int group, ranks; /* the ranks it is sent to: the group for denoise, else the leader */
    const char *key;
};

static void ex_dispatched(struct sf_jw *j, const void *arg)
{
    const struct dispatch_info *d = arg;
    sf_jw_key(j, "group"), sf_jw_int(j, d->group);
    sf_jw_key(j, "ranks"), sf_jw_int(j, d->ranks);
    sf_jw_key(j, "key"), sf_jw_str(j, d->key);
}

static void ex_key(struct sf_jw *j, const void *arg)
{
    sf_jw_key(j, "key"), sf_jw_str(j, arg);
}

static void ex_poisoned(struct sf_jw *j, const void *arg)
{
    sf_jw_key(j, "poisoned"), sf_jw_bool(j, 1);
    sf_jw_key(j, "failures"), sf_jw_int(j, *(const int *)arg);
}

/* The launch's start: what earlier launches finished is reused, poisoned units fail. */
static void start_launch(struct coord *c)
{
    const struct sf_render_setup *s = c->s;
    event_ex(c, "run", -1, NULL, NULL, ex_run, c);
    for (int i = 0; i < s->n_jobs; i++) {
        if (s->jobs[i].kind == SF_JOB_SKIP) {
            c->state[i] = J_SKIPPED;
            event(c, "skipped", i, NULL, "not part of render yet (identity bank, assembly)");
        } else if (c->resume->reuse[i]) {
            c->state[i] = J_DONE;
            c->n_reused++;
            event_ex(c, "reused", i, NULL, NULL, ex_key, s->jobs[i].key);
        }
    }
    for (int i = 0; i < s->n_jobs; i++) {
        if (c->state[i] != J_PENDING || !c->resume->poisoned[i]) continue;
        char why[300];
        snprintf(why, sizeof why,
                 "poisoned: it was running in %d pair%s of consecutive job deaths that were not "
                 "signals to its group (a unit that crashes its rank); not retried "
                 "(--max-retries %ld)",
                 c->resume->failures[i], c->resume->failures[i] == 1 ? "" : "s",
                 c->o->max_retries);
        fail_job(c, i, why);
        event_ex(c, "failed", i, NULL, why, ex_poisoned, &c->resume->failures[i]);
        SF_ERROR("render", "%s %s", s->jobs[i].name, why);
    }
    fail_dependents(c);
    if (c->n_reused)
        SF_INFO("render", "resuming launch %d: %d unit%s finished earlier and kept", c->attempt,
                c->n_reused, c->n_reused == 1 ? "" : "s");
}

static void *coordinator(void *arg)
{
    struct coord *c = arg;
    const struct sf_render_setup *s = c->s;
    int abort_job = 0;
    start_launch(c);
    long wait_ns = 100000;
    for (;;) {
        if (!c->stopping && g_signal)
            begin_stop(c, &(struct event_msg){.status = g_signal, .rank = 0});
        /* dispatch: the largest ready job to each idle group */
        int n_running = 0;
        for (int i = 0; i < s->n_jobs; i++) {
            c->ready[i] = !c->stopping && c->state[i] == J_PENDING && all_deps_done(c, i);
            n_running += c->state[i] == J_RUNNING;
        }
        for (int g = 0; g < c->n_groups; g++) {
            if (c->busy[g] != -1) continue;
            int j = sf_sched_pick(s->sched, s->n_jobs, c->ready);
            if (j < 0) break;
            const int denoise = s->jobs[j].kind == SF_JOB_DENOISE;
            c->ready[j] = 0;
            c->state[j] = J_RUNNING;
            c->busy[g] = j;
            c->started[j] = wall_now();
            c->alive[j] = sf_time_now();
            c->ckpt[g][0] = '\0';
            /* recorded before it is sent: a job death from here on is charged to it */
            const struct dispatch_info info = {g, denoise ? c->tp : 1, s->jobs[j].key};
            event_ex(c, "dispatched", j, NULL, NULL, ex_dispatched, &info);
            /* the leader first; a denoise job also to the group's other ranks */
            int ok = send_to(c, c->leader[g], j);
            for (int r = 0; r < c->n_ranks && ok; r++)
                if (denoise && c->rank_group[r] == g && r != c->leader[g]) ok = send_to(c, r, j);
            if (!ok) goto stop;
            n_running++;
        }
        if (n_running == 0) {
            if (c->stopping) { /* stopped by the signal: what is left runs after a requeue */
                for (int i = 0; i < s->n_jobs; i++)
                    c->interrupted |= c->state[i] == J_PENDING;
                break;
            }
            int pending = 0, live = 0;
            for (int i = 0; i < s->n_jobs; i++)
                pending += c->state[i] == J_PENDING;
            for (int g = 0; g < c->n_groups; g++)
                live += c->busy[g] != GROUP_LOST;
            if (!pending) break;
            if (!live) { /* every group stalled: nothing can run what is left */
                for (int i = 0; i < s->n_jobs; i++)
                    if (c->state[i] == J_PENDING) {
                        fail_job(c, i, "not run: every worker group stalled");
                        event(c, "failed", i, NULL, c->cause[i]);
                    }
                break;
            }
            /* pending jobs, nothing running, nothing ready: only a dependency on a failed job
             * can do that, and fail_dependents already handled it */
            SF_ASSERT(!"render: jobs pending with nothing running");
        }
        const double now = sf_time_now();
        if (c->stopping && now > c->deadline) {
            grace_expired(c);
            c->interrupted = 1;
            abort_job = 1;
            break;
        }
        for (int g = 0; g < c->n_groups; g++)
            if (c->busy[g] >= 0 && now - c->alive[c->busy[g]] > c->o->stall_timeout)
                stalled(c, g);
        int flag = 0;
        MPI_Status ms;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_EVENT, c->comm, &flag, &ms);
        if (!flag) {
            back_off(&wait_ns);
            continue;
        }
        wait_ns = 100000;
        struct event_msg m;
        MPI_Recv(&m, (int)sizeof m, MPI_BYTE, ms.MPI_SOURCE, TAG_EVENT, c->comm, MPI_STATUS_IGNORE);
        handle(c, &m);
    }
stop:
    erase(c);
    c->exit_code = c->interrupted ? 75 : c->n_failed || c->st ? 1 : 0;
    event_ex(c, "run_end", -1, NULL, NULL, ex_run_end, c);
    if (abort_job || c->n_lost) {
        /* a group that will never answer (stalled, or still inside a step past the grace):
         * MPI_Finalize would wait for it forever; everything is on disk, end the job here */
        SF_ERROR("render", "ending the job with exit %d: %s", c->exit_code,
                 abort_job ? "units did not reach a step boundary within --signal-grace"
                           : "a worker group stalled");
        MPI_Abort(c->comm, c->exit_code);
    }
    for (int r = 0; r < c->n_ranks; r++) /* every rank, leaders or not */
        send_to(c, r, SF_RENDER_MSG_END);
    /* every rank answers END with its last message, after anything it sent before (one source,
     * one tag: in order): once all have, no message is left unreceived at MPI_Finalize, and no
     * worker is left blocked sending a late report (a signal seen while idle) */
    wait_ns = 100000;
    for (int byes = 0; byes < c->n_ranks && !c->st;) {
        int flag = 0;
        MPI_Status ms;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_EVENT, c->comm, &flag, &ms);
        if (!flag) {
            back_off(&wait_ns);
            continue;
        }
        struct event_msg m;
        MPI_Recv(&m, (int)sizeof m, MPI_BYTE, ms.MPI_SOURCE, TAG_EVENT, c->comm, MPI_STATUS_IGNORE);
        byes += m.type == EV_BYE;
    }
    return NULL;
}

/* ---- the worker loop (every rank's main thread) ----------------------------------------- */

struct worker_ctx {
    MPI_Comm comm;
    struct event_msg m;
    int ckpt_step;                       /* the running job's newest checkpoint */
    char ckpt[SF_RENDER_PATH_MAX + 64];  /* and its path */
    int stop;                            /* the coordinator said SF_RENDER_MSG_STOP */
    int told;                            /* the coordinator knows of this rank's signal */
    int mpi_failed;                      /* a send failed: the coordinator is unreachable */
};

static void send_event(struct worker_ctx *w, int type, int step, int n_steps, int status,
                       const char *text)
{
    w->m.type = type;
    w->m.step = step;
    w->m.n_steps = n_steps;
    w->m.status = status;
    w->m.t = wall_now();
    snprintf(w->m.text, sizeof w->m.text, "%s", text ? text : "");
    /* only the bytes in use: a small message goes out eagerly, so a report never waits for
     * the coordinator to be receiving */
    const size_t used = offsetof(struct event_msg, text) + strlen(w->m.text) + 1;
    int rc = MPI_Send(&w->m, (int)used, MPI_BYTE, 0, TAG_EVENT, w->comm);
    if (rc != MPI_SUCCESS && !w->mpi_failed) {
        /* MPI_ERRORS_RETURN: stop at the next step boundary with a checkpoint, as for a
         * signal, rather than compute what nobody can be told about */
        sf_mpi_check(rc, "report to the coordinator (rank 0)");
        w->mpi_failed = 1;
    }
}

static void on_started(void *arg, int step, int n_steps, const char *checkpoint)
{
    struct worker_ctx *w = arg;
    w->ckpt_step = step;
    snprintf(w->ckpt, sizeof w->ckpt, "%s", checkpoint ? checkpoint : "");
    send_event(w, EV_STARTED, step, n_steps, 0, checkpoint);
}

static void on_progress(void *arg, int step, int n_steps)
{
    send_event(arg, EV_STEP, step, n_steps, 0, NULL);
}

static void on_checkpoint(void *arg, int step, const char *path)
{
    struct worker_ctx *w = arg;
    w->ckpt_step = step;
    snprintf(w->ckpt, sizeof w->ckpt, "%s", path);
    send_event(w, EV_CKPT, step, 0, 0, path);
}

/* Whether the running unit should stop at this step boundary: a signal here, the
 * coordinator's stop message (the only message a busy rank can receive), or a lost
 * coordinator. */
static int should_stop(void *arg)
{
    struct worker_ctx *w = arg;
    int flag = 0;
    MPI_Iprobe(0, TAG_JOB, w->comm, &flag, MPI_STATUS_IGNORE);
    if (flag) {
        int32_t msg = 0;
        MPI_Recv(&msg, 1, MPI_INT32_T, 0, TAG_JOB, w->comm, MPI_STATUS_IGNORE);
        SF_ASSERT(msg == SF_RENDER_MSG_STOP); /* never a job while one runs */
        w->stop = 1;
    }
    return w->stop || g_signal || w->mpi_failed;
}

static int worker_loop(const struct sf_render_setup *s, const struct sf_world *world, MPI_Comm comm)
{
    struct sf_render_worker *w = NULL;
    const int leader = world->group_rank == 0;
    int st = sf_render_worker_create(s, world->tp > 1 ? world->group_comm : NULL, &w);
    if (st) return st;
    struct worker_ctx wc = {.comm = comm};
    wc.m.group = world->group;
    wc.m.rank = world->world_rank;
    gethostname(wc.m.host, sizeof wc.m.host - 1);
    const struct sf_render_report lead = {on_started, on_progress, on_checkpoint, should_stop,
                                          &wc},
                                  member = {.stop = should_stop, .arg = &wc};
    long wait_ns = 100000;
    for (;;) {
        if (g_signal && !wc.told && world->world_rank != 0) { /* rank 0's coordinator sees it */
            wc.told = 1;
            wc.m.job = -1;
            send_event(&wc, EV_SIGNAL, 0, 0, g_signal, NULL);
        }
        int flag = 0;
        MPI_Iprobe(0, TAG_JOB, comm, &flag, MPI_STATUS_IGNORE);
        if (!flag) {
            back_off(&wait_ns);
            continue;
        }
        wait_ns = 100000;
        int32_t job;
        MPI_Recv(&job, 1, MPI_INT32_T, 0, TAG_JOB, comm, MPI_STATUS_IGNORE);
        if (job == SF_RENDER_MSG_END) {
            wc.m.job = -1;
            send_event(&wc, EV_BYE, 0, 0, 0, NULL);
            break;
        }
        if (job == SF_RENDER_MSG_STOP) continue; /* the job it was meant for has ended */
        wc.m.job = job;
        wc.stop = 0;
        wc.ckpt_step = 0;
        wc.ckpt[0] = '\0';
        const struct sf_render_job *u = &s->jobs[job];
        g_job = job;
        if (!leader) { /* a denoise job of the group: compute the shard, the leader reports */
            int rs = sf_render_job_run(w, job, &member);
            if (rs != SF_OK && rs != SF_E_INTERRUPTED)
                SF_ERROR("render", "%s failed on group rank %d: %s", u->name, world->group_rank,
                         sf_log_first_error());
            if (wc.stop || rs == SF_E_INTERRUPTED) wc.told = 1;
            g_job = -1;
            continue;
        }
        int rs = sf_render_job_run(w, job, &lead);
        g_job = -1;
        if (rs == SF_OK)
            send_event(&wc, EV_FINISHED, 0, 0, 0, NULL);
        else if (rs == SF_E_INTERRUPTED)
            send_event(&wc, EV_INTERRUPTED, wc.ckpt_step, u->steps, rs, wc.ckpt);
        else
            send_event(&wc, EV_FAILED, 0, 0, rs, sf_log_first_error());
        if (wc.stop || rs == SF_E_INTERRUPTED) wc.told = 1; /* the coordinator is stopping */
    }
    sf_render_worker_destroy(w);
    return SF_OK;
}

/* ---- the command -------------------------------------------------------------------------- */

/* Rank 0's set-up before any job: inputs hashed; the keys of the text encoder (with the
 * tokenizer), the DiT and the VAE. Returns a status every rank learns. */
static int hash_inputs(const struct sf_campaign *c, const struct opts *o,
                       const struct sf_render_setup *s, struct inputs *in,
                       char keys[3][SF_SHA256_HEX])
{
    int st = SF_OK;
    SF_TRY(st, add_input(in, o->campaign));
    for (int e = 0; e < sf_campaign_n_elements(c); e++) {
        const struct sf_element *el = sf_campaign_element(c, e);
        for (int r = 0; r < el->n_refs; r++)
            SF_TRY(st, add_input(in, el->refs[r]));
        if (el->clip) SF_TRY(st, add_input(in, el->clip));
    }
    SF_TRY(st, add_tree(in, s->model_dir));
    int have_tok = 0;
    for (int i = 0; i < in->n; i++)
        have_tok |= strcmp(in->v[i].path, s->tokenizer) == 0;
    if (!have_tok) {
        if (access(s->tokenizer, R_OK) != 0) {
            SF_ERROR("render",
                     "%s: no tokenizer there; pass --tokenizer FILE (e.g. "
                     "examples/models/tokenizer.json for mkmodel's tiny pipelines)",
                     s->tokenizer);
            st = SF_E_NOTFOUND;
            goto out;
        }
        SF_TRY(st, add_input(in, s->tokenizer));
    }
    component_key(in, s->model_dir, "text_encoder/", s->tokenizer, keys[0]);
    component_key(in, s->model_dir, "transformer/", NULL, keys[1]);
    component_key(in, s->model_dir, "vae/", NULL, keys[2]);
out:
    return st;
}

/* One render at a time per run directory: an exclusive lock on RUNDIR/.lock, held by rank 0
 * until it exits (a requeued job that starts while the old one is still dying waits for
 * nobody: it is refused and Slurm requeues it again). */
static int lock_rundir(const char *rundir, int *fd)
{
    char p[SF_RENDER_PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", rundir);
    *fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0) return sf_err_errno(errno, "open the lock file", p);
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        SF_ERROR("render",
                 "%s: another render is writing this run directory (it holds %s); wait for it "
                 "to end, or render into another -o",
                 rundir, p);
        return SF_E_IO;
    }
    return SF_OK;
}

/* A torn last line (a writer killed mid-append) gets its newline, so the next event starts a
 * line of its own. */
static int open_events(const char *rundir, int *fd)
{
    char ev[SF_RENDER_PATH_MAX + 16];
    snprintf(ev, sizeof ev, "%s/events.jsonl", rundir);
    *fd = open(ev, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (*fd < 0) return sf_err_errno(errno, "open", ev);
    struct stat sb;
    char last = '\n';
    if (fstat(*fd, &sb) == 0 && sb.st_size > 0 && pread(*fd, &last, 1, sb.st_size - 1) == 1 &&
        last != '\n' && write(*fd, "\n", 1) != 1)
        return sf_err_errno(errno, "append to", ev);
    return SF_OK;
}

int sf_cmd_render(int argc, char **argv)
{
    struct opts o;
    int st = parse(argc, argv, &o);
    if (st == 1) return SF_OK;
    if (st) return st;

    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
        SF_ERROR("render", "MPI_Init_thread failed; run under mpirun or srun --mpi=pmix");
        return SF_E_MPI;
    }
    if (inited) MPI_Query_thread(&provided);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    sf_log_set_rank(rank);
    /* a write past a file-size limit fails with EFBIG (a clear error) instead of killing us */
    signal(SIGXFSZ, SIG_IGN);
    struct sf_world *world = NULL;
    struct sf_campaign *c = NULL;
    struct sf_diags *diags = NULL;
    struct sf_render_setup s = {0};
    struct sf_render_resume rs = {0};
    struct inputs in = {0};
    struct domain *doms = NULL;
    struct coord co = {.events_fd = -1};
    MPI_Comm comm = MPI_COMM_NULL;
    pthread_t thread;
    int thread_started = 0, lock_fd = -1;
    char why[256] = "";
    char model[SF_RENDER_PATH_MAX], tok[SF_RENDER_PATH_MAX + 32], cache[SF_RENDER_PATH_MAX],
        rundir[SF_RENDER_PATH_MAX];

    if (provided < MPI_THREAD_MULTIPLE) {
        SF_ERROR("render",
                 "this MPI gives thread level %d, render needs MPI_THREAD_MULTIPLE "
                 "(Open MPI 4.1 on Debian has it); rebuild MPI with thread support",
                 provided);
        st = SF_E_UNSUPPORTED;
        goto out;
    }
    if (o.threads) sf_threads_init((int)o.threads);
    st = sf_campaign_load(o.campaign, 0, &c, &diags);
    if (st == SF_E_VALIDATION && rank == 0) sf_diags_print(diags, stderr);
    if (st) goto out;
    const struct sf_model_settings *ms = sf_campaign_model(c);
    if (!o.tp) o.tp = ms->tp; /* --tp overrides the campaign */
    st = sf_world_create(MPI_COMM_WORLD, (int)o.tp, &world, why, sizeof why);
    if (st == SF_E_INVAL) st = SF_E_USAGE; /* the ranks per node do not split into groups */
    if (st) goto out;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);

    const char *mdir = o.model ? o.model : ms->dir;
    if (!mdir) {
        st = sf_cli_usage_error(CMD,
                                "%s: the campaign names no model.dir; pass --model DIR "
                                "(make one with: shotfarm mkmodel --config %s -o DIR)",
                                o.campaign, ms->config ? ms->config : "tiny");
        goto out;
    }
    if (!realpath(mdir, model)) {
        st = sf_err_errno(errno, "find the model directory", mdir);
        goto out;
    }
    if (o.tokenizer)
        snprintf(tok, sizeof tok, "%s", o.tokenizer);
    else
        snprintf(tok, sizeof tok, "%s/tokenizer/tokenizer.json", model);
    if (o.cache) {
        snprintf(cache, sizeof cache, "%s", o.cache);
    } else {
        const char *home = getenv("HOME");
        snprintf(cache, sizeof cache, "%s/.cache/shotfarm", home && *home ? home : "/tmp");
    }
    snprintf(rundir, sizeof rundir, "%s", o.rundir);
    s.model_dir = model;
    s.tokenizer = tok;
    s.cache = cache;
    s.rundir = rundir;
    s.tp = (int)o.tp;
    s.ckpt_steps = o.ckpt_steps;
    s.ckpt_seconds = o.ckpt_seconds;
    snprintf(s.ckpt_dir, sizeof s.ckpt_dir, "%s/ckpt", rundir);

    /* rank 0 hashes; everyone learns the outcome and the component keys */
    int hs = SF_OK;
    char keys[3][SF_SHA256_HEX] = {"", "", ""};
    if (rank == 0) {
        if (o.tp > 1) hs = sf_render_check_tp(model, (int)o.tp);
        if (hs == SF_OK) hs = hash_inputs(c, &o, &s, &in, keys);
        if (hs == SF_OK) hs = sf_render_mkdirs(rundir, 0);
        if (hs == SF_OK) hs = lock_rundir(rundir, &lock_fd);
    }
    MPI_Bcast(&hs, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(keys, (int)sizeof keys, MPI_CHAR, 0, MPI_COMM_WORLD);
    if ((st = hs)) goto out;
    memcpy(s.text_key, keys[0], SF_SHA256_HEX);
    memcpy(s.dit_key, keys[1], SF_SHA256_HEX);
    memcpy(s.vae_key, keys[2], SF_SHA256_HEX);
    SF_TRY(st, sf_render_expand(c, o.tier, (int)o.tp, &s));

    /* rank 0 decides what this launch resumes; everyone learns the launch number */
    struct sf_render_identity id;
    sf_render_identity_of(&s, sf_campaign_seed(c), &id);
    int rstat[2] = {SF_OK, 1};
    if (rank == 0) {
        const struct sf_render_resume_opts ro = {o.resume, o.force, (int)o.max_retries};
        char sig[SF_RENDER_PATH_MAX + 16];
        snprintf(sig, sizeof sig, "%s/signals", rundir);
        rstat[0] = sf_render_resume_plan(&s, &id, &ro, &rs);
        if (rstat[0] == SF_OK) rstat[0] = sf_render_mkdirs(sig, 0);
        rstat[1] = rs.attempt;
    }
    MPI_Bcast(rstat, 2, MPI_INT, 0, MPI_COMM_WORLD);
    if ((st = rstat[0])) goto out;
    g_jobs = s.jobs;
    snprintf(g_sigpath, sizeof g_sigpath, "%s/signals/%d.%d", rundir, rstat[1], rank);
    install_signals();

    struct domain mine;
    local_domain(&mine);
    doms = calloc((size_t)world->world_size, sizeof *doms);
    if (!doms) {
        st = SF_E_NOMEM;
        goto out;
    }
    MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, doms, (int)sizeof mine, MPI_BYTE, 0,
               MPI_COMM_WORLD);
    int leader_info[2] = {world->group, world->group_rank}, *all = NULL;
    if (rank == 0 && !(all = malloc(2 * sizeof *all * (size_t)world->world_size))) st = SF_E_NOMEM;
    MPI_Gather(leader_info, 2, MPI_INT, all, 2, MPI_INT, 0, MPI_COMM_WORLD);

    if (rank == 0 && st == SF_OK) {
        st = write_manifest(&o, &s, world, &in, doms, &id, rs.attempt, argc, argv);
        if (st == SF_OK) st = open_events(rundir, &co.events_fd);
        co.s = &s;
        co.resume = &rs;
        co.o = &o;
        co.comm = comm;
        co.n_groups = world->n_groups;
        co.tp = world->tp;
        co.attempt = rs.attempt;
        /* mpirun pipes the ranks' output: SF_PROGRESS=tty asks for the progress lines anyway */
        const char *pe = getenv("SF_PROGRESS");
        co.tty = pe && *pe ? strcmp(pe, "tty") == 0 : isatty(STDERR_FILENO);
        co.leader = calloc((size_t)world->n_groups, sizeof *co.leader);
        co.n_ranks = world->world_size;
        co.rank_group = calloc((size_t)world->world_size, sizeof *co.rank_group);
        co.busy = calloc((size_t)world->n_groups, sizeof *co.busy);
        co.state = calloc((size_t)s.n_jobs + 1, 1);
        co.ready = calloc((size_t)s.n_jobs + 1, 1);
        co.step = calloc((size_t)s.n_jobs + 1, sizeof *co.step);
        co.ckpt_step = calloc((size_t)s.n_jobs + 1, sizeof *co.ckpt_step);
        co.started = calloc((size_t)s.n_jobs + 1, sizeof *co.started);
        co.alive = calloc((size_t)s.n_jobs + 1, sizeof *co.alive);
        co.cause = calloc((size_t)s.n_jobs + 1, sizeof *co.cause);
        co.ckpt = calloc((size_t)world->n_groups, sizeof *co.ckpt);
        if (st == SF_OK && (!co.leader || !co.rank_group || !co.busy || !co.state || !co.ready ||
                            !co.step || !co.ckpt_step || !co.started || !co.alive || !co.cause ||
                            !co.ckpt))
            st = SF_E_NOMEM;
        if (st == SF_OK) {
            for (int r = 0; r < world->world_size; r++) {
                co.rank_group[r] = all[2 * r];
                if (all[2 * r + 1] == 0) co.leader[all[2 * r]] = r;
            }
            for (int g = 0; g < world->n_groups; g++)
                co.busy[g] = -1;
            SF_INFO("render", "%d units on %d worker group%s (%d rank%s, tp %d) into %s%s",
                    s.n_jobs, world->n_groups, world->n_groups == 1 ? "" : "s",
                    world->world_size, world->world_size == 1 ? "" : "s", world->tp, rundir,
                    rs.resumed ? " (resuming)" : "");
            if (pthread_create(&thread, NULL, coordinator, &co) == 0)
                thread_started = 1;
            else
                st = SF_E_NOMEM;
        }
    }
    free(all);
    MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (st) goto out;

    st = worker_loop(&s, world, comm);
    if (thread_started) {
        pthread_join(thread, NULL);
        thread_started = 0;
        if (co.st) st = co.st;
        int n_shots = 0;
        for (int i = 0; i < s.n_jobs; i++)
            n_shots += s.jobs[i].kind == SF_JOB_DECODE && co.state[i] == J_DONE;
        if (co.n_failed) {
            SF_ERROR("render", "%d of %d units failed (see `shotfarm status %s`)", co.n_failed,
                     s.n_jobs, rundir);
            if (!st) st = SF_E_IO;
        }
        if (co.interrupted) {
            SF_WARN("render",
                    "interrupted by a signal: checkpoints are in %s/ckpt; run the same command "
                    "again to resume (exit 75 asks Slurm to requeue)",
                    rundir);
            st = SF_E_INTERRUPTED;
        }
        printf("%s: %d shot file%s in %s/shots/, latents in %s/latents/, %d unit%s failed%s\n",
               rundir, n_shots, n_shots == 1 ? "" : "s", rundir, rundir, co.n_failed,
               co.n_failed == 1 ? "" : "s", co.interrupted ? ", interrupted (exit 75)" : "");
        fflush(stdout);
    }
    /* every rank exits with the launch's status (mpirun reports the first non-zero one) */
    MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD);
out:
    if (thread_started) pthread_join(thread, NULL);
    if (co.events_fd >= 0) close(co.events_fd);
    if (lock_fd >= 0) close(lock_fd);
    free(co.leader);
    free(co.rank_group);
    free(co.busy);
    free(co.state);
    free(co.ready);
    free(co.step);
    free(co.ckpt_step);
    free(co.started);
    free(co.alive);
    free(co.cause);
    free(co.ckpt);
    free(doms);
    free(in.v);
    sf_render_resume_fini(&rs);
    sf_render_setup_fini(&s);
    sf_campaign_destroy(c);
    sf_diags_destroy(diags);
    if (why[0] && rank == 0) SF_ERROR("render", "%s", why);
    sf_world_destroy(world);
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    if (!inited) MPI_Finalize();
    return st;
}

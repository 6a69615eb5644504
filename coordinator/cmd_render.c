/* cmd_render.c — `shotfarm render CAMPAIGN -o RUNDIR`: the farm core (docs/render.md). Called by
 * main.c, under mpirun/srun or as a singleton. This file is the command: its options, the MPI
 * and run-directory set-up, and the start of the loops that do the work:
 *
 * Every rank loads the campaign and expands it into the same job list (render_plan.c, one unit
 * kind per file: sf_unit.h). Rank 0 hashes the inputs, decides what this launch resumes
 * (render_resume.c), writes RUNDIR/manifest.json durably (render_manifest.c) and starts the
 * coordinator in a thread (render_coord.c); the first rank of every node starts its CPU lanes;
 * every rank (rank 0 included) runs the worker loop on its main thread (render_worker.c).
 *
 * A failed job fails its dependents with the cause; the others go on; the exit status is 1 when
 * anything failed, 75 when a signal stopped the launch (render_signal.c).
 *
 * Threading rule (MPI_THREAD_MULTIPLE): the coordinator thread makes MPI calls on its own tags
 * and file writes of JSON only; the main thread of every process makes every HDF5 call (HDF5's
 * parallel build is not thread-safe) and every compute call; lanes make neither.
 */
#define _GNU_SOURCE
#include "render_internal.h"
#include "sf_campaign.h"
#include "sf_cli.h"
#include "sf_comm.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_report.h"
#include "sf_status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define CMD "render"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: [mpirun -np N] shotfarm render CAMPAIGN -o RUNDIR [--model DIR]\n"
            "         [--tokenizer FILE] [--tp K] [--tier draft|final] [--cache DIR]\n"
            "         [--threads N] [--cpu-lanes N] [--resume] [--force] [--ckpt-every N|Ns|Nm]\n"
            "         [--signal-grace S] [--max-retries N] [--stall-timeout S]\n"
            "         [--heartbeat-timeout S]\n"
            "         [--device cpu|cuda] [--sequence SEQ | --from-sequences] [--cfg-parallel]\n\n"
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
            "                     cores / ranks on the node)\n"
            "  --cpu-lanes N      CPU-only units (encodes) at once per node, each on a thread of\n"
            "                     the node's first rank, never on a worker group (default 1)\n"
            "  --device D         where the DiT runs: cpu, or cuda (one GPU per rank, by local\n"
            "                     rank); default: cuda when a GPU is visible and --tp is 1, else\n"
            "                     cpu. The text encoder and VAE run on the CPU (issue 28)\n"
            "  --sequence SEQ     render only sequence SEQ's shots (their denoise and decode\n"
            "                     units, prompts and references), no assembly; into a run\n"
            "                     directory of its own, RUNDIR/seq/SEQ (docs/submit.md)\n"
            "  --from-sequences   take every shot a --sequence render finished in\n"
            "                     RUNDIR/seq/NAME (same key: linked, not rendered again), then\n"
            "                     render the rest (sound, deliverables, review) in RUNDIR\n"
            "  --cfg-parallel     run each step's conditional and unconditional passes as two\n"
            "                     batch-1 forwards, on two worker groups when two are idle\n"
            "                     (else both on one: the same bits); another determinism domain\n"
            "                     than the default batch of 2, so a run directory keeps its mode\n"
            "                     (resume refuses a change unless --force; docs/windows.md)\n\n"
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
            "                     1800); the rest of the campaign completes, exit 1\n"
            "  --heartbeat-timeout S  a rank (or the coordinator, rank 0) not heard from for S\n"
            "                     seconds (default 120: a cut link, a hung node) ends the job\n"
            "                     with exit 75 after the other units checkpoint\n");
}


static int parse(int argc, char **argv, struct sf_render_opts *o)
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
                                       {"cpu-lanes", required_argument, 0, 'L'},
                                       {"stall-timeout", required_argument, 0, 'S'},
                                       {"heartbeat-timeout", required_argument, 0, 'H'},
                                       {"device", required_argument, 0, 'D'},
                                       {"sequence", required_argument, 0, 'Q'},
                                       {"from-sequences", no_argument, 0, 'A'},
                                       {"cfg-parallel", no_argument, 0, 'P'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    *o = (struct sf_render_opts){.tp = 0, /* 0: the campaign's model.tp */
                       .max_retries = 2,
                       .cpu_lanes = 1,
                       .ckpt_seconds = 60,
                       .signal_grace = 60,
                       .stall_timeout = 1800,
                       .heartbeat_timeout = 120};
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
        case 'H':
            if (sf_cli_parse_double(CMD, "--heartbeat-timeout", optarg, 0.5, 1e7,
                                    &o->heartbeat_timeout))
                return SF_E_USAGE;
            break;
        case 'L':
            if (sf_cli_parse_int(CMD, "--cpu-lanes", optarg, 1, SF_RENDER_SIGNAL_THREADS - 1,
                                 &o->cpu_lanes))
                return SF_E_USAGE;
            break;
        case 'D':
            if (strcmp(optarg, "cpu") && strcmp(optarg, "cuda"))
                return sf_cli_usage_error(CMD, "--device %s: use cpu or cuda", optarg);
            o->device = optarg;
            break;
        case 'Q':
            o->sequence = optarg;
            break;
        case 'A':
            o->from_sequences = 1;
            break;
        case 'P':
            o->cfg_parallel = 1;
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
    if (o->sequence && o->from_sequences)
        return sf_cli_usage_error(CMD, "--sequence renders one sequence's shots and "
                                       "--from-sequences takes them from RUNDIR/seq: give one");
    return SF_OK;
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

int sf_cmd_render(int argc, char **argv)
{
    struct sf_render_opts o;
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
    struct sf_render_inputs in = {0};
    struct sf_render_domain *doms = NULL;
    struct sf_render_coord co = {.events_fd = -1};
    struct sf_render_lanes *lanes = NULL;
    struct sf_render_beat *beat = NULL;
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
    /* now, not at the first compute call: the kernels (and OpenBLAS's core) are chosen before
     * the determinism domain is recorded */
    sf_threads_init((int)o.threads);
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
    s.cfg_parallel = o.cfg_parallel;
    s.ckpt_steps = o.ckpt_steps;
    s.device = o.device;
    s.ckpt_seconds = o.ckpt_seconds;
    snprintf(s.ckpt_dir, sizeof s.ckpt_dir, "%s/ckpt", rundir);

    /* rank 0 hashes; everyone learns the outcome and the component keys */
    int hs = SF_OK;
    char keys[3][SF_SHA256_HEX] = {"", "", ""};
    if (rank == 0) {
        if (o.tp > 1) hs = sf_render_check_tp(model, (int)o.tp);
        if (hs == SF_OK) hs = sf_render_inputs_hash(c, o.campaign, &s, &in, keys);
        if (hs == SF_OK) hs = sf_render_mkdirs(rundir, 0);
        if (hs == SF_OK) hs = lock_rundir(rundir, &lock_fd);
    }
    MPI_Bcast(&hs, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(keys, (int)sizeof keys, MPI_CHAR, 0, MPI_COMM_WORLD);
    if ((st = hs)) goto out;
    memcpy(s.text_key, keys[0], SF_SHA256_HEX);
    memcpy(s.dit_key, keys[1], SF_SHA256_HEX);
    memcpy(s.vae_key, keys[2], SF_SHA256_HEX);
    /* every rank expands identically, so a refusal (references without VACE layers, a unit
     * too large) is the same everywhere: rank 0 alone says it, in one line */
    const enum sf_log_level level = sf_log_get_level();
    if (rank != 0) sf_log_set_level(SF_LOG_OFF);
    st = sf_render_expand(c, o.tier, (int)o.tp, &s);
    if (st == SF_OK && o.sequence) st = sf_render_keep_sequence(&s, o.sequence);
    if (rank != 0) sf_log_set_level(level);
    if (st) goto out;
    for (int i = 0; i < s.n_jobs; i++)
        if (s.jobs[i].kind->resource == SF_UNIT_GROUP && s.jobs[i].gang > world->n_groups &&
            !s.sched[i].elastic) {
            st = SF_E_USAGE;
            if (rank == 0)
                sf_cli_usage_error(CMD,
                                   "unit '%s' runs on %d worker groups at once but this job has "
                                   "%d (%d rank%s, tp %d): start more ranks or lower --tp",
                                   s.jobs[i].name, s.jobs[i].gang, world->n_groups,
                                   world->world_size, world->world_size == 1 ? "" : "s",
                                   world->tp);
            goto out;
        }

    /* rank 0 decides what this launch resumes; everyone learns the launch number */
    struct sf_render_identity id;
    sf_render_identity_of(&s, sf_campaign_seed(c), &id);
    int rstat[2] = {SF_OK, 1};
    if (rank == 0) {
        const struct sf_render_resume_opts ro = {o.resume, o.force, (int)o.max_retries};
        char sig[SF_RENDER_PATH_MAX + 16];
        snprintf(sig, sizeof sig, "%s/signals", rundir);
        rstat[0] = sf_render_resume_plan(&s, &id, &ro, &rs);
        if (rstat[0] == SF_OK && o.from_sequences) rstat[0] = sf_render_import_sequences(&s, &rs);
        if (rstat[0] == SF_OK) rstat[0] = sf_render_mkdirs(sig, 0);
        rstat[1] = rs.attempt;
    }
    MPI_Bcast(rstat, 2, MPI_INT, 0, MPI_COMM_WORLD);
    if ((st = rstat[0])) goto out;
    char sigpath[SF_RENDER_PATH_MAX + 64];
    snprintf(sigpath, sizeof sigpath, "%s/signals/%d.%d", rundir, rstat[1], rank);
    sf_render_signals_install(s.jobs, sigpath);

    struct sf_render_domain mine;
    sf_render_domain_local(&mine);
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
    /* CPU lanes: cpu_lanes on the first rank of each node, numbered node by node */
    const int n_lanes = world->n_nodes * (int)o.cpu_lanes;
    int node_first = world->local_rank == 0 ? rank : -1, *firsts = NULL;
    if (rank == 0 && !(firsts = malloc(sizeof *firsts * (size_t)world->world_size))) st = SF_E_NOMEM;
    MPI_Gather(&node_first, 1, MPI_INT, firsts, 1, MPI_INT, 0, MPI_COMM_WORLD);

    /* every rank: the heartbeat with rank 0 (a cut link ends the job with 75, not a hang) */
    int bs = sf_render_beat_start(comm, o.heartbeat_timeout, o.signal_grace, &beat);
    if (bs && !st) st = bs;
    co.beat = beat;

    if (rank == 0 && st == SF_OK) {
        st = sf_render_manifest_write(&o, &s, world, &in, doms, &id, rs.attempt, argc, argv);
        if (st == SF_OK) st = sf_render_events_open(rundir, &co.events_fd);
        co.s = &s;
        co.resume = &rs;
        co.o = &o;
        co.comm = comm;
        co.n_groups = world->n_groups;
        co.n_lanes = n_lanes;
        co.n_slots = world->n_groups + n_lanes;
        co.tp = world->tp;
        co.attempt = rs.attempt;
        /* mpirun pipes the ranks' output: SF_PROGRESS=tty asks for the progress lines anyway */
        const char *pe = getenv("SF_PROGRESS");
        co.tty = pe && *pe ? strcmp(pe, "tty") == 0 : isatty(STDERR_FILENO);
        co.leader = calloc((size_t)world->n_groups, sizeof *co.leader);
        co.n_ranks = world->world_size;
        co.rank_group = calloc((size_t)world->world_size, sizeof *co.rank_group);
        co.rank_mark = calloc((size_t)world->world_size, 1);
        co.busy = calloc((size_t)co.n_slots, sizeof *co.busy);
        co.lane_rank = calloc((size_t)n_lanes + 1, sizeof *co.lane_rank);
        co.lane_tag = calloc((size_t)n_lanes + 1, sizeof *co.lane_tag);
        co.gang_left = calloc((size_t)s.n_jobs + 1, sizeof *co.gang_left);
        co.gang_end = calloc((size_t)s.n_jobs + 1, 1);
        co.state = calloc((size_t)s.n_jobs + 1, 1);
        co.ready = calloc((size_t)s.n_jobs + 1, 1);
        co.step = calloc((size_t)s.n_jobs + 1, sizeof *co.step);
        co.ckpt_step = calloc((size_t)s.n_jobs + 1, sizeof *co.ckpt_step);
        co.started = calloc((size_t)s.n_jobs + 1, sizeof *co.started);
        co.alive = calloc((size_t)s.n_jobs + 1, sizeof *co.alive);
        co.cause = calloc((size_t)s.n_jobs + 1, sizeof *co.cause);
        co.ckpt = calloc((size_t)co.n_slots, sizeof *co.ckpt);
        if (st == SF_OK && (!co.leader || !co.rank_group || !co.busy || !co.state || !co.ready ||
                            !co.step || !co.ckpt_step || !co.started || !co.alive || !co.cause ||
                            !co.ckpt || !co.lane_rank || !co.lane_tag || !co.gang_left ||
                            !co.gang_end || !co.rank_mark))
            st = SF_E_NOMEM;
        if (st == SF_OK) {
            for (int r = 0; r < world->world_size; r++) {
                co.rank_group[r] = all[2 * r];
                if (all[2 * r + 1] == 0) co.leader[all[2 * r]] = r;
            }
            for (int r = 0, node = 0; r < world->world_size; r++) {
                if (firsts[r] < 0) continue;
                for (int k = 0; k < o.cpu_lanes; k++) {
                    co.lane_rank[node * o.cpu_lanes + k] = r;
                    co.lane_tag[node * o.cpu_lanes + k] = SF_RENDER_TAG_LANE + k;
                }
                node++;
            }
            for (int g = 0; g < co.n_slots; g++)
                co.busy[g] = -1;
            SF_INFO("render",
                    "%d units on %d worker group%s (%d rank%s, tp %d) and %d CPU lane%s into %s%s",
                    s.n_jobs, world->n_groups, world->n_groups == 1 ? "" : "s",
                    world->world_size, world->world_size == 1 ? "" : "s", world->tp, n_lanes,
                    n_lanes == 1 ? "" : "s", rundir, rs.resumed ? " (resuming)" : "");
            if (pthread_create(&thread, NULL, sf_render_coordinator, &co) == 0)
                thread_started = 1;
            else
                st = SF_E_NOMEM;
        }
    }
    free(all);
    free(firsts);
    MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (st) goto out;

    if (sf_render_lanes_start(&s, world, comm, (int)o.cpu_lanes, &lanes) != SF_OK) {
        SF_ERROR("render", "could not start the CPU lanes of rank %d (out of memory)", rank);
        MPI_Abort(comm, 1); /* the coordinator would wait for their answers forever */
    }
    st = sf_render_worker_loop(&s, world, comm);
    sf_render_lanes_join(lanes);
    lanes = NULL;
    if (thread_started) {
        pthread_join(thread, NULL);
        thread_started = 0;
        if (co.st) st = co.st;
        int n_shots = 0;
        for (int i = 0; i < s.n_jobs; i++)
            n_shots += s.jobs[i].kind == &sf_unit_decode && co.state[i] == J_DONE;
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
        /* the review page of what this launch left (docs/review.md § The report) */
        struct sf_report_summary rsum;
        if (sf_report_write(rundir, NULL, &rsum) == SF_OK) {
            printf("%s/report.html: %d spot%s, %d failed QC\n", rundir, rsum.spots,
                   rsum.spots == 1 ? "" : "s", rsum.flagged);
            if (rsum.flagged)
                SF_WARN("render", "%d of %d spots FAILED QC: see %s/report.html", rsum.flagged,
                        rsum.spots, rundir);
        } else if (!st) {
            st = SF_E_IO; /* the cause is logged */
        }
        fflush(stdout);
    }
    /* every rank exits with the launch's status (mpirun reports the first non-zero one) */
    MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD);
out:
    if (thread_started) pthread_join(thread, NULL);
    sf_render_beat_stop(beat);
    if (co.events_fd >= 0) close(co.events_fd);
    if (lock_fd >= 0) close(lock_fd);
    free(co.leader);
    free(co.rank_group);
    free(co.rank_mark);
    free(co.busy);
    free(co.state);
    free(co.ready);
    free(co.step);
    free(co.ckpt_step);
    free(co.started);
    free(co.alive);
    free(co.cause);
    free(co.ckpt);
    free(co.lane_rank);
    free(co.lane_tag);
    free(co.gang_left);
    free(co.gang_end);
    free(doms);
    sf_render_inputs_fini(&in);
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

/* cli.c — the shotfarm command line (sf_cli.h): global options, the command table, the option
 * parsers every subcommand shares, and sf_cli_main, which main.c (the binary) calls. Every
 * subcommand lives in its own cmd_*.c file. Tests that extend the farm (an extra unit kind)
 * call sf_cli_main from their own main. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_build_info.h"
#include "sf_cuda.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Commands that need MPI, HDF5, FFmpeg or libfyaml are not linked into SF_MINIMAL builds. */
#if SF_BUILD_MINIMAL
#define FULL_ONLY(fn) NULL
#else
#define FULL_ONLY(fn) fn
#endif

const struct sf_cli_command sf_cli_commands[] = {
    {"validate", "check a campaign file and report every problem with file:line, field and fix",
     FULL_ONLY(sf_cmd_validate), 0},
    {"plan", "units, FLOPs, GPU-seconds, makespan and cost of a campaign before it runs",
     FULL_ONLY(sf_cmd_plan), 0},
    {"render", "render a campaign into RUNDIR (resumes an existing RUNDIR)", FULL_ONLY(sf_cmd_render), 0},
    {"status", "per-shot state, step, ETA and errors of a run directory", FULL_ONLY(sf_cmd_status), 0},
    {"qc", "check video files for levels, black, freezes and flashes (EBU R 103, ITU-R BT.1702)",
     FULL_ONLY(sf_cmd_qc), 0},
    {"report", "write RUNDIR/report.html: spots, QC, contact sheets, cost, failures",
     FULL_ONLY(sf_cmd_report), 0},
    {"submit", "write an sbatch script for a campaign into its run directory and submit it",
     FULL_ONLY(sf_cmd_submit), 0},
    {"mkmodel", "write a random-weight model of any config (diffusers or official Wan2.1 layout)",
     sf_cmd_mkmodel, 1},
    {"inspect", "list the tensors of a safetensors file, model directory or checkpoint",
     sf_cmd_inspect, 1},
    {"forward", "run one model component (dit, denoise, text, vae-decode, vae-encode) on a file",
     sf_cmd_forward, 1},
    {"tokenize", "turn prompts (one per line on stdin) into umT5 token ids", sf_cmd_tokenize, 1},
    {0},
};

static void print_help(FILE *f)
{
    fprintf(f, "usage: shotfarm <command> [options]\n"
               "       shotfarm <command> --help\n"
               "       shotfarm --version [--json]\n\n"
               "shotfarm renders AI video campaigns on an HPC cluster (Wan2.1 architecture).\n\n"
               "commands:\n");
    for (const struct sf_cli_command *c = sf_cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s%s\n", c->name, c->summary,
                (SF_BUILD_MINIMAL && !c->minimal) ? " [not in this SF_MINIMAL build]" : "");
    fprintf(f, "\nenvironment:\n"
               "  SF_LOG      log level on stderr: error, warn, info (default), debug\n"
               "  SF_THREADS  compute threads per rank (default: Slurm's cpus per task, else the\n"
               "              affinity mask's CPUs, else cores / ranks on the node)\n\n"
               "exit codes: 0 success, 1 runtime failure, 2 usage or validation error,\n"
               "            75 checkpointed and asking to be requeued (docs/cli.md)\n");
}

static const char *cpu_simd_name(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "cpu-avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "cpu-avx2";
#endif
    return "cpu-portable";
}

void sf_cli_print_version(FILE *f, int json)
{
    char backends[256];
    snprintf(backends, sizeof backends, "%s%s%s%s", cpu_simd_name(),
             SF_BUILD_MINIMAL ? " portable-gemm" : " openblas mpi hdf5 ffmpeg",
             SF_BUILD_CUDA ? " cuda" : "", SF_BUILD_NCCL ? " nccl" : "");
    if (json) {
        fprintf(f, "{\"version\": \"%s\", \"commit\": \"%s\", \"minimal\": %s, \"backends\": [",
                SF_VERSION, SF_GIT_COMMIT, SF_BUILD_MINIMAL ? "true" : "false");
        char tmp[256];
        memcpy(tmp, backends, sizeof tmp);
        int first = 1;
        for (char *save = NULL, *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            fprintf(f, "%s\"%s\"", first ? "" : ", ", t);
            first = 0;
        }
        fprintf(f, "], \"cuda_devices\": %d}\n", sf_cuda_device_count());
    } else {
        fprintf(f, "shotfarm %s (commit %s; backends: %s)\n", SF_VERSION, SF_GIT_COMMIT, backends);
    }
}

int sf_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "shotfarm %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'shotfarm %s --help'.\n", cmd);
    va_end(ap);
    return SF_E_USAGE;
}

int sf_cli_not_built(const char *cmd, const char *what)
{
    fprintf(stderr, "shotfarm %s: not built yet: %s\n", cmd, what);
    return SF_E_USAGE;
}

int sf_cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || v < lo || v > hi)
        return sf_cli_usage_error(cmd, "%s: '%s' is not an integer in [%ld, %ld]", opt,
                                  s ? s : "", lo, hi);
    *out = v;
    return SF_OK;
}

int sf_cli_parse_tier(const char *cmd, const char *s, int *tier)
{
    if (s && strcmp(s, "draft") == 0)
        *tier = 0;
    else if (s && strcmp(s, "final") == 0)
        *tier = 1;
    else
        return sf_cli_usage_error(cmd, "--tier '%s': use draft or final", s ? s : "");
    return SF_OK;
}

int sf_cli_parse_every(const char *cmd, const char *opt, const char *s, int *steps,
                       double *seconds)
{
    char *end = NULL;
    errno = 0;
    double x = s ? strtod(s, &end) : 0;
    if (!s || end == s || errno || !(x > 0) || x > 1e7 ||
        (*end && strcmp(end, "s") != 0 && strcmp(end, "m") != 0) || (!*end && x != (int)x))
        return sf_cli_usage_error(cmd,
                                  "%s '%s': give N steps (a whole number, e.g. 5), N seconds "
                                  "(60s) or N minutes (10m)",
                                  opt, s ? s : "");
    *steps = *end ? 0 : (int)x;
    *seconds = *end == 'm' ? 60 * x : *end ? x : 0;
    return SF_OK;
}

int sf_cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                        double *out)
{
    char *end = NULL;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || !(v >= lo && v <= hi))
        return sf_cli_usage_error(cmd, "%s: '%s' is not a number in [%g, %g]", opt, s ? s : "",
                                  lo, hi);
    *out = v;
    return SF_OK;
}

int sf_cli_main(int argc, char **argv)
{
    sf_log_init();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        int json = argc > 2 && strcmp(argv[2], "--json") == 0;
        sf_cli_print_version(stdout, json);
        return 0;
    }
    for (const struct sf_cli_command *c = sf_cli_commands; c->name; c++) {
        if (strcmp(argv[1], c->name) != 0) continue;
        if (!c->run) {
            fprintf(stderr, "shotfarm %s: not in this build (SF_MINIMAL=ON has only forward, "
                            "inspect, mkmodel and tokenize); rebuild without -DSF_MINIMAL=ON\n", c->name);
            return 2;
        }
        int st = c->run(argc - 1, argv + 1);
        return sf_status_exit_code(st);
    }
    fprintf(stderr, "shotfarm: unknown command '%s'; run 'shotfarm --help' for the list\n", argv[1]);
    return 2;
}

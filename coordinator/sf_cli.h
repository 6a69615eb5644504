/* sf_cli.h — the shotfarm command table and helpers shared by every subcommand.
 *
 * A command is `int sf_cmd_NAME(int argc, char **argv)` where argv[0] is the command name; it
 * returns an sf_status that main() maps to the exit code (docs/cli.md): 0 ok, 1 runtime
 * failure, 2 usage or validation error, 75 checkpointed and asking to be requeued.
 * Results go to stdout (tables, or one JSON document with --json); logs go to stderr.
 */
#ifndef SF_CLI_H
#define SF_CLI_H

#include <stdio.h>

struct sf_cli_command {
    const char *name;
    const char *summary; /* one line for `shotfarm --help` */
    int (*run)(int argc, char **argv);
    int minimal;         /* 1: also in SF_MINIMAL builds */
};

/* The whole command line: `shotfarm --help`, `--version`, or a command of the table. Returns the
 * exit code (docs/cli.md). main.c calls it; so does a test's main after registering an extra
 * unit kind (sf_unit.h). */
int sf_cli_main(int argc, char **argv);

/* The table, terminated by a zeroed entry. */
extern const struct sf_cli_command sf_cli_commands[];

/* Prints "shotfarm CMD: <message>" and a hint to --help on stderr; returns SF_E_USAGE. */
int sf_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints that CMD is not in this build and why (e.g. the SF_MINIMAL build's missing
 * libraries); returns SF_E_USAGE. */
int sf_cli_not_built(const char *cmd, const char *what);
/* Parses a positive integer option value into *out; on failure reports it as a usage error
 * naming `opt`. Returns SF_OK or SF_E_USAGE. */
int sf_cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
/* --tier: "draft" -> 0, "final" -> 1 (enum sf_tier_kind's values). Returns SF_OK or SF_E_USAGE
 * (reported). */
int sf_cli_parse_tier(const char *cmd, const char *s, int *tier);
/* A cadence: "N" steps (*steps = N, *seconds = 0), "Ns" seconds or "Nm" minutes (*steps = 0,
 * *seconds > 0); N > 0. Returns SF_OK or SF_E_USAGE (reported naming opt). */
int sf_cli_parse_every(const char *cmd, const char *opt, const char *s, int *steps,
                       double *seconds);
int sf_cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                        double *out);

/* Version line: "shotfarm 0.1.0 (commit abc, backends: cpu-avx2 openblas mpi hdf5 ffmpeg cuda nccl)" */
void sf_cli_print_version(FILE *f, int json);

/* Subcommands. */
int sf_cmd_validate(int argc, char **argv);
int sf_cmd_plan(int argc, char **argv);
int sf_cmd_render(int argc, char **argv);
int sf_cmd_status(int argc, char **argv);
int sf_cmd_qc(int argc, char **argv);
int sf_cmd_report(int argc, char **argv);
int sf_cmd_submit(int argc, char **argv);
int sf_cmd_mkmodel(int argc, char **argv);
int sf_cmd_inspect(int argc, char **argv);
int sf_cmd_forward(int argc, char **argv);
int sf_cmd_tokenize(int argc, char **argv);

#endif

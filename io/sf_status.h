/* sf_status.h — status codes, SF_TRY and the always-on assert used across shotfarm.
 *
 * Three kinds of error, never mixed (STYLE.md):
 *   1. a broken invariant is a bug: SF_ASSERT prints rank, file and line, then aborts;
 *   2. a runtime failure returns an enum sf_status (SF_OK == 0, negatives for failures);
 *      SF_TRY logs file:line and jumps to the function's single `out:` label;
 *   3. another library's failure is converted where the call is made (sf_errors.h).
 * Only main() exits.
 */
#ifndef SF_STATUS_H
#define SF_STATUS_H



enum sf_status {
    SF_OK = 0,
    SF_E_NOMEM = -1,       /* an allocation failed */
    SF_E_IO = -2,          /* open/read/write/rename failed (errno logged where it happened) */
    SF_E_FORMAT = -3,      /* a file's contents are malformed */
    SF_E_INVAL = -4,       /* a value is out of range or inconsistent */
    SF_E_USAGE = -5,       /* the command line is wrong */
    SF_E_VALIDATION = -6,  /* a campaign file failed validation */
    SF_E_UNSUPPORTED = -7, /* valid input this build cannot handle */
    SF_E_NOTFOUND = -8,    /* a named file, tensor or key does not exist */
    SF_E_NOSPC = -9,       /* the disk is full (ENOSPC / EFBIG) */
    SF_E_MPI = -10,        /* an MPI call failed */
    SF_E_HDF5 = -11,       /* an HDF5 call failed */
    SF_E_AV = -12,         /* a libav* call failed */
    SF_E_CUDA = -13,       /* a CUDA / cuBLAS / NCCL call failed */
    SF_E_INTERRUPTED = -14,/* stopped by a signal after checkpointing */
    SF_E_CHECKSUM = -15,   /* a file failed its checksum */
};

/* Short, stable name of a status ("SF_E_IO"), never NULL. */
const char *sf_status_name(int st);
/* Human description ("input/output error"), never NULL. */
const char *sf_status_str(int st);

/* The process exit code for a status (docs/cli.md): 0 ok, 2 usage/validation, 75 requeue,
 * 1 any other runtime failure. */
int sf_status_exit_code(int st);

/* Logs "file:line: expr failed: STATUS" at debug level; used by SF_TRY. */
void sf_status_trace(const char *file, int line, const char *expr, int st);

/* SF_TRY(st, expr): evaluate expr into st; on failure trace it and `goto out`. */
#define SF_TRY(st, expr)                                                                           \
    do {                                                                                           \
        (st) = (expr);                                                                             \
        if ((st) != SF_OK) {                                                                       \
            sf_status_trace(__FILE__, __LINE__, #expr, (st));                                      \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

__attribute__((noreturn)) void sf_assert_fail(const char *expr, const char *file, int line, const char *func);

/* Always on, also in release builds: a failed invariant is a bug, never user error. */
#define SF_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) sf_assert_fail(#cond, __FILE__, __LINE__, __func__);                          \
    } while (0)

#endif

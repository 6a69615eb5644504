/* Status codes, exit codes, SF_TRY's control flow and the log line format. */
#define _POSIX_C_SOURCE 200809L
#include "sf_log.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdlib.h>
#include <unistd.h>

static int steps;

static int step(int fail_at)
{
    steps++;
    return steps == fail_at ? SF_E_IO : SF_OK;
}

static int run_three(int fail_at, int *cleaned)
{
    int st = SF_OK;
    steps = 0;
    SF_TRY(st, step(fail_at));
    SF_TRY(st, step(fail_at));
    SF_TRY(st, step(fail_at));
out:
    *cleaned = 1;
    return st;
}

/* Captures what sf_log writes to stderr. */
static void capture_log(char *buf, size_t n, void (*fn)(void))
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t r = read(fds[0], buf, n - 1);
    buf[r > 0 ? r : 0] = '\0';
    close(fds[0]);
}

static void log_info_rank3(void)
{
    sf_log_set_rank(3);
    SF_INFO("ckpt", "wrote step %d", 14);
    SF_DEBUG("ckpt", "hidden at info level");
    SF_WARN("ckpt", "disk at %d%%", 91);
    sf_log_set_rank(-1);
    SF_ERROR("plan", "no rank");
}

int main(void)
{
    setenv("SF_LOG", "info", 1);
    sf_log_init();
    CHECK_EQ_INT(sf_status_exit_code(SF_OK), 0);
    CHECK_EQ_INT(sf_status_exit_code(SF_E_USAGE), 2);
    CHECK_EQ_INT(sf_status_exit_code(SF_E_VALIDATION), 2);
    CHECK_EQ_INT(sf_status_exit_code(SF_E_INTERRUPTED), 75);
    CHECK_EQ_INT(sf_status_exit_code(SF_E_IO), 1);
    CHECK_EQ_INT(sf_status_exit_code(SF_E_NOSPC), 1);
    CHECK_STR(sf_status_name(SF_E_NOSPC), "SF_E_NOSPC");
    CHECK_STR(sf_status_name(12345), "SF_E_UNKNOWN");
    CHECK_STR(sf_status_str(SF_E_CHECKSUM), "checksum mismatch");
    for (int s = SF_OK; s >= SF_E_CHECKSUM; s--) CHECK(strcmp(sf_status_name(s), "SF_E_UNKNOWN") != 0);

    int cleaned = 0;
    CHECK_EQ_INT(run_three(0, &cleaned), SF_OK);
    CHECK_EQ_INT(steps, 3);
    CHECK(cleaned);
    cleaned = 0;
    CHECK_EQ_INT(run_three(2, &cleaned), SF_E_IO);
    CHECK_EQ_INT(steps, 2); /* the third step never ran */
    CHECK(cleaned);

    CHECK_EQ_INT(sf_log_parse_level("debug"), SF_LOG_DEBUG);
    CHECK_EQ_INT(sf_log_parse_level("WARN"), SF_LOG_WARN);
    CHECK_EQ_INT(sf_log_parse_level("1"), 1);
    CHECK_EQ_INT(sf_log_parse_level("loud"), -2);
    CHECK_EQ_INT(sf_log_parse_level(NULL), -2);
    CHECK_EQ_INT(sf_log_parse_level("off"), SF_LOG_OFF);

    char buf[1024];
    sf_log_set_level(SF_LOG_OFF);
    capture_log(buf, sizeof buf, log_info_rank3);
    CHECK_STR(buf, "");
    sf_log_set_level(SF_LOG_INFO);
    capture_log(buf, sizeof buf, log_info_rank3);
    /* "    0.0s r3 ckpt: wrote step 14\n    0.0s r3 ckpt: warning: disk at 91%\n..." */
    CHECK(strstr(buf, "s r3 ckpt: wrote step 14\n") != NULL);
    CHECK(strstr(buf, "hidden") == NULL);
    CHECK(strstr(buf, "s r3 ckpt: warning: disk at 91%\n") != NULL);
    CHECK(strstr(buf, "s plan: error: no rank\n") != NULL);
    CHECK(buf[0] == ' ' && strstr(buf, "0.") != NULL);
    return sf_test_result("base_status");
}

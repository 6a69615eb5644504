/* test_umt5_xxl.c — memory of the umT5-XXL encoder (label slow, not in CI): a random bf16 XXL
 * encoder (vocabulary 256384, about 11 GB) written by `shotfarm mkmodel --component text
 * --config wan2.1-t2v-1.3b`, then `shotfarm forward text` on one 512-token prompt in a child
 * process whose peak RSS (getrusage of the child) must stay within the weight bytes + 1.5 GiB.
 * Prints the load and encode times from the command's log and the peak RSS.
 * SF_UMT5_XXL_DIR=DIR uses an existing model directory instead (kept); otherwise the model is
 * written under the build directory and deleted at the end. Skips (77) when the disk lacks
 * 12 GB. */
#define _GNU_SOURCE /* wait4 */
#include "umt5_test_util.h"
#include "sf_log.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOKENS 512
#define SLACK_BYTES (1.5 * 1024 * 1024 * 1024)

/* Size of the encoder's model.safetensors: dir is a component directory (what mkmodel
 * --component text writes) or holds one as text_encoder/. */
static double weight_bytes(const char *dir)
{
    char p[4400];
    struct stat s;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if (stat(p, &s) == 0) return (double)s.st_size;
    snprintf(p, sizeof p, "%s/text_encoder/model.safetensors", dir);
    return stat(p, &s) == 0 ? (double)s.st_size : 0;
}

int main(void)
{
    const char *given = getenv("SF_UMT5_XXL_DIR");
    char dir[4096], cmd[8192];
    snprintf(dir, sizeof dir, "%s", given ? given : "umt5_xxl_model");
    if (!given) {
        struct statvfs v;
        if (statvfs(".", &v) == 0 && (double)v.f_bavail * v.f_frsize < 12e9) {
            fprintf(stderr, "umt5_xxl_memory: skipped, fewer than 12 GB free here\n");
            return SF_TEST_SKIP;
        }
        double t0 = sf_time_now();
        snprintf(cmd, sizeof cmd,
                 "'%s' mkmodel --component text --config wan2.1-t2v-1.3b --dtype bf16 -o '%s'",
                 env_or_die("SF_SHOTFARM"), dir);
        CHECK_EQ_INT(system(cmd), 0);
        fprintf(stderr, "umt5_xxl_memory: mkmodel wrote %.2f GB in %.1f s\n",
                weight_bytes(dir) / 1e9, sf_time_now() - t0);
    }
    double wb = weight_bytes(dir);
    CHECK(wb > 10e9);

    int64_t ids[TOKENS];
    uint64_t seed = 13;
    for (int i = 0; i < TOKENS; i++)
        ids[i] = 3 + (int64_t)(sf_test_rand_u64(&seed) % 256000);
    ids[TOKENS - 1] = 1;
    struct sf_st_desc d = {
        .name = "input_ids", .dtype = SF_DTYPE_I64, .n_dims = 2, .shape = {1, TOKENS}, .data = ids};
    CHECK(sf_st_write("xxl_in.safetensors", &d, 1, NULL, 0, NULL, NULL) == 0);

    /* the child: forward text, measured by wait4's rusage */
    double t0 = sf_time_now();
    pid_t pid = fork();
    if (pid == 0) {
        execl(env_or_die("SF_SHOTFARM"), "shotfarm", "forward", "text", "--model", dir, "-i",
              "xxl_in.safetensors", "-o", "xxl_out.safetensors", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    CHECK(wait4(pid, &status, 0, &ru) == pid);
    double wall = sf_time_now() - t0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    double peak = (double)ru.ru_maxrss * 1024.0;
    fprintf(stderr,
            "umt5_xxl_memory: %d tokens, wall %.1f s (load + encode, see the log above), peak "
            "RSS %.2f GiB, weights %.2f GiB, peak - weights %.2f GiB (limit 1.5)\n",
            TOKENS, wall, peak / (1 << 30), wb / (1 << 30), (peak - wb) / (1 << 30));
    CHECK(peak <= wb + SLACK_BYTES);

    struct sf_st *out = NULL;
    CHECK(sf_st_open("xxl_out.safetensors", &out) == 0);
    if (out) {
        uint64_t n = 0;
        float *h = read_f32(out, "last_hidden_state", &n);
        CHECK_EQ_INT(n, (uint64_t)TOKENS * 4096);
        int finite = 1;
        for (uint64_t i = 0; h && i < n; i++)
            finite &= isfinite(h[i]);
        CHECK(finite);
        free(h);
        sf_st_close(out);
    }
    if (!given) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK_EQ_INT(system(cmd), 0);
    }
    unlink("xxl_out.safetensors");
    return sf_test_result("umt5_xxl_memory");
}

/* HDF5 and libav* failures become SF_E_HDF5 / SF_E_AV / SF_E_NOSPC with the library's own
 * message and what we were doing; errno failures map to their status. */
#define _POSIX_C_SOURCE 200809L
#include "sf_errors.h"
#include "sf_status.h"
#include "sf_test.h"

#include <errno.h>
#include <hdf5.h>
#include <libavformat/avformat.h>
#include <unistd.h>

static char captured[4096];

static void begin_capture(int *saved, int fds[2])
{
    CHECK(pipe(fds) == 0);
    *saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
}

static void end_capture(int saved, int fds[2])
{
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t r = read(fds[0], captured, sizeof captured - 1);
    captured[r > 0 ? r : 0] = '\0';
    close(fds[0]);
}

int main(void)
{
    int saved, fds[2];
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    begin_capture(&saved, fds);
    hid_t f = H5Fopen("/nonexistent/ckpt.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    int st = sf_h5_check(f, "open checkpoint /nonexistent/ckpt.h5");
    end_capture(saved, fds);
    CHECK_EQ_INT(st, SF_E_HDF5);
    CHECK(strstr(captured, "hdf5: error: open checkpoint /nonexistent/ckpt.h5 failed: ") != NULL);
    CHECK(strstr(captured, "test_errors_libs.c:") != NULL);
    CHECK_EQ_INT(sf_h5_check(0, "ok"), SF_OK);

    begin_capture(&saved, fds);
    AVFormatContext *fmt = NULL;
    st = sf_av_check(avformat_open_input(&fmt, "/nonexistent/ref.png", NULL, NULL),
                     "open reference image /nonexistent/ref.png");
    end_capture(saved, fds);
    CHECK_EQ_INT(st, SF_E_AV);
    CHECK(strstr(captured, "av: error: open reference image /nonexistent/ref.png failed: No such file or directory") != NULL);
    CHECK_EQ_INT(sf_av_check(AVERROR(ENOSPC), "write"), SF_E_NOSPC);
    CHECK_EQ_INT(sf_av_check(0, "ok"), SF_OK);

    begin_capture(&saved, fds);
    CHECK_EQ_INT(sf_err_errno(ENOSPC, "write checkpoint", "run/ckpt/a.h5"), SF_E_NOSPC);
    CHECK_EQ_INT(sf_err_errno(EFBIG, "write", "x"), SF_E_NOSPC);
    CHECK_EQ_INT(sf_err_errno(ENOENT, "open", "x"), SF_E_NOTFOUND);
    CHECK_EQ_INT(sf_err_errno(EACCES, "open", "x"), SF_E_IO);
    end_capture(saved, fds);
    CHECK(strstr(captured, "write checkpoint: run/ckpt/a.h5: No space left on device") != NULL);
    return sf_test_result("base_errors_libs");
}

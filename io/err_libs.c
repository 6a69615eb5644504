/* err_libs.c — MPI, HDF5 and libav* failures to sf_status with the library's own message
 * (sf_errors.h). Full build only. HDF5's automatic stack printing is expected to be turned off
 * by the caller that owns HDF5 (H5Eset_auto2(H5E_DEFAULT, NULL, NULL)); we walk the stack here
 * and log its innermost message instead. */
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <hdf5.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sf_mpi_check_at(int rc, const char *what, const char *file, int line)
{
    if (rc == MPI_SUCCESS) return SF_OK;
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "code %d", rc);
    sf_log(SF_LOG_ERROR, "mpi", "%s failed: %s (%s:%d)", what, msg, file, line);
    return SF_E_MPI;
}

struct h5_walk {
    char msg[512];
};

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    struct h5_walk *w = data;
    if (n == 0) /* innermost error: the most specific message */
        snprintf(w->msg, sizeof w->msg, "%s() %s", e->func_name ? e->func_name : "?",
                 e->desc ? e->desc : "");
    return 0;
}

int sf_h5_check_at(long long rc, const char *what, const char *file, int line)
{
    if (rc >= 0) return SF_OK;
    struct h5_walk w = {.msg = "no message on the HDF5 error stack"};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, &w);
    H5Eclear2(H5E_DEFAULT);
    sf_log(SF_LOG_ERROR, "hdf5", "%s failed: %s (%s:%d)", what, w.msg, file, line);
    return SF_E_HDF5;
}

int sf_av_check_at(int rc, const char *what, const char *file, int line)
{
    if (rc >= 0) return SF_OK;
    char msg[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(rc, msg, sizeof msg);
    sf_log(SF_LOG_ERROR, "av", "%s failed: %s (%s:%d)", what, msg, file, line);
    if (rc == AVERROR(ENOSPC) || rc == AVERROR(EFBIG)) return SF_E_NOSPC;
    return SF_E_AV;
}

void sf_av_log_quiet(void)
{
    const char *lv = getenv("SF_LOG");
    av_log_set_level(lv && strcmp(lv, "debug") == 0 ? AV_LOG_INFO : AV_LOG_ERROR);
}

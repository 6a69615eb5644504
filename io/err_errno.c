/* err_errno.c — errno to sf_status (sf_errors.h). Part of the minimal build. */
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <string.h>

int sf_err_errno(int err, const char *what, const char *path)
{
    sf_log(SF_LOG_ERROR, "io", "%s: %s: %s", what, path ? path : "-", strerror(err));
    switch (err) {
    case ENOSPC:
    case EFBIG:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return SF_E_NOSPC;
    case ENOENT: return SF_E_NOTFOUND;
    case ENOMEM: return SF_E_NOMEM;
    default: return SF_E_IO;
    }
}

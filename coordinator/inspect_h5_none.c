/* inspect_h5_none.c — sf_inspect_h5 in the minimal build, which has no HDF5: says so. The full
 * build compiles inspect_h5.c instead (coordinator/CMakeLists.txt). */
#include "sf_inspect_h5.h"

#include "sf_log.h"
#include "sf_status.h"

int sf_inspect_h5(const char *path, int json, int list)
{
    (void)json;
    (void)list;
    SF_ERROR("inspect", "%s: reading HDF5 checkpoints and latents needs HDF5, which this minimal "
             "build leaves out (build without -DSF_MINIMAL=ON)", path);
    return SF_E_UNSUPPORTED;
}

/* vae_image_none.c — sf_vae_image_read in the minimal build, which has no FFmpeg: says so.
 * The full build compiles vae_image.c instead (coordinator/CMakeLists.txt). */
#include "sf_vae_image.h"

#include "sf_log.h"
#include "sf_status.h"

#include <stddef.h>

int sf_vae_image_read(const char *path, uint8_t **rgb, int *width, int *height)
{
    *rgb = NULL;
    *width = *height = 0;
    SF_ERROR("image", "%s: reading images needs FFmpeg, which this minimal build leaves out "
             "(build without -DSF_MINIMAL=ON, or pass -i with a tensor `x`)", path);
    return SF_E_UNSUPPORTED;
}

/* vae_image.c — one still image as packed 8-bit RGB (sf_vae_image.h), for `forward vae-encode
 * --image`, `forward vace --ref` and the identity bank: the first frame of the file through the
 * one picture decoder, sf_media_frames (io/sf_media.h), with its failure logged. */
#include "sf_vae_image.h"

#include "sf_log.h"
#include "sf_media.h"
#include "sf_status.h"

int sf_vae_image_read(const char *path, uint8_t **rgb, int *width, int *height)
{
    char why[256] = "";
    const double first = 0;
    int st = sf_media_frames(path, 1, &first, rgb, width, height, why, sizeof why);
    if (st != SF_OK)
        SF_ERROR("image", "%s: %s (give a PNG, JPEG, WebP, BMP or TIFF image)", path,
                 st == SF_E_NOMEM ? "out of memory" : why);
    return st;
}

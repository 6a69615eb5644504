/* sf_vae_image.h — one still image (PNG, JPEG, WebP, ... anything FFmpeg decodes) as 8-bit RGB,
 * for `forward vae-encode --image` and the identity bank's reference images. Full build only
 * (FFmpeg); the minimal build's version says so. */
#ifndef SF_VAE_IMAGE_H
#define SF_VAE_IMAGE_H

#include <stdint.h>

/* Decodes the first frame of path into *rgb (height, width, 3), malloc'ed, owned by the caller.
 * Fails with SF_E_NOTFOUND / SF_E_FORMAT (not an image FFmpeg can decode) / SF_E_UNSUPPORTED
 * (minimal build) / SF_E_NOMEM, with one logged line naming the file. */
int sf_vae_image_read(const char *path, uint8_t **rgb, int *width, int *height);

#endif

/* window.c — the temporal window cut and blend weights (sf_window.h). Called by node/denoise.c
 * for every step of a windowed shot and by coordinator/unit_denoise.c to price and key one. The
 * subtle thing: scripts/golden/windows.py computes the same starts and weights; change both. */
#include "sf_window.h"
#include "sf_log.h"
#include "sf_status.h"

int sf_windows_plan(int64_t frames, int window, int overlap, struct sf_windows *out)
{
    const char *why = sf_window_rule_check(window, overlap);
    if (why || frames < 1) {
        SF_ERROR("window", "windows of %d latent frames overlapping by %d over %lld frames: %s",
                 window, overlap, (long long)frames, why ? why : "the latent has no frames");
        return SF_E_INVAL;
    }
    out->frames = frames;
    out->stride = window - overlap;
    if (frames <= window) {
        out->len = frames;
        out->n = 1;
        return SF_OK;
    }
    out->len = window;
    /* full strides until the rest fits, then one window aligned to the end */
    out->n = 1 + (int)((frames - window + out->stride - 1) / out->stride);
    return SF_OK;
}

int64_t sf_windows_start(const struct sf_windows *w, int k)
{
    SF_ASSERT(k >= 0 && k < w->n);
    return k == w->n - 1 ? w->frames - w->len : (int64_t)k * w->stride;
}

float sf_windows_weight(const struct sf_windows *w, int k, int64_t i)
{
    SF_ASSERT(i >= 0 && i < w->len);
    const int64_t s = sf_windows_start(w, k);
    if (k > 0) { /* ramp up across the overlap with window k - 1 */
        const int64_t l = sf_windows_start(w, k - 1) + w->len - s;
        if (i < l) return (float)((double)(i + 1) / (double)(l + 1));
    }
    if (k < w->n - 1) { /* ramp down across the overlap with window k + 1 */
        const int64_t r = s + w->len - sf_windows_start(w, k + 1);
        const int64_t j = i - (w->len - r);
        if (j >= 0) return (float)((double)(r - j) / (double)(r + 1));
    }
    return 1.0f;
}

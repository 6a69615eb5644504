/* sf_window.h — a long latent cut into overlapping temporal windows of the model's native
 * length, and the fixed blend weights of their predictions (docs/windows.md).
 *
 *   struct sf_windows w;
 *   SF_TRY(st, sf_windows_plan(61, 21, 5, &w));         // 61 latent frames: 4 windows
 *   for (int k = 0; k < w.n; k++)
 *       for (int64_t i = 0; i < w.len; i++)             // frame sf_windows_start(&w, k) + i
 *           v[...] += sf_windows_weight(&w, k, i) * pred_k[...];
 *
 * The cut depends on (frames, window, overlap) alone, never on who computes the windows:
 * windows of `window` frames start every window - overlap frames, and the last one is moved
 * back to end at the last frame (an uneven tail overlaps its neighbour more); a latent no longer
 * than `window` is one window of its own length. No frame is in more than two windows
 * (sf_window_rule.h). Weights ramp linearly across each overlap of L frames: the left window's
 * weight at overlap frame j (0..L-1) is (L - j) / (L + 1), the right one's (j + 1) / (L + 1),
 * so the two sum to 1; elsewhere a window's weight is 1.
 */
#ifndef SF_WINDOW_H
#define SF_WINDOW_H

#include <stdint.h>

#include "sf_window_rule.h"

struct sf_windows {
    int64_t frames; /* the whole latent's frames */
    int64_t len;    /* frames of every window (= frames when n is 1) */
    int64_t stride; /* window - overlap */
    int n;          /* windows, >= 1 */
};

/* Cuts `frames` latent frames (>= 1) with (window, overlap) as sf_window_rule_check allows.
 * SF_E_INVAL (logged) for a bad setting. */
int sf_windows_plan(int64_t frames, int window, int overlap, struct sf_windows *out);

/* First latent frame of window k (0 <= k < n). */
int64_t sf_windows_start(const struct sf_windows *w, int k);

/* Blend weight of window k at its local frame i (0 <= i < len), fp32 as the reference computes
 * it: float(numerator / denominator) in double. */
float sf_windows_weight(const struct sf_windows *w, int k, int64_t i);

#endif

/* sf_window_rule.h — what a temporal window setting may be, shared by the campaign file (tier
 * keys `window`, `overlap`), `shotfarm forward denoise` (--window, --overlap) and the engine
 * (node/sf_window.h cuts the latent), so that the three agree on the defaults and the limits.
 * Both values count LATENT frames (one latent frame = 4 video frames after the first). */
#ifndef SF_WINDOW_RULE_H
#define SF_WINDOW_RULE_H

#include <stddef.h>

/* The model's native length: 21 latent frames = 81 video frames (WAN-FACTS.md § 2). */
#define SF_WINDOW_DEFAULT 21
/* Latent frames two neighbouring windows share (20 video frames): blended by a linear ramp. */
#define SF_WINDOW_DEFAULT_OVERLAP 5
#define SF_WINDOW_MAX 1024

/* NULL when (window, overlap) is usable, else what is allowed (one phrase for an error line):
 * 2 <= window <= SF_WINDOW_MAX and 1 <= overlap <= window / 2 (so that no frame is in more
 * than two windows and every blend is one ramp between two neighbours). */
static inline const char *sf_window_rule_check(long window, long overlap)
{
    if (window < 2 || window > SF_WINDOW_MAX)
        return "window: a whole number of latent frames from 2 to 1024 (default 21 = 81 frames)";
    if (overlap < 1 || overlap > window / 2)
        return "overlap: a whole number of latent frames from 1 to window / 2 (default 5)";
    return NULL;
}

#endif

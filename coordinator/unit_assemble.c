/* unit_assemble.c — the `assemble` unit kind (sf_unit.h): one sequence in one delivered aspect,
 * its selected takes cut together and encoded for every length x language x codec. A CPU unit:
 * it runs on a CPU lane and never holds a worker group. Planned and priced today; rendering it is
 * the assembly issue's work, so render logs these units as `skipped`. */
#define _POSIX_C_SOURCE 200809L
#include "sf_plan.h"
#include "sf_status.h"
#include "sf_unit.h"

/* Encoder throughput in output pixels per second on one core: assumptions for x264 preset
 * medium, prores_ks HQ and FFV1 at 1080p. */
static double codec_pixels_per_second(enum sf_codec c)
{
    switch (c) {
    case SF_CODEC_H264: return 40e6;
    case SF_CODEC_PRORES: return 120e6;
    default: return 60e6;
    }
}

/* Per sequence and delivered aspect, after the decodes of its shots' selected takes (in the
 * rendered aspect it is made from); time from the codec throughput assumptions, no FLOPs. */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    for (int q = 0; q < sf_campaign_n_sequences(c); q++) {
        const struct sf_sequence *seq = sf_campaign_sequence(c, q);
        for (int a = 0; a < SF_ASPECT_COUNT; a++) {
            if (!dl->aspects[a] && (int)seq->aspect != a) continue;
            int src = dl->reframe ? (int)seq->aspect : a;
            int deps[SF_SCHED_MAX_DEPS], n_deps = 0;
            for (int k = 0; k < seq->n_shots && n_deps < SF_SCHED_MAX_DEPS; k++) {
                const int si = seq->first_shot + k;
                int d = sf_plan_find(b, &sf_unit_decode, si,
                                     sf_campaign_shot(c, si)->selected_take, src, -1);
                if (d >= 0) deps[n_deps++] = d;
            }
            int short_side = dl->resolution;
            double px = a == SF_ASPECT_1_1 ? (double)short_side * short_side
                                           : (double)short_side * short_side * 16.0 / 9.0;
            double secs = 0;
            int n_lang = 0;
            for (int l = 0; l < SF_LANG_COUNT; l++) n_lang += dl->languages[l];
            for (int li = 0; li < dl->n_lengths; li++)
                for (int cc = 0; cc < SF_CODEC_COUNT; cc++)
                    if (dl->codecs[cc])
                        secs += n_lang * sf_campaign_delivery_frames(dl->lengths[li], dl->fps) * px /
                                codec_pixels_per_second((enum sf_codec)cc);
            int u = sf_plan_add(b, &sf_unit_assemble, q, 0, 0, 2.0 * 4.0 * px * 8, deps, n_deps,
                                "%s %s assemble (%d lengths x %d languages)", seq->id,
                                sf_aspect_name((enum sf_aspect)a), dl->n_lengths, n_lang);
            if (u < 0) return SF_E_NOMEM;
            b->p->units[u].seconds = secs;
            b->p->units[u].aspect = a;
        }
    }
    return SF_OK;
}

const struct sf_unit_kind sf_unit_assemble = {
    .name = "assemble",
    .status_row = "assembly",
    .resource = SF_UNIT_CPU,
    .plan = plan,
    .skip_reason = "not part of render yet (assembly)",
};

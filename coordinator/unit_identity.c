/* unit_identity.c — the `identity` unit kind (sf_unit.h): an element's reference images (and
 * clip frames) VAE-encoded once into the identity bank, which every shot that names the element
 * depends on. Planned and priced today; rendering it is the identity issue's work, so render
 * logs these units as `skipped`. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cost.h"
#include "sf_plan.h"
#include "sf_status.h"
#include "sf_unit.h"

/* One per element with references, at the tier's 16:9 size. */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_tier *tier = sf_campaign_tier(b->c, b->opt->tier);
    for (int e = 0; e < sf_campaign_n_elements(b->c); e++) {
        const struct sf_element *el = sf_campaign_element(b->c, e);
        int frames = el->n_refs + (el->clip ? (int)(el->clip_seconds * 16) : 0);
        if (!frames) continue;
        int w = tier->width, h = tier->height;
        double fl = el->n_refs * sf_cost_vae_encode(b->m.vae_dim, 1, h / 8, w / 8);
        if (el->clip)
            fl += sf_cost_vae_encode(b->m.vae_dim, (frames - el->n_refs - 1) / 4 + 1, h / 8, w / 8);
        int u = sf_plan_add(b, &sf_unit_identity, -1, fl, b->opt->hw->eff_vae,
                            sf_plan_vae_mem(&b->m, w, h), NULL, 0, "identity %s (%d refs%s)",
                            el->id, el->n_refs, el->clip ? " + clip" : "");
        if (u < 0) return SF_E_NOMEM;
        b->p->units[u].element = e;
    }
    return SF_OK;
}

const struct sf_unit_kind sf_unit_identity = {
    .name = "identity",
    .status_row = "identity bank",
    .resource = SF_UNIT_GROUP,
    .ranks = SF_UNIT_LEADER,
    .plan = plan,
    .skip_reason = "not part of render yet (identity bank)",
};

/* sf_sampler_kind.h — the names of the samplers and sigma schedules, shared by the campaign
 * file (io/sf_campaign.h: what a tier asks for) and the engine (node/sf_sampler.h: what runs),
 * so that one file may include both. */
#ifndef SF_SAMPLER_KIND_H
#define SF_SAMPLER_KIND_H

enum sf_sampler_kind { SF_SAMPLER_UNIPC = 0, SF_SAMPLER_EULER = 1 };
enum sf_schedule_kind { SF_SCHEDULE_WAN = 0, SF_SCHEDULE_DIFFUSERS = 1 };

#endif

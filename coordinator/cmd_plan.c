/* cmd_plan.c — `shotfarm plan CAMPAIGN`: units, FLOPs, GPU-seconds, makespan, memory, cost and
 * the hosted price of the same video, as a table or one JSON document (sf_plan.h does the work). */
#define _POSIX_C_SOURCE 200809L
#include "sf_campaign.h"
#include "sf_cli.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_sampler.h"
#include "sf_status.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shotfarm plan CAMPAIGN [--nodes N] [--gpus-per-node G] [--tp K]\n"
            "                     [--gpu h100|h200|a100|l40s|cpu] [--tier draft|final]\n"
            "                     [--price-per-gpu-hour USD] [--credit-usd USD] [--model DIR]\n"
            "                     [--cfg-parallel] [--json]\n\n"
            "What the campaign will cost before anything runs: its work units (prompt encodings,\n"
            "identity bank, denoising per shot x take x aspect, VAE decodes, assembly), their\n"
            "FLOPs and time on the chosen hardware, peak memory per rank (refused when a unit\n"
            "cannot fit), the makespan of the farm's scheduler on the cluster, the cost, and the\n"
            "price of the same seconds of video from a hosted generator. docs/cost-model.md\n"
            "has the formulas; efficiencies and prices not yet measured are marked assumptions.\n\n"
            "  --nodes N              nodes (default 1)\n"
            "  --gpus-per-node G      devices per node (default 8; with --gpu cpu: ranks per node,\n"
            "                         default one worker group's worth, the campaign's tp)\n"
            "  --cores-per-rank N     with --gpu cpu: cores per rank (default: this machine's\n"
            "                         cores / ranks per node)\n"
            "  --mem-per-rank GIB     with --gpu cpu: memory per rank (default: this machine's\n"
            "                         memory / ranks per node)\n"
            "  --cpu-lanes N          CPU lanes per node for encodes (default 1, as render)\n"
            "  --cfg-parallel         as render --cfg-parallel: a guided denoise unit runs its\n"
            "                         two guidance branches on up to 2 groups (elastic gang)\n"
            "  --tp K                 tensor-parallel degree (default: the campaign's model.tp)\n"
            "  --gpu NAME             hardware profile (default h100)\n"
            "  --tier draft|final     which tier to plan (default final)\n"
            "  --price-per-gpu-hour X cost of one device-hour in USD (default: the profile's)\n"
            "  --credit-usd X         USD value of one hosted credit (default %.2f, an assumption)\n"
            "  --model DIR            size the model from this directory's DiT (config.json or\n"
            "                         shapes) instead of the campaign's model settings\n"
            "  --json                 one JSON document on stdout\n",
            SF_PLAN_DEFAULT_CREDIT_USD);
}

static const char *human(double v, char *buf, size_t n, const char *unit)
{
    static const char *pre[] = {"", "k", "M", "G", "T", "P", "E"};
    int i = 0;
    while (v >= 1000 && i < 6) v /= 1000, i++;
    snprintf(buf, n, "%.3g %s%s", v, pre[i], unit);
    return buf;
}

/* The model's name for the table: its config, else its directory. */
static const char *model_name(const struct sf_campaign *c, const struct sf_plan_options *o)
{
    const struct sf_model_settings *ms = sf_campaign_model(c);
    return o->model_dir ? o->model_dir : ms->config ? ms->config : ms->dir ? ms->dir : "?";
}

static void print_table(const struct sf_campaign *c, const struct sf_plan *p,
                        const struct sf_plan_options *o, double price)
{
    const struct sf_tier *t = sf_campaign_tier(c, o->tier);
    char b1[32], b2[32];
    printf("campaign %s, tier %s (%d steps, %dx%d, %s), model %s %s\n", sf_campaign_name(c),
           sf_tier_name(o->tier), t->steps, t->width, t->height,
           sf_sampler_kind_name(t->sampler), model_name(c, o),
           sf_campaign_model(c)->dtype);
    printf("cluster: %d node(s) x %d %s (%s), tp %d -> %d worker group(s), %d CPU lane(s)\n\n",
           o->nodes, o->devices_per_node, o->hw->name, o->hw->description, o->tp, p->n_groups,
           p->n_lanes);
    printf("%-24s %6s %8s %12s %12s %9s\n", "sequence", "units", "denoise", "FLOPs",
           o->hw->is_cpu ? "core-s" : "GPU-s", "video s");
    int nseq = sf_campaign_n_sequences(c);
    for (int q = -1; q < nseq; q++) {
        int units = 0, dn = 0;
        double fl = 0, secs = 0, video = 0;
        for (int i = 0; i < p->n_units; i++) {
            const struct sf_plan_unit *u = &p->units[i];
            if (u->sequence != q) continue;
            units++;
            dn += u->kind == &sf_unit_denoise;
            fl += u->flops;
            secs += u->seconds * o->tp;
            video += u->video_seconds;
        }
        if (!units) continue;
        printf("%-24s %6d %8d %12s %12.1f %9.1f\n",
               q < 0 ? "(prompts, identity bank)" : sf_campaign_sequence(c, q)->id, units, dn,
               human(fl, b1, sizeof b1, "FLOP"), secs, video);
    }
    printf("%-24s %6d %8s %12s %12.1f %9.1f\n\n", "total", p->n_units, "",
           human(p->total_flops, b1, sizeof b1, "FLOP"), p->device_seconds, p->video_seconds);
    printf("makespan %.1f s on %d group(s) (utilisation %.0f%%); critical path %.1f s:\n",
           p->sim.makespan, p->n_groups, 100 * p->sim.utilisation, p->sim.critical_path);
    for (int k = 0; k < p->sim.path_len; k++)
        printf("  %s%s (%.1f s)\n", k ? "-> " : "   ", p->units[p->sim.path[k]].name,
               p->units[p->sim.path[k]].seconds);
    printf("peak memory per rank: %s (%s); a %s has %s\n",
           human(p->peak_mem_bytes, b1, sizeof b1, "B"),
           p->n_units ? p->units[p->peak_mem_unit].name : "-", o->hw->name,
           human(o->hw->mem_bytes, b2, sizeof b2, "B"));
    int devices = o->nodes * o->devices_per_node;
    printf("cost: %d %s x %.1f s x $%.2f/h = $%.2f (devices used %.1f%% of that time)\n", devices,
           o->hw->name, p->sim.makespan, price, p->cost_usd, 100 * p->sim.utilisation);
    printf("\nhosted, the same %.1f s of video (%s%s):\n", p->video_seconds,
           p->uses_references ? "with references" : "prompt only",
           p->has_dialogue ? ", with dialogue" : "");
    for (const struct sf_hosted_rate *r = sf_plan_hosted_rates(); r->name; r++) {
        int match = r->omni == p->uses_references && r->audio == p->has_dialogue;
        double credits = r->credits_per_second * p->video_seconds;
        printf("  %-32s %3.0f credits/s %9.0f credits  $%10.2f%s\n", r->name,
               r->credits_per_second, credits, credits * o->credit_usd,
               match ? "   <- comparable" : "");
    }
    printf("\nassumptions: efficiencies %s (DiT %.0f%%, VAE %.0f%%, text %.0f%% of peak); tp > 1 "
           "loses 10%% to all-reduces; device price $%.2f/h%s; %s; hosted: %s; credit = $%.3f\n",
           o->hw->efficiency_source, 100 * o->hw->eff_dit, 100 * o->hw->eff_vae,
           100 * o->hw->eff_text, price, o->price_per_hour > 0 ? "" : " (profile default)",
           sf_plan_encoder_source, sf_plan_hosted_source, o->credit_usd);
}

static void print_json(const struct sf_campaign *c, const struct sf_plan *p,
                       const struct sf_plan_options *o, double price)
{
    struct sf_jw w;
    sf_jw_init(&w, stdout, 2);
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "campaign");
    sf_jw_str(&w, sf_campaign_name(c));
    sf_jw_key(&w, "tier");
    sf_jw_str(&w, sf_tier_name(o->tier));
    sf_jw_key(&w, "cluster");
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "nodes"); sf_jw_int(&w, o->nodes);
    sf_jw_key(&w, "devices_per_node"); sf_jw_int(&w, o->devices_per_node);
    sf_jw_key(&w, "device"); sf_jw_str(&w, o->hw->name);
    sf_jw_key(&w, "tp"); sf_jw_int(&w, o->tp);
    sf_jw_key(&w, "groups"); sf_jw_int(&w, p->n_groups);
    sf_jw_key(&w, "cpu_lanes"); sf_jw_int(&w, p->n_lanes);
    sf_jw_key(&w, "device_description"); sf_jw_str(&w, o->hw->description);
    sf_jw_key(&w, "device_mem_bytes"); sf_jw_num(&w, o->hw->mem_bytes);
    sf_jw_obj_end(&w);
    sf_jw_key(&w, "units");
    sf_jw_arr_begin(&w);
    for (int i = 0; i < p->n_units; i++) {
        const struct sf_plan_unit *u = &p->units[i];
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "name"); sf_jw_str(&w, u->name);
        sf_jw_key(&w, "kind"); sf_jw_str(&w, u->kind->name);
        sf_jw_key(&w, "resource"); sf_jw_str(&w, u->kind->resource == SF_UNIT_CPU ? "cpu" : "group");
        sf_jw_key(&w, "gang"); sf_jw_int(&w, u->gang);
        sf_jw_key(&w, "sequence");
        if (u->sequence >= 0) sf_jw_str(&w, sf_campaign_sequence(c, u->sequence)->id);
        else sf_jw_null(&w);
        sf_jw_key(&w, "flops"); sf_jw_num(&w, u->flops);
        sf_jw_key(&w, "seconds"); sf_jw_num(&w, u->seconds);
        sf_jw_key(&w, "mem_bytes"); sf_jw_num(&w, u->mem_bytes);
        sf_jw_key(&w, "start"); sf_jw_num(&w, p->sim.start[i]);
        sf_jw_key(&w, "group"); sf_jw_int(&w, p->sim.group[i]);
        sf_jw_key(&w, "deps");
        sf_jw_arr_begin(&w);
        for (int k = 0; k < p->sched[i].n_deps; k++) sf_jw_int(&w, p->sched[i].deps[k]);
        sf_jw_arr_end(&w);
        sf_jw_obj_end(&w);
    }
    sf_jw_arr_end(&w);
    sf_jw_key(&w, "total");
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "units"); sf_jw_int(&w, p->n_units);
    sf_jw_key(&w, "flops"); sf_jw_num(&w, p->total_flops);
    sf_jw_key(&w, "device_seconds"); sf_jw_num(&w, p->device_seconds);
    sf_jw_key(&w, "video_seconds"); sf_jw_num(&w, p->video_seconds);
    sf_jw_key(&w, "makespan_seconds"); sf_jw_num(&w, p->sim.makespan);
    sf_jw_key(&w, "utilisation"); sf_jw_num(&w, p->sim.utilisation);
    sf_jw_key(&w, "critical_path_seconds"); sf_jw_num(&w, p->sim.critical_path);
    sf_jw_key(&w, "critical_path");
    sf_jw_arr_begin(&w);
    for (int k = 0; k < p->sim.path_len; k++) sf_jw_str(&w, p->units[p->sim.path[k]].name);
    sf_jw_arr_end(&w);
    sf_jw_key(&w, "peak_mem_bytes_per_rank"); sf_jw_num(&w, p->peak_mem_bytes);
    sf_jw_key(&w, "device_mem_bytes"); sf_jw_num(&w, o->hw->mem_bytes);
    sf_jw_key(&w, "price_per_device_hour"); sf_jw_num(&w, price);
    sf_jw_key(&w, "cost_usd"); sf_jw_num(&w, p->cost_usd);
    sf_jw_obj_end(&w);
    sf_jw_key(&w, "hosted");
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "source"); sf_jw_str(&w, sf_plan_hosted_source);
    sf_jw_key(&w, "credit_usd"); sf_jw_num(&w, o->credit_usd);
    sf_jw_key(&w, "assumption"); sf_jw_bool(&w, 1);
    sf_jw_key(&w, "rates");
    sf_jw_arr_begin(&w);
    for (const struct sf_hosted_rate *r = sf_plan_hosted_rates(); r->name; r++) {
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "name"); sf_jw_str(&w, r->name);
        sf_jw_key(&w, "credits_per_second"); sf_jw_num(&w, r->credits_per_second);
        sf_jw_key(&w, "credits"); sf_jw_num(&w, r->credits_per_second * p->video_seconds);
        sf_jw_key(&w, "usd"); sf_jw_num(&w, r->credits_per_second * p->video_seconds * o->credit_usd);
        sf_jw_key(&w, "comparable");
        sf_jw_bool(&w, r->omni == p->uses_references && r->audio == p->has_dialogue);
        sf_jw_obj_end(&w);
    }
    sf_jw_arr_end(&w);
    sf_jw_obj_end(&w);
    sf_jw_key(&w, "assumptions");
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "efficiency_source"); sf_jw_str(&w, o->hw->efficiency_source);
    sf_jw_key(&w, "eff_dit"); sf_jw_num(&w, o->hw->eff_dit);
    sf_jw_key(&w, "eff_vae"); sf_jw_num(&w, o->hw->eff_vae);
    sf_jw_key(&w, "eff_text"); sf_jw_num(&w, o->hw->eff_text);
    sf_jw_key(&w, "peak_flops"); sf_jw_num(&w, o->hw->peak_flops);
    sf_jw_key(&w, "encoders"); sf_jw_str(&w, sf_plan_encoder_source);
    sf_jw_obj_end(&w);
    sf_jw_obj_end(&w);
    sf_jw_finish(&w);
}

int sf_cmd_plan(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"nodes", required_argument, 0, 'n'}, {"gpus-per-node", required_argument, 0, 'g'},
        {"tp", required_argument, 0, 't'},    {"gpu", required_argument, 0, 'G'},
        {"tier", required_argument, 0, 'T'},  {"price-per-gpu-hour", required_argument, 0, 'p'},
        {"credit-usd", required_argument, 0, 'c'}, {"json", no_argument, 0, 'j'},
        {"model", required_argument, 0, 'm'},
        {"cores-per-rank", required_argument, 0, 'C'}, {"mem-per-rank", required_argument, 0, 'M'},
        {"cpu-lanes", required_argument, 0, 'L'},
        {"cfg-parallel", no_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
    };
    long cores_per_rank = 0;
    double mem_gib = 0;
    int gpus_given = 0;
    struct sf_hw_profile cpu;
    char cpu_desc[256];
    struct sf_plan_options o = {.hw = sf_plan_profile("h100"), .nodes = 1, .devices_per_node = 8,
                                .tp = 0, .tier = SF_TIER_FINAL, .credit_usd = SF_PLAN_DEFAULT_CREDIT_USD};
    int json = 0, st = SF_OK, opt, tier;
    long v;
    struct sf_campaign *c = NULL;
    struct sf_diags *d = NULL;
    struct sf_plan p = {0};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': SF_TRY(st, sf_cli_parse_int("plan", "--nodes", optarg, 1, 100000, &v)); o.nodes = (int)v; break;
        case 'g': SF_TRY(st, sf_cli_parse_int("plan", "--gpus-per-node", optarg, 1, 1024, &v)); o.devices_per_node = (int)v; gpus_given = 1; break;
        case 'C': SF_TRY(st, sf_cli_parse_int("plan", "--cores-per-rank", optarg, 1, 4096, &cores_per_rank)); break;
        case 'M': SF_TRY(st, sf_cli_parse_double("plan", "--mem-per-rank", optarg, 0.01, 1e6, &mem_gib)); break;
        case 'L': SF_TRY(st, sf_cli_parse_int("plan", "--cpu-lanes", optarg, 1, 16, &v)); o.cpu_lanes = (int)v; break;
        case 'P': o.cfg_parallel = 1; break;
        case 't': SF_TRY(st, sf_cli_parse_int("plan", "--tp", optarg, 1, 1024, &v)); o.tp = (int)v; break;
        case 'G':
            o.hw = sf_plan_profile(optarg);
            if (!o.hw) return sf_cli_usage_error("plan", "--gpu: unknown profile '%s' (h100, h200, a100, l40s, cpu)", optarg);
            break;
        case 'T':
            if (sf_cli_parse_tier("plan", optarg, &tier)) return SF_E_USAGE;
            o.tier = (enum sf_tier_kind)tier;
            break;
        case 'p': SF_TRY(st, sf_cli_parse_double("plan", "--price-per-gpu-hour", optarg, 0, 1e6, &o.price_per_hour)); break;
        case 'c': SF_TRY(st, sf_cli_parse_double("plan", "--credit-usd", optarg, 0, 1e6, &o.credit_usd)); break;
        case 'j': json = 1; break;
        case 'm': o.model_dir = optarg; break;
        case 'h': usage(stdout); return SF_OK;
        default: return sf_cli_usage_error("plan", "unknown option");
        }
    }
    if (optind != argc - 1) return sf_cli_usage_error("plan", "expected one campaign file");
    st = sf_campaign_load(argv[optind], SF_CAMPAIGN_NO_MEDIA, &c, &d);
    if (st) {
        sf_diags_print(d, stderr);
        goto out;
    }
    if (!o.tp) o.tp = sf_campaign_model(c)->tp;
    if (o.hw->is_cpu) { /* one rank per node unless told; cores and memory of this machine */
        if (!gpus_given) o.devices_per_node = o.tp;
        sf_plan_cpu_profile(o.hw, o.devices_per_node, (int)cores_per_rank, mem_gib * 1073741824.0,
                            &cpu, cpu_desc, sizeof cpu_desc);
        o.hw = &cpu;
    }
    if ((cores_per_rank || mem_gib > 0) && !o.hw->is_cpu)
        return sf_cli_usage_error("plan", "--cores-per-rank and --mem-per-rank describe CPU "
                                  "ranks: use them with --gpu cpu");
    SF_TRY(st, sf_plan_build(c, &o, &p));
    double price = o.price_per_hour > 0 ? o.price_per_hour : o.hw->price_per_hour;
    if (json) print_json(c, &p, &o, price);
    else print_table(c, &p, &o, price);
out:
    sf_plan_fini(&p);
    sf_campaign_destroy(c);
    sf_diags_destroy(d);
    return st;
}

/* cmd_validate.c — `shotfarm validate CAMPAIGN...`: loads each campaign file, prints every
 * problem as "FILE:LINE:COL: FIELD: what is wrong; allowed: ..." on stderr (like a compiler),
 * and a one-line summary per valid file on stdout (or one JSON document with --json).
 * Exit 0 when every file is valid, 2 when any is not (docs/cli.md). The checks themselves live
 * in io/campaign*.c; this file is only the command line. SF_MINIMAL builds have no libfyaml:
 * there the command says so (main.c already refuses it; the symbol must still exist). */
#define _POSIX_C_SOURCE 200809L
#include "sf_build_info.h"
#include "sf_cli.h"
#include "sf_status.h"

#if SF_BUILD_MINIMAL
int sf_cmd_validate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return sf_cli_not_built("validate", "campaign files need the full build (libfyaml, libav*)");
}
#else
#include "sf_campaign.h"
#include "sf_cli.h"
#include "sf_json.h"
#include "sf_sampler.h"
#include "sf_status.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: shotfarm validate [--json] [--no-media] CAMPAIGN...\n\n"
               "Checks campaign files (YAML, or JSON when the name ends in .json) and reports\n"
               "every problem at once, one line each:\n"
               "  FILE:LINE:COL: FIELD: what is wrong; allowed: what is allowed\n"
               "Reference images and clips are decoded to prove they are real media.\n\n"
               "options:\n"
               "  --json       one JSON document on stdout: per file, valid, diagnostics, summary\n"
               "               (shots, seconds, frames, and every tier with its defaults)\n"
               "  --no-media   check that reference files exist, without decoding them\n"
               "  -h, --help   this text\n\n"
               "exit codes: 0 all valid, 2 a file is invalid or unreadable (docs/campaign.md)\n");
}

static void summary_json(struct sf_jw *w, const struct sf_campaign *c)
{
    long long ms = 0, frames = 0;
    for (int i = 0; i < sf_campaign_n_shots(c); i++) {
        ms += sf_campaign_shot(c, i)->duration_ms;
        frames += sf_campaign_shot(c, i)->frames;
    }
    sf_jw_key(w, "campaign");
    sf_jw_str(w, sf_campaign_name(c));
    sf_jw_key(w, "elements");
    sf_jw_int(w, sf_campaign_n_elements(c));
    sf_jw_key(w, "sequences");
    sf_jw_int(w, sf_campaign_n_sequences(c));
    sf_jw_key(w, "shots");
    sf_jw_int(w, sf_campaign_n_shots(c));
    sf_jw_key(w, "seconds");
    sf_jw_num(w, ms / 1000.0);
    sf_jw_key(w, "frames");
    sf_jw_int(w, frames);
    /* every tier as render will run it, defaults filled in (docs/campaign.md § tiers) */
    sf_jw_key(w, "tiers");
    sf_jw_obj_begin(w);
    for (int k = 0; k < SF_TIER_COUNT; k++) {
        const struct sf_tier *t = sf_campaign_tier(c, (enum sf_tier_kind)k);
        char res[32];
        snprintf(res, sizeof res, "%dx%d", t->width, t->height);
        sf_jw_key(w, sf_tier_name((enum sf_tier_kind)k));
        sf_jw_obj_begin(w);
        sf_jw_key(w, "steps"), sf_jw_int(w, t->steps);
        sf_jw_key(w, "resolution"), sf_jw_str(w, res);
        sf_jw_key(w, "sampler"), sf_jw_str(w, sf_sampler_kind_name(t->sampler));
        sf_jw_key(w, "schedule"), sf_jw_str(w, sf_schedule_kind_name(t->schedule));
        sf_jw_key(w, "shift"), sf_jw_num(w, t->shift);
        sf_jw_key(w, "guidance"), sf_jw_num(w, t->guidance);
        sf_jw_key(w, "max_refs"), sf_jw_int(w, t->max_refs);
        sf_jw_key(w, "window"), sf_jw_int(w, t->window);
        sf_jw_key(w, "overlap"), sf_jw_int(w, t->overlap);
        sf_jw_obj_end(w);
    }
    sf_jw_obj_end(w);
}

int sf_cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"no-media", no_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int json = 0;
    unsigned flags = 0;
    int opt;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = 1; break;
        case 'm': flags |= SF_CAMPAIGN_NO_MEDIA; break;
        case 'h': usage(stdout); return SF_OK;
        default: return sf_cli_usage_error("validate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return sf_cli_usage_error("validate", "missing CAMPAIGN file");

    struct sf_jw w;
    if (json) {
        sf_jw_init(&w, stdout, 2);
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "files");
        sf_jw_arr_begin(&w);
    }
    int result = SF_OK;
    for (int a = optind; a < argc; a++) {
        struct sf_campaign *c = NULL;
        struct sf_diags *d = NULL;
        int st = sf_campaign_load(argv[a], flags, &c, &d);
        if (st == SF_E_NOMEM) {
            fprintf(stderr, "shotfarm validate: %s: out of memory\n", argv[a]);
            sf_diags_destroy(d);
            return SF_E_NOMEM;
        }
        if (st != SF_OK) result = SF_E_VALIDATION;
        if (json) {
            sf_jw_obj_begin(&w);
            sf_jw_key(&w, "file");
            sf_jw_str(&w, argv[a]);
            sf_jw_key(&w, "valid");
            sf_jw_bool(&w, st == SF_OK);
            sf_jw_key(&w, "diagnostics");
            sf_jw_arr_begin(&w);
            for (int i = 0; i < sf_diags_count(d); i++) {
                const struct sf_diag *g = sf_diags_get(d, i);
                sf_jw_obj_begin(&w);
                sf_jw_key(&w, "line");
                sf_jw_int(&w, g->line);
                sf_jw_key(&w, "column");
                sf_jw_int(&w, g->col);
                sf_jw_key(&w, "field");
                sf_jw_str(&w, g->field);
                sf_jw_key(&w, "message");
                sf_jw_str(&w, g->msg);
                sf_jw_obj_end(&w);
            }
            sf_jw_arr_end(&w);
            if (c) summary_json(&w, c);
            sf_jw_obj_end(&w);
        } else if (c) {
            long long ms = 0;
            for (int i = 0; i < sf_campaign_n_shots(c); i++) ms += sf_campaign_shot(c, i)->duration_ms;
            printf("%s: ok: campaign '%s', %d element%s, %d sequence%s, %d shot%s, %.1f s\n",
                   argv[a], sf_campaign_name(c), sf_campaign_n_elements(c),
                   sf_campaign_n_elements(c) == 1 ? "" : "s", sf_campaign_n_sequences(c),
                   sf_campaign_n_sequences(c) == 1 ? "" : "s", sf_campaign_n_shots(c),
                   sf_campaign_n_shots(c) == 1 ? "" : "s", ms / 1000.0);
        } else {
            sf_diags_print(d, stderr);
            int n = sf_diags_total(d);
            fprintf(stderr, "%s: %d problem%s\n", argv[a], n, n == 1 ? "" : "s");
        }
        sf_campaign_destroy(c);
        sf_diags_destroy(d);
    }
    if (json) {
        sf_jw_arr_end(&w);
        sf_jw_obj_end(&w);
        sf_jw_finish(&w);
    }
    return result;
}
#endif

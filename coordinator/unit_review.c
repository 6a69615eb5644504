/* unit_review.c — the `review` unit kind (sf_unit.h, docs/review.md § Review copies): with
 * `deliverables.review_copies: true`, per spot and language an H.264 review copy with
 * burned-in version code, timecode, NOT FOR AIR and the language's subtitles, carrying the
 * language's mix (io/sf_review_copy.h):
 * RUNDIR/out/review/NAME[_vN]_review.mp4, NAME and version those of the spot file it copies. A
 * CPU unit after the spot's assemble unit; the spot files themselves never carry burn-ins. The
 * copy is made from the spot's best picture (ProRes, else FFV1, else H.264). */
#define _POSIX_C_SOURCE 200809L
#include "sf_assemble.h"
#include "sf_audio.h"
#include "sf_json.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_review.h"
#include "sf_review_copy.h"
#include "sf_status.h"
#include "sf_unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    if (!dl->review_copies) return SF_OK;
    int n_lang = 0;
    for (int l = 0; l < SF_LANG_COUNT; l++)
        n_lang += dl->languages[l];
    const int n_units = b->p->n_units;
    for (int i = 0; i < n_units; i++) {
        const struct sf_plan_unit *a = &b->p->units[i];
        if (a->kind != &sf_unit_assemble) continue;
        struct sf_assemble_cut cut;
        char len[16];
        int w, h;
        sf_assemble_spot_cut(c, a->sequence, a->aspect, a->length, &cut);
        sf_assemble_length_tag(c, a->length, len, sizeof len);
        sf_assemble_size(dl->resolution, a->aspect, &w, &h);
        int u = sf_plan_add(b, &sf_unit_review, a->sequence, 0, 0, 6.0 * w * h * 4, &i, 1,
                            "%s %s %s review copies", sf_campaign_sequence(c, a->sequence)->id,
                            sf_aspect_name((enum sf_aspect)a->aspect), len);
        if (u < 0) return SF_E_NOMEM;
        b->p->units[u].seconds =
            n_lang * sf_assemble_seconds(SF_CODEC_H264, SF_TIER_DRAFT, cut.frames, w, h);
        b->p->units[u].aspect = a->aspect;
        b->p->units[u].length = a->length;
    }
    return SF_OK;
}

static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u, (void)c;
    const struct sf_render_job *spot = &s->jobs[s->sched[j - s->jobs].deps[0]];
    snprintf(j->stem, sizeof j->stem, "%s", spot->stem);
    snprintf(j->out, sizeof j->out, "%s/out/.units/%s.review.json", s->rundir, j->stem);
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.review.v1");
    sf_canon_str(&cn, "spot", spot->key);
    sf_canon_str(&cn, "font", SF_REVIEW_COPY_FONT);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

/* The file of `role` ("mix", "srt") that sound job j delivered, from its record. */
static int sound_file(const struct sf_render_job *j, const char *role, char *path, size_t n)
{
    char *text = NULL;
    struct sf_json_doc *doc = NULL;
    int st = sf_review_load_json(j->out, &text, &doc);
    const struct sf_json *files = doc ? sf_json_get(sf_json_root(doc), "files") : NULL;
    path[0] = '\0';
    for (size_t i = 0; files && files->type == SF_JSON_ARRAY && i < files->n; i++) {
        const char *r = sf_json_get_str(files->items[i], "role");
        const char *p = sf_json_get_str(files->items[i], "path");
        if (r && p && strcmp(r, role) == 0) snprintf(path, n, "%s", p);
    }
    if (st == SF_OK && !path[0]) {
        SF_ERROR("review", "%s: lists no %s; delete it and run the same render again", j->out,
                 role);
        st = SF_E_FORMAT;
    }
    sf_json_free(doc);
    free(text);
    return st;
}

/* Codec preference for the copy's source: the least compressed picture. */
static int rank_of(enum sf_codec c)
{
    return c == SF_CODEC_PRORES ? 0 : c == SF_CODEC_FFV1 ? 1 : 2;
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    const struct sf_render_setup *s = w->s;
    const struct sf_campaign *c = s->campaign;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    struct sf_review_file files[SF_REVIEW_MAX_FILES];
    char outs[SF_LANG_COUNT][SF_RENDER_PATH_MAX + 300];
    const char *paths[SF_LANG_COUNT];
    int n = 0, n_out = 0;
    const int a = s->sched[j - s->jobs].deps[0]; /* the spot's assemble job */
    float *sound = NULL;
    int st = sf_review_read_record(&s->jobs[a], files, &n);
    if (st) return st;
    char disclosure[1024], comment[1100], title[300];
    sf_review_disclosure(s, disclosure, sizeof disclosure);
    snprintf(comment, sizeof comment, "REVIEW COPY, NOT FOR AIR. %s", disclosure);
    for (int l = 0; l < SF_LANG_COUNT; l++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (files[i].lang == (enum sf_lang)l &&
                (best < 0 || rank_of(files[i].codec) < rank_of(files[best].codec)))
                best = i;
        if (best < 0) continue;
        const struct sf_review_file *f = &files[best];
        /* the version code: the spot's code (CODE0001) or its name, version, language */
        char label[128], code[64];
        snprintf(code, sizeof code, "%s", f->name);
        if (dl->code) code[strcspn(code, "_")] = '\0';
        snprintf(label, sizeof label, "%s v%d %s", code, f->version, sf_lang_name(f->lang));
        snprintf(title, sizeof title, "%s review copy", f->name);
        if (f->version > 1)
            snprintf(outs[n_out], sizeof outs[n_out], "%s/out/review/%s_v%d_review.mp4",
                     s->rundir, f->name, f->version);
        else
            snprintf(outs[n_out], sizeof outs[n_out], "%s/out/review/%s_review.mp4", s->rundir,
                     f->name);
        /* the language's mix and subtitles: the sound job the spot's assembly took them from */
        char srt[SF_RENDER_PATH_MAX + 1024] = "", mix[SF_RENDER_PATH_MAX + 1024];
        struct stat sb;
        free(sound); /* none unless this language has its sound */
        sound = NULL;
        for (int k = 0; k < s->sched[a].n_deps; k++) {
            const struct sf_render_job *dj = &s->jobs[s->sched[a].deps[k]];
            if (dj->kind != &sf_unit_sound || dj->language != l) continue;
            int64_t got = 0;
            const int64_t want = sf_deliver_samples(f->frames, dl->fps);
            SF_TRY(st, sound_file(dj, "srt", srt, sizeof srt));
            SF_TRY(st, sound_file(dj, "mix", mix, sizeof mix));
            SF_TRY(st, sf_audio_decode(mix, want, &sound, &got, NULL, 0));
            if (got != want) {
                SF_ERROR("review", "%s: %lld samples, the copy needs %lld; delete it and run the "
                         "same render again", mix, (long long)got, (long long)want);
                st = SF_E_FORMAT;
                goto out;
            }
        }
        struct sf_review_copy_opts o = {.label = label,
                                        /* no lines (an empty SRT): nothing for libass */
                                        .subtitles = srt[0] && stat(srt, &sb) == 0 && sb.st_size > 0
                                                         ? srt
                                                         : NULL,
                                        .sound = sound,
                                        .deliver = {.codec = SF_CODEC_H264,
                                                    .fps = dl->fps,
                                                    .frames = f->frames,
                                                    .crf = 23,
                                                    .preset = "veryfast",
                                                    .threads = 2,
                                                    .title = title,
                                                    .comment = comment},
                                        .progress = sf_review_alive,
                                        .progress_arg = (void *)r};
        sf_assemble_size(dl->resolution, j->aspect, &o.deliver.width, &o.deliver.height);
        sf_assemble_timecode(dl, o.deliver.timecode, sizeof o.deliver.timecode);
        SF_TRY(st, sf_render_mkdirs(outs[n_out], 1));
        SF_TRY(st, sf_review_copy(f->path, outs[n_out], &o));
        SF_INFO("review", "%s: %s -> %s", j->name, f->path, outs[n_out]);
        paths[n_out] = outs[n_out];
        n_out++;
    }
    st = sf_review_write_record(j, paths, n_out, NULL, NULL);
out:
    free(sound);
    return st;
}

const struct sf_unit_kind sf_unit_review = {
    .name = "review",
    .status_row = "review",
    .resource = SF_UNIT_CPU,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = sf_assemble_output_ok,
    .remove_output = sf_assemble_remove_record,
};

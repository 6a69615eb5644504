/* unit_assemble.c — the `assemble` unit kind (sf_unit.h, docs/deliverables.md): one sequence in
 * one delivered aspect at one length becomes its deliverable files, every language x codec,
 * from the selected takes' shot files. A CPU unit: it runs on a CPU lane and never holds a
 * worker group.
 *
 * The time line (docs/campaign.md § Deliverable lengths): the shots of the length's cut play in
 * order; cut model frame m (16 fps, counted from the cut's start; shot k begins at model frame
 * ceil(16 x T_k / 1000), T_k its start in ms) starts at delivery frame floor(m x r / 16), and the
 * file has exactly L x nominal(r) frames. `conform: repeat` shows in delivery frame f the last
 * model frame started by then; `conform: blend` mixes the two model frames around f's time by
 * its position between them (never across a cut). Pictures are covered and centre-cropped to
 * the delivery size and encoded once per codec; each language gets its own file of the same
 * picture (and, until the sound issue lands, silence of the exact length).
 *
 * The subtle thing: a delivered file is never overwritten. When a unit's inputs change (a
 * selected take, a cut), its new files get the next version (`_v2`), RUNDIR/out/deliverables.json
 * marks them current, and resume never removes the old ones. */
#define _GNU_SOURCE
#include "sf_assemble.h"
#include "sf_audio.h"
#include "sf_brand.h"
#include "sf_deliver.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_hash.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_review.h"
#include "sf_shot_file.h"
#include "sf_status.h"
#include "sf_unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define THREADS 2 /* encoder threads: fixed, so the bytes do not depend on the node */
#define MAX_FILES (SF_LANG_COUNT * SF_CODEC_COUNT)

/* Delivery pixels per second on one encoder thread, scaling and conversion included: measured by
 * bench/assemble at 1080p from 832x480 on the 2-core test machine (BENCHMARKS.md § Assembly). */
static double codec_pixels_per_second(enum sf_codec c, int tier)
{
    switch (c) {
    case SF_CODEC_H264: return tier == SF_TIER_FINAL ? 9.1e6 : 26.7e6; /* medium / veryfast */
    case SF_CODEC_PRORES: return 7.9e6;
    default: return 12.7e6;
    }
}

double sf_assemble_seconds(enum sf_codec c, int tier, int64_t frames, int width, int height)
{
    return (double)frames * width * height / (THREADS * codec_pixels_per_second(c, tier));
}

const char *const sf_plan_encoder_source =
    "encoders per thread, measured (BENCHMARKS.md § Assembly, 1080p): h264 26.7 (draft, "
    "veryfast) / 9.1 (final, medium), prores HQ 7.9, ffv1 12.7 Mpixel/s, 2 threads per unit";

/* The delivery size of aspect a at `resolution` (the short side): 1080 -> 1920x1080,
 * 1080x1920, 1080x1080. */
void sf_assemble_size(int resolution, int a, int *w, int *h)
{
    const int long_side = (int)(resolution * 16.0 / 9.0 / 2.0 + 0.5) * 2;
    *w = a == SF_ASPECT_16_9 ? long_side : resolution;
    *h = a == SF_ASPECT_9_16 ? long_side : resolution;
}

/* The shots of sequence q at length index li (-1: all), and the frame count. */
static int cut_of(const struct sf_campaign *c, int q, int li, int shots[SF_CAMPAIGN_MAX_SHOTS],
                  int64_t *frames)
{
    const struct sf_sequence *seq = sf_campaign_sequence(c, q);
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    int n = 0;
    if (li >= 0) {
        const struct sf_cut *cut = &seq->cuts[li];
        for (int k = 0; k < cut->n_shots; k++)
            shots[n++] = seq->first_shot + cut->shots[k];
        *frames = sf_campaign_delivery_frames(dl->lengths[li], dl->fps);
    } else { /* the whole sequence: its real duration at the delivery rate, rounded down */
        for (int k = 0; k < seq->n_shots; k++)
            shots[n++] = seq->first_shot + k;
        *frames = (int64_t)seq->length_ms * dl->fps.num / (1000LL * dl->fps.den);
    }
    return n;
}

void sf_assemble_aspect_tag(int a, char *buf, size_t n)
{
    snprintf(buf, n, "%s", sf_aspect_name((enum sf_aspect)a));
    buf[strcspn(buf, ":")] = 'x';
}

/* "15s" or "full": the length in file names. */
static void length_tag(const struct sf_campaign *c, int li, char *buf, size_t n)
{
    if (li < 0)
        snprintf(buf, n, "full");
    else
        snprintf(buf, n, "%ds", sf_campaign_deliverables(c)->lengths[li]);
}

void sf_assemble_length_tag(const struct sf_campaign *c, int length, char *buf, size_t n)
{
    length_tag(c, length, buf, n);
}

/* ---- plan ---------------------------------------------------------------------------------- */

/* Per sequence, delivered aspect and length, after the decodes of the cut's selected takes (in
 * the rendered aspect it is made from); time from the encoders' throughputs, no FLOPs. */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    int n_lang = 0;
    for (int l = 0; l < SF_LANG_COUNT; l++)
        n_lang += dl->languages[l];
    for (int q = 0; q < sf_campaign_n_sequences(c); q++) {
        const struct sf_sequence *seq = sf_campaign_sequence(c, q);
        for (int a = 0; a < SF_ASPECT_COUNT; a++) {
            if (!dl->aspects[a] && (int)seq->aspect != a) continue;
            const int src = dl->reframe ? (int)seq->aspect : a;
            int w, h;
            sf_assemble_size(dl->resolution, a, &w, &h);
            for (int li = dl->n_lengths ? 0 : -1; li < dl->n_lengths; li++) {
                int shots[SF_CAMPAIGN_MAX_SHOTS], deps[SF_SCHED_MAX_DEPS], n_deps = 0;
                int64_t frames;
                const int n = cut_of(c, q, li, shots, &frames);
                for (int k = 0; k < n; k++) {
                    int d = sf_plan_find(b, &sf_unit_decode, shots[k],
                                         sf_campaign_shot(c, shots[k])->selected_take, src, -1);
                    SF_ASSERT(d >= 0); /* the decode kind comes first */
                    deps[n_deps++] = d;
                }
                for (int l = 0; l < SF_LANG_COUNT; l++) { /* each language's mix */
                    if (!dl->languages[l]) continue;
                    int d = -1;
                    for (int k = 0; k < b->p->n_units && d < 0; k++) {
                        const struct sf_plan_unit *pu = &b->p->units[k];
                        if (pu->kind == &sf_unit_sound && pu->sequence == q && pu->length == li &&
                            pu->language == l)
                            d = k;
                    }
                    SF_ASSERT(d >= 0); /* the sound kind comes first */
                    deps[n_deps++] = d;
                }
                double secs = 0;
                for (int cc = 0; cc < SF_CODEC_COUNT; cc++)
                    if (dl->codecs[cc])
                        secs += sf_assemble_seconds((enum sf_codec)cc, b->opt->tier, frames, w, h);
                if (sf_brand_per_language(&seq->brand, li) && n_lang > 1)
                    secs *= n_lang; /* supers: one encode per language (docs/brand.md) */
                char len[16];
                length_tag(c, li, len, sizeof len);
                int u = sf_plan_add(b, &sf_unit_assemble, q, 0, 0, 6.0 * w * h * 4, deps, n_deps,
                                    "%s %s %s assemble (%d language%s)", seq->id,
                                    sf_aspect_name((enum sf_aspect)a), len, n_lang,
                                    n_lang == 1 ? "" : "s");
                if (u < 0) return SF_E_NOMEM;
                b->p->units[u].seconds = secs;
                b->p->units[u].aspect = a;
                b->p->units[u].length = li;
            }
        }
    }
    return SF_OK;
}

/* ---- prepare ------------------------------------------------------------------------------- */

/* Timecode of the first frame as the muxers want it: "01:00:00:00", ';' before the frames for
 * drop-frame. */
void sf_assemble_timecode(const struct sf_deliverables *dl, char *buf, size_t n)
{
    snprintf(buf, n, "%02d:%02d:%02d%c%02d", dl->tc_start[0], dl->tc_start[1], dl->tc_start[2],
             dl->drop_frame ? ';' : ':', dl->tc_start[3]);
}

/* The brand layer in a spot's key (absent without one, so spots without it keep their keys):
 * what it draws in this edit, in every delivered language, and the images' contents. */
static int brand_canon(struct sf_canon *cn, const struct sf_brand *b, int length,
                       const struct sf_deliverables *dl)
{
    uint8_t dg[SF_SHA256_BYTES];
    int st = SF_OK;
    sf_canon_list_begin(cn, "supers", (size_t)b->n_supers);
    for (int k = 0; k < b->n_supers; k++) {
        const struct sf_super *sp = &b->supers[k];
        const int shown = length < 0 || (sp->lengths_mask >> length) & 1;
        sf_canon_list_begin(cn, NULL, SF_LANG_COUNT + 5);
        for (int l = 0; l < SF_LANG_COUNT; l++)
            sf_canon_str(cn, NULL, shown && dl->languages[l] ? sp->text[l] : NULL);
        sf_canon_int(cn, NULL, shown ? sp->in_ms : -1);
        sf_canon_int(cn, NULL, shown ? sp->out_ms : -1);
        sf_canon_int(cn, NULL, sp->position);
        sf_canon_int(cn, NULL, sp->font);
        sf_canon_f64(cn, NULL, sp->size);
        sf_canon_list_end(cn);
    }
    sf_canon_list_end(cn);
    memset(dg, 0, sizeof dg);
    if (b->logo.file && (st = sf_sha256_file(b->logo.file, dg)) != SF_OK) return st;
    sf_canon_digest(cn, "logo", dg);
    sf_canon_int(cn, "logo_position", b->logo.position);
    sf_canon_f64(cn, "logo_opacity", b->logo.opacity);
    sf_canon_f64(cn, "logo_size", b->logo.size);
    memset(dg, 0, sizeof dg);
    if (b->end_card.file && (st = sf_sha256_file(b->end_card.file, dg)) != SF_OK) return st;
    sf_canon_digest(cn, "end_card", dg);
    sf_canon_int(cn, "end_card_ms", b->end_card.duration_ms);
    return SF_OK;
}

/* The unit's record, RUNDIR/out/.units/SEQ.ASPECT.LENGTH.json; the key: every input of every
 * file it writes (the cut's shots through their decode keys, and the delivery settings). */
static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    const struct sf_sequence *seq = sf_campaign_sequence(c, j->sequence);
    char at[8], len[16], tc[16];
    sf_assemble_aspect_tag(j->aspect, at, sizeof at);
    length_tag(c, j->length, len, sizeof len);
    snprintf(j->stem, sizeof j->stem, "%s.%s.%s", seq->id, at, len);
    snprintf(j->out, sizeof j->out, "%s/out/.units/%s.json", s->rundir, j->stem);
    sf_assemble_timecode(dl, tc, sizeof tc);
    const int i = (int)(j - s->jobs);
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.assemble.v1");
    sf_canon_str(&cn, "campaign", sf_campaign_name(c));
    sf_canon_str(&cn, "sequence", seq->id);
    sf_canon_int(&cn, "aspect", j->aspect);
    sf_canon_int(&cn, "length", j->length >= 0 ? dl->lengths[j->length] : -1);
    sf_canon_int(&cn, "fps_num", dl->fps.num);
    sf_canon_int(&cn, "fps_den", dl->fps.den);
    sf_canon_int(&cn, "resolution", dl->resolution);
    sf_canon_int(&cn, "conform_blend", dl->conform_blend);
    sf_canon_str(&cn, "timecode", tc);
    sf_canon_str(&cn, "code", dl->code);
    sf_canon_int(&cn, "tier", s->tier);
    sf_canon_list_begin(&cn, "codecs", SF_CODEC_COUNT);
    for (int k = 0; k < SF_CODEC_COUNT; k++)
        sf_canon_int(&cn, NULL, dl->codecs[k]);
    sf_canon_list_end(&cn);
    sf_canon_list_begin(&cn, "languages", SF_LANG_COUNT);
    for (int k = 0; k < SF_LANG_COUNT; k++)
        sf_canon_int(&cn, NULL, dl->languages[k]);
    sf_canon_list_end(&cn);
    int n_shots = 0; /* the decodes come first, then each language's sound */
    while (n_shots < s->sched[i].n_deps && s->jobs[s->sched[i].deps[n_shots]].kind != &sf_unit_sound)
        n_shots++;
    sf_canon_list_begin(&cn, "shots", (size_t)n_shots);
    for (int k = 0; k < n_shots; k++) {
        const struct sf_render_job *dj = &s->jobs[s->sched[i].deps[k]];
        sf_canon_str(&cn, NULL, dj->key);
        sf_canon_int(&cn, NULL, sf_campaign_shot(c, dj->shot)->duration_ms);
        sf_canon_int(&cn, NULL, sf_campaign_shot(c, dj->shot)->lead);
    }
    sf_canon_list_end(&cn);
    sf_canon_list_begin(&cn, "sound", (size_t)(s->sched[i].n_deps - n_shots));
    for (int k = n_shots; k < s->sched[i].n_deps; k++)
        sf_canon_str(&cn, NULL, s->jobs[s->sched[i].deps[k]].key);
    sf_canon_list_end(&cn);
    struct sf_assemble_cut cut;
    sf_assemble_spot_cut(c, j->sequence, j->aspect, j->length, &cut);
    const int st = cut.brand ? brand_canon(&cn, cut.brand, j->length, dl) : SF_OK;
    sf_canon_end(&cn, d);
    if (st) return st;
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

/* ---- the picture time line ----------------------------------------------------------------- */

/* Where delivery frame f comes from: cut shot *k, its model frame *m and, for blend, the weight
 * *w (0..256) of frame *m + 1 (0 when none). starts[k] is shot k's first cut model frame, lead[k]
 * its first model frame played (a continuing shot's repeat of the continued one is not). */
static void source_of(int64_t f, struct sf_fps fps, int blend, const int64_t *starts,
                      const int *lead, const int *frames, int n, int *k, int64_t *m, int *w)
{
    const int64_t num = fps.num, den = fps.den;
    int64_t cm; /* the cut's model frame */
    *w = 0;
    if (!blend) { /* the last model frame whose start floor(cm r / 16) <= f */
        cm = ((f + 1) * 16 * den + num - 1) / num - 1;
    } else { /* f's time in model frames: cm + w / 256 */
        const int64_t p256 = f * 16 * den * 256 / num;
        cm = p256 / 256;
        *w = (int)(p256 % 256);
    }
    int kk = 0;
    while (kk + 1 < n && cm >= starts[kk + 1])
        kk++;
    int64_t local = cm - starts[kk] + lead[kk];
    if (local >= frames[kk]) local = frames[kk] - 1; /* the last shot's tail: dropped */
    if (*w && (local + 1 >= frames[kk] || (kk + 1 < n && cm + 1 >= starts[kk + 1])))
        *w = 0; /* never blend across a cut or past the shot */
    *k = kk;
    *m = local;
}

/* Shot k of the cut starts at cut model frame starts[k] with its model frame lead[k] and has
 * frames[k] model frames. */
static void cut_starts(const struct sf_campaign *c, const struct sf_assemble_cut *cut,
                       int64_t *starts, int *lead, int *frames)
{
    int64_t t_ms = 0;
    for (int k = 0; k < cut->n; k++) {
        const struct sf_shot *sh = sf_campaign_shot(c, cut->shots[k]);
        starts[k] = (16 * t_ms + 999) / 1000;
        lead[k] = sh->lead;
        frames[k] = sh->frames;
        t_ms += sh->duration_ms;
    }
}

void sf_assemble_spans(const struct sf_campaign *c, const struct sf_assemble_cut *cut,
                       int64_t *first, int64_t *count)
{
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    int frames[SF_CAMPAIGN_MAX_SHOTS], lead[SF_CAMPAIGN_MAX_SHOTS];
    int64_t starts[SF_CAMPAIGN_MAX_SHOTS];
    cut_starts(c, cut, starts, lead, frames);
    for (int k = 0; k < cut->n; k++)
        first[k] = -1, count[k] = 0;
    for (int64_t f = 0; f < cut->frames; f++) { /* the assembly's own rule, frame by frame */
        int k, w;
        int64_t m;
        source_of(f, dl->fps, dl->conform_blend, starts, lead, frames, cut->n, &k, &m, &w);
        if (first[k] < 0) first[k] = f;
        count[k]++;
    }
}

/* Reads shot files forward and keeps the last two frames read. */
struct feed {
    const struct sf_render_setup *s;
    const int *decode_jobs;
    int shot;                /* the open shot, -1 none */
    int64_t have;            /* frames of it read so far */
    struct sf_shot_reader *r;
    int width, height;
    uint8_t *prev, *last;    /* frames have - 2 and have - 1 */
};

/* Frame m of cut shot k in *a and, when b is not NULL, frame m + 1 in *b. Model frames are asked
 * for in time-line order, so the reader only moves forward. */
static int feed_get(struct feed *f, int k, int64_t m, const uint8_t **a, const uint8_t **b)
{
    int st = SF_OK;
    if (f->shot != k) {
        sf_shot_reader_close(f->r);
        f->r = NULL;
        f->shot = k;
        f->have = 0;
        SF_TRY(st, sf_shot_reader_open(f->s->jobs[f->decode_jobs[k]].out, &f->r));
        int w, h;
        sf_shot_reader_size(f->r, &w, &h);
        if (!f->last || w != f->width || h != f->height) {
            free(f->prev);
            free(f->last);
            f->prev = malloc((size_t)w * h * 3);
            f->last = malloc((size_t)w * h * 3);
            if (!f->prev || !f->last) return SF_E_NOMEM;
            f->width = w, f->height = h;
        }
    }
    const int64_t need = m + (b ? 2 : 1); /* frames read when done */
    while (f->have < need) {
        uint8_t *t = f->prev;
        f->prev = f->last;
        f->last = t;
        st = sf_shot_reader_next(f->r, f->last);
        if (st == SF_E_NOTFOUND) {
            SF_ERROR("assemble", "%s: ends after %lld frames, the time line needs frame %lld; "
                     "delete it and run the same render again (its decode unit remakes it)",
                     f->s->jobs[f->decode_jobs[k]].out, (long long)f->have, (long long)need);
            return SF_E_FORMAT;
        }
        if (st) return st;
        f->have++;
    }
    SF_ASSERT(f->have - 1 == m || f->have - 2 == m);
    *a = f->have - 1 == m ? f->last : f->prev;
    if (b) *b = f->last;
out:
    return st;
}

/* ---- deliverables.json --------------------------------------------------------------------- */

struct file_out {
    char path[SF_RENDER_PATH_MAX + 1024];
    char name[256];       /* without version and extension */
    int version;
    enum sf_codec codec;
    enum sf_lang lang;
    char sha[SF_SHA256_HEX];
    long long bytes;
};

/* What the brand layer drew in one file: the supers of its language and edit with their
 * frames, the logo and the end card (docs/brand.md). */
static void record_brand(struct sf_jw *w, const struct sf_deliver_opts *dopt, enum sf_lang lang)
{
    const struct sf_brand *b = dopt->brand;
    sf_jw_obj_begin(w);
    sf_jw_key(w, "safe_area"), sf_jw_str(w, "EBU R 95 graphics-safe (5 % margins)");
    sf_jw_key(w, "supers"), sf_jw_arr_begin(w);
    for (int k = 0; k < b->n_supers; k++) {
        const struct sf_super *sp = &b->supers[k];
        if (!sp->text[lang] || !(dopt->brand_length < 0 || (sp->lengths_mask >> dopt->brand_length) & 1))
            continue;
        sf_jw_obj_begin(w);
        sf_jw_key(w, "text"), sf_jw_str(w, sp->text[lang]);
        sf_jw_key(w, "in"), sf_jw_num(w, sp->in_ms / 1000.0);
        sf_jw_key(w, "out"), sf_jw_num(w, sp->out_ms / 1000.0);
        sf_jw_key(w, "first_frame"), sf_jw_int(w, sf_brand_frame_at(sp->in_ms, dopt->fps));
        sf_jw_key(w, "end_frame"), sf_jw_int(w, sf_brand_frame_at(sp->out_ms, dopt->fps));
        sf_jw_key(w, "position"), sf_jw_str(w, sf_brand_pos_name(sp->position));
        sf_jw_key(w, "font"), sf_jw_str(w, sf_brand_font_file(sp->font));
        sf_jw_key(w, "size"), sf_jw_num(w, sp->size);
        sf_jw_obj_end(w);
    }
    sf_jw_arr_end(w);
    if (b->logo.file) {
        sf_jw_key(w, "logo"), sf_jw_obj_begin(w);
        sf_jw_key(w, "file"), sf_jw_str(w, b->logo.file);
        sf_jw_key(w, "position"), sf_jw_str(w, sf_brand_pos_name(b->logo.position));
        sf_jw_key(w, "opacity"), sf_jw_num(w, b->logo.opacity);
        sf_jw_key(w, "size"), sf_jw_num(w, b->logo.size);
        sf_jw_obj_end(w);
    }
    if (b->end_card.file) {
        const int64_t n = sf_brand_end_card_frames(b->end_card.duration_ms, dopt->fps);
        sf_jw_key(w, "end_card"), sf_jw_obj_begin(w);
        sf_jw_key(w, "file"), sf_jw_str(w, b->end_card.file);
        sf_jw_key(w, "duration"), sf_jw_num(w, b->end_card.duration_ms / 1000.0);
        sf_jw_key(w, "first_frame"), sf_jw_int(w, dopt->frames - n);
        sf_jw_key(w, "frames"), sf_jw_int(w, n);
        sf_jw_obj_end(w);
    }
    sf_jw_obj_end(w);
}

static void record_files(const struct sf_render_job *j, const struct sf_deliver_opts *dopt,
                         const struct file_out *fo, int n, struct sf_jw *w)
{
    for (int i = 0; i < n; i++) {
        sf_jw_obj_begin(w);
        sf_jw_key(w, "name"), sf_jw_str(w, fo[i].name);
        sf_jw_key(w, "path"), sf_jw_str(w, fo[i].path);
        sf_jw_key(w, "version"), sf_jw_int(w, fo[i].version);
        sf_jw_key(w, "current"), sf_jw_bool(w, 1);
        sf_jw_key(w, "type"), sf_jw_str(w, j->kind == &sf_unit_master ? "shot master" : "spot");
        sf_jw_key(w, "unit"), sf_jw_str(w, j->name);
        sf_jw_key(w, "key"), sf_jw_str(w, j->key);
        sf_jw_key(w, "sha256"), sf_jw_str(w, fo[i].sha);
        sf_jw_key(w, "bytes"), sf_jw_int(w, fo[i].bytes);
        sf_jw_key(w, "frames"), sf_jw_int(w, dopt->frames);
        sf_jw_key(w, "codec"), sf_jw_str(w, sf_codec_name(fo[i].codec));
        sf_jw_key(w, "width"), sf_jw_int(w, dopt->width);
        sf_jw_key(w, "height"), sf_jw_int(w, dopt->height);
        char fps[32];
        snprintf(fps, sizeof fps, "%d/%d", dopt->fps.num, dopt->fps.den);
        sf_jw_key(w, "fps"), sf_jw_str(w, fps);
        sf_jw_key(w, "language"), sf_jw_str(w, sf_lang_name(fo[i].lang));
        sf_jw_key(w, "aspect"), sf_jw_str(w, sf_aspect_name((enum sf_aspect)j->aspect));
        sf_jw_key(w, "timecode"), sf_jw_str(w, dopt->timecode);
        sf_jw_key(w, "audio_samples"), sf_jw_int(w, sf_deliver_samples(dopt->frames, dopt->fps));
        if (dopt->brand) sf_jw_key(w, "brand"), record_brand(w, dopt, fo[i].lang);
        sf_jw_obj_end(w);
    }
}

int sf_assemble_index_load(const struct sf_render_setup *s, char **text, struct sf_json_doc **doc)
{
    char path[SF_RENDER_PATH_MAX + 32], err[160];
    size_t len = 0;
    *text = NULL;
    *doc = NULL;
    snprintf(path, sizeof path, "%s/out/deliverables.json", s->rundir);
    if (!sf_file_is_regular(path)) return SF_OK;
    int st = sf_file_read_all(path, 64u << 20, text, &len);
    if (st) return st;
    if (!(*doc = sf_json_parse(*text, len, err, sizeof err))) {
        SF_ERROR("assemble", "%s: %s; it was edited or damaged: move it away and render again "
                 "(the files it listed stay in %s/out)", path, err, s->rundir);
        return SF_E_FORMAT;
    }
    return SF_OK;
}

struct index_entries {
    const struct sf_render_job *j;
    const struct sf_deliver_opts *dopt;
    const struct file_out *fo;
    int n;
};

static void write_entries(struct sf_jw *w, void *arg)
{
    const struct index_entries *e = arg;
    record_files(e->j, e->dopt, e->fo, e->n, w);
}

/* Takes the index's lock (*fd, closed by the caller to release it) and reads the index under it
 * (*doc NULL when there is none yet). */
static int lock_index(const struct sf_render_setup *s, int *fd, char **text,
                      struct sf_json_doc **doc)
{
    char lock[SF_RENDER_PATH_MAX + 32];
    snprintf(lock, sizeof lock, "%s/out/.deliverables.lock", s->rundir);
    *fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0) return sf_err_errno(errno, "open the lock", lock);
    if (flock(*fd, LOCK_EX) != 0) return sf_err_errno(errno, "lock", lock);
    return sf_assemble_index_load(s, text, doc);
}

/* Order of the index's entries: by name, then version, then path (a spot's MP4 before its MOV,
 * a sequence's sounds by role), so the file does not depend on which unit finished first. */
static int entry_cmp(const void *a, const void *b)
{
    const struct sf_json *x = *(const struct sf_json *const *)a, *y = *(const struct sf_json *const *)b;
    const char *nx = sf_json_get_str(x, "name"), *ny = sf_json_get_str(y, "name");
    int c = strcmp(nx ? nx : "", ny ? ny : "");
    if (c) return c;
    int64_t vx = 0, vy = 0;
    sf_json_get_int(x, "version", &vx);
    sf_json_get_int(y, "version", &vy);
    if (vx != vy) return vx < vy ? -1 : 1;
    const char *px = sf_json_get_str(x, "path"), *py = sf_json_get_str(y, "path");
    return strcmp(px ? px : "", py ? py : "");
}

/* Writes doc to w with its `files` in entry_cmp's order; SF_E_NOMEM when the order cannot be
 * kept. */
static int write_sorted(struct sf_jw *w, const struct sf_json_doc *doc)
{
    const struct sf_json *root = sf_json_root(doc);
    sf_jw_obj_begin(w);
    for (size_t k = 0; root->type == SF_JSON_OBJECT && k < root->n; k++) {
        const struct sf_json *v = root->items[k];
        sf_jw_key(w, root->keys[k]);
        /* fewer than 2 entries are in order already (and malloc(0) may return NULL) */
        if (strcmp(root->keys[k], "files") != 0 || v->type != SF_JSON_ARRAY || v->n < 2) {
            sf_jw_value(w, v);
            continue;
        }
        const struct sf_json **e = malloc(v->n * sizeof *e);
        if (!e) return SF_E_NOMEM;
        for (size_t i = 0; i < v->n; i++) e[i] = v->items[i];
        qsort(e, v->n, sizeof *e, entry_cmp);
        sf_jw_arr_begin(w);
        for (size_t i = 0; i < v->n; i++) sf_jw_value(w, e[i]);
        sf_jw_arr_end(w);
        free(e);
    }
    sf_jw_obj_end(w);
    return SF_OK;
}

/* Rewrites RUNDIR/out/deliverables.json under its lock: body(w, doc, ctx) writes the whole new
 * document from the one read under the lock (doc NULL when there is none yet; with need_doc set
 * that is an error naming the fix), which is written with its entries in entry_cmp's order.
 * Shared by _update and _annotate. */
static int rewrite_index(const struct sf_render_setup *s, int need_doc,
                         void (*body)(struct sf_jw *w, const struct sf_json_doc *doc, void *ctx),
                         void *ctx)
{
    int st = SF_OK, fd = -1;
    char path[SF_RENDER_PATH_MAX + 32], *text = NULL, *buf = NULL, *sorted = NULL;
    size_t blen = 0, slen = 0;
    struct sf_json_doc *doc = NULL, *whole = NULL;
    snprintf(path, sizeof path, "%s/out/deliverables.json", s->rundir);
    /* read again under the lock: others may have written since */
    SF_TRY(st, lock_index(s, &fd, &text, &doc));
    if (!doc && need_doc) {
        SF_ERROR("assemble", "%s: missing; run the same render again (assembly writes it)", path);
        st = SF_E_NOTFOUND;
        goto out;
    }
    FILE *f = open_memstream(&buf, &blen);
    if (!f) {
        st = SF_E_NOMEM;
        goto out;
    }
    struct sf_jw w;
    sf_jw_init(&w, f, 0);
    body(&w, doc, ctx);
    sf_jw_finish(&w);
    if (fclose(f) != 0) {
        st = SF_E_NOMEM;
        goto out;
    }
    /* the same document again, in order */
    char err[160];
    if (!(whole = sf_json_parse(buf, blen, err, sizeof err))) {
        SF_ERROR("assemble", "%s: the new index does not parse (%s)", path, err);
        st = SF_E_FORMAT;
        goto out;
    }
    if (!(f = open_memstream(&sorted, &slen))) {
        st = SF_E_NOMEM;
        goto out;
    }
    sf_jw_init(&w, f, 2);
    st = write_sorted(&w, whole);
    sf_jw_finish(&w);
    if (fclose(f) != 0 && !st) st = SF_E_NOMEM;
    if (!st) st = sf_file_write_atomic(path, sorted, slen);
out:
    if (fd >= 0) close(fd); /* releases the lock */
    sf_json_free(whole);
    sf_json_free(doc);
    free(text);
    free(buf);
    free(sorted);
    return st;
}

struct annotate_ctx {
    const char *const *paths;
    int n;
    const char *field;
    void (*write)(struct sf_jw *w, int i, void *arg);
    void *arg;
};

static void annotate_body(struct sf_jw *w, const struct sf_json_doc *doc, void *ctx)
{
    const struct annotate_ctx *a = ctx;
    const struct sf_json *root = sf_json_root(doc);
    sf_jw_obj_begin(w);
    for (size_t k = 0; root->type == SF_JSON_OBJECT && k < root->n; k++) {
        sf_jw_key(w, root->keys[k]);
        if (strcmp(root->keys[k], "files") != 0 || root->items[k]->type != SF_JSON_ARRAY) {
            sf_jw_value(w, root->items[k]);
            continue;
        }
        const struct sf_json *files = root->items[k];
        sf_jw_arr_begin(w);
        for (size_t i = 0; i < files->n; i++) {
            const struct sf_json *e = files->items[i];
            const char *p = sf_json_get_str(e, "path");
            int mine = -1;
            for (int m = 0; m < a->n && p; m++)
                if (strcmp(p, a->paths[m]) == 0) mine = m;
            if (mine < 0 || e->type != SF_JSON_OBJECT) {
                sf_jw_value(w, e);
                continue;
            }
            sf_jw_obj_begin(w);
            for (size_t x = 0; x < e->n; x++) {
                if (strcmp(e->keys[x], a->field) == 0) continue;
                sf_jw_key(w, e->keys[x]);
                sf_jw_value(w, e->items[x]);
            }
            sf_jw_key(w, a->field);
            a->write(w, mine, a->arg);
            sf_jw_obj_end(w);
        }
        sf_jw_arr_end(w);
    }
    sf_jw_obj_end(w);
}

/* Adds (or replaces) member `field` of the entries of RUNDIR/out/deliverables.json whose path
 * is paths[i], written by write(w, i, arg); every other entry and member is kept as it was.
 * Under the index's lock, like the assembly's own updates. */
int sf_assemble_index_annotate(const struct sf_render_setup *s, const char *const *paths, int n,
                               const char *field,
                               void (*write)(struct sf_jw *w, int i, void *arg), void *arg)
{
    struct annotate_ctx a = {paths, n, field, write, arg};
    return rewrite_index(s, 1, annotate_body, &a);
}

struct update_ctx {
    const struct sf_render_setup *s;
    const char *const *names;
    int n;
    void (*write)(struct sf_jw *w, void *arg);
    void *arg;
};

static void update_body(struct sf_jw *w, const struct sf_json_doc *doc, void *ctx)
{
    const struct update_ctx *u = ctx;
    sf_jw_obj_begin(w);
    sf_jw_key(w, "format"), sf_jw_str(w, "shotfarm.deliverables.v1");
    sf_jw_key(w, "campaign"), sf_jw_str(w, sf_campaign_name(u->s->campaign));
    sf_jw_key(w, "files"), sf_jw_arr_begin(w);
    const struct sf_json *old = doc ? sf_json_get(sf_json_root(doc), "files") : NULL;
    for (size_t i = 0; old && old->type == SF_JSON_ARRAY && i < old->n; i++) {
        const struct sf_json *e = old->items[i];
        const char *name = sf_json_get_str(e, "name");
        int mine = 0;
        for (int k = 0; k < u->n && name; k++)
            mine |= strcmp(name, u->names[k]) == 0;
        sf_jw_obj_begin(w); /* copied field by field; `current` cleared for renewed names */
        for (size_t k = 0; e->type == SF_JSON_OBJECT && k < e->n; k++) {
            const struct sf_json *v = e->items[k];
            sf_jw_key(w, e->keys[k]);
            if (strcmp(e->keys[k], "current") == 0)
                sf_jw_bool(w, v->boolean && !mine);
            else
                sf_jw_value(w, v); /* nested values too (a mix's loudness, a spot's `qc`) */
        }
        sf_jw_obj_end(w);
    }
    u->write(w, u->arg);
    sf_jw_arr_end(w);
    sf_jw_obj_end(w);
}

int sf_assemble_index_update(const struct sf_render_setup *s, const char *const *names, int n,
                             void (*write)(struct sf_jw *w, void *arg), void *arg)
{
    struct update_ctx u = {s, names, n, write, arg};
    return rewrite_index(s, 0, update_body, &u);
}

int sf_assemble_digest(const char *path, char sha[SF_SHA256_HEX], long long *bytes)
{
    uint8_t dg[SF_SHA256_BYTES];
    struct stat sb;
    int st = sf_sha256_file(path, dg);
    if (st) return st;
    sf_sha256_hex(dg, sha);
    *bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    return SF_OK;
}

int sf_assemble_publish(const struct sf_render_setup *s, const struct sf_render_job *j,
                        const char *const *names, int n, void (*write)(struct sf_jw *w, void *arg),
                        void *arg)
{
    /* the index first: a record without its files in the index would be taken as done */
    int st = sf_assemble_index_update(s, names, n, write, arg);
    if (st) return st;
    char *buf = NULL;
    size_t blen = 0;
    FILE *mf = open_memstream(&buf, &blen);
    if (!mf) return SF_E_NOMEM;
    struct sf_jw jw;
    sf_jw_init(&jw, mf, 2);
    sf_jw_obj_begin(&jw);
    sf_jw_key(&jw, "unit"), sf_jw_str(&jw, j->name);
    sf_jw_key(&jw, "key"), sf_jw_str(&jw, j->key);
    sf_jw_key(&jw, "files"), sf_jw_arr_begin(&jw);
    write(&jw, arg);
    sf_jw_arr_end(&jw);
    sf_jw_obj_end(&jw);
    sf_jw_finish(&jw);
    if (fclose(mf) != 0) {
        free(buf);
        return SF_E_NOMEM;
    }
    st = sf_file_write_atomic(j->out, buf, blen);
    free(buf);
    return st;
}

int sf_assemble_next_version(const struct sf_json *files, const char *dir, const char *name,
                             const char *ext)
{
    int v = 1;
    for (size_t i = 0; files && files->type == SF_JSON_ARRAY && i < files->n; i++) {
        const char *nm = sf_json_get_str(files->items[i], "name");
        int64_t ver = 0;
        if (nm && strcmp(nm, name) == 0 && sf_json_get_int(files->items[i], "version", &ver) == 0 &&
            ver >= v)
            v = (int)ver + 1;
    }
    for (;; v++) { /* a file without an entry (a launch killed before it wrote one) */
        char p[SF_RENDER_PATH_MAX + 1024];
        if (v == 1)
            snprintf(p, sizeof p, "%s/%s.%s", dir, name, ext);
        else
            snprintf(p, sizeof p, "%s/%s_v%d.%s", dir, name, v, ext);
        if (!sf_file_is_regular(p)) break;
    }
    return v;
}

/* ---- run ----------------------------------------------------------------------------------- */

int sf_assemble_files(struct sf_render_worker *w, const struct sf_render_job *j,
                      const struct sf_render_report *r, const struct sf_assemble_cut *cut)
{
    const struct sf_render_setup *s = w->s;
    const struct sf_campaign *c = s->campaign;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    const int i = (int)(j - s->jobs);
    int st = SF_OK, n_out = 0, n_dv = 0;
    struct sf_deliver *dv[MAX_FILES] = {0}; /* the writers */
    struct file_out fo[MAX_FILES];
    struct feed feed = {.s = s, .decode_jobs = s->sched[i].deps, .shot = -1};
    uint8_t *mix = NULL;
    float *sound[SF_LANG_COUNT] = {0};
    char dir[SF_RENDER_PATH_MAX + 48], comment[1024], *index_text = NULL;
    struct sf_json_doc *index = NULL;
    snprintf(dir, sizeof dir, "%s/out%s%s", s->rundir, cut->subdir[0] ? "/" : "", cut->subdir);
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    SF_TRY(st, sf_render_mkdirs(dir, 0));
    /* the index once, before any encoding: a damaged one fails the unit now, not after it */
    SF_TRY(st, sf_assemble_index_load(s, &index_text, &index));
    const struct sf_json *indexed = index ? sf_json_get(sf_json_root(index), "files") : NULL;

    /* the cut: its shots' starts in cut model frames, their frames */
    int frames[SF_CAMPAIGN_MAX_SHOTS], lead[SF_CAMPAIGN_MAX_SHOTS];
    int64_t starts[SF_CAMPAIGN_MAX_SHOTS];
    const int n = cut->n;
    const int64_t n_frames = cut->frames;
    cut_starts(c, cut, starts, lead, frames);

    /* each language's mix, exactly the picture's length */
    const int64_t n_samples = sf_deliver_samples(n_frames, dl->fps);
    for (int l = 0; l < SF_LANG_COUNT; l++) {
        if (cut->sound_job[l] < 0 || !dl->languages[l]) continue;
        char mp[SF_RENDER_PATH_MAX + 1024];
        int64_t got = 0;
        SF_TRY(st, sf_unit_sound_mix(&s->jobs[cut->sound_job[l]], mp, sizeof mp));
        SF_TRY(st, sf_audio_decode(mp, n_samples, &sound[l], &got, NULL, 0));
        if (got != n_samples) {
            SF_ERROR("assemble", "%s: %lld samples, the picture needs %lld; delete it and its "
                     "record %s and run the same render again", mp, (long long)got,
                     (long long)n_samples, s->jobs[cut->sound_job[l]].out);
            st = SF_E_FORMAT;
            goto out;
        }
    }

    struct sf_deliver_opts dopt = {.fps = dl->fps,
                                   .frames = n_frames,
                                   .crf = s->tier == SF_TIER_FINAL ? 18 : 23,
                                   .preset = s->tier == SF_TIER_FINAL ? "medium" : "veryfast",
                                   .threads = THREADS,
                                   .title = cut->title,
                                   .comment = comment};
    sf_assemble_size(dl->resolution, j->aspect, &dopt.width, &dopt.height);
    sf_assemble_timecode(dl, dopt.timecode, sizeof dopt.timecode);
    sf_review_disclosure(s, comment, sizeof comment);
    snprintf(comment + strlen(comment), sizeof comment - strlen(comment), "; campaign %s, sequence %s",
             sf_campaign_name(c), sf_campaign_sequence(c, j->sequence)->id);
    /* one writer per codec; per codec and language when supers make the pictures differ */
    const int split = cut->brand && cut->per_language && sf_brand_per_language(cut->brand, cut->length);
    dopt.brand = cut->brand;
    dopt.brand_length = cut->length;
    for (int cc = 0; cc < SF_CODEC_COUNT; cc++) {
        if (!cut->codecs[cc]) continue;
        const char *paths[SF_DELIVER_MAX_OUTPUTS];
        int first = n_out;
        for (int l = 0; l < SF_LANG_COUNT; l++) {
            if (!dl->languages[l]) continue;
            struct file_out *o = &fo[n_out++];
            memset(o, 0, sizeof *o);
            o->codec = (enum sf_codec)cc;
            o->lang = (enum sf_lang)l;
            char name[sizeof o->name];
            if (cut->per_language)
                snprintf(name, sizeof name, "%s_%s", cut->base, sf_lang_name((enum sf_lang)l));
            else
                snprintf(name, sizeof name, "%s", cut->base);
            memcpy(o->name, name, sizeof name);
            o->version = sf_assemble_next_version(indexed, dir, name, sf_deliver_ext(o->codec));
            if (o->version == 1)
                snprintf(o->path, sizeof o->path, "%s/%s.%s", dir, name, sf_deliver_ext(o->codec));
            else
                snprintf(o->path, sizeof o->path, "%s/%s_v%d.%s", dir, name, o->version,
                         sf_deliver_ext(o->codec));
            paths[n_out - first - 1] = o->path;
            if (split) { /* this language's picture: its own writer */
                dopt.codec = (enum sf_codec)cc;
                dopt.brand_lang = o->lang;
                SF_TRY(st, sf_deliver_open(&dopt, paths, 1, &dv[n_dv]));
                if (sound[o->lang]) sf_deliver_set_sound(dv[n_dv], 0, sound[o->lang]);
                n_dv++;
                first = n_out;
            }
            if (!cut->per_language) break; /* one file: the first language's sound */
        }
        if (split) continue;
        dopt.codec = (enum sf_codec)cc;
        dopt.brand_lang = fo[first].lang;
        SF_TRY(st, sf_deliver_open(&dopt, paths, n_out - first, &dv[n_dv]));
        for (int k = first; k < n_out; k++)
            if (sound[fo[k].lang]) sf_deliver_set_sound(dv[n_dv], k - first, sound[fo[k].lang]);
        n_dv++;
    }

    /* every delivery frame once, into every codec's encoder */
    for (int64_t f = 0; f < n_frames; f++) {
        int k, wgt;
        int64_t m;
        source_of(f, dl->fps, dl->conform_blend, starts, lead, frames, n, &k, &m, &wgt);
        const uint8_t *pic = NULL, *nxt = NULL;
        SF_TRY(st, feed_get(&feed, k, m, &pic, wgt ? &nxt : NULL));
        if (wgt) { /* (256 - w) x frame m + w x frame m + 1, rounded */
            const size_t bytes = (size_t)feed.width * feed.height * 3;
            if (!mix && !(mix = malloc(bytes))) {
                st = SF_E_NOMEM;
                goto out;
            }
            for (size_t b = 0; b < bytes; b++)
                mix[b] = (uint8_t)(((256 - wgt) * pic[b] + wgt * nxt[b] + 128) >> 8);
            pic = mix;
        }
        for (int d = 0; d < n_dv; d++) {
            st = sf_deliver_write(dv[d], pic, feed.width, feed.height);
            if (st) {
                dv[d] = NULL; /* aborted by the writer */
                goto out;
            }
        }
        if (r->step && f % 16 == 15) r->step(r->arg, (int)f + 1, (int)n_frames); /* alive */
        if (r->stop && f % 16 == 15 && r->stop(r->arg)) { /* a signal: stop now, start over later */
            SF_INFO("assemble", "%s: stopped at frame %lld of %lld; it starts over when resumed",
                    j->name, (long long)f + 1, (long long)n_frames);
            st = SF_E_INTERRUPTED;
            goto out;
        }
    }
    for (int d = 0; d < n_dv; d++) {
        st = sf_deliver_commit(dv[d]);
        dv[d] = NULL;
        if (st) goto out;
    }

    /* what was delivered: each file's digest, the campaign's index, the unit's record */
    const char *names[MAX_FILES];
    for (int k = 0; k < n_out; k++) {
        SF_TRY(st, sf_assemble_digest(fo[k].path, fo[k].sha, &fo[k].bytes));
        names[k] = fo[k].name;
        SF_INFO("assemble", "%s: %lld frames -> %s", j->name, (long long)n_frames, fo[k].path);
    }
    struct index_entries ie = {j, &dopt, fo, n_out};
    st = sf_assemble_publish(s, j, names, n_out, write_entries, &ie);
out:
    for (int d = 0; d < n_dv; d++)
        sf_deliver_abort(dv[d]);
    sf_shot_reader_close(feed.r);
    sf_json_free(index);
    free(index_text);
    free(feed.prev);
    free(feed.last);
    free(mix);
    for (int l = 0; l < SF_LANG_COUNT; l++)
        free(sound[l]);
    return st;
}

void sf_assemble_spot_base(const struct sf_campaign *c, int q, int li, int aspect, char *buf,
                           size_t n)
{
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    char len[16], at[8], code[32] = "";
    length_tag(c, li, len, sizeof len);
    /* the code of this (sequence, length): one per spot, shared by its aspects and languages */
    if (dl->code) {
        const int per = dl->n_lengths ? dl->n_lengths : 1;
        snprintf(code, sizeof code, "%s%04d_", dl->code, q * per + (li >= 0 ? li : 0) + 1);
    }
    if (aspect >= 0) {
        sf_assemble_aspect_tag(aspect, at, sizeof at);
        snprintf(buf, n, "%s%s_%s_%s_%s", code, sf_campaign_name(c), sf_campaign_sequence(c, q)->id,
                 at, len);
    } else {
        snprintf(buf, n, "%s%s_%s_%s", code, sf_campaign_name(c), sf_campaign_sequence(c, q)->id,
                 len);
    }
}

void sf_assemble_spot_cut(const struct sf_campaign *c, int sequence, int aspect, int length,
                          struct sf_assemble_cut *cut)
{
    char len[16];
    memset(cut, 0, sizeof *cut);
    cut->per_language = 1;
    cut->n = cut_of(c, sequence, length, cut->shots, &cut->frames);
    cut->length = length;
    const struct sf_brand *b = &sf_campaign_sequence(c, sequence)->brand;
    cut->brand = b->n_supers || b->logo.file || b->end_card.file ? b : NULL;
    memcpy(cut->codecs, sf_campaign_deliverables(c)->codecs, sizeof cut->codecs);
    for (int l = 0; l < SF_LANG_COUNT; l++)
        cut->sound_job[l] = -1;
    length_tag(c, length, len, sizeof len);
    sf_assemble_spot_base(c, sequence, length, aspect, cut->base, sizeof cut->base);
    snprintf(cut->title, sizeof cut->title, "%s %s %s %s", sf_campaign_name(c),
             sf_campaign_sequence(c, sequence)->id, sf_aspect_name((enum sf_aspect)aspect), len);
}

/* A spot: the length's cut of the sequence, every codec, one file per language. */
static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    struct sf_assemble_cut cut;
    sf_assemble_spot_cut(w->s->campaign, j->sequence, j->aspect, j->length, &cut);
    const int i = (int)(j - w->s->jobs);
    for (int k = cut.n; k < w->s->sched[i].n_deps; k++) {
        const struct sf_render_job *dj = &w->s->jobs[w->s->sched[i].deps[k]];
        if (dj->kind == &sf_unit_sound) cut.sound_job[dj->language] = w->s->sched[i].deps[k];
    }
    return sf_assemble_files(w, j, r, &cut);
}

/* ---- resume -------------------------------------------------------------------------------- */

/* The unit's record carries its key, and every file it lists is there with its size. */
int sf_assemble_output_ok(const struct sf_render_job *j)
{
    char *text = NULL;
    size_t len = 0;
    struct sf_json_doc *doc = NULL;
    int ok = 0;
    char err[160];
    if (!sf_file_is_regular(j->out) || sf_file_read_all(j->out, 16u << 20, &text, &len) != SF_OK ||
        !(doc = sf_json_parse(text, len, err, sizeof err)))
        goto out;
    const struct sf_json *root = sf_json_root(doc), *files = sf_json_get(root, "files");
    const char *key = sf_json_get_str(root, "key");
    ok = key && strcmp(key, j->key) == 0 && files && files->type == SF_JSON_ARRAY && files->n > 0;
    for (size_t i = 0; ok && i < files->n; i++) {
        const char *p = sf_json_get_str(files->items[i], "path");
        int64_t bytes = -1;
        struct stat sb;
        ok = p && sf_json_get_int(files->items[i], "bytes", &bytes) == 0 && stat(p, &sb) == 0 &&
             S_ISREG(sb.st_mode) && sb.st_size == bytes;
    }
out:
    sf_json_free(doc);
    free(text);
    return ok;
}

/* Delivered files are never removed: the next run writes new versions beside them. Only the
 * unit's record goes (it is remade when the unit runs). */
void sf_assemble_remove_record(const struct sf_render_job *j)
{
    if (unlink(j->out) == 0) SF_INFO("render", "%s: removed: made for other inputs", j->out);
}

const struct sf_unit_kind sf_unit_assemble = {
    .name = "assemble",
    .status_row = "assembly",
    .resource = SF_UNIT_CPU,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = sf_assemble_output_ok,
    .remove_output = sf_assemble_remove_record,
};

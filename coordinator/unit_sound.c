/* unit_sound.c — the `sound` unit kind (sf_unit.h, docs/sound.md): the sound of one edit (a
 * sequence at one deliverable length) in one language. A CPU unit that needs no picture, so it
 * runs on a CPU lane while the shots render. It writes, under RUNDIR/out/sound/:
 *   BASE_LANG_mix.wav        the broadcast mix, 48 kHz 24-bit stereo, the picture's length
 *   BASE_LANG_dialogue.wav   the dialogue stem   } with the mix's gain and limiting:
 *   BASE_LANG_music.wav      the music (M&E) stem } dialogue + music = mix, sample for sample
 *   BASE_LANG.srt, .vtt      subtitles of the lines, on the delivery time line
 * (BASE: "[CODE NNNN_]campaign_seq_15s"), versioned and indexed in deliverables.json like the
 * spots; the assembly units put each language's mix into that language's files.
 *
 * The time line: each line starts at its shot's first delivery frame plus its `start`
 * (sf_campaign_line_sample, the pictures' rule), read by espeak-ng in the line's language
 * (sf_speech.h). The music bed plays from the edit's first frame, a 10 ms fade in, a 500 ms
 * fade out at the edit's end (or at the file's end when it is shorter), ducked by `duck_db`
 * under every line with a 150 ms ramp down before it and a 400 ms ramp up after it. Then the
 * mix is mastered (sf_audio_master): one gain to the loudness target, the true-peak limiter.
 *
 * The key holds only this edit's lines in this language (their text, reading, start, voice),
 * the music's bytes and settings, the time line and the target: changing one line redoes the
 * sound of its language in the edits that contain it, nothing else. */
#define _GNU_SOURCE
#include "sf_assemble.h"
#include "sf_audio.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_hash.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_speech.h"
#include "sf_status.h"
#include "sf_unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FADE_IN_MS 10
#define FADE_OUT_MS 500
#define DUCK_ATTACK_MS 150
#define DUCK_RELEASE_MS 400
#define MAX_LINES (SF_CAMPAIGN_MAX_SHOTS * 16)
#define N_FILES 5

/* Seconds of CPU per second of sound (synthesis, mastering passes, metering, writing), measured
 * on the 2-core test machine (BENCHMARKS.md § Sound). */
#define SECONDS_PER_SECOND 0.12

/* The edit of sequence q at length index li (-1: the whole sequence): its shots (campaign
 * indices) and delivery frames. */
static int edit_of(const struct sf_campaign *c, int q, int li, int shots[SF_CAMPAIGN_MAX_SHOTS],
                   int64_t *frames, const struct sf_music **music)
{
    const struct sf_sequence *seq = sf_campaign_sequence(c, q);
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    int n = 0;
    if (li >= 0) {
        const struct sf_cut *cut = &seq->cuts[li];
        for (int k = 0; k < cut->n_shots; k++)
            shots[n++] = seq->first_shot + cut->shots[k];
        *frames = sf_campaign_delivery_frames(dl->lengths[li], dl->fps);
        *music = &cut->music;
    } else {
        for (int k = 0; k < seq->n_shots; k++)
            shots[n++] = seq->first_shot + k;
        *frames = (int64_t)seq->length_ms * dl->fps.num / (1000LL * dl->fps.den);
        *music = &seq->music;
    }
    return n;
}

/* A line placed on the edit: where it starts and which line it is. */
struct placed {
    int64_t at;
    const struct sf_dialogue *d;
};

/* This edit's lines in language l, in time order (shots in play order, lines as written), that
 * start inside it. */
static int lines_of(const struct sf_campaign *c, const int *shots, int n_shots, int64_t samples,
                    enum sf_lang l, struct placed *out)
{
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    int n = 0, before_ms = 0;
    for (int k = 0; k < n_shots; k++) {
        const struct sf_shot *s = sf_campaign_shot(c, shots[k]);
        for (int i = 0; i < s->n_dialogue && n < MAX_LINES; i++) {
            const struct sf_dialogue *d = &s->dialogue[i];
            const int64_t at = sf_campaign_line_sample(before_ms, d->start_ms, dl->fps);
            if (d->language != l || at >= samples) continue;
            out[n++] = (struct placed){at, d};
        }
        before_ms += s->duration_ms;
    }
    return n;
}

static struct sf_speech_voice voice_of(const struct sf_campaign *c, const struct sf_dialogue *d)
{
    const struct sf_element *e = sf_campaign_element(c, d->speaker);
    return (struct sf_speech_voice){d->language, e->voice.variant,
                                    e->voice.pitch ? e->voice.pitch : SF_SPEECH_DEFAULT_PITCH,
                                    e->voice.rate ? e->voice.rate : SF_SPEECH_DEFAULT_RATE};
}

/* ---- plan ---------------------------------------------------------------------------------- */

/* Per sequence, deliverable length and delivered language; no dependencies. */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    for (int q = 0; q < sf_campaign_n_sequences(c); q++) {
        const struct sf_sequence *seq = sf_campaign_sequence(c, q);
        for (int li = dl->n_lengths ? 0 : -1; li < dl->n_lengths; li++) {
            int shots[SF_CAMPAIGN_MAX_SHOTS];
            int64_t frames;
            const struct sf_music *music;
            edit_of(c, q, li, shots, &frames, &music);
            const double secs = (double)frames * dl->fps.den / dl->fps.num;
            for (int l = 0; l < SF_LANG_COUNT; l++) {
                if (!dl->languages[l]) continue;
                char len[16];
                if (li >= 0) snprintf(len, sizeof len, "%ds", dl->lengths[li]);
                else snprintf(len, sizeof len, "full");
                int u = sf_plan_add(b, &sf_unit_sound, q, 0, 0, 16.0 * secs * SF_AUDIO_RATE * 4,
                                    NULL, 0, "%s %s sound %s", seq->id, len,
                                    sf_lang_name((enum sf_lang)l));
                if (u < 0) return SF_E_NOMEM;
                b->p->units[u].seconds = 0.2 + SECONDS_PER_SECOND * secs;
                b->p->units[u].length = li;
                b->p->units[u].language = l;
            }
        }
    }
    return SF_OK;
}

/* ---- prepare ------------------------------------------------------------------------------- */

static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    const struct sf_sequence *seq = sf_campaign_sequence(c, j->sequence);
    int shots[SF_CAMPAIGN_MAX_SHOTS];
    int64_t frames;
    const struct sf_music *music;
    const int n = edit_of(c, j->sequence, j->length, shots, &frames, &music);
    const int64_t samples = sf_campaign_frame_samples(frames, dl->fps);
    struct placed lines[MAX_LINES];
    const int nl = lines_of(c, shots, n, samples, (enum sf_lang)j->language, lines);
    char len[16];
    if (j->length >= 0) snprintf(len, sizeof len, "%ds", dl->lengths[j->length]);
    else snprintf(len, sizeof len, "full");
    snprintf(j->stem, sizeof j->stem, "%s.%s.%s", seq->id, len,
             sf_lang_name((enum sf_lang)j->language));
    snprintf(j->out, sizeof j->out, "%s/out/.units/%s.sound.json", s->rundir, j->stem);
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.sound.v1");
    sf_canon_str(&cn, "campaign", sf_campaign_name(c));
    sf_canon_str(&cn, "sequence", seq->id);
    sf_canon_int(&cn, "length", j->length >= 0 ? dl->lengths[j->length] : -1);
    sf_canon_str(&cn, "language", sf_lang_name((enum sf_lang)j->language));
    sf_canon_int(&cn, "fps_num", dl->fps.num);
    sf_canon_int(&cn, "fps_den", dl->fps.den);
    sf_canon_str(&cn, "code", dl->code);
    sf_canon_int(&cn, "samples", samples);
    sf_canon_f64(&cn, "loudness", dl->loudness_lufs);
    sf_canon_f64(&cn, "true_peak", dl->true_peak_db);
    sf_canon_f64(&cn, "short_term_max", dl->short_term_max);
    sf_canon_str(&cn, "espeak", sf_speech_version());
    sf_canon_list_begin(&cn, "lines", (size_t)nl);
    for (int i = 0; i < nl; i++) {
        const struct sf_speech_voice v = voice_of(c, lines[i].d);
        sf_canon_int(&cn, NULL, lines[i].at);
        sf_canon_str(&cn, NULL, lines[i].d->text);
        sf_canon_str(&cn, NULL, lines[i].d->phonetic);
        sf_canon_str(&cn, NULL, v.variant);
        sf_canon_int(&cn, NULL, v.pitch);
        sf_canon_int(&cn, NULL, v.rate);
    }
    sf_canon_list_end(&cn);
    if (music->file) {
        uint8_t md[SF_SHA256_BYTES];
        int st = sf_sha256_file(music->file, md);
        if (st) {
            SF_ERROR("sound", "%s: cannot read the music file (%s); check that it is still there",
                     music->file, sf_status_name(st));
            return st;
        }
        sf_canon_digest(&cn, "music", md);
        sf_canon_f64(&cn, "gain_db", music->gain_db);
        sf_canon_f64(&cn, "duck_db", music->duck_db);
    }
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

/* ---- run ----------------------------------------------------------------------------------- */

/* "00:00:01,500" (SRT, sep ',') or "00:00:01.500" (WebVTT, sep '.') */
static void cue_time(int64_t sample, char sep, char *buf, size_t n)
{
    const int64_t ms = sample * 1000 / SF_AUDIO_RATE;
    snprintf(buf, n, "%02lld:%02lld:%02lld%c%03lld", (long long)(ms / 3600000),
             (long long)(ms / 60000 % 60), (long long)(ms / 1000 % 60), sep, (long long)(ms % 1000));
}

/* The subtitle files: one cue per line, from its first sound to its last (at least 1 s, never
 * over the next cue or past the edit). */
static int write_subtitles(const char *srt, const char *vtt, const struct placed *lines,
                           const int64_t *ends, int n, int64_t samples)
{
    char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    FILE *fa = open_memstream(&a, &al), *fb = open_memstream(&b, &bl);
    int st = SF_OK;
    if (!fa || !fb) {
        if (fa) fclose(fa);
        if (fb) fclose(fb);
        free(a);
        free(b);
        return SF_E_NOMEM;
    }
    fputs("WEBVTT\n", fb);
    for (int i = 0; i < n; i++) {
        int64_t end = ends[i];
        if (end < lines[i].at + SF_AUDIO_RATE) end = lines[i].at + SF_AUDIO_RATE;
        if (i + 1 < n && end > lines[i + 1].at) end = lines[i + 1].at;
        if (end > samples) end = samples;
        char t0[32], t1[32], v0[32], v1[32];
        cue_time(lines[i].at, ',', t0, sizeof t0);
        cue_time(end, ',', t1, sizeof t1);
        cue_time(lines[i].at, '.', v0, sizeof v0);
        cue_time(end, '.', v1, sizeof v1);
        fprintf(fa, "%s%d\n%s --> %s\n%s\n", i ? "\n" : "", i + 1, t0, t1, lines[i].d->text);
        fprintf(fb, "\n%d\n%s --> %s\n%s\n", i + 1, v0, v1, lines[i].d->text);
    }
    if (fclose(fa) != 0 || fclose(fb) != 0) st = SF_E_NOMEM;
    if (!st) st = sf_file_write_atomic(srt, a, al);
    if (!st) st = sf_file_write_atomic(vtt, b, bl);
    free(a);
    free(b);
    return st;
}

/* Music gain (linear) at sample t: its gain_db, the fades, and the ducking under the lines. */
static double music_gain(const struct sf_music *m, int64_t t, int64_t end, const struct placed *l,
                         const int64_t *ends, int n)
{
    double g_db = m->gain_db, duck = 0;
    const int64_t att = DUCK_ATTACK_MS * 48, rel = DUCK_RELEASE_MS * 48;
    for (int i = 0; i < n; i++) {
        double d = 0;
        if (t >= l[i].at && t <= ends[i]) d = 1;
        else if (t < l[i].at && t >= l[i].at - att) d = 1.0 - (double)(l[i].at - t) / att;
        else if (t > ends[i] && t <= ends[i] + rel) d = 1.0 - (double)(t - ends[i]) / rel;
        if (d > duck) duck = d;
    }
    g_db += duck * m->duck_db;
    double g = pow(10.0, g_db / 20.0);
    const int64_t fi = FADE_IN_MS * 48, fo = FADE_OUT_MS * 48;
    if (t < fi) g *= (double)t / fi;
    if (t >= end - fo) g *= (double)(end - t) / fo;
    return g < 0 ? 0 : g;
}

struct sound_file {
    char name[256];  /* without version and extension */
    const char *ext, *type, *role;
    char path[SF_RENDER_PATH_MAX + 1024];
    int version;
    char sha[SF_SHA256_HEX];
    long long bytes;
};

struct sound_record {
    const struct sf_render_job *j;
    struct sound_file *f;
    int64_t samples;
    const struct sf_master_result *m;
    const struct sf_master_target *t;
};

static void write_files(struct sf_jw *w, void *arg)
{
    const struct sound_record *r = arg;
    for (int i = 0; i < N_FILES; i++) {
        const struct sound_file *f = &r->f[i];
        sf_jw_obj_begin(w);
        sf_jw_key(w, "name"), sf_jw_str(w, f->name);
        sf_jw_key(w, "path"), sf_jw_str(w, f->path);
        sf_jw_key(w, "version"), sf_jw_int(w, f->version);
        sf_jw_key(w, "current"), sf_jw_bool(w, 1);
        sf_jw_key(w, "type"), sf_jw_str(w, f->type);
        sf_jw_key(w, "role"), sf_jw_str(w, f->role);
        sf_jw_key(w, "unit"), sf_jw_str(w, r->j->name);
        sf_jw_key(w, "key"), sf_jw_str(w, r->j->key);
        sf_jw_key(w, "sha256"), sf_jw_str(w, f->sha);
        sf_jw_key(w, "bytes"), sf_jw_int(w, f->bytes);
        sf_jw_key(w, "language"), sf_jw_str(w, sf_lang_name((enum sf_lang)r->j->language));
        if (strcmp(f->ext, "wav") == 0) {
            sf_jw_key(w, "audio_samples"), sf_jw_int(w, r->samples);
            sf_jw_key(w, "sample_rate"), sf_jw_int(w, SF_AUDIO_RATE);
        }
        if (strcmp(f->role, "mix") == 0) {
            const struct sf_loudness *l = &r->m->measured;
            sf_jw_key(w, "loudness"), sf_jw_obj_begin(w);
            sf_jw_key(w, "target_lufs"), sf_jw_num(w, r->t->integrated);
            sf_jw_key(w, "integrated_lufs"), sf_jw_num(w, round(l->integrated * 100) / 100);
            sf_jw_key(w, "short_term_max_lufs"), sf_jw_num(w, round(l->short_term_max * 100) / 100);
            sf_jw_key(w, "true_peak_dbtp"),
                isfinite(l->true_peak) ? sf_jw_num(w, round(l->true_peak * 100) / 100)
                                       : sf_jw_null(w);
            sf_jw_key(w, "true_peak_limit_dbtp"), sf_jw_num(w, r->t->true_peak);
            sf_jw_key(w, "gain_db"), sf_jw_num(w, round(r->m->gain_db * 100) / 100);
            sf_jw_key(w, "limited_frames"), sf_jw_int(w, r->m->limited_frames);
            sf_jw_key(w, "short_term_ok"), sf_jw_bool(w, r->m->short_term_ok);
            sf_jw_obj_end(w);
        }
        sf_jw_obj_end(w);
    }
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    (void)r;
    const struct sf_render_setup *s = w->s;
    const struct sf_campaign *c = s->campaign;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    const enum sf_lang lang = (enum sf_lang)j->language;
    int shots[SF_CAMPAIGN_MAX_SHOTS], st = SF_OK;
    int64_t frames;
    const struct sf_music *music;
    const int n = edit_of(c, j->sequence, j->length, shots, &frames, &music);
    const int64_t samples = sf_campaign_frame_samples(frames, dl->fps);
    const size_t bytes = (size_t)(samples > 0 ? samples : 1) * 2 * sizeof(float);
    struct placed lines[MAX_LINES];
    int64_t ends[MAX_LINES];
    const int nl = lines_of(c, shots, n, samples, lang, lines);
    float *dia = calloc(1, bytes), *mus = calloc(1, bytes), *mix = malloc(bytes), *file = NULL;
    char *index_text = NULL;
    struct sf_json_doc *index = NULL;
    if (!dia || !mus || !mix) {
        st = SF_E_NOMEM;
        goto out;
    }
    /* dialogue: mono in the centre (-3 dB each side) */
    for (int i = 0; i < nl; i++) {
        const struct sf_speech_voice v = voice_of(c, lines[i].d);
        float *pcm = NULL;
        int64_t len = 0;
        SF_TRY(st, sf_speech_synth(&v, lines[i].d->phonetic ? lines[i].d->phonetic
                                                           : lines[i].d->text, &pcm, &len));
        if (lines[i].at + len > samples) {
            SF_WARN("sound", "%s: the line \"%.40s\" is cut %.2f s short at the end of the edit",
                    j->name, lines[i].d->text, (double)(lines[i].at + len - samples) / SF_AUDIO_RATE);
            len = samples - lines[i].at;
        }
        for (int64_t k = 0; k < len; k++) {
            dia[2 * (lines[i].at + k)] += (float)(M_SQRT1_2 * pcm[k]);
            dia[2 * (lines[i].at + k) + 1] += (float)(M_SQRT1_2 * pcm[k]);
        }
        ends[i] = lines[i].at + len;
        free(pcm);
    }
    /* music: from the edit's start, faded and ducked */
    if (music->file) {
        int64_t have = 0;
        SF_TRY(st, sf_audio_decode(music->file, samples, &file, &have, NULL, 0));
        for (int64_t t = 0; t < have; t++) {
            const double g = music_gain(music, t, have < samples ? have : samples, lines, ends, nl);
            mus[2 * t] = (float)(g * file[2 * t]);
            mus[2 * t + 1] = (float)(g * file[2 * t + 1]);
        }
        if (have < samples)
            SF_WARN("sound", "%s: the music (%s) lasts %.2f s, the edit %.2f s: silence after it",
                    j->name, music->file, (double)have / SF_AUDIO_RATE,
                    (double)samples / SF_AUDIO_RATE);
    }
    /* mastering: stems scaled by the mix's gain and limiter, summing to the mix */
    const struct sf_master_target t = {dl->loudness_lufs, dl->true_peak_db, dl->short_term_max};
    struct sf_master_result m;
    float *stems[2] = {dia, mus};
    SF_TRY(st, sf_audio_master(stems, 2, samples, &t, mix, &m));
    if (!m.short_term_ok)
        SF_WARN("sound", "%s: short-term loudness reaches %.1f LUFS, over the %.0f LUFS of EBU "
                "R128 s1; lower the music's gain_db or deepen its duck_db", j->name,
                m.measured.short_term_max, t.short_term_max);

    /* the files, at the next free version */
    struct sound_file f[N_FILES] = {
        {.ext = "wav", .type = "mix", .role = "mix"},
        {.ext = "wav", .type = "stem", .role = "dialogue"},
        {.ext = "wav", .type = "stem", .role = "music"},
        {.ext = "srt", .type = "subtitles", .role = "srt"},
        {.ext = "vtt", .type = "subtitles", .role = "vtt"},
    };
    char base[224], dir[SF_RENDER_PATH_MAX + 48];
    sf_assemble_spot_base(c, j->sequence, j->length, -1, base, sizeof base);
    snprintf(dir, sizeof dir, "%s/out/sound", s->rundir);
    SF_TRY(st, sf_render_mkdirs(dir, 0));
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    SF_TRY(st, sf_assemble_index_load(s, &index_text, &index));
    const struct sf_json *indexed = index ? sf_json_get(sf_json_root(index), "files") : NULL;
    int version = 1;
    for (int i = 0; i < N_FILES; i++) {
        if (f[i].ext[0] == 'w')
            snprintf(f[i].name, sizeof f[i].name, "%s_%s_%s", base, sf_lang_name(lang), f[i].role);
        else
            snprintf(f[i].name, sizeof f[i].name, "%s_%s", base, sf_lang_name(lang));
        const int v = sf_assemble_next_version(indexed, dir, f[i].name, f[i].ext);
        if (v > version) version = v;
    }
    for (int i = 0; i < N_FILES; i++) {
        f[i].version = version;
        if (version == 1)
            snprintf(f[i].path, sizeof f[i].path, "%.4150s/%.255s.%.3s", dir, f[i].name, f[i].ext);
        else
            snprintf(f[i].path, sizeof f[i].path, "%.4150s/%.255s_v%d.%.3s", dir, f[i].name, version,
                     f[i].ext);
    }
    SF_TRY(st, sf_audio_write_wav(f[0].path, mix, samples));
    SF_TRY(st, sf_audio_write_wav(f[1].path, dia, samples));
    SF_TRY(st, sf_audio_write_wav(f[2].path, mus, samples));
    SF_TRY(st, write_subtitles(f[3].path, f[4].path, lines, ends, nl, samples));
    const char *names[N_FILES];
    for (int i = 0; i < N_FILES; i++) {
        SF_TRY(st, sf_assemble_digest(f[i].path, f[i].sha, &f[i].bytes));
        names[i] = f[i].name;
    }
    SF_INFO("sound", "%s: %d line%s, %.2f s: %.1f LUFS, short-term max %.1f LUFS, true peak "
            "%.1f dBTP (gain %+.1f dB, %lld frames limited) -> %s", j->name, nl, nl == 1 ? "" : "s",
            (double)samples / SF_AUDIO_RATE, m.measured.integrated, m.measured.short_term_max,
            m.measured.true_peak, m.gain_db, (long long)m.limited_frames, f[0].path);

    /* the index, then the unit's record */
    struct sound_record rec = {j, f, samples, &m, &t};
    st = sf_assemble_publish(s, j, names, N_FILES, write_files, &rec);
out:
    sf_json_free(index);
    free(index_text);
    free(dia);
    free(mus);
    free(mix);
    free(file);
    return st;
}

int sf_unit_sound_mix(const struct sf_render_job *j, char *path, size_t n)
{
    char *text = NULL, err[160];
    size_t len = 0;
    struct sf_json_doc *doc = NULL;
    if (!sf_file_is_regular(j->out)) {   /* one line with the fix, not io's bare "open: ..." */
        SF_ERROR("sound", "%s: missing; run the same render again (the sound unit writes it)",
                 j->out);
        return SF_E_NOTFOUND;
    }
    int st = sf_file_read_all(j->out, 16u << 20, &text, &len);
    if (st == SF_OK && !(doc = sf_json_parse(text, len, err, sizeof err))) {
        SF_ERROR("sound", "%s: %s; delete it and run the same render again", j->out, err);
        st = SF_E_FORMAT;
    }
    const struct sf_json *files = doc ? sf_json_get(sf_json_root(doc), "files") : NULL;
    int found = 0;
    for (size_t i = 0; files && files->type == SF_JSON_ARRAY && i < files->n && !found; i++) {
        const char *role = sf_json_get_str(files->items[i], "role");
        const char *p = sf_json_get_str(files->items[i], "path");
        if (role && p && strcmp(role, "mix") == 0) {
            snprintf(path, n, "%s", p);
            found = 1;
        }
    }
    if (st == SF_OK && !found) {
        SF_ERROR("sound", "%s: lists no mix; delete it and run the same render again", j->out);
        st = SF_E_FORMAT;
    }
    sf_json_free(doc);
    free(text);
    return st;
}

const struct sf_unit_kind sf_unit_sound = {
    .name = "sound",
    .status_row = "sound",
    .resource = SF_UNIT_CPU,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = sf_assemble_output_ok,
    .remove_output = sf_assemble_remove_record,
};

/* timeline.c — OpenTimelineIO and CMX3600 EDL files of one edit (sf_timeline.h). Called by the
 * timeline unit kind (coordinator/unit_timeline.c). The subtle things: OTIO stores rates as
 * doubles, so 23.976 is written as 24000/1001 in full precision (the OTIO library compares
 * times by value x rate); EDL timecodes count at the nominal rate (24 for 23.976, 30 for 29.97)
 * and drop-frame labels skip two labels a minute except every tenth minute. */
#define _POSIX_C_SOURCE 200809L
#include "sf_timeline.h"
#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nominal(struct sf_fps fps) { return (fps.num + fps.den - 1) / fps.den; }

int64_t sf_timecode_to_frames(const int tc[4], struct sf_fps fps, int drop_frame)
{
    const int64_t nom = nominal(fps);
    const int64_t minutes = 60LL * tc[0] + tc[1];
    int64_t n = ((int64_t)tc[0] * 3600 + (int64_t)tc[1] * 60 + tc[2]) * nom + tc[3];
    if (drop_frame) n -= 2 * (minutes - minutes / 10);
    return n;
}

void sf_timecode_format(int64_t n, struct sf_fps fps, int drop_frame, char *buf, size_t len)
{
    const int64_t nom = nominal(fps);
    if (drop_frame) { /* 29.97: 17982 frames per 10 minutes, 1798 per dropped minute */
        const int64_t d = n / 17982, m = n % 17982;
        n += 18 * d + (m > 2 ? 2 * ((m - 2) / 1798) : 0);
    }
    snprintf(buf, len, "%02lld:%02lld:%02lld%c%02lld", (long long)(n / (3600 * nom) % 24),
             (long long)(n / (60 * nom) % 60), (long long)(n / nom % 60), drop_frame ? ';' : ':',
             (long long)(n % nom));
}

/* The clips tile [0, frames) in order and stay inside their media. */
static int check(const struct sf_timeline *t, const char *path)
{
    int64_t at = 0;
    for (int i = 0; i < t->n_clips; i++) {
        const struct sf_timeline_clip *c = &t->clips[i];
        if (c->record_in != at || c->frames <= 0 || c->source_in < 0 ||
            c->source_in + c->frames > c->source_frames) {
            SF_ERROR("timeline", "%s: clip %d (%s) at %lld+%lld from %lld of %lld frames does not "
                     "follow frame %lld inside its media", path, i, c->name,
                     (long long)c->record_in, (long long)c->frames, (long long)c->source_in,
                     (long long)c->source_frames, (long long)at);
            return SF_E_INVAL;
        }
        at += c->frames;
    }
    if (at != t->frames) {
        SF_ERROR("timeline", "%s: the clips end at frame %lld, the edit at %lld", path,
                 (long long)at, (long long)t->frames);
        return SF_E_INVAL;
    }
    return SF_OK;
}

/* ---- OTIO ---------------------------------------------------------------------------------- */

static void rtime(struct sf_jw *w, const char *key, double rate, int64_t value)
{
    sf_jw_key(w, key);
    sf_jw_obj_begin(w);
    sf_jw_key(w, "OTIO_SCHEMA"), sf_jw_str(w, "RationalTime.1");
    sf_jw_key(w, "rate"), sf_jw_num(w, rate);
    sf_jw_key(w, "value"), sf_jw_num(w, (double)value);
    sf_jw_obj_end(w);
}

static void trange(struct sf_jw *w, const char *key, double rate, int64_t start, int64_t dur)
{
    sf_jw_key(w, key);
    sf_jw_obj_begin(w);
    sf_jw_key(w, "OTIO_SCHEMA"), sf_jw_str(w, "TimeRange.1");
    rtime(w, "duration", rate, dur);
    rtime(w, "start_time", rate, start);
    sf_jw_obj_end(w);
}

/* The members every OTIO composable carries. */
static void item_head(struct sf_jw *w, const char *schema, const char *name)
{
    sf_jw_key(w, "OTIO_SCHEMA"), sf_jw_str(w, schema);
    sf_jw_key(w, "metadata"), sf_jw_obj_begin(w), sf_jw_obj_end(w);
    sf_jw_key(w, "name"), sf_jw_str(w, name);
}

static void item_tail(struct sf_jw *w)
{
    sf_jw_key(w, "effects"), sf_jw_arr_begin(w), sf_jw_arr_end(w);
    sf_jw_key(w, "enabled"), sf_jw_bool(w, 1);
    sf_jw_key(w, "color"), sf_jw_null(w);
}

static void clip_json(struct sf_jw *w, const struct sf_timeline_clip *c, double rate, int64_t tc0)
{
    sf_jw_obj_begin(w);
    sf_jw_key(w, "OTIO_SCHEMA"), sf_jw_str(w, "Clip.2");
    sf_jw_key(w, "metadata"), sf_jw_obj_begin(w);
    sf_jw_key(w, "shotfarm"), sf_jw_obj_begin(w);
    sf_jw_key(w, "record_in"), sf_jw_int(w, c->record_in);
    sf_jw_obj_end(w);
    sf_jw_obj_end(w);
    sf_jw_key(w, "name"), sf_jw_str(w, c->name);
    trange(w, "source_range", rate, tc0 + c->source_in, c->frames);
    sf_jw_key(w, "markers"), sf_jw_arr_begin(w);
    for (int k = 0; k < c->n_markers; k++) {
        const struct sf_timeline_marker *m = &c->markers[k];
        sf_jw_obj_begin(w);
        sf_jw_key(w, "OTIO_SCHEMA"), sf_jw_str(w, "Marker.2");
        sf_jw_key(w, "metadata"), sf_jw_obj_begin(w);
        sf_jw_key(w, "shotfarm"), sf_jw_obj_begin(w);
        sf_jw_key(w, "kind"), sf_jw_str(w, "dialogue");
        sf_jw_key(w, "language"), sf_jw_str(w, m->language);
        sf_jw_obj_end(w);
        sf_jw_obj_end(w);
        sf_jw_key(w, "name"), sf_jw_str(w, m->name);
        sf_jw_key(w, "color"), sf_jw_str(w, "YELLOW");
        trange(w, "marked_range", rate, tc0 + m->frame, 0);
        sf_jw_key(w, "comment"), sf_jw_str(w, m->comment);
        sf_jw_obj_end(w);
    }
    sf_jw_arr_end(w);
    item_tail(w);
    sf_jw_key(w, "media_references"), sf_jw_obj_begin(w);
    sf_jw_key(w, "DEFAULT_MEDIA"), sf_jw_obj_begin(w);
    sf_jw_key(w, "OTIO_SCHEMA"), sf_jw_str(w, "ExternalReference.1");
    sf_jw_key(w, "metadata"), sf_jw_obj_begin(w), sf_jw_obj_end(w);
    const char *base = strrchr(c->source, '/');
    sf_jw_key(w, "name"), sf_jw_str(w, base ? base + 1 : c->source);
    trange(w, "available_range", rate, tc0, c->source_frames);
    sf_jw_key(w, "available_image_bounds"), sf_jw_null(w);
    char url[4200];
    snprintf(url, sizeof url, "file://%s", c->source);
    sf_jw_key(w, "target_url"), sf_jw_str(w, url);
    sf_jw_obj_end(w);
    sf_jw_obj_end(w);
    sf_jw_key(w, "active_media_reference_key"), sf_jw_str(w, "DEFAULT_MEDIA");
    sf_jw_obj_end(w);
}

/* Publishes what f (an open_memstream of *buf) holds at path. */
static int publish(FILE *f, char **buf, size_t *len, const char *path)
{
    if (fclose(f) != 0) return SF_E_NOMEM;
    return sf_file_write_atomic(path, *buf, *len);
}

int sf_timeline_write_otio(const struct sf_timeline *t, const char *path)
{
    int st = check(t, path);
    if (st) return st;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return SF_E_NOMEM;
    const double rate = (double)t->fps.num / t->fps.den;
    const int64_t tc0 = sf_timecode_to_frames(t->tc_start, t->fps, t->drop_frame);
    struct sf_jw w;
    sf_jw_init(&w, f, 2);
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "OTIO_SCHEMA"), sf_jw_str(&w, "Timeline.1");
    sf_jw_key(&w, "metadata"), sf_jw_obj_begin(&w);
    sf_jw_key(&w, "shotfarm"), sf_jw_obj_begin(&w);
    char fps[32];
    snprintf(fps, sizeof fps, "%d/%d", t->fps.num, t->fps.den);
    sf_jw_key(&w, "fps"), sf_jw_str(&w, fps);
    sf_jw_key(&w, "drop_frame"), sf_jw_bool(&w, t->drop_frame);
    sf_jw_key(&w, "disclosure"), sf_jw_str(&w, t->comment ? t->comment : "");
    sf_jw_obj_end(&w);
    sf_jw_obj_end(&w);
    sf_jw_key(&w, "name"), sf_jw_str(&w, t->name);
    rtime(&w, "global_start_time", rate, tc0);
    sf_jw_key(&w, "tracks"), sf_jw_obj_begin(&w);
    item_head(&w, "Stack.1", "tracks");
    sf_jw_key(&w, "source_range"), sf_jw_null(&w);
    sf_jw_key(&w, "markers"), sf_jw_arr_begin(&w), sf_jw_arr_end(&w);
    item_tail(&w);
    sf_jw_key(&w, "children"), sf_jw_arr_begin(&w);
    sf_jw_obj_begin(&w);
    item_head(&w, "Track.1", "V1");
    sf_jw_key(&w, "source_range"), sf_jw_null(&w);
    sf_jw_key(&w, "markers"), sf_jw_arr_begin(&w), sf_jw_arr_end(&w);
    item_tail(&w);
    sf_jw_key(&w, "children"), sf_jw_arr_begin(&w);
    for (int i = 0; i < t->n_clips; i++)
        clip_json(&w, &t->clips[i], rate, tc0);
    sf_jw_arr_end(&w);
    sf_jw_key(&w, "kind"), sf_jw_str(&w, "Video");
    sf_jw_obj_end(&w);
    sf_jw_arr_end(&w);
    sf_jw_obj_end(&w);
    sf_jw_obj_end(&w);
    sf_jw_finish(&w);
    st = publish(f, &buf, &len, path);
    free(buf);
    return st;
}

/* ---- CMX3600 ------------------------------------------------------------------------------- */

/* Text for an EDL comment: printable ASCII only (EDLs are read as 7-bit text by the NLEs); any
 * other character becomes '?'. The OTIO file keeps the full text. */
static void ascii_of(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 1 < n; p++) {
        if (*p >= 0x80 && (*p & 0xC0) == 0x80) continue; /* a UTF-8 continuation byte */
        out[k++] = *p >= 0x20 && *p < 0x7F ? (char)*p : '?';
    }
    out[k] = '\0';
}

int sf_timeline_write_edl(const struct sf_timeline *t, const char *path)
{
    int st = check(t, path);
    if (st) return st;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return SF_E_NOMEM;
    const int64_t tc0 = sf_timecode_to_frames(t->tc_start, t->fps, t->drop_frame);
    char title[256];
    ascii_of(t->name, title, sizeof title);
    fprintf(f, "TITLE: %s\nFCM: %s\n", title, t->drop_frame ? "DROP FRAME" : "NON-DROP FRAME");
    fputc('\n', f); /* no comment before the first event: the importers refuse one */
    for (int i = 0; i < t->n_clips; i++) {
        const struct sf_timeline_clip *c = &t->clips[i];
        char si[16], so[16], ri[16], ro[16], name[256], src[4200];
        sf_timecode_format(tc0 + c->source_in, t->fps, t->drop_frame, si, sizeof si);
        sf_timecode_format(tc0 + c->source_in + c->frames, t->fps, t->drop_frame, so, sizeof so);
        sf_timecode_format(tc0 + c->record_in, t->fps, t->drop_frame, ri, sizeof ri);
        sf_timecode_format(tc0 + c->record_in + c->frames, t->fps, t->drop_frame, ro, sizeof ro);
        const char *base = strrchr(c->source, '/');
        ascii_of(base ? base + 1 : c->source, name, sizeof name);
        ascii_of(c->source, src, sizeof src);
        /* AX: an auxiliary source named by the comments below (Premiere's style; Avid and
         * Resolve match the clip name) */
        fprintf(f, "%03d  AX       V     C        %s %s %s %s\n", i + 1, si, so, ri, ro);
        fprintf(f, "* FROM CLIP NAME: %s\n* FROM CLIP: %s\n", name, src);
        for (int k = 0; k < c->n_markers; k++) {
            char at[16], text[512];
            sf_timecode_format(tc0 + c->markers[k].frame, t->fps, t->drop_frame, at, sizeof at);
            ascii_of(c->markers[k].comment, text, sizeof text);
            fprintf(f, "* LOC: %s YELLOW  %s: %s\n", at, c->markers[k].name, text);
        }
        fputc('\n', f);
    }
    st = publish(f, &buf, &len, path);
    free(buf);
    return st;
}

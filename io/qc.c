/* qc.c — QC of one delivered file (sf_qc.h). Called by the qc unit kind (coordinator/
 * unit_qc.c) on a CPU lane and by its tests. The picture is decoded in its own format (8-bit
 * 4:2:0 H.264, 10-bit 4:2:2 ProRes and FFV1) and run through a libavfilter graph of blackdetect
 * and freezedetect, whose findings arrive as frame metadata; every decoded frame is also measured
 * here for levels (EBU R 103) and flashes (ITU-R BT.1702).
 *
 * The subtle thing about flashes: a transition is counted per area of a 16 x 16 grid when that
 * area's luminance has moved 20 cd/m2 or more in one direction since its last turn (so a slow
 * fade counts once, when it has moved far enough, and a flicker below 20 cd/m2 never does); the
 * screen makes a transition in a frame where areas covering 25 % of it complete one in the same
 * direction, and a flash is a pair of opposing screen transitions. */
#define _POSIX_C_SOURCE 200809L
#include "sf_qc.h"
#include "sf_errors.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include "sf_avfilter.h"

#include <libavutil/pixdesc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID 16                 /* areas per side for the flash check */
#define FLASH_CD 20.0           /* cd/m2: the smallest change that is a transition */
#define FLASH_DARK_CD 160.0     /* cd/m2: the darker state must be below this */
#define FLASH_AREA 0.25         /* of the screen, at once */
#define FLASH_MAX 3             /* flashes allowed in any one second */
#define RED_RATIO 0.8           /* saturated red: R / (R + G + B) */
#define RED_SCALE 320.0         /* red change unit: (R - G - B) x 320 */
#define WHITE_CD 200.0          /* display white, cd/m2 */
#define LEVELS_AREA 0.01        /* fraction of a frame allowed out of tolerance (EBU R 103) */
#define LUT_N 1024

void sf_qc_opts_default(struct sf_qc_opts *o)
{
    memset(o, 0, sizeof *o);
    o->black_seconds = 0.5;
    o->freeze_seconds = 1.0;
}

/* One measured quantity of one area: the signed change accumulated since its last turn, and
 * whether that run has been counted as a transition. */
struct track {
    double prev, acc;
    int counted, primed;
};

/* Feeds value v (a frame's mean of the area); returns +1 / -1 when a transition completes now.
 * `dark` is the largest value the darker end may have (FLASH_DARK_CD, or INFINITY). */
static int track_step(struct track *t, double v, double dark, int gate)
{
    if (!t->primed) {
        t->primed = 1;
        t->prev = v;
        return 0;
    }
    const double d = v - t->prev;
    t->prev = v;
    if (d == 0) return 0;
    if (t->acc == 0 || (d > 0) == (t->acc > 0)) {
        t->acc += d;
    } else { /* a turn: a new run starts */
        t->acc = d;
        t->counted = 0;
    }
    const double darker = t->acc > 0 ? v - t->acc : v;
    if (!t->counted && gate && fabs(t->acc) >= FLASH_CD && darker < dark) {
        t->counted = 1;
        return t->acc > 0 ? 1 : -1;
    }
    return 0;
}

/* Screen transitions: frame index and sign, in order. */
struct transitions {
    int64_t *frame;
    int *sign;
    int64_t n, cap;
};

static int push_transition(struct transitions *t, int64_t f, int sign)
{
    if (t->n == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 64;
        int64_t *nf = realloc(t->frame, (size_t)cap * sizeof *nf);
        if (!nf) return SF_E_NOMEM;
        t->frame = nf;
        int *ns = realloc(t->sign, (size_t)cap * sizeof *ns);
        if (!ns) return SF_E_NOMEM;
        t->sign = ns;
        t->cap = cap;
    }
    t->frame[t->n] = f;
    t->sign[t->n++] = sign;
    return SF_OK;
}

/* The most flashes (pairs of opposing transitions) within `window` frames, and where. */
static int most_flashes(const struct transitions *t, int64_t window, int64_t *at)
{
    int best = 0;
    *at = -1;
    for (int64_t i = 0; i < t->n; i++) {
        int n = 0, last = 0;
        for (int64_t k = i; k < t->n && t->frame[k] < t->frame[i] + window; k++)
            if (t->sign[k] != last) n++, last = t->sign[k]; /* opposing changes only */
        if (n / 2 > best) best = n / 2, *at = t->frame[i];
    }
    return best;
}

struct qc {
    struct sf_qc_result *r;
    const struct sf_qc_opts *o;
    float lin[LUT_N];                      /* BT.1886 EOTF of R'G'B' in [0, 1] */
    struct track lum[GRID * GRID], red[GRID * GRID];
    struct transitions tl, tr;
    double black_start, freeze_start;      /* pending, -1 none */
    double t0;                             /* the first frame's time */
};

static int intended(const struct sf_qc_opts *o, double s, double e)
{
    for (int i = 0; i < o->n_intended; i++)
        if (s >= o->intended[i][0] - 1e-6 && e <= o->intended[i][1] + 1e-6) return 1;
    return 0;
}

static void add_event(struct qc *q, int black, double s, double e)
{
    if (intended(q->o, s, e)) return;
    int *n = black ? &q->r->n_black : &q->r->n_freeze;
    struct sf_qc_event *ev = black ? q->r->black : q->r->freeze;
    if (*n < SF_QC_MAX_EVENTS) ev[(*n)++] = (struct sf_qc_event){s, e};
}

static double meta_time(const AVFrame *f, const char *key, int *found)
{
    const AVDictionaryEntry *e = av_dict_get(f->metadata, key, NULL, 0);
    *found = e != NULL;
    return e ? strtod(e->value, NULL) : 0;
}

/* One filtered frame: its metadata (black and freeze runs), levels and flash areas. */
static int measure(struct qc *q, const AVFrame *f, double t)
{
    struct sf_qc_result *r = q->r;
    int found;
    double v = meta_time(f, "lavfi.black_start", &found);
    if (found) q->black_start = v - q->t0;
    v = meta_time(f, "lavfi.black_end", &found);
    if (found && q->black_start >= 0) { /* blackdetect marks every end; short runs pass */
        if (v - q->t0 - q->black_start >= q->o->black_seconds - 1e-6)
            add_event(q, 1, q->black_start, v - q->t0);
        q->black_start = -1;
    }
    v = meta_time(f, "lavfi.freezedetect.freeze_start", &found);
    if (found) q->freeze_start = v - q->t0;
    v = meta_time(f, "lavfi.freezedetect.freeze_end", &found);
    if (found && q->freeze_start >= 0) {
        add_event(q, 0, q->freeze_start, v - q->t0);
        q->freeze_start = -1;
    }
    (void)t;

    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    const int depth = d->comp[0].depth, cw = d->log2_chroma_w, ch = d->log2_chroma_h;
    const double scale = 1.0 / (1 << (depth - 8)); /* to 8-bit code values */
    const int W = f->width, H = f->height;
    double sum[GRID * GRID][3] = {{0}};
    int64_t cnt[GRID * GRID] = {0}, out = 0;
    /* normalised BT.709 limited range: y' = Y x ky - 16/219, cb = Cb x kc - 128/224 */
    const float ky = (float)(scale / 219), kc = (float)(scale / 224);
    const float y0 = 16.f / 219, c0 = 128.f / 224;
    int ymin = 1 << 30, ymax = -1;
    for (int y = 0; y < H; y++) {
        const int gy = y * GRID / H;
        const uint8_t *l0 = f->data[0] + (size_t)y * f->linesize[0];
        const uint8_t *l1 = f->data[1] + (size_t)(y >> ch) * f->linesize[1];
        const uint8_t *l2 = f->data[2] + (size_t)(y >> ch) * f->linesize[2];
        for (int x = 0; x < W; x++) {
            int Yi, Cbi, Cri;
            if (depth > 8) {
                Yi = ((const uint16_t *)l0)[x];
                Cbi = ((const uint16_t *)l1)[x >> cw];
                Cri = ((const uint16_t *)l2)[x >> cw];
            } else {
                Yi = l0[x], Cbi = l1[x >> cw], Cri = l2[x >> cw];
            }
            if (Yi < ymin) ymin = Yi;
            if (Yi > ymax) ymax = Yi;
            const float yy = Yi * ky - y0, cb = Cbi * kc - c0, cr = Cri * kc - c0;
            const float rgb[3] = {yy + 1.5748f * cr, yy - 0.18732f * cb - 0.46812f * cr,
                                  yy + 1.8556f * cb};
            /* EBU R 103: luma -1 %..103 %, R'G'B' -5 %..105 % */
            out += yy < -0.01f || yy > 1.03f || rgb[0] < -0.05f || rgb[0] > 1.05f ||
                   rgb[1] < -0.05f || rgb[1] > 1.05f || rgb[2] < -0.05f || rgb[2] > 1.05f;
            if ((x | y) & 1) continue; /* the areas' means from every other pixel and row */
            const int g = gy * GRID + x * GRID / W;
            for (int c = 0; c < 3; c++) {
                const float cl = rgb[c] < 0 ? 0 : rgb[c] > 1 ? 1 : rgb[c];
                sum[g][c] += q->lin[(int)(cl * (LUT_N - 1) + 0.5f)];
            }
            cnt[g]++;
        }
    }
    if (ymin * scale < r->luma_min) r->luma_min = ymin * scale;
    if (ymax * scale > r->luma_max) r->luma_max = ymax * scale;
    const double frac = (double)out / ((double)W * H);
    if (frac > r->levels_worst) r->levels_worst = frac, r->levels_worst_frame = r->frames;

    /* flashes: each area's mean luminance and red, then the screen */
    double area[2][2] = {{0}}; /* [lum|red][up|down] */
    int64_t sampled = 0;
    for (int g = 0; g < GRID * GRID; g++)
        sampled += cnt[g];
    for (int g = 0; g < GRID * GRID; g++) {
        if (!cnt[g]) continue;
        const double R = sum[g][0] / cnt[g], G = sum[g][1] / cnt[g], B = sum[g][2] / cnt[g];
        const double L = WHITE_CD * (0.2126 * R + 0.7152 * G + 0.0722 * B);
        const double red = (R - G - B) > 0 ? (R - G - B) * RED_SCALE : 0;
        const int sat = R + G + B > 0 && R / (R + G + B) >= RED_RATIO;
        const int satprev = q->red[g].primed && q->red[g].prev > 0;
        const double a = (double)cnt[g] / (double)sampled; /* of the screen */
        int s = track_step(&q->lum[g], L, FLASH_DARK_CD, 1);
        if (s) area[0][s < 0] += a;
        s = track_step(&q->red[g], sat ? red : 0, INFINITY, sat || satprev);
        if (s) area[1][s < 0] += a;
    }
    for (int k = 0; k < 2; k++) {
        struct transitions *tt = k ? &q->tr : &q->tl;
        const int up = area[k][0] >= FLASH_AREA, down = area[k][1] >= FLASH_AREA;
        if (up || down) {
            int st = push_transition(tt, r->frames, up && (!down || area[k][0] >= area[k][1]) ? 1 : -1);
            if (st) return st;
        }
    }
    r->frames++;
    return SF_OK;
}

/* One frame from the chain (sf_avfilter_decode's callback). */
static int on_frame(void *arg, AVFrame *fr, AVRational tb)
{
    struct qc *q = arg;
    const double t = fr->pts == AV_NOPTS_VALUE ? 0 : fr->pts * av_q2d(tb);
    if (q->r->frames == 0) q->t0 = t;
    if (q->o->progress && q->r->frames % 16 == 15) q->o->progress(q->o->progress_arg, q->r->frames + 1);
    return measure(q, fr, t);
}

static void summarise(struct qc *q)
{
    struct sf_qc_result *r = q->r;
    char *p = r->failures;
    size_t left = sizeof r->failures;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        int k_ = snprintf(p, left, "%s", p == r->failures ? "" : "; ");                            \
        if (k_ > 0 && (size_t)k_ < left) p += k_, left -= (size_t)k_;                              \
        k_ = snprintf(p, left, __VA_ARGS__);                                                       \
        if (k_ > 0 && (size_t)k_ < left) p += k_, left -= (size_t)k_;                              \
    } while (0)
    r->failures[0] = '\0';
    if (r->levels_worst > LEVELS_AREA)
        FAIL("levels: %.1f%% of frame %lld outside EBU R 103's tolerance (luma %.0f..%.0f)",
             100 * r->levels_worst, (long long)r->levels_worst_frame, r->luma_min, r->luma_max);
    for (int i = 0; i < r->n_black; i++)
        FAIL("black from %.3f s to %.3f s", r->black[i].start, r->black[i].end);
    for (int i = 0; i < r->n_freeze; i++)
        FAIL("frozen from %.3f s to %.3f s", r->freeze[i].start, r->freeze[i].end);
    if (r->flashes > FLASH_MAX)
        FAIL("%d flashes within one second from frame %lld (ITU-R BT.1702 allows %d)", r->flashes,
             (long long)r->flashes_frame, FLASH_MAX);
    if (r->red_flashes > FLASH_MAX)
        FAIL("%d red flashes within one second from frame %lld (ITU-R BT.1702 allows %d)",
             r->red_flashes, (long long)r->red_flashes_frame, FLASH_MAX);
#undef FAIL
    r->pass = r->failures[0] == '\0';
}

int sf_qc_file(const char *path, const struct sf_qc_opts *opts, struct sf_qc_result *r)
{
    int st = SF_OK;
    struct sf_qc_opts def;
    if (!opts) sf_qc_opts_default(&def), opts = &def;
    struct qc *q = calloc(1, sizeof *q);
    memset(r, 0, sizeof *r);
    r->luma_min = 1e9, r->luma_max = -1e9, r->levels_worst_frame = -1;
    if (!q) {
        st = SF_E_NOMEM;
        goto out;
    }
    q->r = r, q->o = opts, q->black_start = q->freeze_start = -1;
    for (int i = 0; i < LUT_N; i++)
        q->lin[i] = (float)pow((double)i / (LUT_N - 1), 2.4);

    char black_d[32], freeze_d[32];
    snprintf(black_d, sizeof black_d, "%g", opts->black_seconds);
    snprintf(freeze_d, sizeof freeze_d, "%g", opts->freeze_seconds);
    const char *black_kv[] = {"d", black_d, "pic_th", "0.98", "pix_th", "0.10", NULL};
    const char *freeze_kv[] = {"n", "-60dB", "d", freeze_d, NULL};
    const struct sf_avfilter_spec chain[] = {{"blackdetect", black_kv}, {"freezedetect", freeze_kv}};
    AVRational rate = {0, 1};
    /* the decoder's own format: levels are measured on the code values as delivered */
    SF_TRY(st, sf_avfilter_decode(path, chain, 2, -1, on_frame, q, &rate));
    r->fps = rate.den ? av_q2d(rate) : 0;

    /* runs still open at the end of the file */
    const double end = r->fps > 0 ? r->frames / r->fps : 0;
    if (q->black_start >= 0 && end - q->black_start >= opts->black_seconds - 1e-6)
        add_event(q, 1, q->black_start, end);
    if (q->freeze_start >= 0) add_event(q, 0, q->freeze_start, end);
    const int64_t second = (int64_t)ceil(r->fps > 0 ? r->fps : 1); /* frames in one second */
    r->flashes = most_flashes(&q->tl, second, &r->flashes_frame);
    r->red_flashes = most_flashes(&q->tr, second, &r->red_flashes_frame);
    if (r->frames == 0) {
        SF_ERROR("qc", "%s: no picture decoded; the file is damaged", path);
        st = SF_E_FORMAT;
        goto out;
    }
    summarise(q);
out:
    if (q) {
        free(q->tl.frame), free(q->tl.sign), free(q->tr.frame), free(q->tr.sign);
        free(q);
    }
    return st;
}

static void events_json(struct sf_jw *w, const char *key, const struct sf_qc_event *e, int n)
{
    sf_jw_key(w, key), sf_jw_arr_begin(w);
    for (int i = 0; i < n; i++) {
        sf_jw_obj_begin(w);
        sf_jw_key(w, "start"), sf_jw_num(w, e[i].start);
        sf_jw_key(w, "end"), sf_jw_num(w, e[i].end);
        sf_jw_obj_end(w);
    }
    sf_jw_arr_end(w);
}

void sf_qc_write_json(struct sf_jw *w, const struct sf_qc_result *r)
{
    sf_jw_obj_begin(w);
    sf_jw_key(w, "pass"), sf_jw_bool(w, r->pass);
    sf_jw_key(w, "failures"), sf_jw_str(w, r->failures);
    sf_jw_key(w, "frames"), sf_jw_int(w, r->frames);
    sf_jw_key(w, "levels"), sf_jw_obj_begin(w);
    sf_jw_key(w, "standard"), sf_jw_str(w, "EBU R 103");
    sf_jw_key(w, "worst_fraction"), sf_jw_num(w, r->levels_worst);
    sf_jw_key(w, "worst_frame"), sf_jw_int(w, r->levels_worst_frame);
    sf_jw_key(w, "luma_min"), sf_jw_num(w, r->luma_min);
    sf_jw_key(w, "luma_max"), sf_jw_num(w, r->luma_max);
    sf_jw_obj_end(w);
    events_json(w, "black", r->black, r->n_black);
    events_json(w, "freeze", r->freeze, r->n_freeze);
    sf_jw_key(w, "flashes"), sf_jw_obj_begin(w);
    sf_jw_key(w, "standard"), sf_jw_str(w, "ITU-R BT.1702");
    sf_jw_key(w, "max_per_second"), sf_jw_int(w, r->flashes);
    sf_jw_key(w, "at_frame"), sf_jw_int(w, r->flashes_frame);
    sf_jw_key(w, "red_max_per_second"), sf_jw_int(w, r->red_flashes);
    sf_jw_key(w, "red_at_frame"), sf_jw_int(w, r->red_flashes_frame);
    sf_jw_obj_end(w);
    sf_jw_obj_end(w);
}

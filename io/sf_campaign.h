/* sf_campaign.h — campaign files (YAML or JSON, docs/campaign.md): parse, validate every field,
 * and hand the later commands (`plan`, `render`, assembly) a resolved, read-only model: every
 * shot with its frames, seeds, effective prompt and element indices, the tiers, model settings
 * and deliverables.
 *
 *   struct sf_campaign *c = NULL;
 *   struct sf_diags *d = NULL;
 *   int st = sf_campaign_load("examples/demo/campaign.yaml", 0, &c, &d);
 *   if (st == SF_E_VALIDATION) sf_diags_print(d, stderr);   // every problem, one line each
 *   for (int i = 0; st == SF_OK && i < sf_campaign_n_shots(c); i++) {
 *       const struct sf_shot *s = sf_campaign_shot(c, i);
 *       printf("%s/%s %d frames seed %u: %s\n", sf_campaign_sequence(c, s->sequence)->id,
 *              s->id, s->frames, s->seed, s->effective_prompt);
 *   }
 *   sf_campaign_destroy(c);
 *   sf_diags_destroy(d);
 *
 * Every problem is a diagnostic "FILE:LINE:COL: FIELD: what is wrong; what is allowed"; the
 * loader never stops at the first one. The model is built only when there are none, so every
 * pointer in it is valid and every value is in range. Full build only (libfyaml, libav*).
 */
#ifndef SF_CAMPAIGN_H
#define SF_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sf_sampler_kind.h" /* enum sf_sampler_kind, enum sf_schedule_kind (tiers) */
#include "sf_window_rule.h" /* tiers' window defaults */

/* ---- vocabularies ----------------------------------------------------------------------- */
enum sf_lang { SF_LANG_EN, SF_LANG_ES, SF_LANG_ZH, SF_LANG_JA, SF_LANG_KO, SF_LANG_COUNT };
enum sf_aspect { SF_ASPECT_16_9, SF_ASPECT_9_16, SF_ASPECT_1_1, SF_ASPECT_COUNT };
enum sf_camera {
    SF_CAMERA_NONE, SF_CAMERA_STATIC, SF_CAMERA_PAN_LEFT, SF_CAMERA_PAN_RIGHT, SF_CAMERA_TILT_UP,
    SF_CAMERA_TILT_DOWN, SF_CAMERA_DOLLY_IN, SF_CAMERA_DOLLY_OUT, SF_CAMERA_TRACKING,
    SF_CAMERA_CRANE_UP, SF_CAMERA_CRANE_DOWN, SF_CAMERA_ORBIT, SF_CAMERA_HANDHELD,
    SF_CAMERA_ZOOM_IN, SF_CAMERA_ZOOM_OUT, SF_CAMERA_COUNT
};
enum sf_tier_kind { SF_TIER_DRAFT, SF_TIER_FINAL, SF_TIER_COUNT };
enum sf_codec { SF_CODEC_H264, SF_CODEC_PRORES, SF_CODEC_FFV1, SF_CODEC_COUNT };

/* Names as written in campaign files ("zh", "16:9", "dolly-in", "draft", "h264"), never NULL
 * for a valid value. */
const char *sf_lang_name(enum sf_lang l);
const char *sf_aspect_name(enum sf_aspect a);
const char *sf_codec_name(enum sf_codec c);
const char *sf_tier_name(enum sf_tier_kind t);
const char *sf_camera_name(enum sf_camera c);
/* The phrase appended to a prompt written in language l ("camera dollies in"); "" for NONE. */
const char *sf_camera_phrase(enum sf_camera c, enum sf_lang l);

/* ---- limits (docs/campaign.md) ---------------------------------------------------------- */
#define SF_CAMPAIGN_MAX_REFS 4         /* reference images per element */
#define SF_CAMPAIGN_MAX_SHOT_REFS 8    /* tiers.<t>.max_refs: references per shot, at most */
#define SF_CAMPAIGN_DEFAULT_SHOT_REFS 4
#define SF_CAMPAIGN_DEFAULT_CONTINUE_FRAMES 5 /* 1 + 4k with k = 1: one whole latent frame more */
/* sequences per campaign: a TD's overnight batch of variants, one per sequence, as one job
 * array (Slurm's default MaxArraySize, 1001, takes indices 0..1000) */
#define SF_CAMPAIGN_MAX_SEQUENCES 1000
#define SF_CAMPAIGN_MAX_SHOTS 6        /* shots per sequence */
#define SF_CAMPAIGN_MAX_SHOT_ELEMENTS 4
#define SF_CAMPAIGN_MIN_SHOT_MS 3000
#define SF_CAMPAIGN_MAX_SHOT_MS 15000
#define SF_CAMPAIGN_DEFAULT_SHOT_MS 5000
#define SF_CAMPAIGN_MODEL_FPS 16
#define SF_CAMPAIGN_ALIAS_BUDGET 100000 /* nodes after expanding YAML aliases */

/* ---- rules, usable on their own (and unit-tested) --------------------------------------- */
/* Model frames for a duration: the smallest 4n+1 >= duration * 16 fps (5 s -> 81). */
int sf_campaign_frames_for_ms(int duration_ms);
/* The same with `lead` frames more in front: the smallest 4n+1 >= lead + duration * 16 fps. */
int sf_campaign_frames_for(int duration_ms, int lead);
/* A continuing shot's lead: how many of its first frames (the `continue_frames` k copied from
 * the continued shot's last) the continued shot has already played. The continued shot has
 * `frames` model frames, of which it plays [lead, lead + 16 * duration), so its frame
 * frames - k + j is played iff j < k - frames + lead + 16 * duration: the continuing shot starts
 * playing at that j (at least 0). 3 s (49 frames) continued by 5: 4. */
int sf_campaign_continue_lead(int frames, int lead, int duration_ms, int k);

/* A delivery frame rate, exact: 24000/1001 for 23.976. */
struct sf_fps { int num, den; };
/* Frames of a deliverable `seconds` long at fps: seconds x the nominal (timecode) rate, so a
 * :15 at 29.97 is 450 frames, the same count as at 30 (docs/campaign.md § Deliverable lengths). */
int sf_campaign_delivery_frames(int seconds, struct sf_fps fps);
/* First delivery frame of the model frame `model_frame` (16 fps) at fps: floor(t x fps), so
 * cuts never drift however many shots precede them. */
int64_t sf_campaign_delivery_frame_at(int64_t model_frame, struct sf_fps fps);

/* Splits a director prompt into shots (docs/campaign.md § Director prompts). On success fills
 * texts[0..*n_shots) (malloc'd, caller frees each) and durations_ms (summing to length_ms) and
 * returns 0. On failure returns -1 and writes the reason ("what is wrong; what is allowed")
 * into why. Deterministic; no language model. */
int sf_campaign_split_director(const char *prompt, int length_ms, char **texts,
                               int *durations_ms, int *n_shots, char *why, size_t why_len);

/* Where a dialogue line starts in an edit's sound, in 48 kHz samples from its first frame: the
 * first delivery frame of its shot (which begins before_ms into the cut, placed like the
 * pictures) plus the line's start_ms. */
int64_t sf_campaign_line_sample(int before_ms, int start_ms, struct sf_fps fps);
/* 48 kHz samples of `frames` delivery frames (exact, rounded down). */
int64_t sf_campaign_frame_samples(int64_t frames, struct sf_fps fps);

/* ---- diagnostics ------------------------------------------------------------------------ */
struct sf_diag {
    const char *file;  /* as given to the loader */
    int line, col;     /* 1-based; 0 when the problem has no place (a missing file) */
    const char *field; /* "sequences[0].shots[2].duration" */
    const char *msg;   /* "what is wrong; what is allowed" */
};
struct sf_diags;

int sf_diags_count(const struct sf_diags *d);              /* kept (at most 500); 0 for NULL */
int sf_diags_total(const struct sf_diags *d);              /* found, also those not kept */
const struct sf_diag *sf_diags_get(const struct sf_diags *d, int i); /* in file order */
/* Writes one line per diagnostic: "FILE:LINE:COL: FIELD: msg". */
void sf_diags_print(const struct sf_diags *d, FILE *f);
void sf_diags_destroy(struct sf_diags *d);

/* ---- the model -------------------------------------------------------------------------- */
/* How an element speaks (docs/sound.md § Dialogue): each line is read by its language's base
 * voice (en-us, es, cmn-latn-pinyin, ja, ko) with this espeak-ng variant, pitch and rate. */
struct sf_voice {
    const char *variant; /* "m3", "f2" (espeak-ng's voices/!v); NULL: the base voice as it is */
    int pitch;           /* 0..99, default 50 */
    int rate;            /* words per minute, 80..450, default 165 */
};

/* A music bed (docs/sound.md § Music): file NULL when there is none. */
struct sf_music {
    const char *file;    /* canonical absolute path */
    double gain_db;      /* applied to the file, before the mix is normalised; default 0 */
    double duck_db;      /* under dialogue, <= 0; default -12 */
};

struct sf_element {
    const char *id;
    const char *description;
    int n_refs;
    const char *refs[SF_CAMPAIGN_MAX_REFS]; /* canonical absolute paths (symlinks resolved) */
    const char *clip;                       /* canonical absolute path or NULL */
    double clip_seconds;
    struct sf_voice voice;                  /* name NULL: the language's default voice */
    enum sf_lang language;
};

struct sf_dialogue {
    int line, col;          /* where it is written (for messages about its sound) */
    int speaker;            /* element index */
    enum sf_lang language;
    const char *text;
    const char *phonetic;   /* pinyin (zh) or kana (ja); NULL for other languages */
    int start_ms;           /* from the start of the shot */
};

struct sf_shot {
    const char *id;          /* unique within its sequence */
    int sequence;            /* sequence index */
    int index;               /* position within the sequence */
    const char *prompt;      /* as written (or the director split's part) */
    const char *negative;    /* "" when none */
    const char *effective_prompt; /* prompt + element descriptions + camera phrase */
    int duration_ms;
    int frames;              /* sf_campaign_frames_for(duration_ms, lead) */
    uint32_t seed;           /* take k renders with seed + k (mod 2^32) */
    int takes;               /* >= 1 */
    int selected_take;       /* 0-based (files say 1-based `selected_take`) */
    int n_elements;
    int elements[SF_CAMPAIGN_MAX_SHOT_ELEMENTS]; /* element indices */
    enum sf_camera camera;
    int n_dialogue;
    const struct sf_dialogue *dialogue;
    int from_director;       /* 1 when split from the sequence's director prompt */
    /* keyframes and continuation (Wan2.1-VACE's masked video; docs/campaign.md § shots) */
    const char *first_frame, *last_frame; /* key art images (canonical paths), or NULL */
    const struct sf_shot *continues;      /* an earlier shot of the same sequence, or NULL */
    int continue_frames;     /* 1 + 4k: this shot's first frames taken from that shot's last */
    int lead;                /* its first frames that the continued shot already played
                                (sf_campaign_continue_lead): rendered, not delivered; the shot
                                plays frames [lead, lead + 16 * duration), and `frames` is
                                sf_campaign_frames_for(duration_ms, lead). 0 without `continues` */
};

/* The brand layer of a sequence (docs/brand.md): supers, a logo and an end card, drawn into
 * every delivered file inside the EBU R 95 graphics-safe area (5 % margins on every side). */
enum sf_brand_pos {
    SF_BRAND_TOP_LEFT, SF_BRAND_TOP, SF_BRAND_TOP_RIGHT, SF_BRAND_LEFT, SF_BRAND_CENTER,
    SF_BRAND_RIGHT, SF_BRAND_BOTTOM_LEFT, SF_BRAND_BOTTOM, SF_BRAND_BOTTOM_RIGHT, SF_BRAND_POS_COUNT
};
enum sf_brand_font { SF_BRAND_SANS, SF_BRAND_SANS_BOLD, SF_BRAND_SERIF, SF_BRAND_SERIF_BOLD,
                     SF_BRAND_FONT_COUNT };
#define SF_CAMPAIGN_MAX_SUPERS 16

struct sf_super {
    int line, col;                     /* where it is written */
    const char *text[SF_LANG_COUNT];   /* per language; NULL: not shown in that language */
    int in_ms, out_ms;                 /* on the edit's time line, in < out */
    enum sf_brand_pos position;        /* default bottom */
    enum sf_brand_font font;           /* default sans */
    double size;                       /* font size / the picture's short side, default 0.05 */
    int lengths_mask;                  /* bit j: shown in deliverable length j; all by default */
};
struct sf_logo {
    const char *file;                  /* canonical path of the image, NULL: no logo */
    enum sf_brand_pos position;        /* default top-right */
    double opacity;                    /* 0..1, default 1 */
    double size;                       /* logo height / the picture's short side, default 0.1 */
};
struct sf_end_card {
    const char *file;                  /* canonical path of the image, NULL: no end card */
    int duration_ms;                   /* the last duration_ms of every edit of the sequence */
};
struct sf_brand {
    int n_supers;
    const struct sf_super *supers;
    struct sf_logo logo;
    struct sf_end_card end_card;
};

/* Names of brand positions and fonts as written ("bottom-right", "serif-bold"). */
const char *sf_brand_pos_name(enum sf_brand_pos p);
const char *sf_brand_font_name(enum sf_brand_font f);

/* A deliverable cut of a sequence: the shots (indices into the sequence) played in order, and
 * its music (the sequence's, or the one given for this length). */
struct sf_cut {
    int seconds;
    int n_shots;
    int shots[SF_CAMPAIGN_MAX_SHOTS];
    struct sf_music music;
};

struct sf_sequence {
    const char *id;
    const char *title;       /* "" when none */
    enum sf_aspect aspect;
    int length_ms;           /* sum of its shots' durations */
    int first_shot, n_shots; /* range in sf_campaign_shot() */
    const char *director;    /* NULL unless split from a director prompt */
    int n_cuts;
    const struct sf_cut *cuts; /* one per deliverable length */
    struct sf_music music;   /* of the full-length edit (and of every length without its own) */
    struct sf_brand brand;   /* supers, logo, end card (all empty: none) */
};

struct sf_tier {
    int steps;
    int width, height;       /* the 16:9 frame; see sf_campaign_tier_size for others */
    enum sf_sampler_kind sampler;
    enum sf_schedule_kind schedule;
    double shift, guidance;
    int max_refs;            /* references one shot is conditioned on, at most (default 4) */
    int window, overlap;     /* temporal windows of a long shot, latent frames (sf_window_rule.h;
                                default 21 and 5) */
};

struct sf_model_settings {
    const char *config;      /* "tiny", "wan2.1-t2v-1.3b", "wan2.1-t2v-14b", or NULL */
    const char *dir;         /* model directory (canonical absolute path) or NULL */
    const char *dtype;       /* "bf16", "fp16", "fp32" */
    int tp;                  /* tensor-parallel degree */
};

struct sf_deliverables {
    int aspects[SF_ASPECT_COUNT]; /* 1 when wanted */
    int n_lengths;
    const int *lengths;      /* seconds, in file order */
    int languages[SF_LANG_COUNT];
    int codecs[SF_CODEC_COUNT];
    int resolution;          /* short side in pixels (1080 -> 1920x1080, 1080x1920, 1080x1080) */
    struct sf_fps fps;
    double loudness_lufs;    /* integrated loudness target, -23 (EBU R128) or -24 (ATSC A/85) */
    double true_peak_db;     /* true-peak ceiling: -1 dBTP (EBU R128, a number), -2 (A/85) */
    double short_term_max;   /* EBU R128 s1 (commercials): -18 LUFS; 0 when not limited */
    int reframe;             /* 1: other aspects are reframed from the master, not re-rendered */
    int review_copies;       /* 1: H.264 review copies with burn-ins beside each spot */
    int conform_blend;       /* 16 fps -> delivery rate: 0 repeat frames (the rule), 1 blend */
    int drop_frame;          /* timecode labels: 1 drop-frame (29.97 only), 0 non-drop */
    int tc_start[4];         /* first frame's timecode: hours, minutes, seconds, frames */
    const char *code;        /* file-name prefix of the deliverables (Ad-ID style), or NULL */
};

struct sf_campaign;

enum sf_campaign_flags {
    SF_CAMPAIGN_NO_MEDIA = 1, /* skip decoding reference files (existence is still checked) */
};

/* Loads and validates the campaign file at path (".json" is parsed as JSON, anything else as
 * YAML). Returns SF_OK with *out set; SF_E_VALIDATION with *diags holding every problem (and
 * *out NULL); SF_E_IO when the file cannot be read (also a diagnostic); SF_E_NOMEM. *diags is
 * always set (possibly empty) and owned by the caller, as is *out. */
int sf_campaign_load(const char *path, unsigned flags, struct sf_campaign **out,
                     struct sf_diags **diags);
/* The same from memory: name labels diagnostics, base_dir resolves relative paths, json
 * selects the JSON grammar. data need not be NUL-terminated. With base_dir NULL, paths are
 * checked for form only (no escaping the directory) and kept as written. */
int sf_campaign_load_buffer(const char *name, const char *base_dir, const char *data, size_t len,
                            int json, unsigned flags, struct sf_campaign **out,
                            struct sf_diags **diags);
void sf_campaign_destroy(struct sf_campaign *c);

/* Accessors; every pointer is owned by the campaign and lives until sf_campaign_destroy. */
const char *sf_campaign_name(const struct sf_campaign *c);
const char *sf_campaign_title(const struct sf_campaign *c); /* "" when none */
const char *sf_campaign_dir(const struct sf_campaign *c); /* canonical absolute */
uint32_t sf_campaign_seed(const struct sf_campaign *c);
enum sf_lang sf_campaign_prompt_language(const struct sf_campaign *c);
int sf_campaign_n_elements(const struct sf_campaign *c);
const struct sf_element *sf_campaign_element(const struct sf_campaign *c, int i);
int sf_campaign_n_sequences(const struct sf_campaign *c);
const struct sf_sequence *sf_campaign_sequence(const struct sf_campaign *c, int i);
int sf_campaign_n_shots(const struct sf_campaign *c); /* all sequences, in order */
const struct sf_shot *sf_campaign_shot(const struct sf_campaign *c, int i);
const struct sf_tier *sf_campaign_tier(const struct sf_campaign *c, enum sf_tier_kind t);
const struct sf_model_settings *sf_campaign_model(const struct sf_campaign *c);
const struct sf_deliverables *sf_campaign_deliverables(const struct sf_campaign *c);
/* Render size of a tier for an aspect: 16:9 as written, 9:16 swapped, 1:1 the square of the
 * same area rounded down to a multiple of 16. */
void sf_campaign_tier_size(const struct sf_tier *t, enum sf_aspect a, int *width, int *height);

#endif

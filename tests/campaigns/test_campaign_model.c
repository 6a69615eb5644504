/* Unit tests of the resolved campaign model (io/sf_campaign.h) on the demo campaign and on
 * tests/campaigns/valid/: frames, seeds, effective prompts, defaults, cuts, director shots,
 * tier sizes, and the loader's error paths (diagnostics in file order, nothing leaked). */
#define _POSIX_C_SOURCE 200809L
#include "sf_campaign.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct sf_campaign *load(const char *rel, unsigned flags)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", getenv("SF_SOURCE_DIR"), rel);
    struct sf_campaign *c = NULL;
    struct sf_diags *d = NULL;
    int st = sf_campaign_load(path, flags, &c, &d);
    if (st != SF_OK) sf_diags_print(d, stderr);
    CHECK_EQ_INT(st, SF_OK);
    CHECK_EQ_INT(sf_diags_count(d), 0);
    sf_diags_destroy(d);
    return c;
}

static const struct sf_shot *find_shot(const struct sf_campaign *c, const char *seq, const char *id)
{
    for (int i = 0; i < sf_campaign_n_shots(c); i++) {
        const struct sf_shot *s = sf_campaign_shot(c, i);
        if (strcmp(s->id, id) == 0 && strcmp(sf_campaign_sequence(c, s->sequence)->id, seq) == 0)
            return s;
    }
    return NULL;
}

static void test_demo(void)
{
    struct sf_campaign *c = load("examples/demo/campaign.yaml", 0);
    if (!c) return;
    CHECK_STR(sf_campaign_name(c), "stride-one-launch");
    CHECK_STR(sf_campaign_title(c), "Stride One: own the morning");
    CHECK_EQ_INT((int)sf_campaign_seed(c), 20261125);
    CHECK_EQ_INT(sf_campaign_n_elements(c), 3);
    CHECK_EQ_INT(sf_campaign_n_sequences(c), 2);
    CHECK_EQ_INT(sf_campaign_n_shots(c), 8);

    const struct sf_element *coach = sf_campaign_element(c, 1);
    CHECK_STR(coach->id, "coach");
    CHECK_EQ_INT(coach->n_refs, 4);
    CHECK(coach->refs[0][0] == '/' && strstr(coach->refs[0], "/examples/demo/refs/coach-1.png"));
    CHECK(coach->clip && coach->clip_seconds > 3.9 && coach->clip_seconds < 4.1);
    CHECK_STR(coach->voice.variant, "m3");
    CHECK_EQ_INT(coach->voice.pitch, 35);
    CHECK(sf_campaign_element(c, 2)->voice.variant == NULL);

    const struct sf_sequence *dawn = sf_campaign_sequence(c, 0);
    CHECK_STR(dawn->title, "Dawn run");
    CHECK_EQ_INT(dawn->aspect, SF_ASPECT_16_9);
    CHECK_EQ_INT(dawn->n_shots, 5);
    CHECK_EQ_INT(dawn->length_ms, 16500);
    CHECK_EQ_INT(dawn->n_cuts, 2);
    CHECK_EQ_INT(dawn->cuts[0].seconds, 15);
    CHECK_EQ_INT(dawn->cuts[0].n_shots, 5);
    CHECK_EQ_INT(dawn->cuts[1].seconds, 6);
    CHECK_EQ_INT(dawn->cuts[1].n_shots, 2);
    CHECK_EQ_INT(dawn->cuts[1].shots[0], 2);
    CHECK_EQ_INT(dawn->cuts[1].shots[1], 4);

    const struct sf_shot *street = find_shot(c, "dawn-run", "street");
    CHECK(street != NULL);
    if (street) {
        CHECK_EQ_INT(street->frames, 65); /* 4 s = 64 -> 65 */
        CHECK_EQ_INT(street->camera, SF_CAMERA_PAN_RIGHT);
        CHECK_STR(street->effective_prompt,
                  "A striped golden ball moves right over the desert. The camera pans right.");
        CHECK_STR(street->negative, "blurry, distorted, noise");
        /* SHA-256 of the canonical record, computed independently with Python's hashlib:
         * 's' "version" "shotfarm.seed.v1", 'i' "campaign_seed" 20261125, 's' "sequence"
         * "dawn-run", 's' "shot" "street"; first 4 bytes little-endian. */
        CHECK(street->seed == 1830877300u);
        CHECK_EQ_INT(street->takes, 1);
    }
    const struct sf_shot *tr = find_shot(c, "dawn-run", "tracking");
    CHECK(tr && tr->takes == 3 && tr->selected_take == 1 && tr->n_elements == 2);
    if (tr)
        CHECK_STR(tr->effective_prompt,
                  "A dotted red ball moves left over the snow. Pip, the dotted red ball. Cubo, the "
                  "blue box. The camera pans left.");
    const struct sf_shot *cs = find_shot(c, "dawn-run", "shoe-closeup");
    CHECK(cs && cs->duration_ms == 3500 && cs->frames == 57); /* 56 -> 57 */
    const struct sf_shot *co = find_shot(c, "dawn-run", "coach");
    CHECK(co && co->n_dialogue == 3);
    if (co && co->n_dialogue == 3) {
        CHECK_EQ_INT(co->dialogue[2].language, SF_LANG_ZH);
        CHECK_STR(co->dialogue[2].phonetic, "jia1 you2! zao3 chen2 shu3 yu2 ni3!");
        CHECK_EQ_INT(co->dialogue[2].start_ms, 500);
        CHECK_EQ_INT(co->dialogue[0].speaker, 1);
        CHECK(co->dialogue[0].phonetic == NULL);
    }
    /* Sequence-level elements are the default; a shot's own list replaces them. */
    const struct sf_shot *door = find_shot(c, "locker-room", "door");
    CHECK(door && door->n_elements == 1 && door->elements[0] == 0);
    /* door continues talk (5 s, 81 frames, plays 0..79) by 5 frames: 4 of them talk played, so
     * door renders 4 + 64 -> 69 frames and its spots start at its frame 4 */
    CHECK(door && door->continue_frames == 5 && door->lead == 4 && door->frames == 69);
    const struct sf_shot *talk = find_shot(c, "locker-room", "talk");
    CHECK(talk && talk->n_elements == 2 && talk->elements[1] == 1);
    /* The long take (issue 23): 15 s = 240 -> 241 frames, the :15 closes with it. */
    const struct sf_shot *lacing = find_shot(c, "locker-room", "lacing");
    CHECK(lacing && lacing->frames == 241);
    const struct sf_sequence *locker = sf_campaign_sequence(c, 1);
    CHECK_EQ_INT(locker->length_ms, 24000);
    CHECK_EQ_INT(locker->cuts[0].seconds, 15);
    CHECK_EQ_INT(locker->cuts[0].n_shots, 3);
    CHECK_EQ_INT(locker->cuts[0].shots[2], 0);

    const struct sf_tier *draft = sf_campaign_tier(c, SF_TIER_DRAFT);
    CHECK(draft->steps == 4 && draft->sampler == SF_SAMPLER_EULER && draft->shift == 8.0);
    int w, h;
    sf_campaign_tier_size(sf_campaign_tier(c, SF_TIER_FINAL), SF_ASPECT_9_16, &w, &h);
    CHECK(w == 64 && h == 128);
    sf_campaign_tier_size(sf_campaign_tier(c, SF_TIER_FINAL), SF_ASPECT_1_1, &w, &h);
    CHECK(w == 80 && h == 80); /* sqrt(128*64) = 90.5 -> 80 */
    const struct sf_model_settings *m = sf_campaign_model(c);
    CHECK_STR(m->config, "tiny-vace");
    CHECK_STR(m->dtype, "fp32");
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    CHECK(dl->fps.num == 24000 && dl->fps.den == 1001);
    CHECK(dl->aspects[0] && dl->aspects[1] && dl->aspects[2]);
    CHECK(dl->languages[SF_LANG_ZH] && !dl->languages[SF_LANG_JA]);
    CHECK(dl->codecs[SF_CODEC_PRORES] && !dl->codecs[SF_CODEC_FFV1]);
    CHECK(dl->loudness_lufs == -23 && dl->reframe == 1 && dl->resolution == 360);
    CHECK(!dl->conform_blend && !dl->drop_frame && dl->code && strcmp(dl->code, "STRD") == 0);
    CHECK(dl->tc_start[0] == 1 && dl->tc_start[1] == 0 && dl->tc_start[2] == 0 &&
          dl->tc_start[3] == 0);
    sf_campaign_destroy(c);
}

static void test_director_and_defaults(void)
{
    struct sf_campaign *c = load("tests/campaigns/valid/anchors-and-director.yaml", 0);
    if (!c) return;
    const struct sf_sequence *q = sf_campaign_sequence(c, 0);
    CHECK_STR(q->director, "A rainy city at night. Shot 1: the hero steps out of a taxi. Shot 2: "
                           "she looks up. Shot 3: neon reflects in a puddle.");
    CHECK_EQ_INT(q->n_shots, 3);
    CHECK_EQ_INT(q->aspect, SF_ASPECT_16_9); /* unquoted 16:9 is the text, not 970 */
    const struct sf_shot *s = sf_campaign_shot(c, q->first_shot + 1);
    CHECK_STR(s->id, "shot2");
    CHECK_STR(s->prompt, "A rainy city at night. she looks up.");
    CHECK_EQ_INT(s->duration_ms, 4000);
    CHECK(s->from_director && s->n_elements == 1);
    CHECK_STR(s->negative, "blurry"); /* the campaign-wide negative */
    q = sf_campaign_sequence(c, 1);
    CHECK_EQ_INT(q->n_shots, 5);
    CHECK_STR(sf_campaign_shot(c, q->first_shot + 2)->prompt, "Does she stop?");
    CHECK_EQ_INT(sf_campaign_shot(c, q->first_shot + 2)->camera, SF_CAMERA_HANDHELD);
    q = sf_campaign_sequence(c, 2);
    s = sf_campaign_shot(c, q->first_shot + 1);
    CHECK(s->seed == 123 && s->takes == 3 && s->selected_take == 2 && s->duration_ms == 5000);
    CHECK_EQ_INT(sf_campaign_shot(c, q->first_shot)->frames, 73);
    CHECK_STR(sf_campaign_shot(c, q->first_shot)->effective_prompt,
              "a close-up. The camera zooms in.");
    CHECK_EQ_INT(sf_campaign_deliverables(c)->aspects[SF_ASPECT_1_1], 1); /* from the sequences */
    sf_campaign_destroy(c);
}

static void test_errors(void)
{
    struct sf_campaign *c = (struct sf_campaign *)1;
    struct sf_diags *d = NULL;
    const char *text = "campaign: x\nsequences:\n  - id: s\n    aspect: \"4:3\"\n    shots:\n"
                       "      - {prompt: p, duration: 99, camera: zoom}\n";
    int st = sf_campaign_load_buffer("mem.yaml", NULL, text, strlen(text), 0, 0, &c, &d);
    CHECK_EQ_INT(st, SF_E_VALIDATION);
    CHECK(c == NULL);
    CHECK_EQ_INT(sf_diags_count(d), 3);
    const struct sf_diag *g = sf_diags_get(d, 1);
    CHECK(g && g->line == 6 && g->col == 31); /* the 99 */
    if (g) CHECK_STR(g->field, "sequences[0].shots[0].duration");
    CHECK(sf_diags_get(d, 3) == NULL);
    sf_diags_destroy(d);

    st = sf_campaign_load("/nonexistent/campaign.yaml", 0, &c, &d);
    CHECK_EQ_INT(st, SF_E_IO);
    CHECK_EQ_INT(sf_diags_count(d), 1);
    sf_diags_destroy(d);

    /* Without a directory, paths are checked for form only and kept as written. */
    text = "campaign: x\nelements: [{id: e, description: d, refs: [r/a.png]}]\nsequences:\n"
           "  - {id: s, aspect: 1:1, shots: [{prompt: p, elements: [e]}]}\n";
    st = sf_campaign_load_buffer("mem.yaml", NULL, text, strlen(text), 0, 0, &c, &d);
    CHECK_EQ_INT(st, SF_OK);
    if (st == SF_OK) {
        CHECK_STR(sf_campaign_element(c, 0)->refs[0], "r/a.png");
        CHECK_STR(sf_campaign_shot(c, 0)->effective_prompt, "p. D.");
    }
    sf_campaign_destroy(c);
    sf_diags_destroy(d);
    /* zh prompts: parts join without spaces and close with 。; the camera phrase is in zh. */
    text = "campaign: x\nlanguage: zh\nelements: [{id: e, description: 白色跑鞋}]\nsequences:\n"
           "  - {id: s, aspect: 9:16, shots: [{prompt: 清晨的城市街道, elements: [e], camera: static}]}\n";
    st = sf_campaign_load_buffer("mem.yaml", NULL, text, strlen(text), 0, 0, &c, &d);
    CHECK_EQ_INT(st, SF_OK);
    if (st == SF_OK) CHECK_STR(sf_campaign_shot(c, 0)->effective_prompt, "清晨的城市街道。白色跑鞋。固定镜头。");
    sf_campaign_destroy(c);
    sf_diags_destroy(d);
    sf_campaign_destroy(NULL);
    sf_diags_destroy(NULL);
}

/* A TD's batch of variants, one sequence each, every one with the demo's logo, end card and
 * music and the same line in two languages: SF_CAMPAIGN_MAX_SEQUENCES load quickly (each media
 * file is decoded once and each distinct line read once, not once per sequence: that took 25 s
 * here for the media, decoding the music 1000 times, and 13 s for the 2000 readings; now about
 * 0.1 s), one more is one problem that names the limit and the fix. */
static void test_many_sequences(void)
{
    for (int n = SF_CAMPAIGN_MAX_SEQUENCES; n <= SF_CAMPAIGN_MAX_SEQUENCES + 1; n++) {
        size_t cap = 512 + (size_t)n * 400, len = 0;
        char *text = malloc(cap);
        if (!text) return;
        len += (size_t)snprintf(text, cap, "campaign: batch\ndeliverables: {languages: [en, es]}\n"
                                "elements: [{id: coach, description: a coach, voice: m3}]\n"
                                "sequences:\n");
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(text + len, cap - len, "  - {id: v%04d, aspect: \"16:9\", "
                                    "shots: [{prompt: variant %d, duration: 3, dialogue: ["
                                    "{speaker: coach, language: en, start: 0.5, text: Today is "
                                    "yours.}, {speaker: coach, language: es, start: 0.5, text: Hoy "
                                    "es tuyo.}]}], logo: {file: brand/logo.png}, end_card: {file: "
                                    "brand/end-card.png, duration: 1}, music: {file: "
                                    "music/bed.m4a}}\n", i, i);
        struct sf_campaign *c = NULL;
        struct sf_diags *d = NULL;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/examples/demo", getenv("SF_SOURCE_DIR"));
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int st = sf_campaign_load_buffer("batch.yaml", dir, text, len, 0, 0, &c, &d);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        const double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (n == SF_CAMPAIGN_MAX_SEQUENCES) {
            CHECK_EQ_INT(st, SF_OK);
            if (st != SF_OK) sf_diags_print(d, stderr);
            if (c) CHECK_EQ_INT(sf_campaign_n_sequences(c), n);
            if (c) CHECK_STR(sf_campaign_sequence(c, n - 1)->id, "v0999");
            if (c) CHECK(sf_campaign_sequence(c, n - 1)->music.file != NULL);
            fprintf(stderr, "%d sequences with a logo, end card, music and two lines load in "
                    "%.1f ms\n", n, ms);
            CHECK(ms < 5000);
        } else {
            CHECK_EQ_INT(st, SF_E_VALIDATION);
            CHECK_EQ_INT(sf_diags_count(d), 1);
            if (sf_diags_count(d) != 1) sf_diags_print(d, stderr);
            const struct sf_diag *g = sf_diags_get(d, 0);
            CHECK(g && strstr(g->msg, "1001 sequences; allowed: 1 to 1000 (split a larger "
                                          "batch into several campaigns)"));
            if (g) CHECK_STR(g->field, "sequences");
        }
        sf_campaign_destroy(c);
        sf_diags_destroy(d);
        free(text);
    }
}

/* The 40-shot sample must validate in well under 100 ms (the bound for the whole
 * command), plus the speech engine's reading of each delivered dialogue line (issue 25: every
 * line is read once, in a fork of its own, so that its length is the render's; about 6 ms a
 * line on the 2-core test machine, bounded here at 20). Best of 5, in process, with media
 * decoding: a regression to quadratic work or to decoding files repeatedly shows up here, and
 * the minimum keeps a noisy machine from failing. */
static void test_speed(void)
{
    int lines = 0;
    struct sf_campaign *c0 = load("examples/sample-40/campaign.yaml", 0);
    for (int i = 0; c0 && i < sf_campaign_n_shots(c0); i++) {
        const struct sf_shot *s = sf_campaign_shot(c0, i);
        for (int k = 0; k < s->n_dialogue; k++)
            lines += sf_campaign_deliverables(c0)->languages[s->dialogue[k].language];
    }
    sf_campaign_destroy(c0);
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct sf_campaign *c = load("examples/sample-40/campaign.yaml", 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (c) CHECK_EQ_INT(sf_campaign_n_shots(c), 40);
        sf_campaign_destroy(c);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms < best) best = ms;
    }
    fprintf(stderr, "sample-40 loads and validates in %.2f ms (best of 5), %d dialogue lines read\n",
            best, lines);
    CHECK(lines > 0 && best < 100 + 20.0 * lines);
}

int main(void)
{
    test_speed();
    test_demo();
    test_director_and_defaults();
    test_errors();
    test_many_sequences();
    return sf_test_result("campaign_model");
}

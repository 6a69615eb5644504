/* Unit tests of the campaign format's fixed rules (io/campaign_rules.c, io/hash.c): duration to
 * 4n+1 frames, deliverable frames at broadcast rates, the director-prompt split, and the
 * canonical SHA-256 encoding. Expected values are worked out by hand in the comments. */
#include "sf_campaign.h"
#include "sf_hash.h"
#include "sf_test.h"

#include <stdlib.h>
#include <string.h>

static void test_frames(void)
{
    CHECK_EQ_INT(sf_campaign_frames_for_ms(5000), 81);   /* 80 -> 81 (Wan's default) */
    CHECK_EQ_INT(sf_campaign_frames_for_ms(3000), 49);   /* 48 -> 49 */
    CHECK_EQ_INT(sf_campaign_frames_for_ms(15000), 241); /* 240 -> 241 */
    CHECK_EQ_INT(sf_campaign_frames_for_ms(4500), 73);   /* 72 -> 73 */
    CHECK_EQ_INT(sf_campaign_frames_for_ms(3250), 53);   /* 52 -> 53 */
    CHECK_EQ_INT(sf_campaign_frames_for_ms(3063), 53);   /* 49.008 -> 53 (49 is too short) */
    CHECK_EQ_INT(sf_campaign_frames_for_ms(3062), 49);   /* 48.992 -> 49 */
    for (int ms = 3000; ms <= 15000; ms += 7) {
        int f = sf_campaign_frames_for_ms(ms);
        CHECK((f - 1) % 4 == 0);
        CHECK(f * 1000LL >= 16LL * ms && (f - 4) * 1000LL < 16LL * ms);
    }
    /* with lead frames in front: 4 + 48 -> 53; 4 + 64 -> 69; 0 lead is the rule above */
    CHECK_EQ_INT(sf_campaign_frames_for(3000, 4), 53);
    CHECK_EQ_INT(sf_campaign_frames_for(4000, 4), 69);
    CHECK_EQ_INT(sf_campaign_frames_for(3000, 1), 49);  /* 49 >= 1 + 48 */
    CHECK_EQ_INT(sf_campaign_frames_for(3000, 2), 53);
    CHECK_EQ_INT(sf_campaign_frames_for(4500, 0), 73);
}

/* A continuing shot's first frames copy the continued shot's last k; the ones it already played
 * are the lead, not delivered again. */
static void test_continue_lead(void)
{
    /* 3 s, 49 frames, plays 0..47: its last 5 (44..48) hold 4 played (44..47) */
    CHECK_EQ_INT(sf_campaign_continue_lead(49, 0, 3000, 5), 4);
    CHECK_EQ_INT(sf_campaign_continue_lead(49, 0, 3000, 1), 0); /* frame 48: never played */
    CHECK_EQ_INT(sf_campaign_continue_lead(49, 0, 3000, 9), 8);
    /* 5 s, 81 frames (the demo's talk, continued by door): 4 */
    CHECK_EQ_INT(sf_campaign_continue_lead(81, 0, 5000, 5), 4);
    /* 3.3 s: 53 frames, plays up to 52.8: its frame 52 (j = 4) began before the cut: 5 */
    CHECK_EQ_INT(sf_campaign_continue_lead(53, 0, 3300, 5), 5);
    /* 3.25 s: 53 frames, plays 0..51 (52 exactly): 48..52 hold 4 played */
    CHECK_EQ_INT(sf_campaign_continue_lead(53, 0, 3250, 5), 4);
    /* a continuing shot continued in turn: 2 s with lead 4 (37 frames) plays 4..35 */
    CHECK_EQ_INT(sf_campaign_frames_for(2000, 4), 37);
    CHECK_EQ_INT(sf_campaign_continue_lead(37, 4, 2000, 5), 4);
    /* never more than k, never below 0 */
    for (int ms = 3000; ms <= 15000; ms += 13)
        for (int k = 1; k <= 13; k += 4)
            for (int lead = 0; lead <= 8; lead += 4) {
                const int f = sf_campaign_frames_for(ms, lead);
                const int l = sf_campaign_continue_lead(f, lead, ms, k);
                CHECK(l >= 0 && l <= k);
                /* frame f - k + l is the first not played: at or past lead + 16 ms / 1000 */
                CHECK(1000LL * (f - k + l) >= 1000LL * lead + 16LL * ms || l == 0);
                CHECK(l == 0 || 1000LL * (f - k + l - 1) < 1000LL * lead + 16LL * ms);
            }
}

static void test_delivery(void)
{
    struct sf_fps f23 = {24000, 1001}, f24 = {24, 1}, f25 = {25, 1}, f29 = {30000, 1001}, f30 = {30, 1};
    CHECK_EQ_INT(sf_campaign_delivery_frames(15, f23), 360);
    CHECK_EQ_INT(sf_campaign_delivery_frames(15, f24), 360);
    CHECK_EQ_INT(sf_campaign_delivery_frames(15, f25), 375);
    CHECK_EQ_INT(sf_campaign_delivery_frames(15, f29), 450);
    CHECK_EQ_INT(sf_campaign_delivery_frames(6, f30), 180);
    /* Model frame 81 (5.0625 s) at 24 fps is 121.5 -> 121; at 23.976: 81*24000/16016 = 121.38. */
    CHECK_EQ_INT((int)sf_campaign_delivery_frame_at(81, f24), 121);
    CHECK_EQ_INT((int)sf_campaign_delivery_frame_at(81, f23), 121);
    CHECK_EQ_INT((int)sf_campaign_delivery_frame_at(160, f29), 299); /* 10 s -> 299.7 */
    CHECK_EQ_INT((int)sf_campaign_delivery_frame_at(0, f25), 0);
}

static int split(const char *p, int ms, char **t, int *d, char *why)
{
    int n = -1;
    if (sf_campaign_split_director(p, ms, t, d, &n, why, 256) != 0) return -1;
    return n;
}

static void free_texts(char **t, int n)
{
    for (int i = 0; i < n; i++) free(t[i]);
}

static void test_split(void)
{
    char *t[SF_CAMPAIGN_MAX_SHOTS];
    int d[SF_CAMPAIGN_MAX_SHOTS];
    char why[256];

    /* Shot markers: the text before the first is a preamble joined to every shot. */
    int n = split("Rain at night. Shot 1: a taxi stops. shot 2: she looks up.", 10000, t, d, why);
    CHECK_EQ_INT(n, 2);
    CHECK_STR(t[0], "Rain at night. a taxi stops.");
    CHECK_STR(t[1], "Rain at night. she looks up.");
    CHECK_EQ_INT(d[0], 5000);
    CHECK_EQ_INT(d[1], 5000);
    free_texts(t, n);

    /* [cut] splits; blank parts are dropped; durations share the remainder millisecond. */
    n = split("street [cut] runner [CUT] [cut] shoe", 10000, t, d, why);
    CHECK_EQ_INT(n, 3);
    CHECK_STR(t[0], "street");
    CHECK_STR(t[2], "shoe");
    CHECK_EQ_INT(d[0], 3334);
    CHECK_EQ_INT(d[1], 3333);
    CHECK_EQ_INT(d[0] + d[1] + d[2], 10000);
    free_texts(t, n);

    /* Sentences: 7 sentences into at most 6 shots (20 s allows 2..6); the first group takes 2. */
    n = split("One. Two! Three? Four... Five. Six. Seven.", 20000, t, d, why);
    CHECK_EQ_INT(n, 6);
    CHECK_STR(t[0], "One. Two!");
    CHECK_STR(t[1], "Three?");
    CHECK_STR(t[3], "Five.");
    CHECK_STR(t[5], "Seven.");
    int sum = 0;
    for (int i = 0; i < n; i++) sum += d[i];
    CHECK_EQ_INT(sum, 20000);
    CHECK_EQ_INT(d[0], 3334);
    CHECK_EQ_INT(d[5], 3333);
    free_texts(t, n);

    /* A 9 s sequence allows at most 3 shots: 5 sentences -> 2, 2, 1. A decimal point or an
     * abbreviation without a following space does not end a sentence. */
    n = split("A 2.5 m wall. B. C. D. E.", 9000, t, d, why);
    CHECK_EQ_INT(n, 3);
    CHECK_STR(t[0], "A 2.5 m wall. B.");
    CHECK_STR(t[2], "E.");
    free_texts(t, n);

    /* CJK full stops need no space. */
    n = split("跑步。停下！好吗？", 9000, t, d, why);
    CHECK_EQ_INT(n, 3);
    CHECK_STR(t[1], "停下！");
    free_texts(t, n);

    /* Text without any sentence end is one sentence. */
    n = split("a runner at dawn", 5000, t, d, why);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(d[0], 5000);
    free_texts(t, n);

    /* Failures, each with its reason. */
    CHECK_EQ_INT(split("a [cut] b [cut] c [cut] d [cut] e [cut] f [cut] g", 21000, t, d, why), -1);
    CHECK(strstr(why, "7 shots") != NULL);
    CHECK_EQ_INT(split("one long sentence", 30000, t, d, why), -1);
    CHECK(strstr(why, "needs at least 2 shots") != NULL);
    CHECK_EQ_INT(split("a [cut] b", 5000, t, d, why), -1); /* 2.5 s shots */
    CHECK(strstr(why, "3 to 15 s per shot") != NULL);
    CHECK_EQ_INT(split("   ", 5000, t, d, why), -1);
    CHECK_EQ_INT(split("[cut] [cut]", 5000, t, d, why), -1);
    CHECK_EQ_INT(split("A. B.", 95000, t, d, why), -1); /* over 6 x 15 s */
    /* "Screenshot 2:" and "shot:" are not markers. */
    n = split("A screenshot 2: of the app. A tracking shot: fast.", 6000, t, d, why);
    CHECK_EQ_INT(n, 2);
    free_texts(t, n);
}

static void test_camera(void)
{
    CHECK_STR(sf_camera_name(SF_CAMERA_DOLLY_IN), "dolly-in");
    CHECK_STR(sf_camera_phrase(SF_CAMERA_DOLLY_IN, SF_LANG_EN), "the camera dollies in");
    CHECK_STR(sf_camera_phrase(SF_CAMERA_STATIC, SF_LANG_ZH), "固定镜头");
    CHECK_STR(sf_camera_phrase(SF_CAMERA_NONE, SF_LANG_ES), "");
    for (int c = 1; c < SF_CAMERA_COUNT; c++)
        for (int l = 0; l < SF_LANG_COUNT; l++) CHECK(strlen(sf_camera_phrase(c, l)) > 0);
    CHECK_STR(sf_aspect_name(SF_ASPECT_9_16), "9:16");
    CHECK_STR(sf_lang_name(SF_LANG_JA), "ja");
}

static void hex_of(const uint8_t *h, char *out) { sf_sha256_hex(h, out); }

static void test_hash(void)
{
    uint8_t h[SF_SHA256_BYTES], h2[SF_SHA256_BYTES];
    char hex[SF_SHA256_HEX];
    sf_sha256("abc", 3, h); /* FIPS 180-2 test vector */
    hex_of(h, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* The canonical stream, written out by hand: 's' | u32 key len | key | u64 len | value. */
    unsigned char ref[128];
    size_t n = 0;
    const char *parts[][2] = {{"version", "v1"}, {"p", "ab"}};
    for (int i = 0; i < 2; i++) {
        size_t kl = strlen(parts[i][0]), vl = strlen(parts[i][1]);
        ref[n++] = 's';
        ref[n++] = (unsigned char)kl; ref[n++] = 0; ref[n++] = 0; ref[n++] = 0;
        memcpy(ref + n, parts[i][0], kl); n += kl;
        ref[n++] = (unsigned char)vl;
        for (int k = 0; k < 7; k++) ref[n++] = 0;
        memcpy(ref + n, parts[i][1], vl); n += vl;
    }
    ref[n++] = 'i';
    ref[n++] = 1; ref[n++] = 0; ref[n++] = 0; ref[n++] = 0;
    ref[n++] = 'n';
    ref[n++] = 8;
    for (int k = 0; k < 7; k++) ref[n++] = 0;
    ref[n++] = 0xfe; /* -2 as int64 LE */
    for (int k = 0; k < 7; k++) ref[n++] = 0xff;
    sf_sha256(ref, n, h2);
    struct sf_canon c;
    sf_canon_begin(&c, "v1");
    sf_canon_str(&c, "p", "ab");
    sf_canon_int(&c, "n", -2);
    sf_canon_end(&c, h);
    CHECK(memcmp(h, h2, SF_SHA256_BYTES) == 0);

    /* Injective: ("ab","c") and ("a","bc") differ; -0 and +0 agree. */
    sf_canon_begin(&c, "v1");
    sf_canon_str(&c, "x", "ab");
    sf_canon_str(&c, "y", "c");
    sf_canon_end(&c, h);
    sf_canon_begin(&c, "v1");
    sf_canon_str(&c, "x", "a");
    sf_canon_str(&c, "y", "bc");
    sf_canon_end(&c, h2);
    CHECK(memcmp(h, h2, SF_SHA256_BYTES) != 0);
    sf_canon_begin(&c, "v1");
    sf_canon_f64(&c, "g", -0.0);
    sf_canon_end(&c, h);
    sf_canon_begin(&c, "v1");
    sf_canon_f64(&c, "g", 0.0);
    sf_canon_end(&c, h2);
    CHECK(memcmp(h, h2, SF_SHA256_BYTES) == 0);

    /* A file hashes like its bytes. */
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/campaigns/invalid/refs/fake.png", getenv("SF_SOURCE_DIR"));
    CHECK_EQ_INT(sf_sha256_file(path, h), 0);
    sf_sha256("this is not a picture\n", 22, h2);
    CHECK(memcmp(h, h2, SF_SHA256_BYTES) == 0);
    CHECK(sf_sha256_file("/nonexistent/file", h) != 0);
}

int main(void)
{
    test_frames();
    test_continue_lead();
    test_delivery();
    test_split();
    test_camera();
    test_hash();
    return sf_test_result("campaign_rules");
}

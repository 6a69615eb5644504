/* test_identity_pick.c — the reference rules of issue 22 that need no model (docs/campaign.md
 * § elements): the per-shot pick (first of each element, then round-robin, up to the tier's
 * max_refs; a clip's samples after an element's images), the tier key's default, the clip
 * sample times, and sf_media_frames picking the frame shown at each time from a real clip
 * (FFV1, 4 fps, frame k painted k·10) made with ffmpeg; key art covering the frame. */
#define _POSIX_C_SOURCE 200809L
#include "sf_campaign.h"
#include "sf_media.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_unit.h"
#include "sf_vace.h"

static const char campaign[] =
    "campaign: pick\n"
    "tiers: {draft: {max_refs: 2}}\n"
    "elements:\n"
    "  - {id: runner, description: a runner, refs: [r1.png, r2.png]}\n"
    "  - {id: shoe, description: a shoe, refs: [s1.png, s2.png, s3.png]}\n"
    "  - {id: cam, description: a camera, clip: c.mp4}\n"
    "sequences:\n"
    "  - id: a\n"
    "    aspect: \"16:9\"\n"
    "    shots:\n"
    "      - {prompt: one, elements: [runner, shoe]}\n"
    "      - {prompt: two, elements: [cam, runner]}\n"
    "      - {prompt: three}\n";

/* The pick of shot si at max_refs as "element:ref ..." (0-based). */
static void pick(const struct sf_campaign *c, int si, int max_refs, char *buf, size_t n)
{
    int e[SF_UNIT_MAX_REFS], r[SF_UNIT_MAX_REFS];
    int k = sf_unit_identity_pick(c, sf_campaign_shot(c, si), max_refs, e, r);
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < k && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s:%d", i ? " " : "",
                                sf_campaign_element(c, e[i])->id, r[i]);
}

static void check_frames(void)
{
    char dir[] = "/tmp/sf-pick.XXXXXX", cmd[512], path[64], why[256] = "";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    snprintf(path, sizeof path, "%s/c.mkv", dir);
    /* 16 frames at 4 fps, frame k a flat grey of k*10 in every channel, stored losslessly */
    snprintf(cmd, sizeof cmd,
             "ffmpeg -loglevel error -f lavfi -i 'nullsrc=s=16x8:r=4:d=4,format=rgb24,"
             "geq=r=N*10:g=N*10:b=N*10' -c:v ffv1 -pix_fmt bgr0 '%s'", path);
    if (system(cmd) != 0) {
        fprintf(stderr, "ffmpeg could not write the test clip\n");
        CHECK(0);
        return;
    }
    /* 0 -> frame 0; 2.0 -> frame 8 (it starts exactly then); 2.2 -> still 8; 3.3 -> 13; past
     * the end -> the last (15) */
    const double t[5] = {0, 2.0, 2.2, 3.3, 9.0};
    const int want[5] = {0, 8, 8, 13, 15};
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    CHECK_EQ_INT(sf_media_frames(path, 5, t, &rgb, &w, &h, why, sizeof why), SF_OK);
    if (rgb) {
        CHECK_EQ_INT(w, 16);
        CHECK_EQ_INT(h, 8);
        for (int i = 0; i < 5; i++)
            for (int c = 0; c < 3; c++)
                CHECK_EQ_INT(rgb[(size_t)i * 16 * 8 * 3 + 5 * 3 + c], want[i] * 10);
    }
    free(rgb);
    /* a missing file and a file that is no picture name what is wrong */
    snprintf(path, sizeof path, "%s/none.png", dir);
    CHECK_EQ_INT(sf_media_frames(path, 1, t, &rgb, &w, &h, why, sizeof why), SF_E_NOTFOUND);
    snprintf(cmd, sizeof cmd, "printf 'not a picture' > '%s/bad.png'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    snprintf(path, sizeof path, "%s/bad.png", dir);
    CHECK_EQ_INT(sf_media_frames(path, 1, t, &rgb, &w, &h, why, sizeof why), SF_E_FORMAT);
    CHECK(strstr(why, "cannot be decoded") != NULL);
    CHECK(rgb == NULL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* Key art covers the frame (sf_vace_place_frame): an 8x4 image whose pixels hold their column
 * and row on a 4x4 frame is not scaled (max(4/4, 4/8) = 1) and loses two columns each side; on
 * an 8x8 frame it is scaled by 2 and cropped the same way, and a mid-column pixel interpolates. */
static void check_cover(void)
{
    float img[3 * 4 * 8], out[3 * 8 * 8];
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 8; x++)
                img[(c * 4 + y) * 8 + x] = c == 0 ? (float)x : c == 1 ? (float)y : 0.5f;
    const struct sf_vace_image im = {img, 4, 8};
    sf_vace_place_frame(&im, 4, 4, out);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            CHECK(out[(0 * 4 + y) * 4 + x] == (float)(x + 2));
            CHECK(out[(1 * 4 + y) * 4 + x] == (float)y);
        }
    /* scale 2: 16x8 resized, columns 4..11 kept; torch's bilinear at dst 4 reads src 1.75 */
    sf_vace_place_frame(&im, 8, 8, out);
    CHECK(fabsf(out[0] - 1.75f) < 1e-6f);
    CHECK(fabsf(out[7] - 5.25f) < 1e-6f);
}

int main(void)
{
    struct sf_campaign *c = NULL;
    struct sf_diags *d = NULL;
    int st = sf_campaign_load_buffer("pick.yaml", NULL, campaign, sizeof campaign - 1, 0,
                                     SF_CAMPAIGN_NO_MEDIA, &c, &d);
    sf_diags_print(d, stderr);
    CHECK_EQ_INT(st, SF_OK);
    if (st != SF_OK) return sf_test_result("identity_pick");
    CHECK_EQ_INT(sf_campaign_tier(c, SF_TIER_DRAFT)->max_refs, 2);
    CHECK_EQ_INT(sf_campaign_tier(c, SF_TIER_FINAL)->max_refs, 4); /* the default */
    CHECK_EQ_INT(sf_unit_identity_count(sf_campaign_element(c, 0)), 2);
    CHECK_EQ_INT(sf_unit_identity_count(sf_campaign_element(c, 2)), SF_MEDIA_CLIP_SAMPLES);
    char got[256];
    pick(c, 0, 4, got, sizeof got);
    CHECK_STR(got, "runner:0 shoe:0 runner:1 shoe:1");
    pick(c, 0, 2, got, sizeof got);
    CHECK_STR(got, "runner:0 shoe:0");
    pick(c, 0, 5, got, sizeof got);
    CHECK_STR(got, "runner:0 shoe:0 runner:1 shoe:1 shoe:2");
    pick(c, 0, 99, got, sizeof got); /* capped at SF_UNIT_MAX_REFS; all five fit */
    CHECK_STR(got, "runner:0 shoe:0 runner:1 shoe:1 shoe:2");
    pick(c, 1, 4, got, sizeof got); /* the clip's samples are the camera's references */
    CHECK_STR(got, "cam:0 runner:0 cam:1 runner:1");
    pick(c, 1, 8, got, sizeof got);
    CHECK_STR(got, "cam:0 runner:0 cam:1 runner:1 cam:2");
    pick(c, 2, 4, got, sizeof got);
    CHECK_STR(got, "");
    double t[SF_MEDIA_CLIP_SAMPLES];
    sf_media_clip_times(6.0, t);
    CHECK(t[0] == 1.0 && t[1] == 3.0 && t[2] == 5.0);
    sf_campaign_destroy(c);
    sf_diags_destroy(d);
    check_frames();
    check_cover();
    return sf_test_result("identity_pick");
}

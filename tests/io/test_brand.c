/* test_brand.c — the brand layer drawn by the deliver writer (io/brand.c through io/deliver.c),
 * checked on the decoded files against the same spot without it. FFV1 is lossless, so every
 * pixel the layer does not draw must come back bit for bit:
 *  - a zh and a ja super: pixels change inside the super's box (graphics-safe area, bottom band)
 *    on the frames from `in` to `out`, and nowhere else, on no other frame; zh and ja differ;
 *  - a white logo at opacity 0.5: inside it luma is the mean of white and the picture (BT.709,
 *    10-bit codes), outside it nothing changes;
 *  - an end card of 0.5 s at 24 fps: exactly the last 12 frames are the card (red in BT.709),
 *    every frame before it is untouched;
 *  - the validator's glyph check: Noto Sans CJK has the supers' characters, not Thai's.
 * The images in tests/io/brand/ were made by ffmpeg's lavfi: `color=white:s=40x20` (rgba) and
 * `color=red:s=64x36`. Label unit (about 1 s). */
#define _GNU_SOURCE
#include "sf_test.h"

#include "sf_avfilter.h"
#include "sf_brand.h"
#include "sf_deliver.h"
#include "sf_status.h"

#include <libavutil/pixfmt.h>

#include <stdint.h>
#include <unistd.h>

#define W 320
#define H 180
#define FRAMES 48 /* 2 s at 24 fps */
#define GRAY 100  /* the picture: RGB 100 everywhere */

/* The decoded file: luma and chroma planes (10-bit codes) of every frame. */
struct pics {
    int n;
    uint16_t *y[FRAMES], *u[FRAMES], *v[FRAMES];
};

static int on_frame(void *arg, AVFrame *f, AVRational tb)
{
    (void)tb;
    struct pics *p = arg;
    if (p->n >= FRAMES || f->width != W || f->height != H || f->format != AV_PIX_FMT_YUV422P10LE)
        return SF_E_FORMAT;
    uint16_t **planes[3] = {p->y, p->u, p->v};
    for (int c = 0; c < 3; c++) {
        const int pw = c ? W / 2 : W;
        uint16_t *d = malloc((size_t)pw * H * sizeof *d);
        if (!d) return SF_E_NOMEM;
        for (int r = 0; r < H; r++)
            memcpy(d + (size_t)r * pw, f->data[c] + (size_t)r * f->linesize[c], (size_t)pw * 2);
        planes[c][p->n] = d;
    }
    p->n++;
    return SF_OK;
}

static void pics_free(struct pics *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->y[i]), free(p->u[i]), free(p->v[i]);
    p->n = 0;
}

/* Writes FRAMES gray frames through the writer with brand b (NULL: none) in language lang and
 * decodes the file back into p. */
static int spot(const char *dir, const char *name, const struct sf_brand *b, enum sf_lang lang,
                struct pics *p)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.mkv", dir, name);
    struct sf_deliver_opts o = {.codec = SF_CODEC_FFV1, .width = W, .height = H,
                                .fps = {24, 1}, .frames = FRAMES, .threads = 1,
                                .timecode = "01:00:00:00", .title = name, .comment = "test",
                                .brand = b, .brand_lang = lang, .brand_length = -1};
    static uint8_t rgb[W * H * 3];
    memset(rgb, GRAY, sizeof rgb);
    const char *paths[] = {path};
    struct sf_deliver *d = NULL;
    int st = sf_deliver_open(&o, paths, 1, &d);
    for (int f = 0; st == SF_OK && f < FRAMES; f++)
        st = sf_deliver_write(d, rgb, W, H);
    if (st == SF_OK) st = sf_deliver_commit(d);
    if (st == SF_OK) st = sf_avfilter_decode(path, NULL, 0, -1, on_frame, p, NULL);
    if (st == SF_OK && p->n != FRAMES) st = SF_E_FORMAT;
    return st;
}

/* Pixels of frame f that differ between a and b; their bounding box in luma coordinates. */
static long diff(const struct pics *a, const struct pics *b, int f, int box[4])
{
    long n = 0;
    box[0] = W, box[1] = H, box[2] = -1, box[3] = -1;
    for (int c = 0; c < 3; c++) {
        const int pw = c ? W / 2 : W, sx = c ? 2 : 1;
        const uint16_t *pa = c == 0 ? a->y[f] : c == 1 ? a->u[f] : a->v[f];
        const uint16_t *pb = c == 0 ? b->y[f] : c == 1 ? b->u[f] : b->v[f];
        for (int r = 0; r < H; r++)
            for (int x = 0; x < pw; x++) {
                if (pa[r * pw + x] == pb[r * pw + x]) continue;
                n++;
                if (x * sx < box[0]) box[0] = x * sx;
                if (r < box[1]) box[1] = r;
                if (x * sx + sx - 1 > box[2]) box[2] = x * sx + sx - 1;
                if (r > box[3]) box[3] = r;
            }
    }
    return n;
}

/* The safe area: 5 % of 320 = 16, of 180 = 9. */
static const int safe[4] = {16, 9, W - 16 - 1, H - 9 - 1};

static void check_super(const struct pics *plain, const struct pics *p, const char *lang)
{
    const int first = 12, end = 36; /* in 0.5 s, out 1.5 s at 24 fps */
    for (int f = 0; f < FRAMES; f++) {
        int box[4];
        const long n = diff(plain, p, f, box);
        if (f < first || f >= end) {
            if (n) fprintf(stderr, "%s super: frame %d changed (%ld values)\n", lang, f, n);
            CHECK(n == 0);
            continue;
        }
        if (n < 200) fprintf(stderr, "%s super: frame %d: only %ld values changed\n", lang, f, n);
        CHECK(n >= 200);
        /* inside the graphics-safe area, in the bottom band: the box is at most 2.5 font sizes
         * (text and borders) tall above the safe area's bottom edge; font size 0.1 x 180 = 18 */
        const int inside = box[0] >= safe[0] && box[2] <= safe[2] && box[3] <= safe[3] &&
                           box[1] >= safe[3] - 45;
        if (!inside)
            fprintf(stderr, "%s super: frame %d: changed box x %d..%d y %d..%d is outside x "
                    "%d..%d y %d..%d\n", lang, f, box[0], box[2], box[1], box[3], safe[0],
                    safe[2], safe[3] - 45, safe[3]);
        CHECK(inside);
        /* centred (position bottom): as far from the left edge as from the right, +-2 px */
        CHECK(abs(box[0] - (W - 1 - box[2])) <= 2);
    }
}

int main(void)
{
    if (access(sf_brand_font_file(SF_BRAND_SANS), R_OK) != 0) {
        fprintf(stderr, "skip: %s missing (fonts-noto-cjk)\n", sf_brand_font_file(SF_BRAND_SANS));
        return SF_TEST_SKIP;
    }
    const char *src = getenv("SF_SOURCE_DIR");
    char dir[] = "/tmp/sf_brand_XXXXXX", logo[4096], card[4096];
    CHECK(src && mkdtemp(dir));
    if (!src) return sf_test_result("io_brand");
    snprintf(logo, sizeof logo, "%s/tests/io/brand/logo.png", src);
    snprintf(card, sizeof card, "%s/tests/io/brand/card.png", src);

    /* glyphs: the validator's check (io/campaign.c) asks the same face */
    struct sf_brand_face *face = NULL;
    CHECK_EQ_INT(sf_brand_face_open(SF_BRAND_SANS, &face), SF_OK);
    if (face) {
        double ems = 0;
        CHECK_EQ_INT(sf_brand_face_glyph(face, 0x9650 /* 限 */, &ems), 1);
        CHECK(ems > 0.9 && ems < 1.1); /* an ideograph is one em wide */
        CHECK_EQ_INT(sf_brand_face_glyph(face, 0x3042 /* あ */, NULL), 1);
        CHECK_EQ_INT(sf_brand_face_glyph(face, 0x0E01 /* Thai ก */, NULL), 0);
        sf_brand_face_close(face);
    }
    CHECK_EQ_INT(sf_brand_end_card_frames(2000, (struct sf_fps){30000, 1001}), 60);
    CHECK_EQ_INT(sf_brand_frame_at(500, (struct sf_fps){24, 1}), 12);

    struct pics plain = {0}, zh = {0}, ja = {0}, lg = {0}, ec = {0};
    CHECK_EQ_INT(spot(dir, "plain", NULL, SF_LANG_EN, &plain), SF_OK);

    struct sf_super sup = {.in_ms = 500, .out_ms = 1500, .position = SF_BRAND_BOTTOM,
                           .font = SF_BRAND_SANS, .size = 0.1, .lengths_mask = ~0};
    sup.text[SF_LANG_ZH] = "限量版 今日上市";
    sup.text[SF_LANG_JA] = "限定版 きょう発売";
    const struct sf_brand supers = {.n_supers = 1, .supers = &sup};
    CHECK_EQ_INT(spot(dir, "zh", &supers, SF_LANG_ZH, &zh), SF_OK);
    CHECK_EQ_INT(spot(dir, "ja", &supers, SF_LANG_JA, &ja), SF_OK);
    if (plain.n == FRAMES && zh.n == FRAMES && ja.n == FRAMES) {
        check_super(&plain, &zh, "zh");
        check_super(&plain, &ja, "ja");
        int box[4];
        CHECK(diff(&zh, &ja, 20, box) > 100); /* each language its own text */
    }

    const struct sf_brand with_logo = {
        .logo = {.file = logo, .position = SF_BRAND_TOP_LEFT, .opacity = 0.5, .size = 0.2}};
    CHECK_EQ_INT(spot(dir, "logo", &with_logo, SF_LANG_EN, &lg), SF_OK);
    if (plain.n == FRAMES && lg.n == FRAMES) {
        /* 0.2 x 180 = 36 px high, 72 wide, at (16, 9) */
        const double y_white = 940, y_gray = 64 + GRAY / 255.0 * 876;
        const double want = 0.5 * y_white + 0.5 * y_gray;
        double worst = 0;
        for (int f = 0; f < FRAMES; f += 11) {
            int box[4];
            diff(&plain, &lg, f, box);
            CHECK(box[0] >= 16 && box[1] >= 9 && box[2] <= 16 + 72 && box[3] <= 9 + 36);
            for (int r = 12; r < 9 + 33; r++)
                for (int x = 20; x < 16 + 68; x++) {
                    const double e = fabs(lg.y[f][r * W + x] - want);
                    if (e > worst) worst = e;
                }
        }
        if (worst > 6) fprintf(stderr, "logo: luma off by %.1f codes from %.1f\n", worst, want);
        CHECK(worst <= 6);
    }

    const struct sf_brand with_card = {.end_card = {.file = card, .duration_ms = 500}};
    CHECK_EQ_INT(spot(dir, "card", &with_card, SF_LANG_EN, &ec), SF_OK);
    if (plain.n == FRAMES && ec.n == FRAMES) {
        const double y_red = 64 + 0.2126 * 876; /* BT.709 limited range */
        for (int f = 0; f < FRAMES; f++) {
            int box[4];
            const long n = diff(&plain, &ec, f, box);
            if (f < FRAMES - 12) {
                if (n) fprintf(stderr, "end card: frame %d changed before the card\n", f);
                CHECK(n == 0);
                continue;
            }
            double worst = 0;
            for (int i = 0; i < W * H; i++)
                if (fabs(ec.y[f][i] - y_red) > worst) worst = fabs(ec.y[f][i] - y_red);
            if (worst > 4) fprintf(stderr, "end card: frame %d luma off by %.1f\n", f, worst);
            CHECK(worst <= 4);
        }
    }
    pics_free(&plain), pics_free(&zh), pics_free(&ja), pics_free(&lg), pics_free(&ec);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (getenv("SF_TEST_KEEP")) /* to look at the files */
        fprintf(stderr, "kept %s\n", dir);
    else if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
    return sf_test_result("io_brand");
}

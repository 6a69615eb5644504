/* sf_contact.h — a contact sheet (docs/review.md § Contact sheets): one PNG, one row per shot
 * file (a shot's take), a label card then `per_row` frames spread across the shot, made with
 * FFmpeg's libraries: the shot files decoded (io/sf_shot_file.h), and in libavfilter scaled,
 * padded, labelled with drawtext (a Debian Noto font) and tiled; the PNG encoded by libavcodec.
 *
 *   struct sf_contact_row rows[] = {{.path = "shots/a.take1.mkv", .frames = 49,
 *                                    .label = "a\ntake 1\nseed 7", .selected = 1}};
 *   SF_TRY(st, sf_contact_sheet(rows, 1, 4, SF_CONTACT_FONT, "out/review/seq_contact.png"));
 *
 * Each frame tile is captioned with its time in the shot; the label card of a selected take is
 * green, the others grey. Published durably (temporary name, fsync, rename). Full build only. */
#ifndef SF_CONTACT_H
#define SF_CONTACT_H

#include <stdint.h>

/* Debian's fonts-noto-mono (scripts/debian-packages.txt). */
#define SF_CONTACT_FONT "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf"
#define SF_CONTACT_TILE 160 /* the short side of a tile, pixels */

struct sf_contact_row {
    const char *path;  /* a shot file (RGB frames at 16 fps) */
    int frames;        /* frames it has */
    const char *label; /* the label card's text, lines separated by '\n' */
    int selected;      /* the take assembly uses */
};

/* Writes the sheet of rows[0..n) with per_row frames each to png_path, calling progress (when
 * not NULL) after each row. Every shot file must
 * have the same size. Fails with SF_E_NOTFOUND (the font is missing: logged with the package
 * that provides it), the shot reader's statuses, SF_E_AV (logged), SF_E_IO or SF_E_NOMEM. */
int sf_contact_sheet(const struct sf_contact_row *rows, int n, int per_row, const char *font,
                     const char *png_path, void (*progress)(void *arg, int64_t rows_done),
                     void *progress_arg);

#endif

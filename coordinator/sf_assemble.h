/* sf_assemble.h — what the unit kinds that deliver files share (unit_assemble.c defines it;
 * unit_master.c uses it): a cut of shots placed on the delivery time line, covered and cropped
 * to the delivery size, encoded and recorded in RUNDIR/out/deliverables.json with versions
 * (docs/deliverables.md). */
#ifndef SF_ASSEMBLE_H
#define SF_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "sf_campaign.h"
#include "sf_hash.h" /* SF_SHA256_HEX */

struct sf_json;
struct sf_json_doc;
struct sf_jw;
struct sf_render_setup;
struct sf_render_worker;
struct sf_render_job;
struct sf_render_report;

/* What one unit writes: the cut (its job's dependencies are the shots' decode jobs, in the same
 * order), how many delivery frames, which codecs, and the file names. */
struct sf_assemble_cut {
    int n;                                /* shots, in play order */
    int shots[SF_CAMPAIGN_MAX_SHOTS];     /* campaign shot indices */
    int64_t frames;                       /* delivery frames */
    int codecs[SF_CODEC_COUNT];           /* 1: written */
    int per_language;                     /* one file per delivered language, else one file */
    int sound_job[SF_LANG_COUNT];         /* per language: the sound job whose mix it carries,
                                             -1: silence */
    char base[224];                       /* name without _LANG, _vN and extension */
    char subdir[32];                      /* under RUNDIR/out ("" or "shots") */
    char title[256];                      /* metadata title */
    int length;                           /* deliverables.lengths index, -1 the full edit */
    const struct sf_brand *brand;         /* the sequence's brand layer (spots), or NULL */
};

/* Writes the cut's files (next free versions), then the index and the unit's record j->out.
 * Returns SF_OK, SF_E_INTERRUPTED (stopped by r->stop; nothing published) or the failure. */
int sf_assemble_files(struct sf_render_worker *w, const struct sf_render_job *j,
                      const struct sf_render_report *r, const struct sf_assemble_cut *cut);
/* The cut of spot (sequence, aspect, length index; -1 the whole sequence): its shots, frames,
 * codecs and names, as the assemble unit writes it. */
void sf_assemble_spot_cut(const struct sf_campaign *c, int sequence, int aspect, int length,
                          struct sf_assemble_cut *cut);
/* Where each shot of the cut sits on its delivery time line, by the assembly's own rule:
 * delivery frames [first[k], first[k] + count[k]) show cut shot k (count 0, first -1: a shot the
 * length cuts off). */
void sf_assemble_spans(const struct sf_campaign *c, const struct sf_assemble_cut *cut,
                       int64_t *first, int64_t *count);
/* Adds (or replaces) member `field` of the entries of RUNDIR/out/deliverables.json whose path
 * is paths[i], each written by write(w, i, arg) (one JSON value); every other entry and member
 * is kept as it was. Under the index's lock. SF_E_NOTFOUND when there is no index yet. */
int sf_assemble_index_annotate(const struct sf_render_setup *s, const char *const *paths, int n,
                               const char *field,
                               void (*write)(struct sf_jw *w, int i, void *arg), void *arg);
/* The unit's record has j->key and every file it lists is there with its size. */
int sf_assemble_output_ok(const struct sf_render_job *j);
/* Removes the unit's record only: delivered files are never removed. */
void sf_assemble_remove_record(const struct sf_render_job *j);
/* Seconds to deliver `frames` pictures of width x height in codec c at tier (plan's estimate,
 * from the encoders' measured throughput and the units' encoder threads). */
double sf_assemble_seconds(enum sf_codec c, int tier, int64_t frames, int width, int height);
/* Delivery size of aspect a at `resolution` (the short side). */
void sf_assemble_size(int resolution, int a, int *w, int *h);
/* "15s" (length index; -1: "full", the whole sequence) for file and unit names. */
void sf_assemble_length_tag(const struct sf_campaign *c, int length, char *buf, size_t n);
/* The file-name base of a spot: "[CODE NNNN_]campaign_seq_16x9_15s" (aspect -1: without the
 * aspect, for what all aspects share: the sound). li: index into deliverables.lengths, -1 the
 * whole sequence. */
void sf_assemble_spot_base(const struct sf_campaign *c, int q, int li, int aspect, char *buf,
                           size_t n);
/* RUNDIR/out/deliverables.json (docs/deliverables.md), shared by every kind that delivers:
 * _load reads it (*doc NULL when there is none yet; SF_E_FORMAT, with one line naming the file
 * and the fix, when it does not parse); _update rewrites it under its lock: earlier entries
 * named names[0..n) are no longer current, write(w, arg) appends the new entries (objects), and
 * other units' entries are kept as they are; _next_version is the first free version of name
 * (1 when neither the index's `files` nor dir knows it). */
int sf_assemble_index_load(const struct sf_render_setup *s, char **text, struct sf_json_doc **doc);
int sf_assemble_index_update(const struct sf_render_setup *s, const char *const *names, int n,
                             void (*write)(struct sf_jw *w, void *arg), void *arg);
int sf_assemble_next_version(const struct sf_json *files, const char *dir, const char *name,
                             const char *ext);
/* What a delivering unit does last: the index gets its files (as _update), then the unit's
 * record j->out ({unit, key, files: what write appends}) is written; in that order, so a record
 * never lists files the index lacks (resume trusts the record). */
int sf_assemble_publish(const struct sf_render_setup *s, const struct sf_render_job *j,
                        const char *const *names, int n, void (*write)(struct sf_jw *w, void *arg),
                        void *arg);
/* A delivered file's SHA-256 (hex) and size. */
int sf_assemble_digest(const char *path, char sha[SF_SHA256_HEX], long long *bytes);
/* "16x9" for file names. */
void sf_assemble_aspect_tag(int a, char *buf, size_t n);
/* The first frame's timecode as the muxers want it ("01:00:00:00", ';' for drop-frame). */
void sf_assemble_timecode(const struct sf_deliverables *dl, char *buf, size_t n);

#endif

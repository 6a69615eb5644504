/* sf_review.h — what the review unit kinds share (unit_timeline.c, unit_qc.c; docs/review.md):
 * reading the record an assemble or master unit left in RUNDIR/out/.units/ (the files it
 * delivered), finding a spot's assemble unit in the plan, and writing their own records in the
 * shape sf_assemble_output_ok checks (key, and every listed file present with its size). */
#ifndef SF_REVIEW_H
#define SF_REVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "sf_campaign.h"

struct sf_plan_builder;
struct sf_render_job;

/* One file of a delivering unit's record. */
struct sf_review_file {
    char path[4096];
    char name[256]; /* without version and extension */
    int version;
    enum sf_codec codec;
    enum sf_lang lang;
    int64_t frames;
};

#define SF_REVIEW_MAX_FILES (SF_LANG_COUNT * SF_CODEC_COUNT)

/* Reads the files listed by the record of delivering job j (an assemble or master unit) into
 * files[0..*n) (at most SF_REVIEW_MAX_FILES). SF_E_FORMAT (logged with the record's path and
 * the fix) when it is missing, damaged or made for another key. */
int sf_review_read_record(const struct sf_render_job *j, struct sf_review_file *files, int *n);

/* The files a delivering unit's record at path lists (no key check: for the report). */
int sf_review_load_files(const char *record, struct sf_review_file *files, int *n);

/* Reads and parses the JSON file at path (*text and *doc the caller's, freed with free and
 * sf_json_free). SF_E_FORMAT, logged with the path and the fix, when it does not parse; the
 * reader's statuses (logged) when it cannot be read. */
struct sf_json_doc;
int sf_review_load_json(const char *path, char **text, struct sf_json_doc **doc);

/* The assemble unit of spot (sequence, aspect, length) in the plan being built, or -1. */
int sf_review_find_spot(const struct sf_plan_builder *b, int sequence, int aspect, int length);

/* Writes j's record at j->out: its key and each of paths[0..n) with its size (the shape
 * sf_assemble_output_ok reads), plus what `extra` writes into the top object when not NULL. */
struct sf_jw;
int sf_review_write_record(const struct sf_render_job *j, const char *const *paths, int n,
                           void (*extra)(struct sf_jw *w, void *arg), void *arg);

/* A progress callback for the io functions the review units call: tells the coordinator the
 * unit is alive (render's --stall-timeout fails a unit that reports nothing for that long).
 * arg is the unit's struct sf_render_report. */
void sf_review_alive(void *arg, int64_t done);

/* The AI disclosure every deliverable carries in its metadata and every timeline in its own:
 * the tool and its version, and the SHA-256 keys of the model's files (the manifest's). */
struct sf_render_setup;
void sf_review_disclosure(const struct sf_render_setup *s, char *buf, size_t n);

#endif
